#pragma once
// A statement for the per-row hot path of a write transaction, bound without copies.
//
// sqlite::Connection::Prepare looks its cache up by the SQL text (a copy and a hash of several
// hundred characters per call) and Stmt binds strings with SQLITE_TRANSIENT (a malloc and copy
// per string, freed again by sqlite3_clear_bindings). For the INSERT of every reminder of a
// cascade — tens of thousands per second through the one writer — that showed up in profiles
// as much as a B-tree. Here the statement is prepared once and strings are bound SQLITE_STATIC:
// the caller keeps them alive until Run() returns.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

namespace duban::reminders {

class StaticStmt {
 public:
  StaticStmt() = default;
  ~StaticStmt() { sqlite3_finalize(stmt_); }
  StaticStmt(const StaticStmt&) = delete;
  StaticStmt& operator=(const StaticStmt&) = delete;

  // Prepares `sql` on `db` unless already prepared there.
  absl::Status PrepareOn(sqlite3* db, absl::string_view sql) {
    if (stmt_ != nullptr && db_ == db) return absl::OkStatus();
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    db_ = db;
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt_);
      stmt_ = nullptr;
      return absl::InternalError(absl::StrCat("sqlite prepare: ", sqlite3_errmsg(db)));
    }
    return absl::OkStatus();
  }

  StaticStmt& Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  StaticStmt& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  // `value` must outlive Run().
  StaticStmt& Bind(int index, absl::string_view value) {
    sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
    return *this;
  }
  StaticStmt& Bind(int index, const std::string& value) {
    return Bind(index, absl::string_view(value));
  }
  StaticStmt& Bind(int index, const std::optional<int64_t>& value) {
    if (value) return Bind(index, *value);
    sqlite3_bind_null(stmt_, index);
    return *this;
  }

  // Steps to completion and resets; bindings are cleared so no pointer outlives the call.
  absl::Status Run() {
    int rc;
    do {
      rc = sqlite3_step(stmt_);
    } while (rc == SQLITE_ROW);
    absl::Status status;
    if (rc != SQLITE_DONE) {
      const int primary = rc & 0xFF;
      std::string message = absl::StrCat("sqlite step: ", sqlite3_errmsg(db_));
      status = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? absl::UnavailableError(message)
                                                                  : absl::InternalError(message);
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return status;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace duban::reminders
