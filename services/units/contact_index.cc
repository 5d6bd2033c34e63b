#include "contact_index.h"

#include <algorithm>
#include <tuple>

namespace duban::units {

void ContactIndex::Put(Contact contact) {
  absl::MutexLock lock(&mu_);
  PutLocked(std::move(contact));
}

void ContactIndex::PutAll(std::vector<Contact> contacts) {
  if (contacts.empty()) return;
  absl::MutexLock lock(&mu_);
  for (auto& c : contacts) PutLocked(std::move(c));
}

void ContactIndex::PutLocked(Contact contact) {
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

std::vector<Contact> ContactIndex::ContactsInEffect(const std::vector<std::string>& unit_ids,
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

}  // namespace duban::units
