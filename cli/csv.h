#pragma once
// A small RFC 4180 CSV reader for the import commands: quoted fields may hold commas, doubled
// quotes and line breaks; CRLF or LF line ends; a UTF-8 byte order mark is skipped; blank lines
// are skipped. Each record keeps the line it starts on, for error messages.
#include <string>
#include <string_view>
#include <vector>

namespace duban::cli {

struct CsvRecord {
  int line = 0;  // 1-based line of the file where the record starts
  std::vector<std::string> fields;
};

// Throws UsageError "<file>:<line>: ..." for a malformed record (unterminated quote, a quote
// inside an unquoted field, text after a closing quote).
std::vector<CsvRecord> ParseCsv(std::string_view text, const std::string& file);

}  // namespace duban::cli
