#pragma once
// The storage interface of duban-reminders. Domain rules live in ReminderLedger; a store only
// reads and writes rows. Every Write runs in one transaction: when the callback fails nothing
// of it is kept. Keep implementations plain SQL so a PostgreSQL backend is an addition.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "reminder_model.h"
#include "rollcall_model.h"

namespace duban::reminders {

struct ReminderFilter {
  // At least one of the first five is set by callers of ListReminders.
  std::string assignment_id;
  std::string unit_id;
  std::string plan_id;
  std::string task_id;
  std::string roll_call_id;
  std::string round_id;
  std::vector<ReminderState> states;         // any of
  std::vector<ReminderKind> kinds;           // any of
  std::optional<int64_t> planned_after_us;   // inclusive
  std::optional<int64_t> planned_before_us;  // exclusive
};

struct DeadFilter {
  std::string unit_id;
  std::string assignment_id;
  std::string plan_id;
  std::vector<ReminderKind> kinds;
  std::optional<int64_t> since_us;  // inclusive
  std::optional<int64_t> until_us;  // exclusive
};

// Position after the last row of a page ordered by (time, id).
struct TimeIdCursor {
  int64_t time_us = 0;
  std::string id;
};

// A page of ListReminders.
struct ReminderListing {
  std::vector<ReminderRow> rows;
  // Set when the store stopped after examining its row budget with fewer than `limit` matches:
  // every row up to this position was examined, so the next page starts after it.
  std::optional<TimeIdCursor> scanned_to;
};

// A pending row as Reconcile sees it.
struct PendingRef {
  std::string id;
  int64_t version = 0;
  int64_t due_us = 0;
  std::optional<int64_t> send_by_us;
};

struct StateCount {
  ReminderState state;
  int64_t count;
};

// Which open assignments (not DONE or CANCELED) to list: exactly one of the fields, or none
// for every open assignment.
struct OpenAssignmentQuery {
  std::string policy_id;  // the snapshot's own policy id
  std::string plan_id;
};

class ReminderReader {
 public:
  virtual ~ReminderReader() = default;

  virtual absl::StatusOr<std::optional<StoredPolicy>> FindPolicyByRequestId(
      const std::string& request_id) = 0;
  // Policies with id > after_id in id order.
  virtual absl::StatusOr<std::vector<StoredPolicy>> ListPolicies(const std::string& after_id,
                                                                 int limit) = 0;
  virtual absl::StatusOr<int64_t> CountPlanDefaultsUsing(const std::string& policy_id) = 0;
  virtual absl::StatusOr<int64_t> CountOpenAssignmentsUsing(const std::string& policy_id) = 0;
  // Plans whose default is `policy_id`.
  virtual absl::StatusOr<std::vector<std::string>> PlansDefaultingTo(
      const std::string& policy_id) = 0;
  // Open assignments matching `q` with id > after_id, in id order.
  virtual absl::StatusOr<std::vector<AssignmentMirror>> OpenAssignments(
      const OpenAssignmentQuery& q, const std::string& after_id, int limit) = 0;

