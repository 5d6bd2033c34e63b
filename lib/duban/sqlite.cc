#include "duban/sqlite.h"

#include <sys/stat.h>

#include <absl/strings/str_cat.h>

#include <algorithm>
#include <mutex>

namespace duban::sqlite {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  std::string message =
      absl::StrCat("sqlite ", what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xFF;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Stmt& Stmt::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Stmt& Stmt::Bind(int index, absl::string_view value) {
  // SQLITE_TRANSIENT copies: callers may pass temporaries.
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Stmt& Stmt::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

absl::StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

absl::Status Stmt::Run() {
  for (;;) {
    auto row = Step();
    if (!row.ok()) {
      sqlite3_reset(stmt_);
      return row.status();
    }
    if (!*row) {
      // Ready for the next Bind/Run in a loop; the bindings stay until rebound.
      sqlite3_reset(stmt_);
      return absl::OkStatus();
    }
  }
}

std::string Stmt::Text(int col) const { return std::string(TextView(col)); }

absl::string_view Stmt::TextView(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return absl::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const Options& options,
                                                             bool read_only) {
  // Memory statistics take a global mutex on every allocation; with several reader threads it
  // was the top contended lock in profiles. Must run before SQLite initialises, hence once and
  // first; if the host process already initialised SQLite the call fails harmlessly.
  static std::once_flag no_memstatus;
  std::call_once(no_memstatus, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db));  // owns db even on failure
  if (rc != SQLITE_OK) return SqliteError(db, rc, "open " + options.path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  std::string pragmas =
      absl::StrCat("PRAGMA foreign_keys=ON; PRAGMA synchronous=", options.synchronous,
                   "; PRAGMA temp_store=MEMORY;"
                   // Reads through a memory map instead of read() copies into the page cache:
                   // index range scans (subtrees, lists) spend most of their time there.
                   " PRAGMA mmap_size=1073741824;");
  if (!read_only) {
    absl::StrAppend(&pragmas, "PRAGMA journal_mode=WAL; PRAGMA cache_size=-",
                    std::max(1, options.writer_cache_kib), ";");
  }
  if (auto s = conn->Exec(pragmas); !s.ok()) return s;
  return conn;
}

Connection::~Connection() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

absl::StatusOr<Stmt> Connection::Prepare(absl::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(db_, rc, absl::StrCat("prepare ", sql));
    }
    it = cache_.emplace(std::string(sql), std::make_unique<Statement>(stmt)).first;
  }
  return Stmt(db_, it->second->get());
}

absl::Status Connection::Exec(absl::string_view sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("sqlite exec: ", message));
  }
  return absl::OkStatus();
}

namespace {
// Transaction control through the statement cache: cheaper than sqlite3_exec per call.
absl::Status RunSimple(Connection& conn, absl::string_view sql) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}
}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const Options& options,
                                                         const std::vector<Migration>& migrations) {
  std::unique_ptr<Database> db(new Database());
  db->options_ = options;
  // FULL durability by group commit: the writer commits without a sync and Write() syncs the
  // log after releasing the lock (wal_sync.h).
  Options writer_options = options;
  const bool group_sync = options.synchronous == "FULL";
  if (group_sync) writer_options.synchronous = "NORMAL";
  auto writer = Connection::Open(writer_options, /*read_only=*/false);
  if (!writer.ok()) return writer.status();
  db->writer_ = std::move(*writer);
  const char* main_file = sqlite3_db_filename(db->writer_->raw(), "main");
  if (main_file != nullptr && main_file[0] != '\0') {
    db->wal_path_ = sqlite3_filename_wal(main_file);
  }
  if (group_sync) {
    std::string mode;
    {
      auto stmt = db->writer_->Prepare("PRAGMA journal_mode");
      if (!stmt.ok()) return stmt.status();
      auto row = stmt->Step();
      if (!row.ok()) return row.status();
      if (*row) mode = stmt->Text(0);
    }
    if (db->wal_path_.empty() || mode != "wal") {
      // No log file to sync (a memory database, or WAL refused): let SQLite sync as asked.
      if (auto s = db->writer_->Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
    } else {
      Database* self = db.get();
      db->syncer_ = std::make_unique<WalSyncer>([self] { return self->SyncWal(); });
    }
  }
  if (auto s = db->Migrate(migrations); !s.ok()) return s;
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    auto reader = Connection::Open(options, /*read_only=*/true);
    if (!reader.ok()) return reader.status();
    db->idle_readers_.push_back(std::move(*reader));
  }
  return db;
}

