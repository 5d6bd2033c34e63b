#include "duban/page_token.h"

#include <absl/strings/escaping.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "duban/status.h"

namespace duban {

absl::StatusOr<int> EffectivePageSize(int32_t requested) {
  if (requested < 0) return InvalidField("page_size", "must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : static_cast<int>(requested);
}

uint64_t FilterFingerprint(absl::string_view canonical_filter) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : canonical_filter) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string EncodePageToken(uint64_t filter_fingerprint, absl::string_view cursor) {
  return absl::WebSafeBase64Escape(
      absl::StrCat("p1.", absl::Hex(filter_fingerprint, absl::kZeroPad16), ".", cursor));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token, uint64_t filter_fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 20 ||
      raw.compare(0, 3, "p1.") != 0 || raw[19] != '.') {
    return InvalidField("page_token", "is not a token this service issued");
  }
  uint64_t fp = 0;
  if (!absl::SimpleHexAtoi(absl::string_view(raw).substr(3, 16), &fp)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  if (fp != filter_fingerprint) {
    return InvalidField("page_token", "was issued for a different filter");
  }
  return raw.substr(20);
}

}  // namespace duban
