#include "csv.h"

#include "cli_context.h"

namespace duban::cli {

std::vector<CsvRecord> ParseCsv(std::string_view text, const std::string& file) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  int line = 1;
  CsvRecord rec{1, {}};
  std::string field;
  bool in_quotes = false;  // inside a quoted field
  bool quoted = false;     // the current field was quoted (and its closing quote seen or not)
  auto fail = [&](const std::string& what) {
    throw UsageError{file + ":" + std::to_string(line) + ": " + what};
  };
  auto end_record = [&] {
    rec.fields.push_back(std::move(field));
    const bool blank = rec.fields.size() == 1 && rec.fields[0].empty() && !quoted;
    if (!blank) out.push_back(std::move(rec));
    rec = CsvRecord{line + 1, {}};
    field.clear();
    quoted = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!field.empty() || quoted) {
          fail(
              "a quote inside an unquoted field (quote the whole field and double the quotes "
              "inside it)");
        }
        in_quotes = quoted = true;
        break;
      case ',':
        rec.fields.push_back(std::move(field));
        field.clear();
        quoted = false;
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') break;  // CRLF: the LF ends the line
        [[fallthrough]];
      case '\n':
        end_record();
        ++line;
        break;
      default:
        if (quoted) fail("text after a closing quote");
        field += c;
    }
  }
  if (in_quotes) {
    line = rec.line;
    fail("unterminated quoted field");
  }
  if (!field.empty() || quoted || !rec.fields.empty()) end_record();
  return out;
}

}  // namespace duban::cli
