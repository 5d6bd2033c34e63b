#pragma once
// The contacts of every unit kept in memory, for ResolveRecipients: the contacts in effect of
// 50–1,000 units per call were ~60% of that RPC's server CPU as SQLite reads (one index probe
// per unit and per contact range), and contacts are few — a handful per unit that has any.
//
// SqliteUnitStore owns one next to its UnitIndex, loads it at open and applies each write
// transaction's contact changes after the commit, under its write lock, in commit order.
// Readers see either the state before or after a write, never a mix.
#include <cstdint>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/synchronization/mutex.h>

#include "unit_model.h"

namespace duban::units {

class ContactIndex {
 public:
  void Put(Contact contact);  // insert or replace (by id)
  void PutAll(std::vector<Contact> contacts);

  // Contacts of any of `unit_ids` in effect at `at_us`, ordered by (unit_id, role, id) — the
  // same rows and order as UnitReader::ContactsInEffect on the database.
  std::vector<Contact> ContactsInEffect(const std::vector<std::string>& unit_ids,
                                        int64_t at_us) const;

 private:
  void PutLocked(Contact contact) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // Every contact ever added (ended ones too: an instant in the past may be asked for), per
  // unit, sorted by (role, id).
  absl::flat_hash_map<std::string, std::vector<Contact>> contacts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace duban::units
