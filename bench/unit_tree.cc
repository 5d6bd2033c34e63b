#include "unit_tree.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace duban::bench {
namespace {

namespace pb = ::duban::units::v1;

constexpr int kCities = 21;
constexpr int kDistrictsPerCity = 6;
constexpr int kTownsPerDistrict = 13;
// Guangdong's villages : branches ratio for the 300,000 tree (26,208 : 272,006).
constexpr int64_t kVillageShare = 26208;
constexpr int64_t kBranchShare = 272006;

const std::array<const char*, kCities> kCityNames = {
    "广州市", "深圳市", "珠海市", "汕头市", "佛山市", "韶关市", "湛江市",
    "肇庆市", "江门市", "茂名市", "惠州市", "梅州市", "汕尾市", "河源市",
    "阳江市", "清远市", "东莞市", "中山市", "潮州市", "揭阳市", "云浮市"};

// Characters common in place names; two of them plus a suffix make a plausible name.
const std::array<const char*, 48> kPlaceChars = {
    "东", "南", "西", "北", "新", "安", "和", "平", "兴", "华", "龙", "凤", "山", "水", "石", "桥",
    "塘", "田", "江", "湖", "沙", "岗", "坪", "岭", "明", "光", "永", "福", "长", "乐", "大", "小",
    "白", "金", "云", "花", "竹", "松", "梅", "青", "桂", "城", "宁", "丰", "溪", "洲", "林", "源"};

const std::array<const char*, 40> kSurnames = {
    "李", "王", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
    "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蔡", "钟", "叶"};
const std::array<const char*, 32> kGivenChars = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "志", "国", "建", "文", "海", "嘉"};

// splitmix64: spreads consecutive indexes so neighbouring units get unrelated names.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string PlaceName(uint64_t seed, const char* suffix) {
  uint64_t h = Mix(seed);
  return std::string(kPlaceChars[h % kPlaceChars.size()]) +
         kPlaceChars[(h >> 16) % kPlaceChars.size()] + suffix;
}

// 1..99 in Chinese numerals, as in "第十二党支部".
std::string ChineseNumber(int n) {
  static const std::array<const char*, 10> kDigits = {"零", "一", "二", "三", "四",
                                                      "五", "六", "七", "八", "九"};
  if (n < 10) return kDigits[n];
  std::string out = n / 10 == 1 ? "" : kDigits[n / 10];
  out += "十";
  if (n % 10 != 0) out += kDigits[n % 10];
  return out;
}

std::string Child(const std::string& parent, char letter, int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ".%c%02lld", letter, static_cast<long long>(index));
  return parent + buf;
}

// The count of the i-th of `parents` when `total` children are spread as evenly as possible.
int64_t EvenShare(int64_t total, int64_t parents, int64_t i) {
  return total / parents + (i < total % parents ? 1 : 0);
}

pb::Unit& AddUnit(UnitTree& tree, const std::string& id, std::string name, pb::UnitKind kind,
                  const std::string& parent) {
  pb::Unit& u = tree.units.emplace_back();
  u.set_id(id);
  u.set_name(std::move(name));
  u.set_kind(kind);
  u.set_parent_id(parent);
  return u;
}

// `n` party branches "第三党支部" under `village`; every 9th in a state enterprise (tag 国企),
// every 13th in a city-direct organ (tag 市直单位).
void AddBranches(UnitTree& tree, const std::string& village, int64_t n) {
  for (int64_t b = 1; b <= n; ++b) {
    tree.branches.push_back(tree.units.size());
    const int num = static_cast<int>(std::min<int64_t>(b, 99));
    std::string name = "第" + ChineseNumber(num) + "党支部";
    pb::Unit& bu = AddUnit(tree, Child(village, 'b', b), "", pb::UNIT_KIND_PARTY_BRANCH, village);
    if (b % 9 == 0) {
      bu.add_tags("国企");
      name = "国企" + name;
    }
    if (b % 13 == 0) {
      bu.add_tags("市直单位");
      name = "机关" + name;
    }
    bu.set_name(std::move(name));
  }
}

}  // namespace

