#include "duban/validation.h"

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/time/time.h>

namespace duban {

absl::Status ValidateId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("must not be empty");
  if (id.size() > 64) return absl::InvalidArgumentError("must be at most 64 characters");
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9'))) {
    return absl::InvalidArgumentError("must start with a lower-case letter or digit");
  }
  for (char c : id) {
    if (!ok_char(c)) {
      return absl::InvalidArgumentError("may contain only a-z, 0-9, '.', '_' and '-'");
    }
  }
  return absl::OkStatus();
}

std::ptrdiff_t Utf8Length(absl::string_view s) {
  std::ptrdiff_t count = 0;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and values beyond Unicode.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return -1;
    }
    i += len;
    ++count;
  }
  return count;
}

absl::Status ValidateText(absl::string_view s, size_t min_chars, size_t max_chars,
                          bool allow_newlines) {
  std::ptrdiff_t n = Utf8Length(s);
  if (n < 0) return absl::InvalidArgumentError("must be valid UTF-8");
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      if (allow_newlines && (c == '\n' || c == '\t' || c == '\r')) continue;
      return absl::InvalidArgumentError("must not contain control characters");
    }
  }
  if (static_cast<size_t>(n) < min_chars) {
    return absl::InvalidArgumentError(
        min_chars == 1 ? "must not be empty"
                       : absl::StrCat("must be at least ", min_chars, " characters"));
  }
  if (static_cast<size_t>(n) > max_chars) {
    return absl::InvalidArgumentError(absl::StrCat("must be at most ", max_chars, " characters"));
  }
  if (n > 0 && (absl::ascii_isspace(static_cast<unsigned char>(s.front())) ||
                absl::ascii_isspace(static_cast<unsigned char>(s.back())))) {
    return absl::InvalidArgumentError("must not start or end with white space");
  }
  return absl::OkStatus();
}

absl::Status ValidateEmail(absl::string_view email) {
  if (email.size() > 254) return absl::InvalidArgumentError("must be at most 254 characters");
  auto at = email.rfind('@');
  if (at == absl::string_view::npos || at == 0 || at + 1 >= email.size()) {
    return absl::InvalidArgumentError("must be an address like name@example.org");
  }
  absl::string_view local = email.substr(0, at), domain = email.substr(at + 1);
  if (local.size() > 64) return absl::InvalidArgumentError("local part is longer than 64");
  for (char c : local) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
              absl::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != absl::string_view::npos;
    if (!ok) return absl::InvalidArgumentError("local part has a character not allowed");
  }
  if (local.front() == '.' || local.back() == '.' || absl::StrContains(local, "..")) {
    return absl::InvalidArgumentError("local part has a misplaced '.'");
  }
  if (domain.find('.') == absl::string_view::npos) {
    return absl::InvalidArgumentError("domain must contain a '.'");
  }
  for (absl::string_view label : absl::StrSplit(domain, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return absl::InvalidArgumentError("domain has an invalid label");
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return absl::InvalidArgumentError("domain has a character not allowed");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMobile(absl::string_view mobile) {
  absl::string_view digits = mobile;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (mobile.size() < 6 || mobile.size() > 20 || digits.empty()) {
    return absl::InvalidArgumentError("must be 6-20 characters");
  }
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError("must be digits with an optional leading '+'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateHttpUrl(absl::string_view url) {
  if (url.size() > 2048) return absl::InvalidArgumentError("must be at most 2048 characters");
  absl::string_view rest;
  if (absl::StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else if (absl::StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError("must start with http:// or https://");
  }
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return absl::InvalidArgumentError("must not contain spaces or non-ASCII characters");
    }
  }
  if (url.find('#') != absl::string_view::npos) {
    return absl::InvalidArgumentError("must not contain a fragment");
  }
  absl::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("must not contain user info");
  }
  absl::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("has a bad IPv6 host");
    absl::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty() && after.front() != ':') {
      return absl::InvalidArgumentError("has a bad port");
    }
    authority = after;
  } else {
    auto colon = host.rfind(':');
    authority = colon == absl::string_view::npos ? absl::string_view() : host.substr(colon);
    host = host.substr(0, colon);
  }
  if (host.empty()) return absl::InvalidArgumentError("must name a host");
  if (!authority.empty()) {
    absl::string_view port = authority.substr(1);
    if (port.empty() || port.size() > 5) return absl::InvalidArgumentError("has a bad port");
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return absl::InvalidArgumentError("has a bad port");
      value = value * 10 + (c - '0');
    }
    if (value == 0 || value > 65535) return absl::InvalidArgumentError("has a bad port");
  }
  return absl::OkStatus();
}

absl::Status ValidateTimezone(absl::string_view tz) {
  if (tz.empty() || tz.size() > 64) return absl::InvalidArgumentError("must be an IANA zone name");
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(tz), &zone)) {
    return absl::InvalidArgumentError("is not a known IANA time zone");
  }
  return absl::OkStatus();
}

absl::Status ValidateLocale(absl::string_view locale) {
  if (locale == "zh-CN" || locale == "en") return absl::OkStatus();
  return absl::InvalidArgumentError("must be \"zh-CN\" or \"en\"");
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty() || request_id.size() > 128) {
    return absl::InvalidArgumentError("must be 1-128 characters");
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7E) return absl::InvalidArgumentError("must be printable ASCII");
  }
  return absl::OkStatus();
}

}  // namespace duban
