#pragma once
// TrafficLightRules: the GREEN / YELLOW / RED light of an assignment, a pure function of its
// state, dates, milestones and last report (no I/O). Rules, in order (see LightStatus in
// tasks.proto):
//   CANCELED -> UNSPECIFIED; DONE, SUBMITTED -> GREEN; open past the working deadline -> RED;
//   else with P = planned percent to date (piecewise linear through the milestones, from 0 at
//   creation to 100 at the working deadline), R = last reported percent and E = share of the
//   time elapsed:
//     RED    if P - R > red_points_behind, or E >= red_elapsed_share and R < red_min_reported;
//     YELLOW if P - R > yellow_points_behind, or E >= yellow_elapsed_share and
//            R < yellow_min_reported;
//     GREEN  otherwise.
// Every light carries a reason stating the numbers it used.
#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/status.h>

#include "task_model.h"

namespace duban::tasks {

struct LightThresholds {
  int red_points_behind = 30;
  double red_elapsed_share = 0.9;
  int red_min_reported = 50;
  int yellow_points_behind = 10;
  double yellow_elapsed_share = 0.75;
  int yellow_min_reported = 75;

  // Red must be at least as strict as yellow; shares in [0, 1]; points in [0, 100].
  absl::Status Validate() const;
};

// A milestone's planned progress at its due time.
struct PlannedPoint {
  int64_t at_us = 0;
  int percent = 0;
};

struct LightInput {
  AssignmentState state = AssignmentState::kUnspecified;
  int64_t create_us = 0;
  int64_t deadline_us = 0;  // the working deadline
  std::vector<PlannedPoint> milestones;
  int reported_percent = 0;
  int64_t now_us = 0;
  // Whole working days between the deadline's and now's local dates, when overdue.
  int64_t overdue_working_days = 0;
};

struct LightStatus {
  TrafficLight light = TrafficLight::kUnspecified;
  std::string reason;
  int planned_percent = 0;
  int reported_percent = 0;
  double elapsed_share = 0;
  int64_t evaluate_us = 0;
};

class TrafficLightRules {
 public:
  explicit TrafficLightRules(LightThresholds thresholds = {}) : t_(thresholds) {}

  LightStatus Evaluate(const LightInput& in) const;
  // The light alone, without the reason text: what boards count over many assignments.
  // Always equal to Evaluate(in).light (overdue_working_days is not needed).
  TrafficLight Color(const LightInput& in) const;

  // The milestones' planned percents: as given, or spread evenly (k * 100 / (n + 1)) when
  // every planned_percent is 0.
  static std::vector<PlannedPoint> PointsOf(const std::vector<Milestone>& milestones);
  // P at `now_us`, rounded to the nearest whole percent, 0-100.
  static int PlannedPercent(int64_t create_us, int64_t deadline_us,
                            const std::vector<PlannedPoint>& milestones, int64_t now_us);
  // E at `now_us`, 0-1.
  static double ElapsedShare(int64_t create_us, int64_t deadline_us, int64_t now_us);

 private:
  LightThresholds t_;
};

}  // namespace duban::tasks
