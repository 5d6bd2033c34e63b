#include "workplan_import.h"

#include <cctype>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <yaml-cpp/yaml.h>

#include "cli_context.h"
#include "output.h"

namespace duban::cli {

namespace {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Upper(std::string_view s) {
  std::string out = Trim(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

// Looks an enum value up by its full name or by the name without `prefix`.
template <typename Enum>
absl::StatusOr<Enum> ParseEnum(std::string_view text, const std::string& prefix,
                               bool (*parse)(const std::string&, Enum*), const char* what,
                               const char* examples) {
  const std::string u = Upper(text);
  Enum value{};
  if (!u.empty() && (parse(u, &value) || parse(prefix + u, &value)) &&
      static_cast<int>(value) != 0) {
    return value;
  }
  return absl::InvalidArgumentError("bad " + std::string(what) + " '" + std::string(text) + "' (" +
                                    examples + ")");
}

// RFC 4180 CSV: quoted fields with "" escapes and embedded newlines. Each record keeps the
// line it starts on, for messages.
struct CsvRecord {
  int line = 0;
  std::vector<std::string> fields;
};

std::vector<CsvRecord> ParseCsv(const std::string& text, const std::string& name) {
  std::vector<CsvRecord> out;
  CsvRecord rec;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1;
  rec.line = 1;
  size_t i = 0;
  // A UTF-8 byte order mark (Excel writes one) is not part of the first header.
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) i = 3;
  auto end_record = [&] {
    rec.fields.push_back(field);
    field.clear();
    field_started = false;
    bool blank = rec.fields.size() == 1 && Trim(rec.fields[0]).empty();
    if (!blank) out.push_back(rec);
    rec = CsvRecord{};
    rec.line = line;
  };
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      rec.fields.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\r') {
      // CRLF line ends.
    } else if (c == '\n') {
      ++line;
      end_record();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) throw UsageError{name + ":" + std::to_string(rec.line) + ": unterminated quote"};
  if (field_started || !rec.fields.empty()) end_record();
  return out;
}

const std::vector<std::string>& Columns() {
  static const std::vector<std::string> cols = {
      "key",      "parent_key",   "title",      "lead_unit", "cooperating_units",
      "deadline", "working_days", "milestones", "priority",  "tags"};
  return cols;
}

// A row as column → text, before checking.
struct RawRow {
  int line = 0;
  std::map<std::string, std::string> cells;
};

std::vector<RawRow> RowsFromCsv(const std::string& name, const std::string& text) {
  const auto records = ParseCsv(text, name);
  if (records.empty()) throw UsageError{name + ": empty file (expected a header row)"};
  std::vector<std::string> header;
  for (const auto& h : records[0].fields) header.push_back(absl::AsciiStrToLower(Trim(h)));
  const std::set<std::string> known(Columns().begin(), Columns().end());
  for (const auto& h : header) {
    if (!known.count(h)) {
      throw UsageError{name + ":" + std::to_string(records[0].line) + ": unknown column '" + h +
                       "' (expected " +
                       "key,parent_key,title,lead_unit,cooperating_units,"
                       "deadline,working_days,milestones,priority,tags)"};
    }
  }
  for (const char* required : {"key", "title", "lead_unit"}) {
    if (std::find(header.begin(), header.end(), required) == header.end()) {
      throw UsageError{name + ":" + std::to_string(records[0].line) + ": missing column '" +
                       required + "'"};
    }
  }
  std::vector<RawRow> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() > header.size()) {
      throw UsageError{name + ":" + std::to_string(rec.line) + ": " +
                       std::to_string(rec.fields.size()) + " fields, header has " +
                       std::to_string(header.size())};
    }
    RawRow row;
    row.line = rec.line;
    for (size_t c = 0; c < rec.fields.size(); ++c) row.cells[header[c]] = Trim(rec.fields[c]);
    rows.push_back(std::move(row));
  }
  return rows;
}

// A YAML scalar or sequence as the CSV cell text (sequences joined with ';').
std::string YamlCell(const YAML::Node& node) {
  if (node.IsSequence()) {
    std::string out;
    for (const auto& item : node) {
      if (!out.empty()) out += ";";
      out += item.as<std::string>();
    }
    return out;
  }
  if (node.IsNull()) return "";
  return node.as<std::string>();
}

