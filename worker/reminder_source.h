#pragma once
// ReminderSource: for a batch of claimed jobs, what to send (recipients and message fields), or
// why not. Two implementations:
//   - DirectReminderSource (--source=direct): development and benchmarks. The job's ref field
//     carries the target itself ("ADDRESS" or "ADDRESS|LOCALE"); no other service is called.
//   - GrpcReminderSource (--source=grpc, grpc_reminder_source.h): production. One
//     BatchGetReminders, one ResolveRecipients and one BatchGetAssignments RPC per batch.
// Implementations are shared by all consumer threads and must be thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/types/span.h>

#include "message.h"

namespace duban::worker {

struct SourceJob {
  std::string job_id;
  int64_t version = 0;
  std::string ref;
  std::string delivery_id;
  int attempt = 1;  // 1-based number of this attempt
};

struct Resolution {
  enum class Kind {
    kSend,      // send `fields` to every recipient
    kSuppress,  // do not send: stale version, assignment closed, ... (`reason`)
    kDead,      // cannot ever be sent as is, e.g. no recipients (`reason`)
  };
  Kind kind = Kind::kSend;
  MessageFields fields;
  std::vector<Recipient> recipients;
  std::string reason;  // short, no personal data
  // For kSuppress: the proto SuppressionReason number to record (0 = stale version).
  int suppression_reason = 0;
};

class ReminderSource {
 public:
  virtual ~ReminderSource() = default;
  // One resolution per job, in order. An error (e.g. a service unavailable) makes the whole
  // batch a transient failure.
  virtual absl::StatusOr<std::vector<Resolution>> Resolve(absl::Span<const SourceJob> jobs) = 0;
};

class DirectReminderSource : public ReminderSource {
 public:
  absl::StatusOr<std::vector<Resolution>> Resolve(absl::Span<const SourceJob> jobs) override;
};

}  // namespace duban::worker
