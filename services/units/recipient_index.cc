#include "recipient_index.h"

#include <algorithm>
#include <tuple>

#include <absl/strings/match.h>

namespace duban::units {

void RecipientIndex::AddUnit(std::string id, std::string path) {
  absl::MutexLock lock(&mu_);
  paths_.insert_or_assign(std::move(id), std::move(path));
}

void RecipientIndex::PutContact(Contact contact) {
  absl::MutexLock lock(&mu_);
  PutContactLocked(std::move(contact));
}

void RecipientIndex::PutContactLocked(Contact contact) {
  contact.request_id.clear();  // never read from here
  auto& list = contacts_[contact.unit_id];
  auto same =
      std::find_if(list.begin(), list.end(), [&](const Contact& c) { return c.id == contact.id; });
  if (same != list.end()) list.erase(same);
  auto at =
      std::lower_bound(list.begin(), list.end(), contact, [](const Contact& a, const Contact& b) {
        return std::tie(a.role, a.id) < std::tie(b.role, b.id);
      });
  list.insert(at, std::move(contact));
}

void RecipientIndex::MoveSubtreeLocked(const std::string& old_path, const std::string& new_path) {
  // A scan of every path: moves are rare (re-organisations), and a hash map keeps the per-call
  // lookups of ResolveRecipients O(1), which matters more.
  for (auto& [id, path] : paths_) {
    if (absl::StartsWith(path, old_path)) path = new_path + path.substr(old_path.size());
  }
}

void RecipientIndex::Apply(Changes&& changes) {
  if (changes.log.empty()) return;
  absl::MutexLock lock(&mu_);
  paths_.reserve(paths_.size() + changes.log.size());
  for (Change& c : changes.log) {
    switch (c.kind) {
      case Change::Kind::kUnitAdded:
        paths_.insert_or_assign(std::move(c.unit_id_or_old_path), std::move(c.path));
        break;
      case Change::Kind::kSubtreeMoved:
        MoveSubtreeLocked(c.unit_id_or_old_path, c.path);
        break;
      case Change::Kind::kContactPut:
        PutContactLocked(std::move(changes.contacts[c.contact]));
        break;
    }
  }
}

absl::flat_hash_map<std::string, std::string> RecipientIndex::Paths(
    const std::vector<std::string>& ids) const {
  absl::flat_hash_map<std::string, std::string> out;
  out.reserve(ids.size());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& id : ids) {
    if (auto it = paths_.find(id); it != paths_.end()) out.emplace(id, it->second);
  }
  return out;
}

std::vector<Contact> RecipientIndex::ContactsInEffect(const std::vector<std::string>& unit_ids,
                                                      int64_t at_us) const {
  std::vector<std::string> sorted(unit_ids);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<Contact> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& unit_id : sorted) {
    auto it = contacts_.find(unit_id);
    if (it == contacts_.end()) continue;
    for (const Contact& c : it->second) {
      if (c.InEffectAt(at_us)) out.push_back(c);
    }
  }
  return out;
}

size_t RecipientIndex::unit_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return paths_.size();
}

}  // namespace duban::units
