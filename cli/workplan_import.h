#pragma once
// Reading what people type about tasks: deadlines, milestones, priorities, unit lists, and the
// work-plan table (工作方案 表) that `tasks import` turns into CreateTask calls. Everything here
// is local and pure (no RPCs), so a whole file is checked before anything is sent.
#include <string>
#include <string_view>
#include <vector>

#include <absl/status/statusor.h>

#include "duban/tasks/v1/tasks.pb.h"

namespace duban::cli {

namespace tv1 = ::duban::tasks::v1;

// Splits on `sep`, trimming spaces and dropping empty items ("a; b;" → {"a","b"}).
std::vector<std::string> SplitList(std::string_view text, char sep);

// "2026-12-31" → Date.
absl::StatusOr<tv1::Date> ParseDate(std::string_view text);

// An absolute deadline from ParseTime's formats (a bare date means 18:00 that day in `tz`).
absl::StatusOr<tv1::Deadline> ParseAbsoluteDeadline(std::string_view text, const std::string& tz);
// "N working days after `from`" (from empty: the server's today in the lead unit's zone).
absl::StatusOr<tv1::Deadline> WorkingDaysDeadline(int count, std::string_view from);

// "title@TIME" (TIME as ParseAbsoluteDeadline), optionally "title@TIME@PERCENT" for the
// planned percent. The last '@' separates the time so titles may contain '@'.
absl::StatusOr<tv1::Milestone> ParseMilestone(std::string_view text, const std::string& tz);

// "low", "normal", "high", "urgent" (any case, or the full enum name).
absl::StatusOr<tv1::Priority> ParsePriority(std::string_view text);

// Accepts "party_branch", "PARTY_BRANCH" or "UNIT_KIND_PARTY_BRANCH".
absl::StatusOr<tv1::UnitKind> ParseTaskUnitKind(std::string_view text);
absl::StatusOr<tv1::AssignmentState> ParseAssignmentState(std::string_view text);
absl::StatusOr<tv1::TrafficLight> ParseLight(std::string_view text);

// One row of a work-plan table: the task to create (plan and parent ids left empty) and where
// it came from.
struct WorkPlanRow {
  int line = 0;
  std::string key;
  std::string parent_key;  // an earlier row's key, or empty for a key task (重点任务)
  tv1::Task task;
};

// Reads a work-plan table: CSV with the header
//   key,parent_key,title,lead_unit,cooperating_units,deadline,working_days,milestones,priority,tags
// or YAML (.yaml/.yml: a list of maps with the same keys). Checks every row and throws
// UsageError listing every problem as "FILE:LINE: ..." (nothing is sent then). "-" reads CSV
// from stdin.
std::vector<WorkPlanRow> ReadWorkPlan(const std::string& path, const std::string& tz);
// The same from text already read (`name` is used in messages and picks the format).
std::vector<WorkPlanRow> ParseWorkPlan(const std::string& name, const std::string& text,
                                       const std::string& tz);

// The CreateTask request_id of a row: derived from plan and key only, so re-running an import
// creates nothing twice (the server answers a repeated request_id with the stored task).
std::string ImportRequestId(std::string_view plan_id, std::string_view key);

}  // namespace duban::cli
