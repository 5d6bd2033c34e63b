#pragma once
#include <memory>

#include <absl/status/statusor.h>

#include "duban/sqlite.h"
#include "reminder_store.h"

namespace duban::reminders {

// ReminderStore on a SQLite file (schema migrations in sqlite_reminder_store.cc).
class SqliteReminderStore : public ReminderStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteReminderStore>> Open(const sqlite::Options& options);

  absl::Status Read(const std::function<absl::Status(ReminderReader&)>& fn) override;
  absl::Status Write(const std::function<absl::Status(ReminderWriter&)>& fn) override;

 private:
  explicit SqliteReminderStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace duban::reminders
