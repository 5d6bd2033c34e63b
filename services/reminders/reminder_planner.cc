#include "reminder_planner.h"

#include <algorithm>
#include <map>

#include <absl/strings/str_cat.h>

namespace duban::reminders {
namespace {

bool Plannable(AssignmentState s) {
  return s == AssignmentState::kAssigned || s == AssignmentState::kAcknowledged ||
         s == AssignmentState::kInProgress || s == AssignmentState::kReturned;
}

std::string OffsetKey(const Offset& o) {
  return absl::StrCat(o.unit == Offset::Unit::kHours ? "h" : "wd", o.amount);
}

// Lower wins when two level-0 reminders fall on the same instant: the deadline's own reminder
// says more than a milestone's or an earlier heads-up.
int SlotPriority(const PlannedReminder& r) {
  switch (r.kind) {
    case ReminderKind::kDue:
      return r.milestone_id.empty() ? 0 : 2;
    case ReminderKind::kOverdue:
      return 1;
    case ReminderKind::kBeforeDue:
      return r.milestone_id.empty() ? 3 : 4;
    default:
      return 5;
  }
}

}  // namespace

absl::StatusOr<Plan> ReminderPlanner::PlanAssignment(const Policy& policy,
                                                     const AssignmentSnapshot& a, absl::TimeZone tz,
                                                     absl::Time now) const {
  Plan plan;
  if (!Plannable(a.state)) return plan;

  const calendar::DailyWindow window{policy.window_start, policy.window_end,
                                     !policy.send_on_non_working_days};
  std::vector<PlannedReminder> out;
  bool provisional = false;

  // The window's opening on the local day `day`.
  auto opening = [&](absl::CivilDay day) {
    return absl::FromCivil(absl::CivilSecond(day) + absl::ToInt64Seconds(policy.window_start), tz);
  };
  auto shift_day = [&](absl::CivilDay day, int64_t n) -> absl::StatusOr<absl::CivilDay> {
    auto r = calendar_.AddWorkingDays(day, n);
    if (!r.ok()) return r.status();
    provisional |= r->provisional;
    return r->day;
  };
  auto add = [&](std::string slot, ReminderKind kind, absl::Time rule_time,
                 std::string milestone_id = "") {
    PlannedReminder r;
    r.slot = std::move(slot);
    r.kind = kind;
    r.rule_time = rule_time;
    r.milestone_id = std::move(milestone_id);
    out.push_back(std::move(r));
    return &out.back();
  };

  // Heads-ups and DUE reminders for the deadline and each milestone.
  struct Target {
    std::string prefix;  // "" for the deadline, "m1:" for milestone m1
    std::string milestone_id;
    absl::Time due;
    const std::vector<Offset>* offsets;
    bool at_due;
  };
  std::vector<Target> targets = {{"", "", a.deadline, &policy.before_deadline, policy.at_deadline}};
  for (const auto& m : a.milestones) {
    targets.push_back({m.id + ":", m.id, m.due, &policy.before_milestones, policy.at_milestones});
  }
  for (const Target& t : targets) {
    const absl::CivilDay due_day = absl::ToCivilDay(t.due, tz);
    for (const Offset& o : *t.offsets) {
      absl::Time rule;
      if (o.unit == Offset::Unit::kHours) {
        rule = t.due - absl::Hours(o.amount);
      } else {
        auto day = shift_day(due_day, -o.amount);
        if (!day.ok()) return day.status();
        rule = opening(*day);
      }
      add(absl::StrCat(t.prefix, "before:", OffsetKey(o)), ReminderKind::kBeforeDue, rule,
          t.milestone_id);
    }
    if (t.at_due) add(absl::StrCat(t.prefix, "due"), ReminderKind::kDue, t.due, t.milestone_id);
  }

  // Overdue repeats and the escalation ladder, counted in working days from the local dates.
  const absl::CivilDay deadline_day = absl::ToCivilDay(a.deadline, tz);
  for (int k = 1; policy.overdue.every_working_days > 0 && k <= policy.overdue.max_repeats; ++k) {
    auto day = shift_day(deadline_day, int64_t{k} * policy.overdue.every_working_days);
    if (!day.ok()) return day.status();
    // Never before the deadline itself (a deadline late in the day after the window closes).
    add(absl::StrCat("overdue:", k), ReminderKind::kOverdue, std::max(opening(*day), a.deadline));
  }
  for (const EscalationStep& s : policy.escalation) {
    bool overdue = s.trigger == EscalationTrigger::kOverdue;
    if (!overdue && a.state != AssignmentState::kAssigned) continue;  // acknowledged already
    absl::CivilDay from = overdue ? deadline_day : absl::ToCivilDay(a.create_time, tz);
    auto day = shift_day(from, s.after_working_days);
    if (!day.ok()) return day.status();
    absl::Time rule = opening(*day);
    if (overdue) rule = std::max(rule, a.deadline);
    PlannedReminder* r =
        add(absl::StrCat("esc:", overdue ? "overdue:" : "unacked:", s.after_working_days, ":l",
                         s.level),
            ReminderKind::kEscalation, rule);
    r->escalation_level = s.level;
    r->escalation_trigger = s.trigger;
  }

  // Send window and working days, then what an outage or a late snapshot means.
  std::vector<PlannedReminder> planned;
  for (PlannedReminder& r : out) {
    auto moved = calendar_.NextInstantInWindow(r.rule_time, tz, window);
    if (!moved.ok()) return moved.status();
    r.planned_time = moved->time;
    r.provisional = moved->provisional || provisional;
    if (r.kind == ReminderKind::kBeforeDue) {
      absl::Time due = a.deadline;
      for (const auto& m : a.milestones) {
        if (m.id == r.milestone_id) due = m.due;
      }
      if (r.planned_time >= due) {
        r.suppression = Suppression::kSendWindow;
        r.detail = "the send window moved it to or past its deadline";
      }
    }
    if (r.planned_time < a.change_time) continue;  // before this snapshot existed: not planned
    bool late_only =
        r.kind == ReminderKind::kEscalation || policy.catch_up == CatchUpMode::kSendEach;
    if (!late_only) r.send_by = r.planned_time + policy.catch_up_grace;
    if (r.suppression == Suppression::kNone && r.planned_time + policy.catch_up_grace <= now) {
      // Missed during an outage: its useful life is over before it could be sent.
      if (late_only) {
        r.detail = "sent late after an outage";
        r.planned_time = now;
      } else if (policy.catch_up == CatchUpMode::kSkip) {
        r.suppression = Suppression::kMissed;
        r.detail = "missed during an outage (catch-up: skip)";
      } else {
        r.suppression = Suppression::kMergedIntoDigest;
        r.detail = "missed during an outage; listed in the catch-up digest";
        auto digest = calendar_.NextInstantInWindow(now, tz, window);
        if (!digest.ok()) return digest.status();
        plan.catch_up_digest_time = digest->time;
      }
    }
    planned.push_back(std::move(r));
  }

  // One message per recipients and instant: same escalation level, same planned instant.
  std::map<std::pair<int, absl::Time>, PlannedReminder*> slots;
  for (PlannedReminder& r : planned) {
    if (r.suppression != Suppression::kNone) continue;
    auto key = std::make_pair(r.escalation_level, r.planned_time);
    auto [it, inserted] = slots.emplace(key, &r);
    if (inserted) continue;
    PlannedReminder* keep = it->second;
    PlannedReminder* drop = &r;
    if (SlotPriority(r) < SlotPriority(*keep)) std::swap(keep, drop);
    drop->suppression = Suppression::kSameSlot;
    drop->detail = absl::StrCat("same instant as ", keep->slot);
    it->second = keep;
  }

  std::sort(planned.begin(), planned.end(), [](const PlannedReminder& x, const PlannedReminder& y) {
    return std::tie(x.planned_time, x.slot) < std::tie(y.planned_time, y.slot);
  });
  for (const auto& r : planned) plan.provisional |= r.provisional;
  plan.reminders = std::move(planned);
  return plan;
}

}  // namespace duban::reminders
