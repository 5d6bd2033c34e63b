#pragma once
// Opaque page tokens bound to the filter that produced them, and the page-size rule every List
// follows (0 -> 50, capped at 1000, negative -> INVALID_ARGUMENT).
#include <absl/strings/string_view.h>
#include <cstdint>
#include <string>

#include <absl/status/statusor.h>

namespace duban {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// The effective page size, or INVALID_ARGUMENT naming "page_size".
absl::StatusOr<int> EffectivePageSize(int32_t requested);

// A stable 64-bit fingerprint (FNV-1a) of a request's filter fields, stable across restarts.
uint64_t FilterFingerprint(absl::string_view canonical_filter);

// Encodes the position after the last returned row. `cursor` is service-defined.
std::string EncodePageToken(uint64_t filter_fingerprint, absl::string_view cursor);

// Decodes a token; INVALID_ARGUMENT naming "page_token" if it is malformed or was issued for a
// different filter. An empty token decodes to an empty cursor.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, uint64_t filter_fingerprint);

}  // namespace duban
