#pragma once
// Checks of recipient addresses before anything is sent (a bad one is a permanent failure).
#include <string>

#include <absl/status/status.h>

namespace duban::worker {

// http:// or https:// with a host, no spaces or control characters, at most 2048 bytes.
absl::Status ValidateWebhookUrl(const std::string& url);
// local@domain: printable ASCII, no spaces, no CR/LF or angle brackets (header injection),
// a dotted domain of letters, digits and '-', at most 254 bytes.
absl::Status ValidateEmailAddress(const std::string& address);

}  // namespace duban::worker
