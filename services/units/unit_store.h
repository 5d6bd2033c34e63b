#pragma once
// The storage interface of duban-units. Domain rules live in UnitDirectory; a store only reads
// and writes rows. Every Write runs in one transaction: when the callback fails nothing of it
// is kept. Keep implementations plain SQL so a PostgreSQL backend is an addition.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "unit_model.h"

namespace duban::units {

struct UnitFilter {
  std::string parent_id;     // direct children only
  std::string subtree_path;  // path of the subtree root (inclusive)
  bool roots_only = false;
  std::vector<UnitKind> kinds;  // any of
  std::string tag;
  bool include_archived = false;
};

struct KindCount {
  UnitKind kind;
  int64_t count;
};

class UnitReader {
 public:
  virtual ~UnitReader() = default;
  // The unit, or null when there is none.
  virtual absl::StatusOr<UnitRef> FindUnit(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<Unit>> FindUnitByRequestId(const std::string& rid) = 0;
  // Units whose id is in `ids`, in no particular order.
  virtual absl::StatusOr<std::vector<Unit>> FindUnits(const std::vector<std::string>& ids) = 0;
  // The materialized paths of the units whose id is in `ids` (id → path), for callers that
  // only walk the tree: a fraction of FindUnits' cost per unit.
  virtual absl::StatusOr<absl::flat_hash_map<std::string, std::string>> FindUnitPaths(
      const std::vector<std::string>& ids) = 0;
  // Units matching `filter` with path > after_path, in path order, at most `limit`.
  virtual absl::StatusOr<std::vector<UnitRef>> ListUnits(const UnitFilter& filter,
                                                         const std::string& after_path,
                                                         int limit) = 0;
  virtual absl::StatusOr<std::vector<KindCount>> CountUnits(const std::string& subtree_path,
                                                            const std::string& tag,
                                                            bool include_archived) = 0;
  // Number of non-archived units strictly below `path`.
  virtual absl::StatusOr<int64_t> CountActiveDescendants(const std::string& path) = 0;

  virtual absl::StatusOr<std::optional<Contact>> FindContact(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<Contact>> FindContactByRequestId(const std::string& rid) = 0;
  // A unit's contacts, ordered by (role, valid_from, id), after the cursor (role, valid_from,
  // id) when given. `in_effect_at` filters to contacts valid at that instant.
  struct ContactCursor {
    int role;
    int64_t valid_from_us;
    std::string id;
  };
  virtual absl::StatusOr<std::vector<Contact>> ListContacts(
      const std::string& unit_id, ContactRole role, std::optional<int64_t> in_effect_at,
      const std::optional<ContactCursor>& after, int limit) = 0;
  // Contacts of any of `unit_ids` in effect at `at_us`, ordered by (unit_id, role, id).
  virtual absl::StatusOr<std::vector<Contact>> ContactsInEffect(
      const std::vector<std::string>& unit_ids, int64_t at_us) = 0;
};

class UnitWriter : public UnitReader {
 public:
  virtual absl::Status InsertUnit(const Unit& unit) = 0;
  // Replaces the stored row of unit.id (name, kind, tags, timezone, archived, revision,
  // update time). The path is changed only through MoveSubtree.
  virtual absl::Status UpdateUnit(const Unit& unit) = 0;
  // Re-roots every unit under old_path (inclusive) at new_path, shifting depths, and sets the
  // moved root's parent. Touches only the subtree's rows (an index range).
  virtual absl::Status MoveSubtree(const std::string& id, const std::string& new_parent_id,
                                   const std::string& old_path, const std::string& new_path,
                                   int depth_delta, int64_t revision, int64_t now_us) = 0;
  // Archives every non-archived unit under `path` (inclusive). Returns how many changed.
  virtual absl::StatusOr<int64_t> ArchiveSubtree(const std::string& path, int64_t now_us) = 0;

  virtual absl::Status InsertContact(const Contact& contact) = 0;
  virtual absl::Status UpdateContact(const Contact& contact) = 0;
};

class UnitStore {
 public:
  virtual ~UnitStore() = default;
  virtual absl::Status Read(const std::function<absl::Status(UnitReader&)>& fn) = 0;
  virtual absl::Status Write(const std::function<absl::Status(UnitWriter&)>& fn) = 0;
};

}  // namespace duban::units
