#pragma once
// Output helpers shared by every command: proto messages as JSON (-o json, the proto3 JSON
// mapping, as grpcurl prints them), aligned text tables that measure Chinese characters as two
// columns, ANSI colours, and times shown and parsed in the --tz zone.
#include <string>
#include <string_view>
#include <vector>

#include <absl/status/statusor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

namespace duban::cli {

// The message in the proto3 JSON mapping (camelCase names, enums by name), one line.
std::string ToJson(const google::protobuf::Message& message);
// ToJson(message) + "\n" on stdout.
void PrintJson(const google::protobuf::Message& message);

// Terminal columns `text` (UTF-8) takes: East Asian wide characters count 2.
int DisplayWidth(std::string_view text);
// `text` padded with spaces to `width` columns (or cut to fit, ending in "…").
std::string PadTo(std::string_view text, int width);

enum class Color { kNone, kRed, kYellow, kGreen, kGrey, kBold };
// `text` wrapped in the ANSI escape for `color` when `enabled`.
std::string Paint(std::string_view text, Color color, bool enabled);

// A text table: a header row and data rows, columns padded to the widest cell. Cells may hold
// ANSI colour escapes (not counted in widths).
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  // To stdout; `max_width` caps each column (0: no cap).
  void Print(int max_width = 48) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "2026-12-31 18:00" in `tz` (an IANA zone name); "-" for an unset timestamp.
std::string FormatTime(const google::protobuf::Timestamp& ts, const std::string& tz);
// Accepts "2026-12-31" (18:00 that day, the usual 下班 deadline), "2026-12-31 18:00",
// "2026-12-31T18:00", RFC 3339 with an offset, "now", or "+30m"/"+2h"/"+3d" from now.
absl::StatusOr<google::protobuf::Timestamp> ParseTime(std::string_view text, const std::string& tz);

// A completion bar for `percent` (0-100), `width` cells, e.g. "██████░░░░ 60%".
std::string Bar(int percent, int width = 10);

}  // namespace duban::cli
