#pragma once
#include <memory>
#include <vector>

#include <absl/status/statusor.h>

#include "duban/sqlite.h"
#include "reminder_store.h"

namespace duban::reminders {

class StaticStmt;

// ReminderStore on a SQLite file (schema migrations in sqlite_reminder_store.cc).
class SqliteReminderStore : public ReminderStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteReminderStore>> Open(const sqlite::Options& options);
  ~SqliteReminderStore() override;

  absl::Status Read(const std::function<absl::Status(ReminderReader&)>& fn) override;
  absl::Status Write(const std::function<absl::Status(ReminderWriter&)>& fn) override;

  // The schema, in order (tests build databases of an older version with a prefix).
  static const std::vector<sqlite::Migration>& Migrations();

 private:
  explicit SqliteReminderStore(std::unique_ptr<sqlite::Database> db);
  std::unique_ptr<sqlite::Database> db_;
  // The writer connection's per-row statements of a schedule batch; declared after db_ so
  // they are finalized first.
  std::unique_ptr<StaticStmt> insert_reminder_;
  std::unique_ptr<StaticStmt> upsert_assignment_;
};

}  // namespace duban::reminders
