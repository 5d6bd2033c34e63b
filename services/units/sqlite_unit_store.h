#pragma once
#include <memory>

#include <absl/status/statusor.h>

#include "duban/sqlite.h"
#include "unit_store.h"

namespace duban::units {

// UnitStore on a SQLite file (schema migrations in sqlite_unit_store.cc).
class SqliteUnitStore : public UnitStore {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteUnitStore>> Open(const sqlite::Options& options);

  absl::Status Read(const std::function<absl::Status(UnitReader&)>& fn) override;
  absl::Status Write(const std::function<absl::Status(UnitWriter&)>& fn) override;

 private:
  explicit SqliteUnitStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace duban::units
