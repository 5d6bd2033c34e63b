#include "output.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>

namespace duban::cli {

namespace {

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes count as one column.
char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  int len = 1;
  char32_t cp = c;
  if (c >= 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else if (c >= 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xC0) {
    len = 2;
    cp = c & 0x1F;
  }
  if (i + len > s.size()) len = 1;
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return len == 1 ? c : cp;
}

bool IsWide(char32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

// Skips an ANSI escape sequence (ESC '[' ... letter) starting at `i`; false if none there.
bool SkipEscape(std::string_view s, size_t& i) {
  if (s[i] != '\x1b' || i + 1 >= s.size() || s[i + 1] != '[') return false;
  size_t j = i + 2;
  while (j < s.size() && !absl::ascii_isalpha(static_cast<unsigned char>(s[j]))) ++j;
  i = std::min(j + 1, s.size());
  return true;
}

absl::TimeZone LoadZone(const std::string& tz) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(tz, &zone)) zone = absl::FixedTimeZone(8 * 3600);  // Asia/Shanghai
  return zone;
}

}  // namespace

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

void PrintJson(const google::protobuf::Message& message) { std::cout << ToJson(message) << "\n"; }

int DisplayWidth(std::string_view text) {
  int width = 0;
  for (size_t i = 0; i < text.size();) {
    if (SkipEscape(text, i)) continue;
    width += IsWide(NextCodePoint(text, i)) ? 2 : 1;
  }
  return width;
}

std::string PadTo(std::string_view text, int width) {
  const int w = DisplayWidth(text);
  if (w <= width) return std::string(text) + std::string(width - w, ' ');
  // Cut at a code point boundary, leaving one column for the ellipsis.
  std::string out;
  int used = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    if (SkipEscape(text, i)) {
      out.append(text.substr(start, i - start));
      continue;
    }
    const int cw = IsWide(NextCodePoint(text, i)) ? 2 : 1;
    if (used + cw > width - 1) break;
    used += cw;
    out.append(text.substr(start, i - start));
  }
  out += "…";
  ++used;
  if (out.find('\x1b') != std::string::npos) out += "\x1b[0m";
  return out + std::string(std::max(0, width - used), ' ');
}

std::string Paint(std::string_view text, Color color, bool enabled) {
  if (!enabled || color == Color::kNone) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::kRed:
      code = "\x1b[31m";
      break;
    case Color::kYellow:
      code = "\x1b[33m";
      break;
    case Color::kGreen:
      code = "\x1b[32m";
      break;
    case Color::kGrey:
      code = "\x1b[90m";
      break;
    case Color::kBold:
      code = "\x1b[1m";
      break;
    case Color::kNone:
      break;
  }
  return std::string(code) + std::string(text) + "\x1b[0m";
}

void Table::Print(int max_width) const {
  std::vector<int> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  if (max_width > 0) {
    for (auto& w : widths) w = std::min(w, max_width);
  }
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < widths.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      // The last column is not padded, so lines carry no trailing spaces.
      line += c + 1 == widths.size() ? cell : PadTo(cell, widths[c]) + "  ";
    }
    std::cout << line << "\n";
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

std::string FormatTime(const google::protobuf::Timestamp& ts, const std::string& tz) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(ts.seconds()), LoadZone(tz));
}

absl::StatusOr<google::protobuf::Timestamp> ParseTime(std::string_view text,
                                                      const std::string& tz) {
  const std::string s(absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
  absl::Time t;
  std::string err;
  const absl::TimeZone zone = LoadZone(tz);
  if (s == "now") {
    t = absl::Now();
  } else if (s.size() >= 3 && s[0] == '+') {
    int64_t n = 0;
    if (!absl::SimpleAtoi(s.substr(1, s.size() - 2), &n) || n < 0) {
      return absl::InvalidArgumentError("bad relative time '" + s + "' (e.g. +30m, +2h, +3d)");
    }
    const char unit = s.back();
    absl::Duration d;
    if (unit == 's')
      d = absl::Seconds(n);
    else if (unit == 'm')
      d = absl::Minutes(n);
    else if (unit == 'h')
      d = absl::Hours(n);
    else if (unit == 'd')
      d = absl::Hours(24 * n);
    else
      return absl::InvalidArgumentError("bad relative time '" + s + "' (e.g. +30m, +2h, +3d)");
    t = absl::Now() + d;
  } else if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
  } else if (absl::ParseTime("%Y-%m-%d %H:%M", s, zone, &t, &err) ||
             absl::ParseTime("%Y-%m-%dT%H:%M", s, zone, &t, &err) ||
             absl::ParseTime("%Y-%m-%d %H:%M:%S", s, zone, &t, &err)) {
  } else if (absl::ParseTime("%Y-%m-%d", s, zone, &t, &err)) {
    t += absl::Hours(18);
  } else {
    return absl::InvalidArgumentError("bad time '" + s +
                                      "' (use 2026-12-31, '2026-12-31 18:00', RFC 3339, now, "
                                      "+30m/+2h/+3d)");
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

std::string Bar(int percent, int width) {
  percent = std::clamp(percent, 0, 100);
  const int full = (percent * width + 50) / 100;
  std::string out;
  for (int i = 0; i < width; ++i) out += i < full ? "█" : "░";
  return out + " " + std::to_string(percent) + "%";
}

}  // namespace duban::cli
