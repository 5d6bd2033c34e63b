#include "duban/queue/retry_policy.h"

#include <algorithm>
#include <cstdint>

#include <absl/random/distributions.h>

namespace duban::queue {

absl::Status RetryPolicy::Validate() const {
  if (base <= absl::ZeroDuration()) return absl::InvalidArgumentError("retry base must be > 0");
  if (cap < base) return absl::InvalidArgumentError("retry cap must be >= base");
  if (max_attempts < 0) return absl::InvalidArgumentError("max_attempts must be >= 0");
  return absl::OkStatus();
}

absl::Duration RetryPolicy::Ceiling(int attempt) const {
  if (attempt < 1) attempt = 1;
  // base * 2^(attempt-1) without overflow: stop doubling once past the cap.
  absl::Duration d = base;
  for (int i = 1; i < attempt && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

absl::Duration RetryPolicy::Backoff(int attempt, absl::BitGenRef gen) const {
  int64_t ceiling_ms = absl::ToInt64Milliseconds(Ceiling(attempt));
  return absl::Milliseconds(absl::Uniform<int64_t>(absl::IntervalClosedClosed, gen, 0, ceiling_ms));
}

}  // namespace duban::queue
