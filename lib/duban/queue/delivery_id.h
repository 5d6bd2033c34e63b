#pragma once
// The delivery id sent with every message: a pure function of (queue, job, version), so every
// redelivery of one version carries the same id and receivers can de-duplicate, and a new
// version (a reschedule) gets a new one.
#include <cstdint>
#include <string>

#include <absl/strings/string_view.h>

namespace duban::queue {

// 32 lower-case hex digits (128 bits from two independent FNV-1a-64 hashes over the
// length-prefixed fields). Stable across processes, builds and restarts.
std::string DeliveryId(absl::string_view queue, absl::string_view job_id, int64_t version);

}  // namespace duban::queue
