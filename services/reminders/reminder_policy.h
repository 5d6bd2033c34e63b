#pragma once
// Reminder policies as the domain sees them: offsets, overdue repeats, the escalation ladder,
// the send window and the catch-up rule. No protobuf; see reminders.proto for the contract.
#include <string>
#include <vector>

#include <absl/time/time.h>

#include "duban/status.h"

namespace duban::reminders {

struct Offset {
  enum class Unit { kHours, kWorkingDays };
  Unit unit = Unit::kHours;
  int amount = 0;  // hours 1-720, working days 1-30
  bool operator==(const Offset& o) const { return unit == o.unit && amount == o.amount; }
};

struct OverdueRepeat {
  int every_working_days = 0;  // 0 = none
  int max_repeats = 0;
};

enum class EscalationTrigger : int { kUnspecified = 0, kOverdue = 1, kNotAcknowledged = 2 };

struct EscalationStep {
  EscalationTrigger trigger = EscalationTrigger::kUnspecified;
  int after_working_days = 0;  // 1-60
  int level = 0;               // 1-32
};

enum class CatchUpMode : int { kDigest = 1, kSendEach = 2, kSkip = 3 };

struct Policy {
  std::string id;
  std::string name;
  std::vector<Offset> before_deadline;
  bool at_deadline = false;
  std::vector<Offset> before_milestones;
  bool at_milestones = false;
  OverdueRepeat overdue;
  std::vector<EscalationStep> escalation;
  absl::Duration window_start = absl::Hours(9);
  absl::Duration window_end = absl::Hours(18);
  bool send_on_non_working_days = false;
  CatchUpMode catch_up = CatchUpMode::kDigest;
  absl::Duration catch_up_grace = absl::Hours(1);
};

// The built-in "default" policy (see ReminderPolicy in reminders.proto): 3 and 1 working days
// before, at the deadline, overdue every working day up to 5 times, escalation to level 1
// when not acknowledged after 2 working days or overdue by 2, to level 2 when overdue by 5;
// 09:00-18:00 on working days; catch-up digest with 1 hour grace.
Policy DefaultPolicy();

// Adds a violation per bad field, named `prefix` + the proto field path
// (e.g. "policy.escalation[1].level").
void ValidatePolicy(const Policy& policy, const std::string& prefix, FieldViolations& v);

}  // namespace duban::reminders
