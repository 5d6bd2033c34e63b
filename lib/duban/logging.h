#pragma once
#include <absl/strings/string_view.h>

namespace duban {
// Configures spdlog's default logger: stderr, ISO timestamps, the program name, and `level`
// (already validated by the config). Never log secrets or message bodies with personal data.
void SetUpLogging(absl::string_view program, absl::string_view level);
}  // namespace duban
