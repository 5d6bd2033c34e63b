#pragma once
#include <absl/strings/string_view.h>
#include <string>

namespace duban {
// A new random id "<prefix>-<20 lower-case hex digits>" from the kernel's CSPRNG; valid under
// ValidateId.
std::string NewId(absl::string_view prefix);
}  // namespace duban
