#include "traffic_light.h"

#include <algorithm>
#include <cmath>

#include <absl/strings/str_cat.h>

namespace duban::tasks {

absl::Status LightThresholds::Validate() const {
  auto points_ok = [](int p) { return p >= 0 && p <= 100; };
  auto share_ok = [](double s) { return s >= 0 && s <= 1; };
  if (!points_ok(red_points_behind) || !points_ok(yellow_points_behind) ||
      !points_ok(red_min_reported) || !points_ok(yellow_min_reported) ||
      !share_ok(red_elapsed_share) || !share_ok(yellow_elapsed_share)) {
    return absl::InvalidArgumentError("light thresholds out of range");
  }
  if (red_points_behind < yellow_points_behind || red_elapsed_share < yellow_elapsed_share) {
    return absl::InvalidArgumentError("red thresholds must be at least as strict as yellow");
  }
  return absl::OkStatus();
}

std::vector<PlannedPoint> TrafficLightRules::PointsOf(const std::vector<Milestone>& milestones) {
  std::vector<PlannedPoint> out;
  bool spread = std::all_of(milestones.begin(), milestones.end(),
                            [](const Milestone& m) { return m.planned_percent == 0; });
  const int n = static_cast<int>(milestones.size());
  for (int k = 0; k < n; ++k) {
    int percent = spread ? (k + 1) * 100 / (n + 1) : milestones[k].planned_percent;
    out.push_back({milestones[k].due_us, percent});
  }
  return out;
}

double TrafficLightRules::ElapsedShare(int64_t create_us, int64_t deadline_us, int64_t now_us) {
  if (now_us <= create_us) return 0;
  if (deadline_us <= create_us || now_us >= deadline_us) return 1;
  return static_cast<double>(now_us - create_us) / static_cast<double>(deadline_us - create_us);
}

int TrafficLightRules::PlannedPercent(int64_t create_us, int64_t deadline_us,
                                      const std::vector<PlannedPoint>& milestones, int64_t now_us) {
  if (now_us >= deadline_us) return 100;
  // The curve: (create, start) .. milestones strictly inside (create, deadline) .. (deadline,
  // 100), where start is the plan of milestones already due at creation.
  int start = 0;
  std::vector<PlannedPoint> points;
  for (const auto& m : milestones) {
    if (m.at_us <= create_us) {
      start = std::max(start, m.percent);
    } else if (m.at_us < deadline_us) {
      points.push_back(m);
    }
  }
  int64_t prev_t = create_us;
  double prev_p = start;
  if (now_us <= create_us) return static_cast<int>(std::lround(prev_p));
  points.push_back({deadline_us, 100});
  for (const auto& p : points) {
    double target = std::max(prev_p, static_cast<double>(p.percent));
    if (now_us <= p.at_us) {
      if (p.at_us <= prev_t) return static_cast<int>(std::lround(target));
      double f = static_cast<double>(now_us - prev_t) / static_cast<double>(p.at_us - prev_t);
      return static_cast<int>(std::lround(prev_p + f * (target - prev_p)));
    }
    prev_t = p.at_us;
    prev_p = target;
  }
  return 100;
}

TrafficLight TrafficLightRules::Color(const LightInput& in) const {
  switch (in.state) {
    case AssignmentState::kCanceled:
    case AssignmentState::kUnspecified:
      return TrafficLight::kUnspecified;
    case AssignmentState::kDone:
    case AssignmentState::kSubmitted:
      return TrafficLight::kGreen;
    default:
      break;
  }
  if (in.now_us > in.deadline_us) return TrafficLight::kRed;
  const int r = std::clamp(in.reported_percent, 0, 100);
  const double e = ElapsedShare(in.create_us, in.deadline_us, in.now_us);
  const int behind = PlannedPercent(in.create_us, in.deadline_us, in.milestones, in.now_us) - r;
  if (behind > t_.red_points_behind || (e >= t_.red_elapsed_share && r < t_.red_min_reported)) {
    return TrafficLight::kRed;
  }
  if (behind > t_.yellow_points_behind ||
      (e >= t_.yellow_elapsed_share && r < t_.yellow_min_reported)) {
    return TrafficLight::kYellow;
  }
  return TrafficLight::kGreen;
}

LightStatus TrafficLightRules::Evaluate(const LightInput& in) const {
  LightStatus out;
  out.evaluate_us = in.now_us;
  out.reported_percent = std::clamp(in.reported_percent, 0, 100);
  out.elapsed_share = ElapsedShare(in.create_us, in.deadline_us, in.now_us);
  out.planned_percent = PlannedPercent(in.create_us, in.deadline_us, in.milestones, in.now_us);
  switch (in.state) {
    case AssignmentState::kCanceled:
    case AssignmentState::kUnspecified:
      out.light = TrafficLight::kUnspecified;
      out.reason = "canceled";
      return out;
    case AssignmentState::kDone:
      out.light = TrafficLight::kGreen;
      out.reason = "done";
      return out;
    case AssignmentState::kSubmitted:
      out.light = TrafficLight::kGreen;
      out.reason = "submitted, awaiting approval";
      return out;
    default:
      break;
  }
  if (in.now_us > in.deadline_us) {
    out.light = TrafficLight::kRed;
    out.reason = in.overdue_working_days >= 1
                     ? absl::StrCat("overdue by ", in.overdue_working_days, " working day",
                                    in.overdue_working_days == 1 ? "" : "s")
                     : "overdue by less than 1 working day";
    return out;
  }
  const int p = out.planned_percent;
  const int r = out.reported_percent;
  const double e = out.elapsed_share;
  const int behind = p - r;
  const int elapsed_pct = static_cast<int>(std::lround(e * 100));
  auto behind_reason = [&] {
    return absl::StrCat("planned ", p, "%, reported ", r, "%: ", behind, " points behind");
  };
  auto late_reason = [&](int min_reported) {
    return absl::StrCat(elapsed_pct, "% of the time used, reported ", r, "% (below ", min_reported,
                        "%)");
  };
  if (behind > t_.red_points_behind) {
    out.light = TrafficLight::kRed;
    out.reason = behind_reason();
  } else if (e >= t_.red_elapsed_share && r < t_.red_min_reported) {
    out.light = TrafficLight::kRed;
    out.reason = late_reason(t_.red_min_reported);
  } else if (behind > t_.yellow_points_behind) {
    out.light = TrafficLight::kYellow;
    out.reason = behind_reason();
  } else if (e >= t_.yellow_elapsed_share && r < t_.yellow_min_reported) {
    out.light = TrafficLight::kYellow;
    out.reason = late_reason(t_.yellow_min_reported);
  } else {
    out.light = TrafficLight::kGreen;
    out.reason = absl::StrCat("on track: planned ", p, "%, reported ", r, "%");
  }
  return out;
}

}  // namespace duban::tasks
