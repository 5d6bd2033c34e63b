#include "duban/ids.h"

#include <sys/random.h>

#include <cstdint>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>

namespace duban {

std::string NewId(absl::string_view prefix) {
  unsigned char bytes[10];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return absl::StrCat(prefix, "-",
                      absl::BytesToHexString(
                          absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

}  // namespace duban
