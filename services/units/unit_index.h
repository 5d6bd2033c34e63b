#pragma once
// Every unit of the tree kept in memory, by id and in path order, so that the hot reads —
// GetUnit, BatchGetUnits, a subtree page of ListUnits, the paths ResolveRecipients walks — are
// served without SQLite. A subtree page from the database cost ~0.45 ms of CPU (an index range,
// a row lookup per unit and a copy of every column); from here it is a walk of an ordered map
// and 100 reference-count increments, and the units are shared with the response builder
// instead of copied.
//
// SqliteUnitStore owns one, loads it at open and applies each write transaction's changed rows
// after the commit, under its write lock, so the index moves from one committed state to the
// next in commit order. Units are immutable once in the index: a change replaces the entry, so
// a reader holding a UnitRef keeps a consistent row however long it holds it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>
#include <absl/synchronization/mutex.h>

#include "unit_model.h"

namespace duban::units {

struct UnitFilter;

class UnitIndex {
 public:
  // Inserts or replaces the unit with this id (its path may have changed).
  void Put(UnitRef unit);
  void PutAll(std::vector<UnitRef> units);

  UnitRef Find(const std::string& id) const;
  // Those of `ids` that exist, in no particular order.
  std::vector<UnitRef> FindMany(const std::vector<std::string>& ids) const;
  // The paths of those of `ids` that exist (id → path).
  absl::flat_hash_map<std::string, std::string> Paths(const std::vector<std::string>& ids) const;

  // Whether List answers `filter`: everything but the parent_id and roots_only filters, which
  // need a by-parent order the index does not keep (the database has it).
  static bool CanList(const UnitFilter& filter);
  // Units matching `filter` with path > after_path, in path order, at most `limit` — the same
  // rows and order as UnitReader::ListUnits on the database.
  std::vector<UnitRef> List(const UnitFilter& filter, const std::string& after_path,
                            int limit) const;

  size_t size() const;

 private:
  void PutLocked(UnitRef unit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Keys view the id and path strings of the units they hold (no second copy of either: at
  // 300,000 units that is ~20 MB); an entry is erased before its unit is released.
  absl::flat_hash_map<std::string_view, UnitRef> by_id_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<std::string_view, UnitRef> by_path_ ABSL_GUARDED_BY(mu_);
};

}  // namespace duban::units
