#pragma once
// Field validators shared by every service. Each returns OK or INVALID_ARGUMENT with a short
// description (no field name); callers attach the field through FieldViolations.
#include <absl/strings/string_view.h>
#include <cstddef>

#include <absl/status/status.h>

namespace duban {

// Resource ids chosen by callers: 1-64 of [a-z0-9._-], starting with [a-z0-9].
absl::Status ValidateId(absl::string_view id);

// Number of code points if `s` is valid UTF-8 (shortest forms, no surrogates), else -1.
std::ptrdiff_t Utf8Length(absl::string_view s);

// Human text: valid UTF-8, no control characters, `min_chars`..`max_chars` code points.
// `allow_newlines` permits \n and \t (descriptions, notes).
absl::Status ValidateText(absl::string_view s, size_t min_chars, size_t max_chars,
                          bool allow_newlines = false);

// An addr-spec (local@domain) of at most 254 characters with a dotted domain.
absl::Status ValidateEmail(absl::string_view email);

// Digits with an optional leading '+', 6-20 characters.
absl::Status ValidateMobile(absl::string_view mobile);

// An absolute http(s) URL with a host, no user info, no fragment, no spaces, at most 2048
// characters.
absl::Status ValidateHttpUrl(absl::string_view url);

// An IANA zone name known to the system's zoneinfo.
absl::Status ValidateTimezone(absl::string_view tz);

// "zh-CN" or "en".
absl::Status ValidateLocale(absl::string_view locale);

// Idempotency keys: 1-128 printable ASCII characters.
absl::Status ValidateRequestId(absl::string_view request_id);

}  // namespace duban
