#pragma once
// ReminderPlanner: from a policy and an assignment snapshot to the reminders it implies, each
// with its planned instant in the unit's time zone, on working days, inside the send window —
// or suppressed with a reason. Pure logic: no storage, no Redis, no clock of its own.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "duban/calendar/working_calendar.h"
#include "reminder_policy.h"

namespace duban::reminders {

// Values equal duban.reminders.v1 enum numbers.
enum class ReminderKind : int {
  kBeforeDue = 1,
  kDue = 2,
  kOverdue = 3,
  kEscalation = 4,
  kRollcall = 5,
  kDigest = 6,
};

enum class Suppression : int {
  kNone = 0,
  kMergedIntoDigest = 3,
  kSendWindow = 5,
  kSameSlot = 6,
  kMissed = 7,
};

// Open states of an assignment (values equal duban.tasks.v1.AssignmentState).
enum class AssignmentState : int {
  kAssigned = 1,
  kAcknowledged = 2,
  kInProgress = 3,
  kSubmitted = 4,
  kDone = 5,
  kReturned = 6,
  kCanceled = 7,
};

struct MilestoneSnapshot {
  std::string id;
  std::string title;
  absl::Time due;
};

struct AssignmentSnapshot {
  std::string assignment_id;
  int64_t version = 0;
  AssignmentState state = AssignmentState::kAssigned;
  absl::Time create_time;
  absl::Time deadline;  // the working deadline
  std::vector<MilestoneSnapshot> milestones;
  // When the change that produced this snapshot happened in the tasks service: rule instants
  // before it are not planned; those in [change_time, now) were delayed by an outage.
  absl::Time change_time;
};

struct PlannedReminder {
  // Stable identity of the rule that produced it, for re-planning in place, e.g. "due",
  // "before:wd3", "m2:before:h24", "overdue:2", "esc:overdue:5:l2".
  std::string slot;
  ReminderKind kind;
  std::string milestone_id;  // for milestone reminders
  int escalation_level = 0;
  EscalationTrigger escalation_trigger = EscalationTrigger::kUnspecified;
  absl::Time rule_time;     // what the rule said
  absl::Time planned_time;  // after the send window (and catch-up)
  // Latest send instant (planned + grace); nullopt for reminders never missed, only late.
  std::optional<absl::Time> send_by;
  Suppression suppression = Suppression::kNone;
  std::string detail;        // why it was suppressed or moved, short English
  bool provisional = false;  // calendar data for the year was not published
};

struct Plan {
  std::vector<PlannedReminder> reminders;  // by planned_time, then slot
  // Missed reminders merged into a catch-up digest (catch-up DIGEST): the digest is due at
  // this instant (the next window opening at or after now).
  std::optional<absl::Time> catch_up_digest_time;
  bool provisional = false;
};

class ReminderPlanner {
 public:
  explicit ReminderPlanner(const calendar::WorkingCalendar& calendar) : calendar_(calendar) {}

  // Plans every reminder of `snapshot` under `policy` in time zone `tz` as of `now`. A
  // snapshot that is not open (or SUBMITTED) plans nothing.
  absl::StatusOr<Plan> PlanAssignment(const Policy& policy, const AssignmentSnapshot& snapshot,
                                      absl::TimeZone tz, absl::Time now) const;

 private:
  const calendar::WorkingCalendar& calendar_;
};

}  // namespace duban::reminders
