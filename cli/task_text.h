#pragma once
// How tasks, assignments and lights read in the terminal: short state names, light dots and
// the paging loop every tasks/assignments listing shares.
#include <string>

#include "duban/tasks/v1/tasks.pb.h"

namespace duban::cli {

class Context;

// "IN_PROGRESS" for ASSIGNMENT_STATE_IN_PROGRESS (the enum name without its prefix).
std::string StateName(::duban::tasks::v1::AssignmentState state);
std::string TaskStateName(::duban::tasks::v1::TaskState state);
std::string RoleName(::duban::tasks::v1::AssignmentRole role);
std::string PriorityName(::duban::tasks::v1::Priority priority);
// "red", "yellow", "green" or "" (unspecified: canceled).
std::string LightName(::duban::tasks::v1::TrafficLight light);
// "●" painted in the light's colour (or "-" for none), with the name when colour is off so
// the light still shows in a log file.
std::string LightDot(::duban::tasks::v1::TrafficLight light, bool color);

// The completion shown in bars: the last reported percent, 100 once DONE.
int CompletionPercent(const ::duban::tasks::v1::Assignment& a);

// Prints an assignment in the "key: value" form of `assignments get` and transitions.
void PrintAssignment(const ::duban::tasks::v1::Assignment& a, const Context& ctx);

}  // namespace duban::cli
