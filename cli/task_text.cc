#include "task_text.h"

#include <iostream>

#include "cli_context.h"
#include "output.h"

namespace duban::cli {

namespace tv1 = ::duban::tasks::v1;

namespace {

std::string WithoutPrefix(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

}  // namespace

std::string StateName(tv1::AssignmentState state) {
  return WithoutPrefix(tv1::AssignmentState_Name(state), "ASSIGNMENT_STATE_");
}

std::string TaskStateName(tv1::TaskState state) {
  return WithoutPrefix(tv1::TaskState_Name(state), "TASK_STATE_");
}

std::string RoleName(tv1::AssignmentRole role) {
  return WithoutPrefix(tv1::AssignmentRole_Name(role), "ASSIGNMENT_ROLE_");
}

std::string PriorityName(tv1::Priority priority) {
  return WithoutPrefix(tv1::Priority_Name(priority), "PRIORITY_");
}

std::string LightName(tv1::TrafficLight light) {
  switch (light) {
    case tv1::TRAFFIC_LIGHT_RED:
      return "red";
    case tv1::TRAFFIC_LIGHT_YELLOW:
      return "yellow";
    case tv1::TRAFFIC_LIGHT_GREEN:
      return "green";
    default:
      return "";
  }
}

std::string LightDot(tv1::TrafficLight light, bool color) {
  const std::string name = LightName(light);
  if (name.empty()) return "-";
  if (!color) return "● " + name;
  const Color c = light == tv1::TRAFFIC_LIGHT_RED      ? Color::kRed
                  : light == tv1::TRAFFIC_LIGHT_YELLOW ? Color::kYellow
                                                       : Color::kGreen;
  return Paint("●", c, true);
}

int CompletionPercent(const tv1::Assignment& a) {
  return a.state() == tv1::ASSIGNMENT_STATE_DONE ? 100 : a.last_report().percent();
}

void PrintAssignment(const tv1::Assignment& a, const Context& ctx) {
  const std::string& tz = ctx.options.time_zone;
  std::cout << "id:         " << a.id() << "\n"
            << "task:       " << a.task_id() << " (plan " << a.plan_id() << ")\n"
            << "unit:       " << a.unit_id() << " (" << RoleName(a.role()) << ")\n"
            << "state:      " << StateName(a.state()) << " since " << FormatTime(a.state_time(), tz)
            << "\n"
            << "deadline:   " << FormatTime(a.deadline_time(), tz);
  if (a.deadline_time().seconds() != a.baseline_deadline_time().seconds()) {
    std::cout << " (baseline " << FormatTime(a.baseline_deadline_time(), tz) << ")";
  }
  if (a.deadline_provisional()) std::cout << " [provisional calendar]";
  std::cout << (a.overdue() ? "  OVERDUE" : "") << "\n"
            << "light:      " << LightDot(a.light().light(), ctx.color()) << "  "
            << a.light().reason() << "\n"
            << "progress:   " << Bar(CompletionPercent(a));
  if (!a.last_report().text().empty()) std::cout << "  " << a.last_report().text();
  std::cout << "\n";
  if (a.return_count() > 0) {
    std::cout << "returned:   " << a.return_count() << "x, last: " << a.return_reason() << "\n";
  }
  if (!a.pending_extension_id().empty()) {
    std::cout << "extension:  " << a.pending_extension_id() << " pending\n";
  }
  std::cout << "etag:       " << a.etag() << "\n";
}

}  // namespace duban::cli
