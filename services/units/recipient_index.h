#pragma once
// The two lookups ResolveRecipients makes — the materialized path of a unit and the contacts of
// a unit in effect at an instant — kept in memory. They were ~60% of the RPC's server CPU as
// SQLite reads (json_each joins, one index probe per unit and per contact range), and the data
// is small: a path per unit and a few contacts per unit that has any.
//
// SqliteUnitStore owns one, loads it at open and applies each write transaction's changes
// after the commit, under its write lock, so the index moves from one committed state to the
// next in commit order. Readers see either the state before or after a write, never a mix.
#include <cstdint>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/synchronization/mutex.h>

#include "unit_model.h"

namespace duban::units {

class RecipientIndex {
 public:
  // What a committed write transaction changed, in the order it happened. Kept small: an
  // import records one per unit, and 300,000 of them must not cost the import its rate.
  struct Change {
    enum class Kind { kUnitAdded, kSubtreeMoved, kContactPut };
    Kind kind;
    std::string unit_id_or_old_path;  // kUnitAdded: the unit; kSubtreeMoved: the old root path
    std::string path;                 // kUnitAdded: its path; kSubtreeMoved: the new root path
    size_t contact = 0;               // kContactPut: index into Changes::contacts
  };
  struct Changes {
    std::vector<Change> log;
    std::vector<Contact> contacts;
    void UnitAdded(const std::string& id, const std::string& path) {
      log.push_back({Change::Kind::kUnitAdded, id, path});
    }
    void SubtreeMoved(const std::string& old_path, const std::string& new_path) {
      log.push_back({Change::Kind::kSubtreeMoved, old_path, new_path});
    }
    void ContactPut(const Contact& c) {
      contacts.push_back(c);
      log.push_back({Change::Kind::kContactPut, "", "", contacts.size() - 1});
    }
    void clear() {
      log.clear();
      contacts.clear();
    }
  };

  void AddUnit(std::string id, std::string path);
  void PutContact(Contact contact);  // insert or replace (by id)
  void Apply(Changes&& changes);

  // The paths of those of `ids` that exist (id → path).
  absl::flat_hash_map<std::string, std::string> Paths(const std::vector<std::string>& ids) const;
  // Contacts of any of `unit_ids` in effect at `at_us`, ordered by (unit_id, role, id) — the
  // same rows and order as UnitReader::ContactsInEffect on the database.
  std::vector<Contact> ContactsInEffect(const std::vector<std::string>& unit_ids,
                                        int64_t at_us) const;

  size_t unit_count() const;

 private:
  void PutContactLocked(Contact contact) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MoveSubtreeLocked(const std::string& old_path, const std::string& new_path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> paths_ ABSL_GUARDED_BY(mu_);
  // Every contact ever added (ended ones too: an instant in the past may be asked for), per
  // unit, sorted by (role, id).
  absl::flat_hash_map<std::string, std::vector<Contact>> contacts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace duban::units
