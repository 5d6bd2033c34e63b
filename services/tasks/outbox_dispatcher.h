#pragma once
// OutboxDispatcher: delivers the outbox (changes for the reminders service, written in the
// same transaction as the change they describe) in sequence order, so in order per
// assignment. A row is deleted only after the reminders service accepted it; while it is away
// the dispatcher retries with capped exponential backoff and jitter, so an outage delays
// reminders and loses nothing. A row the reminders service rejects for good (INVALID_ARGUMENT,
// NOT_FOUND, FAILED_PRECONDITION) is isolated by sending the batch one by one, then moved to
// the outbox_dead table and logged, so one bad row cannot block the rest.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "task_store.h"

namespace duban::tasks {

// Where outbox rows go: duban.reminders.v1.ReminderService (GrpcReminderSink) or a test fake.
class ReminderSink {
 public:
  virtual ~ReminderSink() = default;
  struct Result {
    // The messages applied, a prefix of the batch.
    size_t delivered = 0;
    // Why the rest was not (OK when all were).
    absl::Status error;
  };
  // Delivers `batch` in order, stopping at the first failure.
  virtual Result Deliver(const std::vector<OutboxMessage>& batch) = 0;
};

struct OutboxOptions {
  int batch_size = 500;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{30000};
  // A pass runs at least this often even without notifications (rows written by a previous
  // process, or a missed wake-up).
  std::chrono::milliseconds idle_poll{5000};
};

class OutboxDispatcher {
 public:
  OutboxDispatcher(TaskStore& store, ReminderSink& sink, OutboxOptions options = {});
  ~OutboxDispatcher();
  OutboxDispatcher(const OutboxDispatcher&) = delete;
  OutboxDispatcher& operator=(const OutboxDispatcher&) = delete;

  // Starts the delivery thread.
  void Start();
  // Stops it (waits for the pass in progress). Idempotent.
  void Stop();
  // New rows were committed: deliver soon (ignored while backing off after a failure).
  void Notify();

  // One pass: reads up to batch_size rows and delivers them. Returns how many rows left the
  // outbox (delivered or buried), or the transient error that stopped the pass.
  absl::StatusOr<int> RunOnce();

  struct Stats {
    int64_t delivered = 0;
    int64_t buried = 0;
    int64_t failed_passes = 0;
  };
  Stats stats() const;

 private:
  void Loop();
  // Deletes the first `n` rows of `batch`.
  absl::Status Forget(const std::vector<OutboxMessage>& batch, size_t from, size_t n);

  TaskStore& store_;
  ReminderSink& sink_;
  OutboxOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  bool stop_ = false;
  bool notified_ = false;
  Stats stats_;
  std::thread thread_;
};

// True for errors that retrying the same message cannot fix.
bool IsPermanentDeliveryError(const absl::Status& status);

}  // namespace duban::tasks
