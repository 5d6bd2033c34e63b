#include "reminder_policy.h"

#include <set>
#include <tuple>

#include <absl/strings/str_cat.h>

#include "duban/calendar/working_calendar.h"

namespace duban::reminders {

Policy DefaultPolicy() {
  Policy p;
  p.id = "default";
  p.name = "默认提醒规则";
  p.before_deadline = {{Offset::Unit::kWorkingDays, 3}, {Offset::Unit::kWorkingDays, 1}};
  p.at_deadline = true;
  p.overdue = {1, 5};
  p.escalation = {{EscalationTrigger::kNotAcknowledged, 2, 1},
                  {EscalationTrigger::kOverdue, 2, 1},
                  {EscalationTrigger::kOverdue, 5, 2}};
  return p;
}

namespace {

void CheckOffsets(const std::vector<Offset>& offsets, const std::string& field,
                  FieldViolations& v) {
  if (offsets.size() > 10) v.Add(field, "at most 10 offsets");
  for (size_t i = 0; i < offsets.size(); ++i) {
    const Offset& o = offsets[i];
    std::string name = absl::StrCat(field, "[", i, "]");
    if (o.unit == Offset::Unit::kHours && (o.amount < 1 || o.amount > 720)) {
      v.Add(name + ".hours", "must be 1-720");
    } else if (o.unit == Offset::Unit::kWorkingDays && (o.amount < 1 || o.amount > 30)) {
      v.Add(name + ".working_days", "must be 1-30");
    }
    for (size_t j = 0; j < i; ++j) {
      if (offsets[j] == o) v.Add(name, "duplicates an earlier offset");
    }
  }
}

}  // namespace

void ValidatePolicy(const Policy& p, const std::string& prefix, FieldViolations& v) {
  CheckOffsets(p.before_deadline, prefix + "before_deadline", v);
  CheckOffsets(p.before_milestones, prefix + "before_milestones", v);
  if (p.overdue.every_working_days < 0 || p.overdue.every_working_days > 30) {
    v.Add(prefix + "overdue.every_working_days", "must be 0-30");
  } else if (p.overdue.every_working_days > 0 &&
             (p.overdue.max_repeats < 1 || p.overdue.max_repeats > 30)) {
    v.Add(prefix + "overdue.max_repeats", "must be 1-30 when every_working_days is set");
  }
  if (p.escalation.size() > 10) v.Add(prefix + "escalation", "at most 10 steps");
  std::set<std::tuple<int, int>> seen;
  for (size_t i = 0; i < p.escalation.size(); ++i) {
    const EscalationStep& s = p.escalation[i];
    std::string name = absl::StrCat(prefix, "escalation[", i, "]");
    if (s.trigger != EscalationTrigger::kOverdue &&
        s.trigger != EscalationTrigger::kNotAcknowledged) {
      v.Add(name + ".trigger", "must be OVERDUE or NOT_ACKNOWLEDGED");
    }
    if (s.after_working_days < 1 || s.after_working_days > 60) {
      v.Add(name + ".after_working_days", "must be 1-60");
    }
    if (s.level < 1 || s.level > 32) v.Add(name + ".level", "must be 1-32");
    if (!seen.insert({static_cast<int>(s.trigger), s.after_working_days}).second) {
      v.Add(name, "another step has the same trigger and after_working_days");
    }
  }
  if (auto s = calendar::WorkingCalendar::ValidateWindow(p.window_start, p.window_end); !s.ok()) {
    v.Add(prefix + "send_window", std::string(s.message()));
  }
  if (p.catch_up_grace < absl::Minutes(1) || p.catch_up_grace > absl::Hours(24 * 7)) {
    v.Add(prefix + "catch_up.grace", "must be 1 minute to 7 days");
  }
}

}  // namespace duban::reminders
