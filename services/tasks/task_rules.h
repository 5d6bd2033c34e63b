#pragma once
// Helpers shared by the TaskDirectory implementation files: field checks, errors, idempotent
// request replay, and the write-side bookkeeping every change of an assignment needs (audit
// record, version bump, outbox row, derived task state). Internal to duban-tasks.
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>

#include "deadline_resolver.h"
#include "duban/status.h"
#include "task_store.h"

namespace duban::tasks::rules {

inline constexpr size_t kMaxTitleChars = 200;
inline constexpr size_t kMaxDescriptionChars = 10000;
inline constexpr size_t kMaxNoteChars = 2000;
inline constexpr size_t kMaxReportChars = 4000;
inline constexpr size_t kMaxActorIdChars = 128;
inline constexpr size_t kMaxActorNameChars = 64;
inline constexpr size_t kMaxTags = 32;
inline constexpr size_t kMaxTagChars = 32;
inline constexpr int kMaxMarginWorkingDays = 60;

absl::Status NotFound(std::string field, absl::string_view what, absl::string_view id);
absl::Status Precondition(std::string field, std::string description);
absl::Status CheckEtag(const std::string& given, int64_t revision);

// Actor: id required (1-128 printable characters), name up to 64, unit_id an id if set.
void CheckActor(const Actor& actor, const std::string& field, bool required, FieldViolations& v);
void CheckRequestId(const std::string& request_id, FieldViolations& v);
// Optional id field: ValidateId when non-empty.
void CheckOptionalId(const std::string& id, const std::string& field, FieldViolations& v);
void CheckRequiredId(const std::string& id, const std::string& field, FieldViolations& v);
void CheckTitle(const std::string& s, const std::string& field, FieldViolations& v);
void CheckLongText(const std::string& s, size_t max_chars, const std::string& field,
                   FieldViolations& v);
// Sorts and checks tags (1-32 characters each, at most 32, unique).
void CheckTags(std::vector<std::string>& tags, const std::string& field, FieldViolations& v);

// A new opaque id "<prefix>-<time><sequence><random>" (lower-case hex, valid under ValidateId)
// that sorts by creation, so bulk inserts append to the id indexes instead of scattering.
std::string NewSortableId(absl::string_view prefix);

// A fingerprint of a request's content, for request_id reuse detection.
std::string Fingerprint(absl::string_view canonical);

// Idempotent requests: the resource a previous call with `request_id` produced (nullopt if
// none); INVALID_ARGUMENT on request_id if it was used for another method or content.
absl::StatusOr<std::optional<std::string>> Replay(TaskReader& tx, const std::string& request_id,
                                                  const std::string& method,
                                                  const std::string& fingerprint);
absl::Status Remember(TaskWriter& tx, const std::string& request_id, const std::string& method,
                      const std::string& fingerprint, const std::string& resource_id,
                      int64_t now_us);

// The reminders snapshot of an assignment of `task`.
AssignmentSnapshot SnapshotOf(const Assignment& a, const Task& task, int64_t change_us);

// Write-side bookkeeping inside one transaction at one instant.
class Mutation {
 public:
  Mutation(TaskWriter& tx, int64_t now_us, const Actor& actor)
      : tx_(tx), now_(now_us), actor_(actor) {}

  int64_t now() const { return now_; }
  const Actor& actor() const { return actor_; }
  bool wrote_outbox() const { return wrote_outbox_; }

  // Appends an audit record (actor and time filled in if empty).
  absl::Status Audit(AuditEvent e);
  // A new assignment: inserted with version 1, a CREATED record and a schedule row.
  absl::Status CreateAssignment(Assignment& a, const Task& task, const std::string& note);
  // Stores a changed assignment: bumps revision and update time; with `tell_reminders` also
  // the version, and appends the matching outbox row (schedule, or cancel when final).
  absl::Status SaveAssignment(Assignment& a, const Task& task, bool tell_reminders);
  // Moves an assignment to `to` with a STATE_CHANGED record (does not save it).
  absl::Status ChangeState(Assignment& a, AssignmentState to, const std::string& note);
  // Cancels an open assignment: state, record, withdrawn extension, saved with its outbox row.
  absl::Status CancelAssignment(Assignment& a, const Task& task, const std::string& reason);
  // Withdraws the assignment's pending extension request, if any (does not save `a`).
  absl::Status WithdrawPendingExtension(Assignment& a, const std::string& why);
  // Re-derives the task's state from its assignments; stores the task if it changed.
  absl::Status RefreshTaskState(Task& task);
  absl::Status AppendPlanPolicy(const Plan& plan);

 private:
  TaskWriter& tx_;
  int64_t now_;
  Actor actor_;
  bool wrote_outbox_ = false;
};

bool ValidPriority(Priority p);
// Shape checks of a milestone list (before resolution); `field` is e.g. "task.milestones".
void CheckMilestones(const std::vector<Milestone>& ms, const std::string& field,
                     FieldViolations& v);
// Gives milestones their ids: kept where position and title match the old list, else new.
void AssignMilestoneIds(std::vector<Milestone>& next, const std::vector<Milestone>& old);
// The deadline rules of a child against its parent: not later than the parent's deadline,
// and not earlier than it by more than the plan's margin (in the zone `tz`).
absl::Status CheckChildDeadline(const DeadlineResolver& resolver, const Plan& plan,
                                const Task& parent, int64_t child_us, const std::string& tz,
                                const std::string& field);
// Resolves a checked milestone list in `tz`; each must be due in order and not after
// `deadline_us`.
absl::Status ResolveMilestones(const DeadlineResolver& resolver, std::vector<Milestone>& ms,
                               const std::string& tz, int64_t now_us, int64_t deadline_us,
                               const std::string& field);

// The budget that applies to a unit: its own, else its kind's, else the default (0: none).
class BudgetTable {
 public:
  explicit BudgetTable(const std::vector<AssignmentBudget>& budgets);
  bool empty() const { return empty_; }
  int64_t For(const std::string& unit_id, UnitKind kind) const;

 private:
  absl::flat_hash_map<std::string, int64_t> by_unit_;
  absl::flat_hash_map<int, int64_t> by_kind_;
  int64_t default_ = 0;
  bool empty_ = true;
};

// The derived state of a task from its own assignments' counts.
TaskState DeriveTaskState(const StateCounts& counts, bool canceled);

}  // namespace duban::tasks::rules
