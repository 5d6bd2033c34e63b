#pragma once
#include <memory>

#include <absl/status/statusor.h>

#include <absl/synchronization/mutex.h>

#include "contact_index.h"
#include "duban/sqlite.h"
#include "unit_index.h"
#include "unit_store.h"

namespace duban::units {

// UnitStore on a SQLite file (schema migrations in sqlite_unit_store.cc). The units and the
// contacts are also kept in memory (unit_index.h, contact_index.h), loaded at open and updated
// with each write transaction's changed rows after its commit; read transactions answer the unit
// lookups, subtree listings and contacts in effect from there, everything else from the file.
// Write transactions read the file only (they must see their own uncommitted rows).
class SqliteUnitStore : public UnitStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteUnitStore>> Open(const sqlite::Options& options);

  absl::Status Read(const std::function<absl::Status(UnitReader&)>& fn) override;
  absl::Status Write(const std::function<absl::Status(UnitWriter&)>& fn) override;

  struct Changes;  // what a write transaction changed, for the indexes

 private:
  explicit SqliteUnitStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  absl::Status LoadIndex();

  std::unique_ptr<sqlite::Database> db_;
  absl::Mutex write_mu_;
  UnitIndex units_;
  ContactIndex contacts_;
};

}  // namespace duban::units
