// ReminderPlanner against the real embedded calendar: weekends, holidays, make-up working days
// (调休), send windows, a non-Shanghai zone, escalation, catch-up after an outage.
#include "reminder_planner.h"

#include <gtest/gtest.h>

#include <map>

namespace duban::reminders {
namespace {

class PlannerTest : public ::testing::Test {
 protected:
  PlannerTest() : calendar_(*calendar::WorkingCalendar::Default()), planner_(calendar_) {
    absl::LoadTimeZone("Asia/Shanghai", &shanghai_);
  }

  absl::Time At(absl::TimeZone tz, int y, int mo, int d, int h, int mi = 0) {
    return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), tz);
  }
  absl::Time Sh(int y, int mo, int d, int h, int mi = 0) { return At(shanghai_, y, mo, d, h, mi); }

  AssignmentSnapshot Snapshot(absl::Time created, absl::Time deadline) {
    AssignmentSnapshot a;
    a.assignment_id = "a-1";
    a.version = 1;
    a.state = AssignmentState::kAssigned;
    a.create_time = created;
    a.change_time = created;
    a.deadline = deadline;
    return a;
  }

  // slot -> planned time, for the reminders that will be sent.
  std::map<std::string, absl::Time> Sendable(const Plan& plan) {
    std::map<std::string, absl::Time> out;
    for (const auto& r : plan.reminders) {
      if (r.suppression == Suppression::kNone) out[r.slot] = r.planned_time;
    }
    return out;
  }

  const PlannedReminder* Find(const Plan& plan, const std::string& slot) {
    for (const auto& r : plan.reminders) {
      if (r.slot == slot) return &r;
    }
    return nullptr;
  }

  calendar::WorkingCalendar calendar_;
  ReminderPlanner planner_;
  absl::TimeZone shanghai_;
};

TEST_F(PlannerTest, DefaultPolicyAroundTheDragonBoatFestival) {
  // Due Friday 2025-05-30 18:00; 端午 makes Monday 2025-06-02 a holiday.
  auto a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 30, 18));
  auto plan = planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, a.create_time);
  ASSERT_TRUE(plan.ok()) << plan.status();
  auto s = Sendable(*plan);
  EXPECT_EQ(s["before:wd3"], Sh(2025, 5, 27, 9));
  EXPECT_EQ(s["before:wd1"], Sh(2025, 5, 29, 9));
  EXPECT_EQ(s["due"], Sh(2025, 5, 30, 18));      // window end is inclusive
  EXPECT_EQ(s["overdue:1"], Sh(2025, 6, 3, 9));  // skips the weekend and 端午 Monday
  EXPECT_EQ(s["overdue:5"], Sh(2025, 6, 9, 9));
  EXPECT_EQ(s["esc:unacked:2:l1"], Sh(2025, 5, 21, 9));
  EXPECT_EQ(s["esc:overdue:2:l1"], Sh(2025, 6, 4, 9));
  EXPECT_EQ(s["esc:overdue:5:l2"], Sh(2025, 6, 9, 9));
  // overdue:2 and the level-1 escalation share an instant but not recipients: both go.
  EXPECT_EQ(s["overdue:2"], Sh(2025, 6, 4, 9));
  EXPECT_EQ(s.size(), 11u);
  EXPECT_FALSE(plan->provisional);
  EXPECT_EQ(Find(*plan, "esc:overdue:5:l2")->escalation_level, 2);
}

TEST_F(PlannerTest, MakeUpWorkingSaturdayCountsAsAWorkingDay) {
  // Due Monday 2025-02-10; Saturday 2025-02-08 is a 春节 make-up working day (调休).
  auto a = Snapshot(Sh(2025, 1, 20, 10), Sh(2025, 2, 10, 18));
  auto plan = planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, a.create_time);
  ASSERT_TRUE(plan.ok());
  auto s = Sendable(*plan);
  EXPECT_EQ(s["before:wd1"], Sh(2025, 2, 8, 9));
  EXPECT_EQ(s["before:wd3"], Sh(2025, 2, 6, 9));
  // Not acknowledged 2 working days after Monday 01-20: Wednesday 01-22.
  EXPECT_EQ(s["esc:unacked:2:l1"], Sh(2025, 1, 22, 9));
}

TEST_F(PlannerTest, RemindersOutsideTheWindowMoveToTheNextOpening) {
  Policy p;
  p.before_deadline = {{Offset::Unit::kHours, 12}, {Offset::Unit::kHours, 1}};
  p.at_deadline = true;
  // Due Friday 09:30: 12 h before is Thursday 21:30 -> Friday 09:00; 1 h before is 08:30 ->
  // 09:00 too, and the later duplicate is dropped as the same slot.
  auto a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 30, 9, 30));
  auto plan = planner_.PlanAssignment(p, a, shanghai_, a.create_time);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Find(*plan, "before:h12")->planned_time, Sh(2025, 5, 30, 9));
  EXPECT_EQ(Find(*plan, "before:h12")->rule_time, Sh(2025, 5, 29, 21, 30));
  EXPECT_EQ(Find(*plan, "before:h1")->suppression, Suppression::kSameSlot);
  // Due at 09:00 sharp: the heads-up would land on the deadline itself.
  a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 30, 9));
  plan = planner_.PlanAssignment(p, a, shanghai_, a.create_time);
  EXPECT_EQ(Find(*plan, "before:h1")->suppression, Suppression::kSendWindow);
  EXPECT_EQ(Find(*plan, "due")->suppression, Suppression::kNone);
  // Due on a Sunday evening: the DUE reminder waits for Monday's opening.
  a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 25, 20));
  plan = planner_.PlanAssignment(p, a, shanghai_, a.create_time);
  EXPECT_EQ(Find(*plan, "due")->planned_time, Sh(2025, 5, 26, 9));
}