UnitTree GenerateUnitTree(int64_t total) {
  constexpr int64_t kUpper =
      1 + kCities + kCities * kDistrictsPerCity + kCities * kDistrictsPerCity * kTownsPerDistrict;
  if (total < 2000) throw std::invalid_argument("the generated tree needs at least 2000 units");
  const int64_t rest = total - kUpper;
  const int64_t villages =
      (rest * kVillageShare + (kVillageShare + kBranchShare) / 2) / (kVillageShare + kBranchShare);
  const int64_t branches = rest - villages;

  UnitTree tree;
  tree.units.reserve(static_cast<size_t>(total));
  auto add = [&](const std::string& id, std::string name, pb::UnitKind kind,
                 const std::string& parent) -> pb::Unit& {
    return AddUnit(tree, id, std::move(name), kind, parent);
  };

  add("gd", "广东省", pb::UNIT_KIND_PROVINCE, "");
  std::vector<std::string> town_ids;
  for (int c = 1; c <= kCities; ++c) {
    const std::string city = Child("gd", 'c', c);
    tree.cities.push_back(tree.units.size());
    add(city, kCityNames[c - 1], pb::UNIT_KIND_CITY, "gd");
    for (int d = 1; d <= kDistrictsPerCity; ++d) {
      const std::string district = Child(city, 'd', d);
      tree.districts.push_back(tree.units.size());
      pb::Unit& du = add(district, PlaceName(c * 100 + d, d % 3 == 0 ? "县" : "区"),
                         pb::UNIT_KIND_DISTRICT, city);
      // The core districts of the first five cities carry the sector label 五区.
      if (c <= 5 && d <= 5) du.add_tags("五区");
      for (int t = 1; t <= kTownsPerDistrict; ++t) {
        const std::string town = Child(district, 't', t);
        tree.towns.push_back(tree.units.size());
        town_ids.push_back(town);
        add(town, PlaceName(town_ids.size() * 7919, t % 4 == 0 ? "街道" : "镇"), pb::UNIT_KIND_TOWN,
            district);
      }
    }
  }

  const int64_t towns = static_cast<int64_t>(town_ids.size());
  int64_t village_seq = 0;
  for (int64_t t = 0; t < towns; ++t) {
    const int64_t n_villages = EvenShare(villages, towns, t);
    for (int64_t v = 1; v <= n_villages; ++v, ++village_seq) {
      const std::string village = Child(town_ids[t], 'v', v);
      tree.villages.push_back(tree.units.size());
      add(village, PlaceName(1000003 + village_seq, v % 3 == 0 ? "社区" : "村"),
          pb::UNIT_KIND_VILLAGE, town_ids[t]);
      AddBranches(tree, village, EvenShare(branches, villages, village_seq));
    }
  }
  if (static_cast<int64_t>(tree.units.size()) != total) {
    throw std::logic_error("unit tree generator produced " + std::to_string(tree.units.size()) +
                           " units instead of " + std::to_string(total));
  }
  return tree;
}

UnitTree GenerateCityTree(int64_t branches) {
  if (branches < 1) throw std::invalid_argument("the city tree needs at least one branch");
  // Zhaoqing's three districts, four counties and one county-level city.
  static const std::array<const char*, 8> kDistricts = {"端州区", "鼎湖区", "高要区", "四会市",
                                                        "广宁县", "怀集县", "封开县", "德庆县"};
  constexpr int kTowns = 13;
  constexpr int kVillagesPerTown = 15;  // 1,560 villages and communities
  UnitTree tree;
  AddUnit(tree, "gd", "广东省", pb::UNIT_KIND_PROVINCE, "");
  for (int c = 1; c <= kCities; ++c) {
    if (c == 8) {
      tree.cities.push_back(tree.units.size());
      AddUnit(tree, kCityTreeRoot, kCityNames[c - 1], pb::UNIT_KIND_CITY, "gd");
    } else {
      AddUnit(tree, Child("gd", 'c', c), kCityNames[c - 1], pb::UNIT_KIND_CITY, "gd");
    }
  }
  const int64_t villages = static_cast<int64_t>(kDistricts.size()) * kTowns * kVillagesPerTown;
  int64_t village_seq = 0;
  for (size_t d = 0; d < kDistricts.size(); ++d) {
    const std::string district = Child(kCityTreeRoot, 'd', static_cast<int64_t>(d) + 1);
    tree.districts.push_back(tree.units.size());
    AddUnit(tree, district, kDistricts[d], pb::UNIT_KIND_DISTRICT, kCityTreeRoot);
    for (int t = 1; t <= kTowns; ++t) {
      const std::string town = Child(district, 't', t);
      tree.towns.push_back(tree.units.size());
      AddUnit(tree, town, PlaceName(d * 100 + t + 7, t % 4 == 0 ? "街道" : "镇"),
              pb::UNIT_KIND_TOWN, district);
      for (int v = 1; v <= kVillagesPerTown; ++v, ++village_seq) {
        const std::string village = Child(town, 'v', v);
        tree.villages.push_back(tree.units.size());
        AddUnit(tree, village, PlaceName(2000003 + village_seq, v % 3 == 0 ? "社区" : "村"),
                pb::UNIT_KIND_VILLAGE, town);
        AddBranches(tree, village, EvenShare(branches, villages, village_seq));
      }
    }
  }
  return tree;
}

std::string PersonName(uint64_t i) {
  uint64_t h = Mix(i);
  std::string name = kSurnames[h % kSurnames.size()];
  name += kGivenChars[(h >> 12) % kGivenChars.size()];
  if ((h >> 24) % 3 != 0) name += kGivenChars[(h >> 32) % kGivenChars.size()];
  return name;
}

}  // namespace duban::bench
