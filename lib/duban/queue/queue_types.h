#pragma once
// Values exchanged with the queue. Payloads are ids only: the worker fetches everything else
// (recipients, task details) from the services that own it.
#include <cstdint>
#include <optional>
#include <string>

#include <absl/time/time.h>

namespace duban::queue {

// Largest version / time value the scripts handle exactly (Lua numbers are doubles).
inline constexpr int64_t kMaxExactInteger = (int64_t{1} << 53) - 1;

// Schedule (insert or reschedule) one job. The job id is the business key, e.g. the reminder id.
struct ScheduleRequest {
  std::string job_id;
  int64_t version = 1;  // 1..2^53-1; a request with a version <= the stored one is ignored
  absl::Time due;
  std::string ref;  // optional id carried to the worker (empty when job_id says it all)
  // End of the job's useful life: retries never go past it and a job claimed after it is
  // reported kExpired. InfiniteFuture = none.
  absl::Time deadline = absl::InfiniteFuture();
};

enum class ScheduleResult {
  kCreated,       // new job
  kRescheduled,   // replaced an older version (due time, ref, deadline; attempts reset)
  kSameVersion,   // this version is already stored: ignored (an idempotent replay)
  kStaleVersion,  // a newer version is stored: ignored
  kAlreadySent,   // this (job, version) was already sent: ignored
};

struct CancelRequest {
  std::string job_id;
  int64_t version = 0;  // cancels when the stored version <= this one
};

enum class CancelResult {
  kCanceled,
  kNotFound,      // nothing stored (never scheduled, already finished or canceled)
  kStaleVersion,  // a newer version is stored: ignored
};

struct PromoteResult {
  int taken = 0;                       // removed from the due set (<= batch limit)
  int promoted = 0;                    // added to the ready stream (taken minus orphans)
  bool batch_full = false;             // taken == limit: call again at once
  std::optional<int64_t> next_due_ms;  // earliest due time left, if any (server clock)
  int64_t server_now_ms = 0;
  // How long until next_due_ms by the server clock (zero if due already; nullopt if none):
  // what a promoter should sleep, capped at its maximum sleep.
  std::optional<absl::Duration> until_next_due() const;
};

// One entry of the ready stream, as read by a consumer.
struct Delivery {
  std::string entry_id;  // stream entry id
  std::string job_id;
  int64_t version = 0;
  int64_t due_ms = 0;        // when it was due (for the lateness histogram: fired - due)
  bool reclaimed = false;    // taken over from a consumer whose lease expired
  int64_t redeliveries = 0;  // crash redeliveries so far (reclaims only; not attempts)
  // What the promoter read from the job when it queued the entry. `carried` (a first read of
  // an entry) lets ClaimForSend take ref, deadline and attempts from here instead of reading
  // the job; a reclaimed delivery has only `attempt`.
  bool carried = false;
  int attempt = -1;  // failed attempts when queued (-1: unknown, an entry of the older layout)
  std::string ref;
  int64_t deadline_ms = 0;  // 0 = none
};

enum class ClaimStatus {
  kClaimed,      // send it, with delivery_id; then Settle
  kCanceled,     // the job is gone: Settle as Skip
  kStale,        // rescheduled meanwhile: Settle as Skip (the newer version will come)
  kAlreadySent,  // a previous delivery sent it: Settle as Sent, do not send again
  kInFlight,     // another live consumer holds the send claim: Settle as Skip (if that
                 // consumer never settles, the job comes back after one lease)
  kExpired,      // past its useful life: Settle as Dead("expired")
};

// What a consumer learns about a delivery when it claims the right to send it.
struct SendClaim {
  ClaimStatus status = ClaimStatus::kCanceled;
  std::string delivery_id;  // DeliveryId(queue, job, version): send it with the message
  std::string ref;
  int attempt = 0;           // failed attempts so far
  int64_t redeliveries = 0;  // crash redeliveries so far
  std::optional<int64_t> deadline_ms;
};

// How a delivery ended; settled in batches (one script call per batch).
struct Outcome {
  enum class Kind { kSent, kSuppressed, kSkip, kRetry, kDead };
  Kind kind = Kind::kSkip;
  std::string entry_id;  // may be empty for a job that is not in the stream
  std::string job_id;
  int64_t version = 0;
  absl::Duration retry_delay;  // kRetry
  int max_attempts = 0;        // kRetry: dead-letter when attempts reach this (0 = unlimited)
  std::string reason;          // kDead
  std::string error;           // kRetry, kDead: the last error (short)

  static Outcome Sent(const Delivery& d);
  // Finished without a send (e.g. the assignment closed): the job is removed.
  static Outcome Suppressed(const Delivery& d);
  // The stream entry goes (stale, canceled, in flight elsewhere). A job still at this version
  // returns to the due set one lease later, so a skip never loses a job.
  static Outcome Skip(const Delivery& d);
  static Outcome Retry(const Delivery& d, absl::Duration delay, std::string error,
                       int max_attempts);
  static Outcome Dead(const Delivery& d, std::string reason, std::string error);
};

enum class SettleResult {
  kDone,            // applied
  kIgnored,         // the job has another version now (or is gone): only the entry was removed
  kRetryScheduled,  // back in the due set at retry_due_ms
  kDeadLettered,    // moved to the dead set with dead_reason
};

struct SettleReport {
  SettleResult result = SettleResult::kDone;
  int64_t retry_due_ms = 0;
  std::string dead_reason;
};

struct JobInfo {
  int64_t version = 0;
  std::string ref;
  std::optional<int64_t> deadline_ms;
  int attempt = 0;
  int64_t redeliveries = 0;
  std::optional<int64_t> due_ms;  // absent while the job is in the ready stream
};

struct DeadEntry {
  std::string entry_id;
  absl::Time at;  // when it was dead-lettered (from the entry id)
  std::string job_id;
  int64_t version = 0;
  std::string ref;
  int attempts = 0;
  std::string reason;  // "expired", "max_attempts", or the caller's (e.g. "permanent")
  std::string error;
};

struct QueueStats {
  int64_t due = 0;          // jobs waiting in the due set
  int64_t ready = 0;        // unsettled entries of the ready stream: pending + undelivered
  int64_t pending = 0;      // entries delivered to a consumer and not settled
  int64_t undelivered = 0;  // entries no consumer has read yet (the group's lag)
  int64_t dead = 0;         // entries in the dead set
  int64_t oldest_due_lateness_ms = 0;  // how far past due the earliest job is (0 if not due)
  std::optional<int64_t> next_due_ms;
  std::optional<int64_t> oldest_ready_age_ms;  // age of the oldest unsettled ready entry
  int64_t server_now_ms = 0;
};

struct LeaseState {
  bool held = false;
  absl::Duration remaining;  // our TTL when held, else the holder's remaining TTL
};

}  // namespace duban::queue
