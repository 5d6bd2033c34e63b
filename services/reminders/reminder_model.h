#pragma once
// The ledger's rows as the domain sees them: reminders (one planned reminder and its fate),
// the mirror of each assignment fed by the tasks service's outbox, stored policies and plan
// defaults. Times are int64 microseconds since the Unix epoch, as stored. No protobuf.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reminder_planner.h"
#include "reminder_policy.h"

namespace duban::reminders {

// Values equal duban.reminders.v1.ReminderState.
enum class ReminderState : int {
  kScheduled = 1,
  kSent = 2,
  kFailed = 3,
  kDead = 4,
  kCanceled = 5,
  kSuppressed = 6,
};

// Pending rows are in (or owed to) the Redis schedule.
inline bool IsPending(ReminderState s) {
  return s == ReminderState::kScheduled || s == ReminderState::kFailed;
}
const char* ReminderStateName(ReminderState s);

// Values equal duban.reminders.v1.SuppressionReason.
enum class SuppressionReason : int {
  kNone = 0,
  kAssignmentClosed = 1,
  kConditionCleared = 2,
  kMergedIntoDigest = 3,
  kOverBudget = 4,
  kSendWindow = 5,
  kSameSlot = 6,
  kMissed = 7,
  kNothingToList = 8,
};

// Values equal duban.reminders.v1.DeliveryOutcomeKind.
enum class OutcomeKind : int {
  kUnspecified = 0,
  kSent = 1,
  kRetry = 2,
  kDead = 3,
  kSuppressed = 4,
  kMissed = 5,
};

struct Recipient {
  std::string contact_id;
  std::string unit_id;
  int channel = 0;  // duban.reminders.v1.Channel
};

struct ReminderRow {
  std::string id;
  ReminderKind kind = ReminderKind::kDue;
  ReminderState state = ReminderState::kScheduled;
  std::string assignment_id;  // empty for DIGEST and ROLLCALL
  std::string slot;           // the planner's slot (or "digest:catchup", ...)
  std::string plan_id;
  std::string task_id;
  std::string unit_id;
  std::string milestone_id;
  int escalation_level = 0;
  EscalationTrigger escalation_trigger = EscalationTrigger::kUnspecified;
  std::string policy_id;
  int64_t planned_us = 0;
  int64_t rule_us = 0;
  std::optional<int64_t> send_by_us;
  int64_t version = 1;
  int64_t assignment_version = 0;
  SuppressionReason suppression = SuppressionReason::kNone;
  std::string detail;
  int attempts = 0;
  std::string last_error;
  std::optional<int64_t> next_attempt_us;
  std::string delivery_id;
  std::vector<Recipient> recipients;
  std::optional<int64_t> sent_us;
  std::optional<int64_t> dead_us;
  std::string digest_id;
  std::vector<std::string> merged_ids;
  std::vector<std::string> assignment_ids;
  std::string roll_call_id;
  std::string round_id;
  int chase = 0;
  bool provisional = false;
  int64_t create_us = 0;
  int64_t update_us = 0;

  // When the Redis job of a pending row is due: the retry time for FAILED rows.
  int64_t due_us() const {
    return state == ReminderState::kFailed && next_attempt_us ? *next_attempt_us : planned_us;
  }
};

// One outcome in a reminder's attempt log.
struct AttemptRecord {
  std::string reminder_id;
  int64_t version = 0;
  int attempt = 0;
  OutcomeKind outcome = OutcomeKind::kUnspecified;
  std::string error;
  int channel = 0;
  int64_t time_us = 0;
  bool stale = false;
  // For SENT outcomes: sent - planned (the lateness histogram).
  std::optional<int64_t> lateness_us;
};

// The mirror of one assignment, as last sent by the tasks service.
struct AssignmentMirror {
  std::string id;
  int64_t version = 0;
  std::string plan_id;
  std::string task_id;
  std::string unit_id;
  int role = 0;
  AssignmentState state = AssignmentState::kAssigned;
  std::string policy_id;  // as requested by the snapshot (may be empty or unknown)
  int64_t create_us = 0;
  std::optional<int64_t> acknowledge_us;
  int64_t deadline_us = 0;
  std::vector<MilestoneSnapshot> milestones;
  std::optional<int64_t> last_report_us;
  int64_t change_us = 0;
  std::string timezone;  // the unit's zone when last planned
  int unit_kind = 0;     // the unit's kind when last planned (for budgets)
  int64_t update_us = 0;
  std::string task_path;  // "/top/child/task_id/" from the snapshot; empty from older senders

  // The assignment belongs to `task_id` or to a task under it.
  bool InTaskSubtree(const std::string& id) const {
    if (task_id == id) return true;
    const std::string segment = "/" + id + "/";
    return task_path.find(segment) != std::string::npos;
  }

  bool closed() const {
    return state == AssignmentState::kDone || state == AssignmentState::kCanceled;
  }
};

struct StoredPolicy {
  Policy policy;  // policy.id, policy.name
  std::string description;
  std::string calendar = "cn";
  bool built_in = false;
  int64_t revision = 1;
  int64_t create_us = 0;
  int64_t update_us = 0;
  std::string request_id;
};

// A burden budget: exactly one scope (unit, kind, or neither = the default).
struct BurdenBudget {
  std::string unit_id;
  int unit_kind = 0;
  int max_messages_per_working_day = 0;
  int64_t update_us = 0;
};

struct PlanDefault {
  std::string plan_id;
  std::string policy_id;  // empty: built-in "default"
  int64_t plan_version = 0;
  int64_t update_us = 0;
};

}  // namespace duban::reminders