std::vector<RawRow> RowsFromYaml(const std::string& name, const std::string& text) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw UsageError{name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  if (!doc.IsSequence()) throw UsageError{name + ":1: expected a list of tasks"};
  const std::set<std::string> known(Columns().begin(), Columns().end());
  std::vector<RawRow> rows;
  for (const auto& item : doc) {
    RawRow row;
    row.line = item.Mark().line + 1;
    if (!item.IsMap()) throw UsageError{name + ":" + std::to_string(row.line) + ": expected a map"};
    for (const auto& kv : item) {
      const std::string key = kv.first.as<std::string>();
      if (!known.count(key)) {
        throw UsageError{name + ":" + std::to_string(kv.first.Mark().line + 1) + ": unknown key '" +
                         key + "'"};
      }
      try {
        row.cells[key] = Trim(YamlCell(kv.second));
      } catch (const YAML::Exception& e) {
        throw UsageError{name + ":" + std::to_string(kv.second.Mark().line + 1) + ": " + key +
                         ": " + e.msg};
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> SplitList(std::string_view text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    std::string item = Trim(text.substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

absl::StatusOr<tv1::Date> ParseDate(std::string_view text) {
  const std::string s = Trim(text);
  int y = 0, m = 0, d = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    return absl::InvalidArgumentError("bad date '" + s + "' (use 2026-12-31)");
  }
  tv1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

absl::StatusOr<tv1::Deadline> ParseAbsoluteDeadline(std::string_view text, const std::string& tz) {
  auto ts = ParseTime(text, tz);
  if (!ts.ok()) return ts.status();
  tv1::Deadline d;
  *d.mutable_absolute_time() = *ts;
  return d;
}

absl::StatusOr<tv1::Deadline> WorkingDaysDeadline(int count, std::string_view from) {
  if (count < 1 || count > 1000) {
    return absl::InvalidArgumentError("working days must be 1-1000, got " + std::to_string(count));
  }
  tv1::Deadline d;
  d.mutable_working_days()->set_count(count);
  if (!Trim(from).empty()) {
    auto date = ParseDate(from);
    if (!date.ok()) return date.status();
    *d.mutable_working_days()->mutable_from_date() = *date;
  }
  return d;
}

absl::StatusOr<tv1::Milestone> ParseMilestone(std::string_view text, const std::string& tz) {
  std::string s = Trim(text);
  int percent = 0;
  size_t at = s.rfind('@');
  if (at == std::string::npos || at == 0) {
    return absl::InvalidArgumentError("bad milestone '" + s + "' (use title@2026-12-15)");
  }
  // title@TIME@PERCENT: a trailing all-digit part after a second '@' is the planned percent.
  const std::string tail = Trim(s.substr(at + 1));
  const size_t at2 = s.rfind('@', at - 1);
  if (at2 != std::string::npos && at2 > 0 && !tail.empty() &&
      tail.find_first_not_of("0123456789") == std::string::npos) {
    percent = std::stoi(tail);
    if (percent < 1 || percent > 100) {
      return absl::InvalidArgumentError("milestone percent must be 1-100 in '" + s + "'");
    }
    s = s.substr(0, at);
    at = at2;
  }
  const std::string title = Trim(s.substr(0, at));
  if (title.empty()) return absl::InvalidArgumentError("milestone without a title in '" + s + "'");
  auto due = ParseAbsoluteDeadline(s.substr(at + 1), tz);
  if (!due.ok())
    return absl::InvalidArgumentError("milestone '" + title +
                                      "': " + std::string(due.status().message()));
  tv1::Milestone m;
  m.set_title(title);
  *m.mutable_due() = *due;
  m.set_planned_percent(percent);
  return m;
}

absl::StatusOr<tv1::Priority> ParsePriority(std::string_view text) {
  return ParseEnum<tv1::Priority>(text, "PRIORITY_", &tv1::Priority_Parse, "priority",
                                  "low, normal, high, urgent");
}

absl::StatusOr<tv1::UnitKind> ParseTaskUnitKind(std::string_view text) {
  return ParseEnum<tv1::UnitKind>(text, "UNIT_KIND_", &tv1::UnitKind_Parse, "unit kind",
                                  "province, city, district, town, village, department, "
                                  "enterprise, party_branch, other");
}

absl::StatusOr<tv1::AssignmentState> ParseAssignmentState(std::string_view text) {
  return ParseEnum<tv1::AssignmentState>(
      text, "ASSIGNMENT_STATE_", &tv1::AssignmentState_Parse, "state",
      "assigned, acknowledged, in_progress, submitted, done, returned, canceled");
}

absl::StatusOr<tv1::TrafficLight> ParseLight(std::string_view text) {
  return ParseEnum<tv1::TrafficLight>(text, "TRAFFIC_LIGHT_", &tv1::TrafficLight_Parse, "light",
                                      "red, yellow, green");
}

std::vector<WorkPlanRow> ReadWorkPlan(const std::string& path, const std::string& tz) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();  // CSV on stdin
    return ParseWorkPlan("stdin", buf.str(), tz);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{path + ": cannot read the file"};
  buf << in.rdbuf();
  return ParseWorkPlan(path, buf.str(), tz);
}

std::vector<WorkPlanRow> ParseWorkPlan(const std::string& name, const std::string& text,
                                       const std::string& tz) {
  const std::string lower = absl::AsciiStrToLower(name);
  const bool yaml = EndsWith(lower, ".yaml") || EndsWith(lower, ".yml");
  const std::vector<RawRow> raw = yaml ? RowsFromYaml(name, text) : RowsFromCsv(name, text);

  std::vector<std::string> problems;
  std::vector<WorkPlanRow> rows;
  std::set<std::string> keys;
  for (const RawRow& r : raw) {
    const auto cell = [&](const char* col) {
      auto it = r.cells.find(col);
      return it == r.cells.end() ? std::string() : it->second;
    };
    const auto problem = [&](const std::string& what) {
      problems.push_back(name + ":" + std::to_string(r.line) + ": " + what);
    };
    const size_t before = problems.size();
    WorkPlanRow row;
    row.line = r.line;
    row.key = cell("key");
    row.parent_key = cell("parent_key");
    if (row.key.empty())
      problem("key is empty");
    else if (keys.count(row.key))
      problem("key '" + row.key + "' repeats an earlier row");
    if (!row.parent_key.empty() && !keys.count(row.parent_key)) {
      problem("parent_key '" + row.parent_key + "' is not the key of an earlier row");
    }
    tv1::Task& task = row.task;
    task.set_title(cell("title"));
    if (task.title().empty()) problem("title is empty");
    task.set_lead_unit_id(cell("lead_unit"));
    if (task.lead_unit_id().empty()) problem("lead_unit is empty");
    for (const auto& u : SplitList(cell("cooperating_units"), ';')) {
      task.add_cooperating_unit_ids(u);
    }
    const std::string deadline = cell("deadline"), working_days = cell("working_days");
    if (deadline.empty() == working_days.empty()) {
      problem("give exactly one of deadline and working_days");
    } else if (!deadline.empty()) {
      auto d = ParseAbsoluteDeadline(deadline, tz);
      if (d.ok())
        *task.mutable_deadline() = *d;
      else
        problem("deadline: " + std::string(d.status().message()));
    } else {
      int n = 0;
      auto d = absl::SimpleAtoi(working_days, &n)
                   ? WorkingDaysDeadline(n, "")
                   : absl::StatusOr<tv1::Deadline>(
                         absl::InvalidArgumentError("not a number: '" + working_days + "'"));
      if (d.ok())
        *task.mutable_deadline() = *d;
      else
        problem("working_days: " + std::string(d.status().message()));
    }
    for (const auto& m : SplitList(cell("milestones"), ';')) {
      auto ms = ParseMilestone(m, tz);
      if (ms.ok())
        *task.add_milestones() = *ms;
      else
        problem("milestones: " + std::string(ms.status().message()));
    }
    if (!cell("priority").empty()) {
      auto p = ParsePriority(cell("priority"));
      if (p.ok())
        task.set_priority(*p);
      else
        problem("priority: " + std::string(p.status().message()));
    }
    for (const auto& t : SplitList(cell("tags"), ';')) task.add_tags(t);
    if (!row.key.empty()) keys.insert(row.key);
    if (problems.size() == before) rows.push_back(std::move(row));
  }
  if (!problems.empty()) {
    std::string msg = std::to_string(problems.size()) + " problem(s), nothing was sent:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw UsageError{msg};
  }
  if (rows.empty()) throw UsageError{name + ": no tasks in the file"};
  return rows;
}

std::string ImportRequestId(std::string_view plan_id, std::string_view key) {
  // Readable when it fits the request_id rules (printable ASCII, up to 128); else a hash
  // (64-bit FNV-1a of plan and key), which is just as stable across runs.
  std::string readable = "import:" + std::string(plan_id) + ":" + std::string(key);
  bool ascii = readable.size() <= 128;
  for (unsigned char c : readable) ascii = ascii && c >= 0x21 && c <= 0x7e;
  if (ascii) return readable;
  uint64_t h = 1469598103934665603ULL;
  for (std::string_view part : {plan_id, std::string_view("\0", 1), key}) {
    for (unsigned char c : part) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  std::string prefix = "import:" + std::string(plan_id);
  if (prefix.size() > 100) prefix.resize(100);
  return prefix + ":h" + hex;
}

}  // namespace duban::cli
