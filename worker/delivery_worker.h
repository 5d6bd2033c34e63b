#pragma once
// DeliveryWorker: the threads of one duban-worker process.
//   promoter  — holds the promoter lease (one active promoter per queue across workers), moves
//               due jobs into the ready stream in bounded batches, then sleeps on a local timer
//               until the next due time (at most max_promote_sleep), cut short by a pub/sub
//               wake-up. Never waits on a Redis blocking timeout for timing.
//   consumers — XREADGROUP batches; per batch: ClaimForSend (per-(job, version) idempotency
//               claim), ReminderSource::Resolve, Channel::Send with the delivery id, one Settle
//               call, OutcomeSink::Record.
//   janitor   — every lease/3, takes over entries idle past the lease (a dead worker's) and
//               processes them like a consumer. A redelivery is not a failed attempt.
//   stats     — queue statistics into the metrics once a second.
// Stop(): no new batches; in-flight batches finish within the shutdown grace, and whatever is
// not sent by then stays pending in Redis for another worker to reclaim after the lease.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <absl/status/status.h>
#include <absl/synchronization/mutex.h>
#include <absl/synchronization/notification.h>
#include <absl/time/time.h>

#include "channel.h"
#include "duban/queue/job_queue.h"
#include "duban/queue/retry_policy.h"
#include "duban/queue/wake_subscriber.h"
#include "outcome_sink.h"
#include "reminder_source.h"
#include "worker_metrics.h"

namespace duban::worker {

struct WorkerOptions {
  std::string redis_url;
  std::string worker_id;  // unique per process; consumer names derive from it
  queue::QueueOptions queue;
  queue::RetryPolicy retry;
  int consumers = 4;
  // Jobs per read: whole entries of queue.jobs_per_entry jobs, at least one entry.
  int batch = 100;
  bool promote = true;  // run a promoter (it still only promotes while holding the lease)
  absl::Duration promoter_lease = absl::Seconds(3);
  absl::Duration max_promote_sleep = absl::Seconds(1);
  absl::Duration read_block = absl::Milliseconds(250);     // shutdown responsiveness only
  absl::Duration janitor_interval = absl::ZeroDuration();  // zero: lease / 3
  absl::Duration stats_interval = absl::Seconds(1);
  // A batch whose sends take longer than this settles what it has so far (bounds duplicates
  // after a crash to the sends of this interval); fast batches settle once.
  absl::Duration settle_flush_interval = absl::Milliseconds(100);
  absl::Duration shutdown_grace = absl::Seconds(10);

  absl::Status Validate() const;
};

class DeliveryWorker {
 public:
  // The source, channel factory, sink and metrics must outlive the worker.
  DeliveryWorker(WorkerOptions options, ReminderSource* source, ChannelFactory* channels,
                 OutcomeSink* sink, WorkerMetrics* metrics);
  ~DeliveryWorker();

  absl::Status Start();
  // Idempotent. Returns once every thread has finished (in-flight work bounded by the grace).
  void Stop();

 private:
  struct Consumer;
  void PromoterLoop();
  void ConsumerLoop(int index);
  void JanitorLoop();
  void StatsLoop();
  void ProcessBatch(queue::JobQueue& q, const std::string& consumer, Channel& channel,
                    std::vector<queue::Delivery> deliveries);
  absl::StatusOr<std::vector<queue::SettleReport>> SettleWithRetry(
      queue::JobQueue& q, const std::vector<queue::Outcome>& outcomes);
  // Reports outcomes to the sink until it succeeds; false only when stopping past the grace.
  bool RecordWithRetry(absl::Span<const DeliveryRecord> records);
  // Sleeps up to `d`; returns early (true) when stopping.
  bool SleepUnlessStopping(absl::Duration d);
  bool PastGrace() const;
  int EntriesPerRead() const;
  std::unique_ptr<queue::JobQueue> NewQueue() const;

  const WorkerOptions options_;
  ReminderSource* source_;
  ChannelFactory* channels_;
  OutcomeSink* sink_;
  WorkerMetrics* metrics_;
  queue::RedisEndpoint endpoint_;

  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> grace_deadline_ns_{0};
  absl::Mutex stop_mu_;
  bool stop_requested_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::unique_ptr<queue::WakeSubscriber> wake_;
  std::vector<std::thread> threads_;
};

}  // namespace duban::worker
