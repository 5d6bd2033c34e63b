#pragma once
#include <memory>
#include <mutex>

#include <absl/container/flat_hash_set.h>

#include <absl/status/statusor.h>

#include "duban/sqlite.h"
#include "task_store.h"

namespace duban::tasks {

// TaskStore on a SQLite file (schema migrations in sqlite_task_store.cc).
class SqliteTaskStore : public TaskStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteTaskStore>> Open(const sqlite::Options& options);

  absl::Status Read(const std::function<absl::Status(TaskReader&)>& fn) override;
  absl::Status Write(const std::function<absl::Status(TaskWriter&)>& fn) override;

 private:
  explicit SqliteTaskStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  // Gives each connection a page cache sized for boards and cascades (once per connection).
  absl::Status Tune(sqlite::Connection& c);

  std::unique_ptr<sqlite::Database> db_;
  std::mutex tuned_mu_;
  absl::flat_hash_set<const sqlite::Connection*> tuned_;
};

}  // namespace duban::tasks
