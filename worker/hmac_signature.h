#pragma once
// The webhook signature: lower-case hex HMAC-SHA256 of "<timestamp>.<body>" under the shared
// secret. Receivers recompute it and reject stale timestamps (replay protection).
#include <cstdint>
#include <string>

#include <absl/strings/string_view.h>

namespace duban::worker {

std::string HmacSha256Hex(absl::string_view key, absl::string_view data);
std::string WebhookSignature(absl::string_view secret, int64_t timestamp_s, absl::string_view body);

}  // namespace duban::worker
