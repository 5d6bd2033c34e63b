#pragma once
#include <absl/strings/string_view.h>
#include <string>

namespace duban {
// A new id "<prefix>-<24 lower-case hex digits>", valid under ValidateId: 44 bits of Unix time
// in milliseconds, then 52 random bits. Time first makes consecutive ids sort together, so the
// B-trees keyed by id (every table's primary key, and the indexes that end in it) grow at
// their right edge instead of dirtying a random page per insert. Ids are identifiers, not
// secrets: they reveal their creation time, and must never be used as access tokens.
std::string NewId(absl::string_view prefix);
}  // namespace duban
