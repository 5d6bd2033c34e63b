#pragma once
// UnitDirectory: the domain rules of the organisation tree and its contacts: validation, tree
// invariants (no cycles, no children under archived units), optimistic concurrency, idempotent
// creates, import, and recipient resolution. No gRPC and no SQL here.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "unit_store.h"

namespace duban::units {

struct ListUnitsQuery {
  UnitFilter filter;  // subtree given by id in subtree_of, not by path
  std::string subtree_of;
  int32_t page_size = 0;
  std::string page_token;
};

struct UnitPage {
  std::vector<UnitRef> units;  // shared with the store's index: read-only
  std::string next_page_token;
};

struct BatchGetResult {
  std::vector<Unit> units;
  std::vector<std::string> missing_ids;
};

struct ImportRow {
  int64_t row = 0;  // 1-based position in the stream
  Unit unit;
};

enum class ImportMode { kAllOrNothing, kValidRowsOnly };

struct ImportRowError {
  int64_t row;
  std::string unit_id;
  std::string field;
  std::string description;
};

struct ImportResult {
  int64_t rows_received = 0;
  int64_t created = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t rejected = 0;
  std::vector<ImportRowError> errors;  // capped at kMaxReportedImportErrors
  bool applied = false;
};
inline constexpr size_t kMaxReportedImportErrors = 1000;
inline constexpr size_t kMaxImportRows = 2'000'000;

struct ListContactsQuery {
  std::string unit_id;
  ContactRole role = ContactRole::kUnspecified;
  bool include_history = false;
  std::optional<int64_t> at_us;
  int32_t page_size = 0;
  std::string page_token;
};

struct ContactPage {
  std::vector<Contact> contacts;
  std::string next_page_token;
};

struct RecipientQuery {
  std::string unit_id;
  int32_t level = 0;
};

struct Resolution {
  std::string unit_id;
  int32_t level = 0;
  std::string resolved_unit_id;
  ContactRole resolved_role = ContactRole::kUnspecified;
  std::vector<Contact> recipients;
  bool capped_at_root = false;
  bool unit_not_found = false;
  std::string reason;
};

inline constexpr int kMaxBatch = 1000;
inline constexpr int kMaxEscalationLevel = 32;

class UnitDirectory {
 public:
  using Clock = std::function<absl::Time()>;
  explicit UnitDirectory(UnitStore& store, Clock clock = absl::Now)
      : store_(store), clock_(std::move(clock)) {}

  absl::StatusOr<Unit> CreateUnit(Unit unit, const std::string& request_id);
  absl::StatusOr<Unit> GetUnit(const std::string& id);
  absl::StatusOr<BatchGetResult> BatchGetUnits(const std::vector<std::string>& ids);
  absl::StatusOr<Unit> UpdateUnit(const Unit& patch, const std::vector<std::string>& mask,
                                  const std::string& etag);
  absl::StatusOr<Unit> MoveUnit(const std::string& id, const std::string& new_parent_id,
                                const std::string& etag);
  absl::StatusOr<Unit> ArchiveUnit(const std::string& id, bool cascade, const std::string& etag);
  absl::StatusOr<Unit> RestoreUnit(const std::string& id, const std::string& etag);
  absl::StatusOr<UnitPage> ListUnits(const ListUnitsQuery& query);
  absl::StatusOr<std::vector<KindCount>> CountUnits(const std::string& root_id,
                                                    bool include_archived, const std::string& tag);
  absl::StatusOr<ImportResult> ImportUnits(std::vector<ImportRow> rows, ImportMode mode);

  absl::StatusOr<Contact> AddContact(Contact contact, const std::string& request_id);
  absl::StatusOr<Contact> GetContact(const std::string& id);
  absl::StatusOr<Contact> UpdateContact(const Contact& patch, const std::vector<std::string>& mask,
                                        const std::string& etag);
  absl::StatusOr<ContactPage> ListContacts(const ListContactsQuery& query);
  absl::StatusOr<Contact> EndContact(const std::string& id, std::optional<int64_t> end_us,
                                     const std::string& etag);
  struct HandOver {
    Contact ended;
    Contact successor;
  };
  absl::StatusOr<HandOver> HandOverContact(const std::string& old_id, Contact successor,
                                           std::optional<int64_t> effective_us,
                                           const std::string& request_id);

  absl::StatusOr<std::vector<Resolution>> ResolveRecipients(
      const std::vector<RecipientQuery>& queries, std::optional<int64_t> at_us);

  // Called after each committed change to existing units (not contacts, not new units), before
  // the write returns: the ids changed, or all_units for moves, cascades and imports. The
  // server passes it to UnitWatchers::Publish. Set before serving.
  using ChangeListener =
      std::function<void(const std::vector<std::string>& unit_ids, bool all_units)>;
  void SetChangeListener(ChangeListener listener) { on_change_ = std::move(listener); }

 private:
  int64_t NowMicros() const;
  void Changed(const std::vector<std::string>& unit_ids, bool all_units) const {
    if (on_change_) on_change_(unit_ids, all_units);
  }

  UnitStore& store_;
  Clock clock_;
  ChangeListener on_change_;
};

}  // namespace duban::units