  virtual absl::StatusOr<std::optional<StoredPolicy>> FindPolicy(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<PlanDefault>> FindPlanDefault(
      const std::string& plan_id) = 0;
  virtual absl::StatusOr<std::optional<AssignmentMirror>> FindAssignment(const std::string& id) = 0;

  // The budget of exactly one scope, if set.
  virtual absl::StatusOr<std::optional<BurdenBudget>> FindBudget(const std::string& unit_id,
                                                                 int unit_kind) = 0;
  // Every budget: the default, then per kind, then per unit id.
  virtual absl::StatusOr<std::vector<BurdenBudget>> ListBudgets() = 0;
  // Reminders of a unit planned in [from_us, to_us) that count against its budget (SCHEDULED
  // or SENT, not ESCALATION), other than `except_id`.
  virtual absl::StatusOr<int64_t> CountBudgeted(const std::string& unit_id, int64_t from_us,
                                                int64_t to_us, const std::string& except_id) = 0;
  // Reminders of a unit planned in [from_us, to_us) SUPPRESSED as OVER_BUDGET.
  virtual absl::StatusOr<int64_t> CountOverBudget(const std::string& unit_id, int64_t from_us,
                                                  int64_t to_us) = 0;

  virtual absl::StatusOr<std::optional<ReminderRow>> FindReminder(const std::string& id) = 0;
  // Rows whose id is in `ids`, in no particular order.
  virtual absl::StatusOr<std::vector<ReminderRow>> FindReminders(
      const std::vector<std::string>& ids) = 0;
  // Every row of an assignment, oldest first (creation order).
  virtual absl::StatusOr<std::vector<ReminderRow>> AssignmentReminders(
      const std::string& assignment_id) = 0;
  // A unit's pending DIGEST row with slot `slot` planned at `planned_us`, if any.
  virtual absl::StatusOr<std::optional<ReminderRow>> FindPendingDigest(const std::string& unit_id,
                                                                       const std::string& slot,
                                                                       int64_t planned_us) = 0;
  // Rows matching `filter` after `after` in (planned_us, id) order, at most `limit`. A filter
  // by assignment, unit or roll-call reads that index; one by plan or task only walks the
  // whole ledger in time order and stops after `max_scanned` rows (see scanned_to).
  virtual absl::StatusOr<ReminderListing> ListReminders(const ReminderFilter& filter,
                                                        const std::optional<TimeIdCursor>& after,
                                                        int limit, int max_scanned) = 0;
  // DEAD rows matching `filter` before `before` in (dead_us, id) descending order.
  virtual absl::StatusOr<std::vector<ReminderRow>> ListDead(
      const DeadFilter& filter, const std::optional<TimeIdCursor>& before, int limit) = 0;
  // Pending rows with id > after_id, in id order, at most `limit`.
  virtual absl::StatusOr<std::vector<PendingRef>> ListPending(const std::string& after_id,
                                                              int limit) = 0;
  // Pending rows with after_id < id <= last_id, in id order: a page of ListPending read again.
  virtual absl::StatusOr<std::vector<PendingRef>> ListPendingRange(const std::string& after_id,
                                                                   const std::string& last_id) = 0;
  // Which of `ids` are pending rows (id → row), for orphan detection.
  virtual absl::StatusOr<std::vector<PendingRef>> FindPending(
      const std::vector<std::string>& ids) = 0;
  virtual absl::StatusOr<std::vector<StateCount>> CountByState() = 0;

  // The last `limit` outcomes of a reminder, oldest first.
  virtual absl::StatusOr<std::vector<AttemptRecord>> AttemptLog(const std::string& reminder_id,
                                                                int limit) = 0;
  virtual absl::StatusOr<bool> AttemptExists(const std::string& reminder_id, int64_t version,
                                             int attempt, OutcomeKind outcome) = 0;
  // Lateness of SENT outcomes recorded at or after `since_us`, ascending.
  virtual absl::StatusOr<std::vector<int64_t>> LatenessSince(int64_t since_us) = 0;

  // ---- roll-calls ----
  // Assignment mirrors whose id is in `ids`, in no particular order.
  virtual absl::StatusOr<std::vector<AssignmentMirror>> FindAssignments(
      const std::vector<std::string>& ids) = 0;
  // Deleted roll-calls too (callers check `deleted`).
  virtual absl::StatusOr<std::optional<RollCall>> FindRollCall(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<RollCall>> FindRollCallByRequestId(
      const std::string& request_id) = 0;
  // Not deleted roll-calls matching `f` with id > after_id, in id order.
  virtual absl::StatusOr<std::vector<RollCall>> ListRollCalls(const RollCallFilter& f,
                                                              const std::string& after_id,
                                                              int limit) = 0;
  // Active roll-calls whose next round is due at or before `now_us`, in due order.
  virtual absl::StatusOr<std::vector<RollCall>> DueRollCalls(int64_t now_us, int limit) = 0;
  virtual absl::StatusOr<std::optional<RollCallRound>> FindRound(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<RollCallRound>> FindRoundByRequestId(
      const std::string& roll_call_id, const std::string& request_id) = 0;
  // The roll-call's open round, if any.
  virtual absl::StatusOr<std::optional<RollCallRound>> OpenRound(
      const std::string& roll_call_id) = 0;
  // The highest round number of the roll-call (0 if none).
  virtual absl::StatusOr<int64_t> LastRoundNumber(const std::string& roll_call_id) = 0;
  // Rounds with number < before_number (0: no bound), newest first.
  virtual absl::StatusOr<std::vector<RollCallRound>> ListRounds(const std::string& roll_call_id,
                                                                int64_t before_number,
                                                                int limit) = 0;
  // Open rounds whose next chase is due at or before `now_us`, in due order.
  virtual absl::StatusOr<std::vector<RollCallRound>> DueChases(int64_t now_us, int limit) = 0;
  // The units of a round in unit id order.
  virtual absl::StatusOr<std::vector<RoundUnit>> RoundUnits(const std::string& round_id) = 0;
};

class ReminderWriter : public ReminderReader {
 public:
  // Inserts the policy or replaces the stored row of policy.id.
  virtual absl::Status UpsertPolicy(const StoredPolicy& policy) = 0;
  virtual absl::Status DeletePolicy(const std::string& id) = 0;
  virtual absl::Status UpsertBudget(const BurdenBudget& b) = 0;
  // Returns whether a budget was removed.
  virtual absl::StatusOr<bool> DeleteBudget(const std::string& unit_id, int unit_kind) = 0;
  virtual absl::Status UpsertPlanDefault(const PlanDefault& d) = 0;
  virtual absl::Status UpsertAssignment(const AssignmentMirror& a) = 0;
  virtual absl::Status InsertReminder(const ReminderRow& row) = 0;
  // Replaces every column of the stored row of row.id.
  virtual absl::Status UpdateReminder(const ReminderRow& row) = 0;
  virtual absl::Status InsertAttempt(const AttemptRecord& record) = 0;
  // Inserts or replaces by id.
  virtual absl::Status UpsertRollCall(const RollCall& rc) = 0;
  // Inserts or replaces by id. ALREADY_EXISTS if (roll_call_id, number) is taken by another
  // round: the guard against starting one scheduled round twice.
  virtual absl::Status UpsertRound(const RollCallRound& round) = 0;
  // Inserts or replaces by (round_id, unit_id).
  virtual absl::Status UpsertRoundUnit(const RoundUnit& unit) = 0;
};

class ReminderStore {
 public:
  virtual ~ReminderStore() = default;
  virtual absl::Status Read(const std::function<absl::Status(ReminderReader&)>& fn) = 0;
  virtual absl::Status Write(const std::function<absl::Status(ReminderWriter&)>& fn) = 0;
};

}  // namespace duban::reminders
