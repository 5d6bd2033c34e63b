#pragma once
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

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
  // Group commit: writes that arrive while another group is being written wait, then run
  // together in one transaction, each under its own savepoint (a failing callback rolls back
  // only its own changes, as if it had run alone), and return once that transaction has
  // committed. Callbacks run one after another in arrival order and see each other's changes,
  // exactly as if serialised; what they share is the BEGIN/COMMIT and the sync to disk, which
  // is what bounds small writes (CreateTask, transitions) under concurrency.
  absl::Status Write(const std::function<absl::Status(TaskWriter&)>& fn) override;

 private:
  struct PendingWrite;

  explicit SqliteTaskStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  // Gives each connection a page cache sized for boards and cascades (once per connection).
  absl::Status Tune(sqlite::Connection& c);
  // Runs `group` in one transaction and sets each entry's status.
  // Writes the group in one transaction; returns its commit ticket (0: nothing committed).
  uint64_t WriteGroup(const std::vector<PendingWrite*>& group);

  std::unique_ptr<sqlite::Database> db_;
  std::mutex tuned_mu_;
  absl::flat_hash_set<const sqlite::Connection*> tuned_;

  std::mutex group_mu_;
  std::deque<PendingWrite*> waiting_;  // guarded by group_mu_
  bool writing_ = false;               // a group is being written; guarded by group_mu_
};

}  // namespace duban::tasks
