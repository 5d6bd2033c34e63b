#include "unit_index.h"

#include <algorithm>

#include "unit_store.h"

namespace duban::units {
namespace {

bool Matches(const UnitFilter& f, const Unit& u) {
  if (!f.include_archived && u.archived) return false;
  if (!f.kinds.empty() && std::find(f.kinds.begin(), f.kinds.end(), u.kind) == f.kinds.end()) {
    return false;
  }
  if (!f.tag.empty() && !std::binary_search(u.tags.begin(), u.tags.end(), f.tag)) {
    // Tags are kept sorted (Unit::tags), so a binary search answers membership.
    return false;
  }
  return true;
}

}  // namespace

void UnitIndex::Put(UnitRef unit) {
  absl::MutexLock lock(&mu_);
  PutLocked(std::move(unit));
}

void UnitIndex::PutAll(std::vector<UnitRef> units) {
  if (units.empty()) return;
  absl::MutexLock lock(&mu_);
  by_id_.reserve(by_id_.size() + units.size());
  for (auto& u : units) PutLocked(std::move(u));
}

void UnitIndex::PutLocked(UnitRef unit) {
  if (auto it = by_id_.find(unit->id); it != by_id_.end()) {
    // Both keys view the old unit's strings: erase them while it is alive (the erased entries
    // hold it), then insert keys that view the new one.
    UnitRef old = it->second;
    by_id_.erase(it);
    by_path_.erase(std::string_view(old->path));
  }
  by_path_.insert_or_assign(std::string_view(unit->path), unit);
  by_id_.emplace(std::string_view(unit->id), std::move(unit));
}

UnitRef UnitIndex::Find(const std::string& id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<UnitRef> UnitIndex::FindMany(const std::vector<std::string>& ids) const {
  std::vector<UnitRef> out;
  out.reserve(ids.size());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& id : ids) {
    if (auto it = by_id_.find(id); it != by_id_.end()) out.push_back(it->second);
  }
  return out;
}

absl::flat_hash_map<std::string, std::string> UnitIndex::Paths(
    const std::vector<std::string>& ids) const {
  absl::flat_hash_map<std::string, std::string> out;
  out.reserve(ids.size());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& id : ids) {
    if (auto it = by_id_.find(id); it != by_id_.end()) out.emplace(id, it->second->path);
  }
  return out;
}

bool UnitIndex::CanList(const UnitFilter& filter) {
  return filter.parent_id.empty() && !filter.roots_only;
}

std::vector<UnitRef> UnitIndex::List(const UnitFilter& f, const std::string& after_path,
                                     int limit) const {
  std::vector<UnitRef> out;
  if (limit <= 0) return out;
  out.reserve(static_cast<size_t>(std::min(limit, 1001)));
  // Same bounds as the SQL: from the subtree's root (inclusive) on a first page, else after the
  // cursor; the subtree ends before its path with the final '/' replaced by '0' ('/' + 1).
  const bool from_subtree_root =
      !f.subtree_path.empty() && (after_path.empty() || after_path < f.subtree_path);
  std::string end;
  if (!f.subtree_path.empty()) {
    end = f.subtree_path;
    end.back() = '0';
  }
  absl::ReaderMutexLock lock(&mu_);
  auto it =
      from_subtree_root ? by_path_.lower_bound(f.subtree_path) : by_path_.upper_bound(after_path);
  for (; it != by_path_.end() && out.size() < static_cast<size_t>(limit); ++it) {
    if (!end.empty() && it->first >= end) break;
    if (Matches(f, *it->second)) out.push_back(it->second);
  }
  return out;
}

size_t UnitIndex::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return by_id_.size();
}

}  // namespace duban::units
