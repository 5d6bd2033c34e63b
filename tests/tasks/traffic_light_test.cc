// The traffic-light rules (pure): every rule, its thresholds and its readable reason.
#include "traffic_light.h"

#include <gtest/gtest.h>

namespace duban::tasks {
namespace {

constexpr int64_t kDay = 86'400'000'000;

LightInput Open(int64_t now_days, int reported, int64_t total_days = 100) {
  LightInput in;
  in.state = AssignmentState::kInProgress;
  in.create_us = 0;
  in.deadline_us = total_days * kDay;
  in.now_us = now_days * kDay;
  in.reported_percent = reported;
  return in;
}

TEST(TrafficLight, FinalAndSubmittedStates) {
  TrafficLightRules rules;
  LightInput in = Open(200, 0);  // far past the deadline
  in.state = AssignmentState::kCanceled;
  auto l = rules.Evaluate(in);
  EXPECT_EQ(l.light, TrafficLight::kUnspecified);
  EXPECT_EQ(l.reason, "canceled");
  in.state = AssignmentState::kDone;
  EXPECT_EQ(rules.Evaluate(in).light, TrafficLight::kGreen);
  EXPECT_EQ(rules.Evaluate(in).reason, "done");
  in.state = AssignmentState::kSubmitted;
  EXPECT_EQ(rules.Evaluate(in).light, TrafficLight::kGreen);
  EXPECT_EQ(rules.Evaluate(in).reason, "submitted, awaiting approval");
}

TEST(TrafficLight, OverdueIsRedWithWorkingDays) {
  TrafficLightRules rules;
  LightInput in = Open(103, 99);
  in.overdue_working_days = 3;
  auto l = rules.Evaluate(in);
  EXPECT_EQ(l.light, TrafficLight::kRed);
  EXPECT_EQ(l.reason, "overdue by 3 working days");
  in.overdue_working_days = 1;
  EXPECT_EQ(rules.Evaluate(in).reason, "overdue by 1 working day");
  in.overdue_working_days = 0;
  EXPECT_EQ(rules.Evaluate(in).reason, "overdue by less than 1 working day");
  in.state = AssignmentState::kAssigned;
  EXPECT_EQ(rules.Evaluate(in).light, TrafficLight::kRed);
}

TEST(TrafficLight, PointsBehindLinearPlan) {
  TrafficLightRules rules;
  // 60% of the time elapsed, linear plan 60%.
  auto red = rules.Evaluate(Open(60, 25));
  EXPECT_EQ(red.light, TrafficLight::kRed);
  EXPECT_EQ(red.planned_percent, 60);
  EXPECT_EQ(red.reported_percent, 25);
  EXPECT_EQ(red.reason, "planned 60%, reported 25%: 35 points behind");
  auto edge_red = rules.Evaluate(Open(60, 30));  // 30 behind: not > 30
  EXPECT_EQ(edge_red.light, TrafficLight::kYellow);
  EXPECT_EQ(edge_red.reason, "planned 60%, reported 30%: 30 points behind");
  auto edge_yellow = rules.Evaluate(Open(60, 50));  // 10 behind: not > 10
  EXPECT_EQ(edge_yellow.light, TrafficLight::kGreen);
  EXPECT_EQ(edge_yellow.reason, "on track: planned 60%, reported 50%");
  EXPECT_DOUBLE_EQ(edge_yellow.elapsed_share, 0.6);
}

TEST(TrafficLight, LittleTimeLeftNeedsEnoughProgress) {
  TrafficLightRules rules;
  // E = 0.9, R = 49 < 50 -> RED (points behind 41 would be red anyway; make R close to P).
  LightInput in = Open(90, 49);
  in.milestones = {{1 * kDay, 40}};  // plan 40% after day 1, then linear to 100 at day 100
  auto l = rules.Evaluate(in);
  EXPECT_EQ(l.light, TrafficLight::kRed);
  // E = 0.8 with R = 74 and P about 96: 22 behind -> YELLOW.
  in = Open(80, 74);
  in.milestones = {{1 * kDay, 80}};
  l = rules.Evaluate(in);
  EXPECT_EQ(l.light, TrafficLight::kYellow);
  // E = 0.76, milestone plan keeps P low, R = 70 < 75 -> YELLOW for time.
  in = Open(76, 70);
  in.milestones = {{99 * kDay, 70}};  // P at day 76 ~ 54
  l = rules.Evaluate(in);
  EXPECT_EQ(l.light, TrafficLight::kYellow);
  EXPECT_EQ(l.reason, "76% of the time used, reported 70% (below 75%)");
  // E = 0.92, R = 45 but plan only ~ 44: RED for time.
  in = Open(92, 45);
  in.milestones = {{99 * kDay, 45}};
  l = rules.Evaluate(in);
  EXPECT_EQ(l.light, TrafficLight::kRed);
  EXPECT_EQ(l.reason, "92% of the time used, reported 45% (below 50%)");
}

TEST(TrafficLight, PlannedPercentFollowsMilestones) {
  std::vector<PlannedPoint> ms = {{20 * kDay, 50}, {50 * kDay, 60}};
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, ms, 0), 0);
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, ms, 10 * kDay), 25);
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, ms, 20 * kDay), 50);
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, ms, 35 * kDay), 55);
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, ms, 75 * kDay), 80);
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, ms, 100 * kDay), 100);
  EXPECT_EQ(TrafficLightRules::PlannedPercent(0, 100 * kDay, {}, 33 * kDay), 33);
  // A milestone due before the assignment existed sets the starting plan.
  EXPECT_EQ(TrafficLightRules::PlannedPercent(10 * kDay, 100 * kDay, {{5 * kDay, 40}}, 10 * kDay),
            40);
}

TEST(TrafficLight, MilestonesWithoutPercentSpreadEvenly) {
  std::vector<Milestone> ms(3);
  for (int i = 0; i < 3; ++i) ms[i].due_us = (i + 1) * 25 * kDay;
  auto points = TrafficLightRules::PointsOf(ms);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].percent, 25);
  EXPECT_EQ(points[1].percent, 50);
  EXPECT_EQ(points[2].percent, 75);
  ms[0].planned_percent = 10;
  ms[1].planned_percent = 20;
  ms[2].planned_percent = 90;
  points = TrafficLightRules::PointsOf(ms);
  EXPECT_EQ(points[2].percent, 90);
}

TEST(TrafficLight, ThresholdsAreConfigurable) {
  LightThresholds t;
  t.red_points_behind = 50;
  t.yellow_points_behind = 40;
  ASSERT_TRUE(t.Validate().ok());
  TrafficLightRules rules(t);
  EXPECT_EQ(rules.Evaluate(Open(60, 25)).light, TrafficLight::kGreen);  // 35 behind
  LightThresholds bad;
  bad.red_points_behind = 5;  // red looser than yellow
  EXPECT_FALSE(bad.Validate().ok());
}

}  // namespace
}  // namespace duban::tasks
