#include "duban/queue/queue_keys.h"

#include <absl/strings/str_cat.h>

namespace duban::queue {

absl::Status ValidateQueueName(absl::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError("queue name must be 1-64 characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return absl::InvalidArgumentError("queue name may hold only [A-Za-z0-9_.-]");
  }
  return absl::OkStatus();
}

absl::Status ValidateJobId(absl::string_view id) {
  if (id.empty() || id.size() > 200) {
    return absl::InvalidArgumentError("job id must be 1-200 bytes");
  }
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError("job id must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

QueueKeys::QueueKeys(absl::string_view queue)
    : name_(queue),
      prefix_(absl::StrCat("duban:{", queue, "}:")),
      due_(prefix_ + "d"),
      ready_(prefix_ + "r"),
      dead_(prefix_ + "x"),
      promoter_lease_(prefix_ + "pl"),
      wake_channel_(prefix_ + "wake") {}

std::string QueueKeys::job(absl::string_view job_id) const {
  return absl::StrCat(prefix_, "j:", job_id);
}

std::string QueueKeys::idempotency(absl::string_view job_id, int64_t version) const {
  return absl::StrCat(prefix_, "i:", job_id, ":", version);
}

}  // namespace duban::queue
