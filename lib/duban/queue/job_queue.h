#pragma once
// JobQueue: the Redis protocol of one delivery queue (see queue_keys.h for the layout and
// queue_scripts.cc for the scripts). Used by the reminders service (Schedule, Cancel, GetJob,
// Stats) and by the worker (PromoteDue, promoter lease, ClaimForSend, RenewLeases,
// ReclaimExpired, Settle). Blocking reads and wake-ups need connections of their own: see
// ReadyReader and WakeSubscriber.
//
// A job's life:
//   Schedule ──> due ZSET ──PromoteDue──> ready STREAM ──ReadyReader──> consumer
//   consumer: ClaimForSend → send with delivery_id → Settle(Sent | Retry | Dead | Skip | ...)
//   Retry puts the job back into the due set (attempt + 1), unless past its useful life or
//   out of attempts (→ dead set). A consumer that dies leaves its entries pending; after the
//   lease, ReclaimExpired hands them to a live consumer as redeliveries (not attempts).
//
// Thread-safe: calls are serialised on one connection. Use several JobQueue objects for
// parallel calls. Every call returns UNAVAILABLE when Redis is unreachable; the next call
// reconnects. Scripts are re-loaded automatically after a Redis restart.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>
#include <absl/types/span.h>

#include "duban/queue/queue_keys.h"
#include "duban/queue/queue_scripts.h"
#include "duban/queue/queue_types.h"
#include "duban/queue/redis_client.h"

namespace duban::queue {

struct QueueOptions {
  std::string name = "reminders";
  // How long a consumer owns a delivered entry without renewing; after it, ReclaimExpired may
  // hand the entry to another consumer. Also the TTL of a send claim.
  absl::Duration lease = absl::Seconds(15);
  // How long a "sent" marker keeps a (job, version) from being sent again.
  absl::Duration sent_ttl = absl::Hours(48);
  int64_t dead_cap = 100000;  // the dead set keeps the newest this many entries
  // A job taken over from dead consumers more often than this is dead-lettered with reason
  // "redeliveries" (a poison message that kills every worker). 0 = unlimited. Redeliveries are
  // not failed attempts: RetryPolicy::max_attempts does not count them.
  int max_redeliveries = 5;
  int promote_batch = 200;  // jobs per PromoteDue call
  // Jobs the promoter puts into one ready-stream entry (1..1000). Several per entry save Redis
  // an XADD, a pending-entry record and an XACK per job; a consumer then reads, and must
  // settle, the entry's jobs together (ReadyReader::Read counts entries). QueueStats' ready,
  // pending and undelivered count entries.
  int jobs_per_entry = 1;
  // The longest a promoter sleeps: schedules due later than now + this do not publish a
  // wake-up (the promoter will look by then anyway).
  absl::Duration wake_horizon = absl::Seconds(1);
  int max_script_batch = 500;  // items per script call; longer requests are split

  absl::Status Validate() const;
};

class JobQueue {
 public:
  // Parses `redis_url` (redis://HOST:PORT or unix:///PATH) and validates the options. Does not
  // connect: the first call does.
  static absl::StatusOr<std::unique_ptr<JobQueue>> Create(
      absl::string_view redis_url, QueueOptions options,
      RedisConnectionOptions connection = RedisConnectionOptions());

  JobQueue(RedisEndpoint endpoint, QueueOptions options, RedisConnectionOptions connection);
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  const QueueOptions& options() const { return options_; }
  const QueueKeys& keys() const { return keys_; }
  const RedisEndpoint& endpoint() const { return endpoint_; }

  // Creates the ready stream and its consumer group if missing (idempotent).
  absl::Status EnsureGroup();

  // ---- scheduling side (reminders service) ----

  // Idempotent upsert by job id with a version; atomic per script call (up to
  // max_script_batch requests). Results are in request order.
  absl::StatusOr<std::vector<ScheduleResult>> Schedule(absl::Span<const ScheduleRequest> reqs);
  absl::StatusOr<ScheduleResult> Schedule(const ScheduleRequest& req);
  absl::StatusOr<std::vector<CancelResult>> Cancel(absl::Span<const CancelRequest> reqs);
  absl::StatusOr<CancelResult> Cancel(const CancelRequest& req);
  absl::StatusOr<std::optional<JobInfo>> GetJob(absl::string_view job_id);

  // ---- promoter ----

  // Moves up to `limit` (0 = options().promote_batch) due jobs into the ready stream. Call
  // again at once while batch_full; else sleep until next due (capped by wake_horizon) or a
  // wake-up.
  absl::StatusOr<PromoteResult> PromoteDue(int limit = 0);
  // Takes the promoter lease, or renews it when `owner` holds it. One active promoter per
  // queue: renew well before `ttl` runs out (e.g. every ttl/3).
  absl::StatusOr<LeaseState> AcquirePromoterLease(absl::string_view owner, absl::Duration ttl);
  absl::StatusOr<bool> ReleasePromoterLease(absl::string_view owner);

  // ---- consumers ----

  // Before sending: checks each delivery's version and claims its per-(job, version)
  // idempotency key for options().lease. Results in order.
  absl::StatusOr<std::vector<SendClaim>> ClaimForSend(absl::string_view consumer,
                                                      absl::Span<const Delivery> deliveries);
  // During a long send: resets the entries' idle time and extends the send claims. false for
  // an entry this consumer no longer owns (its lease expired and another consumer took it).
  absl::StatusOr<std::vector<bool>> RenewLeases(absl::string_view consumer,
                                                absl::Span<const Delivery> deliveries);
  struct Reclaimed {
    std::vector<Delivery> deliveries;
    std::string next_cursor;  // "0-0" when the scan wrapped around
    int dead_lettered = 0;    // poison jobs dead-lettered (over max_redeliveries)
  };
  // Janitor: takes over up to `max_count` entries idle longer than the lease.
  absl::StatusOr<Reclaimed> ReclaimExpired(absl::string_view consumer, int max_count,
                                           absl::string_view cursor = "0-0");
  // Ack / retry / dead-letter a batch in one script call per max_script_batch outcomes.
  absl::StatusOr<std::vector<SettleReport>> Settle(absl::Span<const Outcome> outcomes);

  // ---- operations ----

  absl::StatusOr<QueueStats> Stats();
  // The newest `max_count` dead entries, newest first.
  absl::StatusOr<std::vector<DeadEntry>> ListDead(int max_count);
  absl::StatusOr<int64_t> ServerTimeMs();

 private:
  absl::StatusOr<RedisReplyPtr> Run(const LuaScript& script, const std::vector<std::string>& keys,
                                    const std::vector<std::string>& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<ScheduleResult>> ScheduleChunk(absl::Span<const ScheduleRequest> reqs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<SettleReport>> SettleChunk(absl::Span<const Outcome> outcomes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RedisEndpoint endpoint_;
  const QueueOptions options_;
  const QueueKeys keys_;
  absl::Mutex mu_;
  RedisConnection conn_ ABSL_GUARDED_BY(mu_);
  ScriptRunner scripts_ ABSL_GUARDED_BY(mu_);
};

// Parses a stream entry id's millisecond part ("1700000000000-3" → 1700000000000).
int64_t StreamIdMillis(absl::string_view entry_id);

}  // namespace duban::queue
