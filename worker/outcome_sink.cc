#include "outcome_sink.h"

#include <spdlog/spdlog.h>

namespace duban::worker {

const char* DeliveryRecordKindName(DeliveryRecord::Kind kind) {
  switch (kind) {
    case DeliveryRecord::Kind::kSent:
      return "sent";
    case DeliveryRecord::Kind::kRetry:
      return "retry";
    case DeliveryRecord::Kind::kDead:
      return "dead";
    case DeliveryRecord::Kind::kSuppressed:
      return "suppressed";
    case DeliveryRecord::Kind::kMissed:
      return "missed";
  }
  return "unknown";
}

absl::Status LogOutcomeSink::Record(absl::Span<const DeliveryRecord> records) {
  if (!spdlog::should_log(spdlog::level::debug)) return absl::OkStatus();
  for (const DeliveryRecord& r : records) {
    // Ids and the short error only: never message text or contact details.
    spdlog::debug("outcome {} reminder={} v={} attempt={} delivery={} error={}",
                  DeliveryRecordKindName(r.kind), r.job_id, r.version, r.attempt, r.delivery_id,
                  r.error);
  }
  return absl::OkStatus();
}

}  // namespace duban::worker
