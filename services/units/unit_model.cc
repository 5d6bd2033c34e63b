#include "unit_model.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

namespace duban::units {

std::string EtagOf(int64_t revision) { return absl::StrCat(revision); }

std::string ChildPath(const std::string& parent_path, const std::string& id) {
  return parent_path.empty() ? absl::StrCat("/", id, "/") : absl::StrCat(parent_path, id, "/");
}

std::vector<std::string> PathIds(const std::string& path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

}  // namespace duban::units
