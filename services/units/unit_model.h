#pragma once
// Domain types of the organisation tree. No protobuf, no SQL: the gRPC adapter and the store
// translate to and from these.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace duban::units {

// Values equal the proto enum numbers, so the adapter converts with a cast.
enum class UnitKind : int {
  kUnspecified = 0,
  kProvince = 1,
  kCity = 2,
  kDistrict = 3,
  kTown = 4,
  kVillage = 5,
  kDepartment = 6,
  kEnterprise = 7,
  kPartyBranch = 8,
  kOther = 9,
};
inline constexpr int kMaxUnitKind = 9;

enum class ContactRole : int {
  kUnspecified = 0,
  kLiaison = 1,
  kDeputy = 2,
  kHead = 3,
  kSupervisor = 4,
};
inline constexpr int kMaxContactRole = 4;

inline constexpr char kDefaultTimezone[] = "Asia/Shanghai";
inline constexpr char kDefaultLocale[] = "zh-CN";

struct Unit {
  std::string id;
  std::string name;
  UnitKind kind = UnitKind::kUnspecified;
  std::string parent_id;          // empty for a root
  std::vector<std::string> tags;  // sorted, unique
  std::string timezone;
  bool archived = false;
  int64_t revision = 0;  // the etag is its decimal form
  int64_t create_us = 0;
  int64_t update_us = 0;
  // Materialized path "/root/.../id/" used for subtree queries; depth 0 for a root.
  std::string path;
  int depth = 0;
  std::string request_id;
};

// A unit shared read-only between the in-memory index and the readers of a page: replacing a
// unit in the index never changes a row a reader holds.
using UnitRef = std::shared_ptr<const Unit>;

struct Contact {
  std::string id;
  std::string unit_id;
  std::string person_name;
  ContactRole role = ContactRole::kUnspecified;
  std::string email;
  std::string mobile;
  std::string webhook_url;
  std::string locale;
  int64_t valid_from_us = 0;
  std::optional<int64_t> valid_to_us;  // exclusive; empty = open-ended
  int64_t revision = 0;
  int64_t create_us = 0;
  int64_t update_us = 0;
  std::string request_id;

  bool InEffectAt(int64_t at_us) const {
    return valid_from_us <= at_us && (!valid_to_us || *valid_to_us > at_us);
  }
};

std::string EtagOf(int64_t revision);

// Path helpers for the materialized path.
std::string ChildPath(const std::string& parent_path, const std::string& id);
// The ids along a path, root first.
std::vector<std::string> PathIds(const std::string& path);

}  // namespace duban::units
