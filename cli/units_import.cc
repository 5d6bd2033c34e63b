// dubanctl units import FILE.csv: a CSV of units streamed to ImportUnits in chunks of 1000.
//
// Row numbers shown to the user are the file's line numbers (the header is line 1), because
// that is what an editor shows. The server numbers rows by stream position (1 = first data
// record); `line_of_row` maps one to the other, also for quoted fields spanning lines.
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "csv.h"
#include "output.h"
#include "units_parts.h"

namespace duban::cli {

namespace uv1 = ::duban::units::v1;

namespace {

constexpr int kChunk = 1000;

struct ImportOptions {
  std::string file;
  std::string mode = "all-or-nothing";
};

std::string ReadInput(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError{file + ": cannot open"};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The CSV's units, and each one's line in the file. Throws UsageError naming file:line.
void ParseUnitsCsv(const std::string& text, const std::string& file, std::vector<uv1::Unit>& units,
                   std::vector<int>& line_of_row) {
  const std::vector<CsvRecord> records = ParseCsv(text, file);
  if (records.empty()) throw UsageError{file + ": empty file (expected a header row)"};
  static const char* const kColumns[] = {"id", "name", "kind", "parent_id", "tags", "timezone"};
  std::map<std::string, size_t> col;
  const CsvRecord& header = records.front();
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.fields[i]));
    if (std::find(std::begin(kColumns), std::end(kColumns), name) == std::end(kColumns)) {
      throw UsageError{file + ":" + std::to_string(header.line) + ": unknown column '" + name +
                       "' (expected id,name,kind,parent_id,tags,timezone)"};
    }
    if (!col.emplace(name, i).second) {
      throw UsageError{file + ":" + std::to_string(header.line) + ": column '" + name +
                       "' appears twice"};
    }
  }
  for (const char* required : {"id", "name", "kind"}) {
    if (!col.count(required)) {
      throw UsageError{file + ":" + std::to_string(header.line) + ": the header has no '" +
                       required + "' column"};
    }
  }
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    const std::string where = file + ":" + std::to_string(rec.line);
    if (rec.fields.size() != header.fields.size()) {
      throw UsageError{where + ": " + std::to_string(rec.fields.size()) +
                       " fields, the header has " + std::to_string(header.fields.size())};
    }
    auto field = [&](const char* name) -> std::string {
      auto it = col.find(name);
      if (it == col.end()) return "";
      return std::string(absl::StripAsciiWhitespace(rec.fields[it->second]));
    };
    uv1::Unit u;
    u.set_id(field("id"));
    u.set_name(field("name"));
    const std::string kind = field("kind");
    // An empty kind is left to the server, which reports it per row with the other errors.
    if (!kind.empty()) {
      auto k = ParseUnitKind(kind);
      if (!k) {
        throw UsageError{where + ": unknown kind '" + kind +
                         "' (province, city, district, town, village, department, enterprise, "
                         "party_branch, other)"};
      }
      u.set_kind(*k);
    }
    u.set_parent_id(field("parent_id"));
    for (absl::string_view tag : absl::StrSplit(field("tags"), ';', absl::SkipWhitespace())) {
      u.add_tags(std::string(absl::StripAsciiWhitespace(tag)));
    }
    u.set_timezone(field("timezone"));
    units.push_back(std::move(u));
    line_of_row.push_back(rec.line);
  }
}

// "row 7 (gd.fs): name: must not be empty" with the stream row turned into the file line.
std::string RowError(const std::vector<int>& line_of_row, const std::vector<uv1::Unit>& units,
                     int64_t row, const std::string& field, const std::string& description) {
  std::string out = "row ";
  if (row >= 1 && row <= static_cast<int64_t>(line_of_row.size())) {
    out += std::to_string(line_of_row[row - 1]) + " (" + units[row - 1].id() + ")";
  } else {
    out += "#" + std::to_string(row);
  }
  return out + ": " + field + ": " + description;
}

// "rows[12].parent_id" → 12 and "parent_id".
bool ParseRowField(const std::string& field, int64_t& row, std::string& sub) {
  if (field.rfind("rows[", 0) != 0) return false;
  const size_t close = field.find("].");
  if (close == std::string::npos) return false;
  sub = field.substr(close + 2);
  return absl::SimpleAtoi(absl::string_view(field).substr(5, close - 5), &row) && !sub.empty();
}

