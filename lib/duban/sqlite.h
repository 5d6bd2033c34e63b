#pragma once
// A small RAII layer over SQLite: connections with cached prepared statements, a pool of
// reader connections plus one writer, transactions, and schema migrations versioned in code.
//
// Durability: WAL with synchronous=FULL by default, so a transaction that committed survives a
// kill -9 of the process and a power loss; busy_timeout covers writers in other processes.
// FULL is kept by syncing the log after the write lock is released (group commit, see
// wal_sync.h): Write() returns only once its commit is on disk.
#include <sqlite3.h>

#include <absl/strings/string_view.h>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "duban/wal_sync.h"

namespace duban::sqlite {

// A prepared statement owned by a Connection's cache. Borrowed through Stmt.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// A borrowed, bound statement; resets and clears its bindings when it goes out of scope so the
// cached statement is ready for the next user. Bind indexes are 1-based like SQLite's.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Stmt();
  Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Stmt& Bind(int index, double value);
  Stmt& Bind(int index, absl::string_view value);
  Stmt& Bind(int index, const char* value) { return Bind(index, absl::string_view(value)); }
  Stmt& Bind(int index, const std::string& value) { return Bind(index, absl::string_view(value)); }
  Stmt& BindNull(int index);
  // Binds NULL when the optional is empty.
  template <typename T>
  Stmt& Bind(int index, const std::optional<T>& value) {
    return value ? Bind(index, *value) : BindNull(index);
  }
  // Binds NULL for an empty string (for nullable text columns such as parent ids).
  Stmt& BindTextOrNull(int index, absl::string_view value) {
    return value.empty() ? BindNull(index) : Bind(index, value);
  }

  // Advances: true when a row is available, false when done, error otherwise.
  absl::StatusOr<bool> Step();
  // Runs to completion (for INSERT/UPDATE/DELETE).
  absl::Status Run();
  // Rows changed by the last Run().
  int64_t Changes() const { return sqlite3_changes64(db_); }

  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) const;
  absl::string_view TextView(int col) const;
  std::optional<int64_t> OptInt(int col) const {
    return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Steps `stmt` to the end, turning each row into a T with `read(stmt)`.
template <typename T, typename ReadFn>
absl::StatusOr<std::vector<T>> Collect(Stmt& stmt, ReadFn read) {
  std::vector<T> out;
  for (;;) {
    auto row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(read(stmt));
  }
}

// The first row as a T, or nullopt when there is none.
template <typename T, typename ReadFn>
absl::StatusOr<std::optional<T>> CollectOne(Stmt& stmt, ReadFn read) {
  auto row = stmt.Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<T>();
  return std::optional<T>(read(stmt));
}

struct Options {
  std::string path;
  // "FULL" (default) or "NORMAL" (survives a process crash, may lose the last commits on
  // power loss).
  std::string synchronous = "FULL";
  int busy_timeout_ms = 5000;
  int readers = 4;
  // Page cache of the one writer connection. SQLite's default (2 MiB) is far smaller than the
  // working set of a batch that touches every index of a large table: the writer then spends
  // its time re-reading pages through pread and spilling them. Readers map the file (mmap) and
  // keep the default.
  int writer_cache_kib = 64 * 1024;
};

class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const Options& options, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached prepared statement for `sql` (prepared once per connection).
  absl::StatusOr<Stmt> Prepare(absl::string_view sql);
  // Runs one or more statements without results.
  absl::Status Exec(absl::string_view sql);
  int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* raw() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// Turns a SQLite result code into an absl::Status (INTERNAL with the SQLite message, or
// ABORTED/UNAVAILABLE for busy/locked, which callers may retry).
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

struct Migration {
  int version;      // 1, 2, 3, ... in order
  const char* sql;  // applied in one transaction; PRAGMA user_version is bumped with it
};

// The database of one service: one writer connection (writes are serialised, as SQLite does
// anyway) and a pool of reader connections that WAL lets run alongside the writer.
class Database {
 public:
  static absl::StatusOr<std::unique_ptr<Database>> Open(const Options& options,
                                                        const std::vector<Migration>& migrations);

  // Runs `fn` in a write transaction (BEGIN IMMEDIATE). Commits if `fn` returns OK, rolls back
  // otherwise, so a failed call leaves no partial write. Returns once the commit is durable
  // (with synchronous FULL: on disk).
  absl::Status Write(const std::function<absl::Status(Connection&)>& fn);
  // Write() in two steps, for callers that batch writes and must hand the writer on before
  // waiting: commits and returns a ticket, then WaitDurable(ticket) returns once that commit is
  // durable. Nobody may be told the write succeeded before WaitDurable returned OK.
  absl::StatusOr<uint64_t> WriteUnsynced(const std::function<absl::Status(Connection&)>& fn);
  absl::Status WaitDurable(uint64_t ticket);
  // Runs `fn` on a reader connection inside a read transaction (a consistent snapshot).
  absl::Status Read(const std::function<absl::Status(Connection&)>& fn);

  // A read transaction begun on first use, for readers that can often answer from memory and
  // then need no connection at all (borrowing one from the pool and BEGIN/COMMIT cost more than
  // an in-memory lookup, and 16 callers queue for the 4 readers). connection() borrows a reader
  // and begins the transaction the first time; the destructor ends it and returns the reader.
  // One thread at a time.
  class LazyRead {
   public:
    explicit LazyRead(Database& db) : db_(db) {}
    ~LazyRead();
    LazyRead(const LazyRead&) = delete;
    LazyRead& operator=(const LazyRead&) = delete;
    absl::StatusOr<Connection*> connection();

   private:
    Database& db_;
    std::unique_ptr<Connection> conn_;
    bool begun_ = false;
  };

  int schema_version() const { return schema_version_; }
  // Syncs of the write-ahead log made after commits (0 when SQLite syncs inside COMMIT).
  uint64_t wal_syncs() const { return syncer_ ? syncer_->syncs() : 0; }

 private:
  Database() = default;
  absl::Status Migrate(const std::vector<Migration>& migrations);
  std::unique_ptr<Connection> BorrowReader();
  void ReturnReader(std::unique_ptr<Connection> conn);

  Options options_;
  int schema_version_ = 0;
  absl::Status SyncWal();

  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;
  // Set when synchronous is FULL and the database is a file: commits then sync outside the lock.
  std::unique_ptr<WalSyncer> syncer_;
  std::string wal_path_;
  std::mutex wal_fd_mu_;
  // Opened by the first sync (the log exists once something committed); shared so a sync in
  // flight keeps its descriptor open if another replaces it.
  std::shared_ptr<UniqueFd> wal_fd_;
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace duban::sqlite
