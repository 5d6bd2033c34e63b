#include "address_validation.h"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_split.h>

namespace duban::worker {

absl::Status ValidateWebhookUrl(const std::string& url) {
  if (url.empty() || url.size() > 2048) return absl::InvalidArgumentError("url length");
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) return absl::InvalidArgumentError("url has invalid characters");
  }
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "http://")) {
    rest.remove_prefix(7);
  } else if (absl::StartsWith(rest, "https://")) {
    rest.remove_prefix(8);
  } else {
    return absl::InvalidArgumentError("url scheme must be http or https");
  }
  size_t end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, end);
  if (authority.empty() || authority.front() == ':' || absl::StrContains(authority, "@")) {
    return absl::InvalidArgumentError("url needs a host (and no user info)");
  }
  return absl::OkStatus();
}

absl::Status ValidateEmailAddress(const std::string& address) {
  if (address.empty() || address.size() > 254) return absl::InvalidArgumentError("address length");
  size_t at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size() || at > 64) {
    return absl::InvalidArgumentError("address must be local@domain");
  }
  for (size_t i = 0; i < at; ++i) {
    unsigned char c = address[i];
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
        c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']' || c == '@') {
      return absl::InvalidArgumentError("address has invalid characters");
    }
  }
  absl::string_view domain = absl::string_view(address).substr(at + 1);
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return absl::InvalidArgumentError("address domain must be dotted");
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return absl::InvalidArgumentError("address domain label");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') {
        return absl::InvalidArgumentError("address domain has invalid characters");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace duban::worker