TEST_F(PlannerTest, UsesTheUnitsOwnTimeZone) {
  absl::TimeZone urumqi;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Urumqi", &urumqi));
  auto a = Snapshot(At(urumqi, 2025, 5, 19, 10), At(urumqi, 2025, 5, 30, 18));
  auto plan = planner_.PlanAssignment(DefaultPolicy(), a, urumqi, a.create_time);
  ASSERT_TRUE(plan.ok());
  auto s = Sendable(*plan);
  EXPECT_EQ(s["before:wd1"], At(urumqi, 2025, 5, 29, 9));
  EXPECT_EQ(s["before:wd1"], Sh(2025, 5, 29, 11));  // 09:00 in Urumqi is 11:00 in Beijing
}

TEST_F(PlannerTest, AcknowledgedSubmittedAndClosedAssignments) {
  auto a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 30, 18));
  a.state = AssignmentState::kAcknowledged;
  auto plan = planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, a.create_time);
  EXPECT_EQ(Find(*plan, "esc:unacked:2:l1"), nullptr);
  EXPECT_NE(Find(*plan, "esc:overdue:2:l1"), nullptr);
  for (auto state :
       {AssignmentState::kSubmitted, AssignmentState::kDone, AssignmentState::kCanceled}) {
    a.state = state;
    EXPECT_TRUE(
        planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, a.create_time)->reminders.empty());
  }
}

TEST_F(PlannerTest, MilestonesGetTheirOwnRemindersAndTheDeadlineWinsASharedSlot) {
  Policy p;
  p.before_milestones = {{Offset::Unit::kWorkingDays, 1}};
  p.at_milestones = true;
  p.at_deadline = true;
  auto a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 30, 18));
  a.milestones = {{"m1", "摸底", Sh(2025, 5, 23, 18)}, {"m2", "完成", Sh(2025, 5, 30, 18)}};
  auto plan = planner_.PlanAssignment(p, a, shanghai_, a.create_time);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Find(*plan, "m1:before:wd1")->planned_time, Sh(2025, 5, 22, 9));
  EXPECT_EQ(Find(*plan, "m1:due")->planned_time, Sh(2025, 5, 23, 18));
  EXPECT_EQ(Find(*plan, "m2:due")->suppression, Suppression::kSameSlot);
  EXPECT_EQ(Find(*plan, "due")->suppression, Suppression::kNone);
}

TEST_F(PlannerTest, CatchUpAfterAnOutage) {
  // The snapshot arrives on 05-28 12:00 for a change made 05-20: the tasks outbox was held up.
  auto a = Snapshot(Sh(2025, 5, 19, 10), Sh(2025, 5, 30, 18));
  a.change_time = Sh(2025, 5, 20, 8);
  absl::Time now = Sh(2025, 5, 28, 12);
  auto plan = planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, now);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Find(*plan, "before:wd3")->suppression, Suppression::kMergedIntoDigest);
  ASSERT_TRUE(plan->catch_up_digest_time.has_value());
  EXPECT_EQ(*plan->catch_up_digest_time, now);  // inside the window: now
  // Escalations are never merged, only late.
  EXPECT_EQ(Find(*plan, "esc:unacked:2:l1")->planned_time, now);
  EXPECT_EQ(Find(*plan, "esc:unacked:2:l1")->suppression, Suppression::kNone);
  EXPECT_EQ(Find(*plan, "before:wd1")->suppression, Suppression::kNone);

  Policy skip = DefaultPolicy();
  skip.catch_up = CatchUpMode::kSkip;
  plan = planner_.PlanAssignment(skip, a, shanghai_, now);
  EXPECT_EQ(Find(*plan, "before:wd3")->suppression, Suppression::kMissed);
  EXPECT_FALSE(plan->catch_up_digest_time.has_value());

  // Instants before the change itself are not planned at all.
  a.change_time = Sh(2025, 5, 28, 11);
  plan = planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, now);
  EXPECT_EQ(Find(*plan, "before:wd3"), nullptr);
}

TEST_F(PlannerTest, YearsWithoutPublishedHolidaysAreProvisional) {
  auto a = Snapshot(Sh(2027, 3, 1, 10), Sh(2027, 3, 19, 18));
  auto plan = planner_.PlanAssignment(DefaultPolicy(), a, shanghai_, a.create_time);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->provisional);
}

TEST(PolicyValidation, NamesEveryBadField) {
  Policy p = DefaultPolicy();
  p.before_deadline = {{Offset::Unit::kHours, 0}, {Offset::Unit::kWorkingDays, 31}};
  p.overdue = {2, 0};
  p.escalation = {{EscalationTrigger::kOverdue, 2, 0}, {EscalationTrigger::kOverdue, 2, 1}};
  p.window_start = absl::Hours(18);
  p.window_end = absl::Hours(9);
  FieldViolations v;
  ValidatePolicy(p, "policy.", v);
  std::vector<std::string> fields;
  for (const auto& f : v.items()) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{
                        "policy.before_deadline[0].hours", "policy.before_deadline[1].working_days",
                        "policy.overdue.max_repeats", "policy.escalation[0].level",
                        "policy.escalation[1]", "policy.send_window"}));
  FieldViolations ok;
  ValidatePolicy(DefaultPolicy(), "policy.", ok);
  EXPECT_TRUE(ok.empty());
}

}  // namespace
}  // namespace duban::reminders
