#pragma once
#include <memory>

#include <absl/status/statusor.h>

#include <absl/synchronization/mutex.h>

#include "duban/sqlite.h"
#include "recipient_index.h"
#include "unit_store.h"

namespace duban::units {

// UnitStore on a SQLite file (schema migrations in sqlite_unit_store.cc). The paths and
// contacts ResolveRecipients needs are also kept in memory (recipient_index.h), loaded at open
// and updated after every committed write; read transactions answer FindUnitPaths and
// ContactsInEffect from there.
class SqliteUnitStore : public UnitStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteUnitStore>> Open(const sqlite::Options& options);

  absl::Status Read(const std::function<absl::Status(UnitReader&)>& fn) override;
  absl::Status Write(const std::function<absl::Status(UnitWriter&)>& fn) override;

 private:
  explicit SqliteUnitStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  absl::Status LoadIndex();

  std::unique_ptr<sqlite::Database> db_;
  absl::Mutex write_mu_;
  RecipientIndex index_;
};

}  // namespace duban::units
