#pragma once
// The key layout of one queue. Every key shares the hash tag {<queue>}, so a queue lives in one
// Redis Cluster slot and every script touches a single slot.
//
//   duban:{q}:d            ZSET  due set: member = job id, score = due time (Unix ms)
//   duban:{q}:j:<job>      HASH  the job, ids only (listpack-encoded, 2-6 short fields):
//                                 v = version, d = due time (Unix ms) of its place in the due
//                                 set (the promoter copies it into the ready entry, so it need
//                                 not read scores; absent in jobs stored before it existed),
//                                 r = reference (e.g. reminder id; absent when the
//                                 job id is the reference), l = end of useful life (Unix ms;
//                                 absent = none), a = failed attempts (absent = 0),
//                                 c = crash redeliveries (absent = 0)
//   duban:{q}:r            STREAM ready jobs with consumer group "w": an entry holds up to
//                                 QueueOptions::jobs_per_entry jobs (fields n = count, b = packed
//                                 records of id, version, due ms, attempts, redeliveries,
//                                 deadline, ref: see PromoteScript; older entries: j, v, d, one
//                                 job); settled entries are trimmed from the head (XTRIM MINID
//                                 up to the oldest pending entry)
//   duban:{q}:x            STREAM dead jobs (j, v, r, a, why, err), capped with MAXLEN
//   duban:{q}:i:<job>:<v>  STRING send marker of one (job, version): "p<consumer>" while a
//                                 send is claimed (TTL = lease), "s" once sent; "r<attempts>"
//                                 while a retry waits, "c" replaced or canceled after its entry
//                                 was queued, "u" suppressed, "x" dead (TTL = sent TTL). Every
//                                 end of a version writes its marker, so a claim of a fresh
//                                 entry needs no read of the job (see ClaimScript)
//   duban:{q}:pl           STRING promoter lease: owner id, PX = lease
//   duban:{q}:wake         pub/sub channel: published when a job becomes the earliest due
//
// The job id IS the business key (e.g. the reminder id), so there is no index to keep in step
// and an upsert, a reschedule or a cancel touch one hash and one ZSET member: O(log n).
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace duban::queue {

// Queue names: 1-64 of [A-Za-z0-9_.-] (no braces, so the hash tag stays intact).
absl::Status ValidateQueueName(absl::string_view name);
// Job ids (business keys): 1-200 printable ASCII bytes without space.
absl::Status ValidateJobId(absl::string_view id);

// Consumer group of the ready stream.
inline constexpr absl::string_view kConsumerGroup = "w";

class QueueKeys {
 public:
  explicit QueueKeys(absl::string_view queue);

  const std::string& name() const { return name_; }
  const std::string& prefix() const { return prefix_; }  // "duban:{q}:"
  const std::string& due() const { return due_; }
  const std::string& ready() const { return ready_; }
  const std::string& dead() const { return dead_; }
  const std::string& promoter_lease() const { return promoter_lease_; }
  const std::string& wake_channel() const { return wake_channel_; }
  std::string job(absl::string_view job_id) const;
  std::string idempotency(absl::string_view job_id, int64_t version) const;

 private:
  std::string name_, prefix_, due_, ready_, dead_, promoter_lease_, wake_channel_;
};

}  // namespace duban::queue
