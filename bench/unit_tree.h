#pragma once
// A generated organisation tree shaped like Guangdong's: one province, its 21 cities, districts
// and counties, towns and streets, villages and communities, and grassroots party branches,
// with ids like "gd.c03.d02.t05.v07.b03", Chinese names, and sector tags on some units.
#include <cstdint>
#include <string>
#include <vector>

#include "duban/units/v1/units.pb.h"

namespace duban::bench {

struct UnitTree {
  // Parents before children (the import does not need it, but it reads naturally).
  std::vector<::duban::units::v1::Unit> units;
  // Indexes into `units` per level, for picking realistic targets.
  std::vector<size_t> cities, districts, towns, villages, branches;
};

// Exactly `total` units (at least 2,000). For 300,000: 1 province, 21 cities, 126 districts,
// 1,638 towns, 26,208 villages and 272,006 party branches (about 10 per village), close to the
// real province's counts of towns and villages.
UnitTree GenerateUnitTree(int64_t total);

// The city of GenerateCityTree.
inline constexpr char kCityTreeRoot[] = "gd.zq";

// One city shaped like Zhaoqing (肇庆市, "全市8315个基层党支部"): the province `gd`, its 21
// cities (all but `gd.zq` without units below them), and under `gd.zq` its 8 real districts
// and counties, 13 towns/streets each, 15 villages/communities per town, and `branches` party
// branches spread evenly over the 1,560 villages (`gd.zq.d03.t05.v07.b04`), tagged as in
// GenerateUnitTree. `cities` holds only `gd.zq`; for 8,315 branches, 10,009 units in all.
UnitTree GenerateCityTree(int64_t branches);

// A deterministic Chinese person name for the i-th contact.
std::string PersonName(uint64_t i);

}  // namespace duban::bench