// An all-or-nothing import the server rejected: its "rows[N].field" violations reported per
// file line. Other failures go through Context::Fail.
int FailImport(Context& ctx, const grpc::Status& status, const std::string& file,
               const std::vector<int>& line_of_row, const std::vector<uv1::Unit>& units) {
  google::rpc::Status details;
  std::vector<std::pair<std::string, std::string>> violations;
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
      !status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::BadRequest br;
      if (!any.UnpackTo(&br)) continue;
      for (const auto& v : br.field_violations())
        violations.emplace_back(v.field(), v.description());
    }
  }
  bool any_row = false;
  for (const auto& v : violations) {
    int64_t row = 0;
    std::string sub;
    any_row |= ParseRowField(v.first, row, sub);
  }
  if (!any_row) return ctx.Fail("ImportUnits", status);

  nlohmann::json list = nlohmann::json::array();
  if (!ctx.json()) {
    std::cerr << "error: ImportUnits: INVALID_ARGUMENT: " << status.error_message() << "\n"
              << "  (row numbers are line numbers in " << file << "; the header is line 1)\n";
  }
  for (const auto& [field, description] : violations) {
    int64_t row = 0;
    std::string sub;
    if (!ParseRowField(field, row, sub)) {
      if (ctx.json()) {
        list.push_back({{"field", field}, {"description", description}});
      } else {
        std::cerr << "  " << field << ": " << description << "\n";
      }
      continue;
    }
    if (ctx.json()) {
      nlohmann::json v = {{"field", field}, {"description", description}, {"row", row}};
      if (row >= 1 && row <= static_cast<int64_t>(line_of_row.size())) {
        v["line"] = line_of_row[row - 1];
        v["unitId"] = units[row - 1].id();
      }
      list.push_back(v);
    } else {
      std::cerr << "  " << RowError(line_of_row, units, row, sub, description) << "\n";
    }
  }
  if (ctx.json()) {
    std::cerr << nlohmann::json{{"error",
                                 {{"call", "ImportUnits"},
                                  {"code", "INVALID_ARGUMENT"},
                                  {"message", status.error_message()},
                                  {"fieldViolations", list}}}}
                     .dump()
              << "\n";
  }
  return kExitInvalidArgument;
}

int Import(Context& ctx, const ImportOptions& o) {
  const std::string name = o.file == "-" ? "<stdin>" : o.file;
  std::vector<uv1::Unit> units;
  std::vector<int> line_of_row;
  ParseUnitsCsv(ReadInput(o.file), name, units, line_of_row);

  // A generous deadline: a 100k-row import is validated and written in one transaction.
  auto call = ctx.Call(10);
  uv1::ImportUnitsResponse resp;
  auto writer = ctx.units().ImportUnits(call.get(), &resp);
  size_t next = 0;
  do {
    uv1::ImportUnitsRequest msg;
    if (next == 0) {
      msg.set_mode(o.mode == "valid-rows-only" ? uv1::ImportUnitsRequest::VALID_ROWS_ONLY
                                               : uv1::ImportUnitsRequest::ALL_OR_NOTHING);
    }
    for (int i = 0; i < kChunk && next < units.size(); ++i) *msg.add_units() = units[next++];
    if (!writer->Write(msg)) break;  // the server ended the call; Finish() says why
  } while (next < units.size());
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  if (!s.ok()) return FailImport(ctx, s, name, line_of_row, units);

  if (ctx.json()) {
    nlohmann::json j = JsonOf(resp);
    if (j.contains("errors")) {
      for (auto& e : j["errors"]) {
        int64_t row = 0;
        if (e.contains("row") && absl::SimpleAtoi(e["row"].get<std::string>(), &row) && row >= 1 &&
            row <= static_cast<int64_t>(line_of_row.size())) {
          e["line"] = line_of_row[row - 1];
        }
      }
    }
    std::cout << j.dump() << "\n";
  } else {
    std::cout << name << ": " << resp.rows_received() << " rows: " << resp.created() << " created, "
              << resp.updated() << " updated, " << resp.unchanged() << " unchanged, "
              << resp.rejected() << " rejected" << (resp.applied() ? "" : " (nothing written)")
              << "\n";
    if (!resp.errors().empty()) {
      std::cout << "row numbers are line numbers in " << name << " (the header is line 1):\n";
    }
    for (const auto& e : resp.errors()) {
      std::cout << "  " << RowError(line_of_row, units, e.row(), e.field(), e.description())
                << "\n";
    }
    if (resp.rejected() > static_cast<int64_t>(resp.errors().size())) {
      std::cout << "  ... and " << resp.rejected() - resp.errors().size() << " more\n";
    }
  }
  // Rows were rejected: the import is incomplete, which a script must notice.
  return resp.rejected() > 0 ? kExitFailure : kExitOk;
}

}  // namespace

void AddUnitsImportCommand(CLI::App& units, Context& ctx) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* import = Leaf(units, "import", "Create or update units from a CSV file", ctx,
                          [&ctx, o] { return Import(ctx, *o); });
  import
      ->add_option("file", o->file,
                   "CSV with header id,name,kind,parent_id,tags,timezone (tags ';'-separated); "
                   "'-' reads stdin")
      ->required();
  import
      ->add_option("--mode", o->mode,
                   "all-or-nothing: any bad row rejects the file; valid-rows-only: write the "
                   "good rows and report the others")
      ->check(CLI::IsMember({"all-or-nothing", "valid-rows-only"}))
      ->capture_default_str();
  import->footer(
      "Row errors are reported as 'row N (id): field: description', N being the line number in "
      "the file (the header is line 1). Exit code 1 when rows were rejected in valid-rows-only "
      "mode, 3 when an all-or-nothing import was rejected, 2 for a malformed CSV (nothing sent).");
}

}  // namespace duban::cli