absl::Status Database::Migrate(const std::vector<Migration>& migrations) {
  {
    // Scoped: the statement must be reset before migrations run, or DROP TABLE/INDEX in a
    // migration fails with "database table is locked".
    auto stmt = writer_->Prepare("PRAGMA user_version");
    if (!stmt.ok()) return stmt.status();
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    schema_version_ = static_cast<int>(stmt->Int(0));
  }
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (schema_version_ > latest) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", schema_version_,
                                                      " is newer than this binary knows (", latest,
                                                      "); refusing to run"));
  }
  for (const auto& m : migrations) {
    if (m.version <= schema_version_) continue;
    auto s = Write([&](Connection& c) {
      if (auto s = c.Exec(m.sql); !s.ok()) return s;
      return c.Exec(absl::StrCat("PRAGMA user_version=", m.version));
    });
    if (!s.ok()) return s;
    schema_version_ = m.version;
  }
  return absl::OkStatus();
}

absl::Status Database::Write(const std::function<absl::Status(Connection&)>& fn) {
  auto ticket = WriteUnsynced(fn);
  if (!ticket.ok()) return ticket.status();
  return WaitDurable(*ticket);
}

absl::StatusOr<uint64_t> Database::WriteUnsynced(
    const std::function<absl::Status(Connection&)>& fn) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (syncer_) {
    if (auto s = syncer_->failure(); !s.ok()) return s;
  }
  if (auto s = RunSimple(*writer_, "BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status status = fn(*writer_);
  if (status.ok()) status = RunSimple(*writer_, "COMMIT");
  if (!status.ok()) {
    // ROLLBACK fails harmlessly if SQLite already rolled back on its own.
    (void)RunSimple(*writer_, "ROLLBACK");
    return status;
  }
  // Ticket 0: SQLite synced inside COMMIT (or was told not to).
  return syncer_ ? syncer_->Commit() : 0;
}

absl::Status Database::WaitDurable(uint64_t ticket) {
  if (ticket == 0 || !syncer_) return absl::OkStatus();
  return syncer_->WaitDurable(ticket);
}

absl::Status Database::SyncWal() {
  std::shared_ptr<UniqueFd> fd;
  {
    // SQLite keeps the log file while a connection is open, but a descriptor of a replaced
    // file would sync the wrong one, so the inode is compared each time (a stat is cheap next
    // to fdatasync).
    std::lock_guard<std::mutex> lock(wal_fd_mu_);
    struct stat by_path, by_fd;
    if (wal_fd_ &&
        (::stat(wal_path_.c_str(), &by_path) != 0 || ::fstat(wal_fd_->get(), &by_fd) != 0 ||
         by_path.st_ino != by_fd.st_ino || by_path.st_dev != by_fd.st_dev)) {
      wal_fd_.reset();
    }
    if (!wal_fd_) {
      auto opened = OpenWalForSync(wal_path_);
      if (!opened.ok()) return opened.status();
      wal_fd_ = std::make_shared<UniqueFd>(std::move(*opened));
    }
    fd = wal_fd_;
  }
  return SyncFd(fd->get(), wal_path_);
}

std::unique_ptr<Connection> Database::BorrowReader() {
  std::unique_lock<std::mutex> lock(readers_mu_);
  readers_cv_.wait(lock, [&] { return !idle_readers_.empty(); });
  std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return conn;
}

void Database::ReturnReader(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
}

absl::Status Database::Read(const std::function<absl::Status(Connection&)>& fn) {
  std::unique_ptr<Connection> conn = BorrowReader();
  absl::Status status = RunSimple(*conn, "BEGIN");
  if (status.ok()) {
    status = fn(*conn);
    (void)RunSimple(*conn, "COMMIT");
  }
  ReturnReader(std::move(conn));
  return status;
}

Database::LazyRead::~LazyRead() {
  if (conn_ == nullptr) return;
  if (begun_) (void)RunSimple(*conn_, "COMMIT");
  db_.ReturnReader(std::move(conn_));
}

absl::StatusOr<Connection*> Database::LazyRead::connection() {
  if (conn_ == nullptr) conn_ = db_.BorrowReader();
  if (!begun_) {
    // Retried on the next call if BEGIN failed; the connection stays borrowed until the end.
    if (auto s = RunSimple(*conn_, "BEGIN"); !s.ok()) return s;
    begun_ = true;
  }
  return conn_.get();
}

}  // namespace duban::sqlite
