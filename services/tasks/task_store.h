#pragma once
// The storage interface of duban-tasks. Domain rules live in TaskDirectory; a store only reads
// and writes rows. Every Write runs in one transaction: when the callback fails nothing of it
// is kept, outbox rows included. Keep implementations plain SQL so a PostgreSQL backend is an
// addition.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

#include "task_model.h"

namespace duban::tasks {

struct PlanFilter {
  std::string owner_unit_id;
  std::optional<Date> active_on;
  bool include_archived = false;
};

// Position after the last row of a page ordered by (key, id).
struct TextCursor {
  std::string key;
  std::string id;
};
struct TimeCursor {
  int64_t us = 0;
  std::string id;
};
struct SeqCursor {
  int64_t us = 0;
  int64_t seq = 0;
};

struct TaskFilter {
  std::string plan_id;
  std::string parent_task_id;
  std::string descendants_path;  // strictly below this task path
  bool top_level_only = false;
  // With has_units: tasks with an assignment for any of unit_ids (as `role` if set).
  bool has_units = false;
  std::vector<std::string> unit_ids;
  AssignmentRole role = AssignmentRole::kUnspecified;
  std::vector<TaskState> states;
  std::string tag;
  std::optional<int64_t> due_after_us;
  std::optional<int64_t> due_before_us;
};

struct AssignmentFilter {
  std::string plan_id;
  std::string task_id;
  std::string tasks_under_path;  // tasks strictly below this path
  bool has_units = false;
  std::vector<std::string> unit_ids;
  AssignmentRole role = AssignmentRole::kUnspecified;
  std::vector<AssignmentState> states;  // any of; empty = all
  bool overdue_only = false;            // open, not SUBMITTED, deadline < now_us
  int64_t now_us = 0;
  std::optional<int64_t> due_after_us;
  std::optional<int64_t> due_before_us;
};

struct AuditFilter {
  std::string assignment_id;
  std::string task_id;
  std::string plan_id;
  std::vector<AuditEventKind> kinds;
  std::optional<int64_t> since_us;
  std::optional<int64_t> until_us;
};

struct ExtensionFilter {
  std::string plan_id;
  std::string task_id;
  std::string assignment_id;
  std::string unit_id;
  std::vector<ExtensionState> states;
};

// One assignment as a board sees it. The views are valid only during the scan callback.
struct BoardRow {
  absl::string_view unit_id;
  UnitKind unit_kind = UnitKind::kUnspecified;
  absl::string_view task_path;
  AssignmentRole role = AssignmentRole::kUnspecified;
  AssignmentState state = AssignmentState::kUnspecified;
  int64_t create_us = 0;
  int64_t deadline_us = 0;
  int64_t baseline_us = 0;
  std::optional<int64_t> submit_us;
  int last_percent = 0;
  absl::string_view plan_points;
  absl::string_view unit_timezone;
  absl::string_view unit_tags;  // joined by U+001F
};

// The BoardRow fields a scan fills besides the ones every board needs (unit_id, role, state,
// the times, last_percent and plan_points); the others stay empty. Fewer columns, less work
// per row for SQLite on a 324,000-row scan.
struct BoardColumns {
  bool unit_kind = true;
  bool task_path = true;
  bool unit_timezone = true;
  bool unit_tags = true;
};

// An open assignment as burden sees it. Views valid only during the scan callback.
struct OpenRow {
  absl::string_view unit_id;
  AssignmentState state = AssignmentState::kUnspecified;
  int64_t deadline_us = 0;
  absl::string_view unit_timezone;
};

// A remembered idempotent request: the method, a fingerprint of its content and the resource
// it produced.
struct RequestRecord {
  std::string request_id;
  std::string method;
  std::string fingerprint;
  std::string resource_id;
};

class TaskReader {
 public:
  virtual ~TaskReader() = default;

  virtual absl::StatusOr<std::optional<RequestRecord>> FindRequest(const std::string& rid) = 0;

  virtual absl::StatusOr<std::optional<Plan>> FindPlan(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<Plan>> FindPlans(const std::vector<std::string>& ids) = 0;
  // Ordered by (start_date, id), after the cursor, at most `limit`.
  virtual absl::StatusOr<std::vector<Plan>> ListPlans(const PlanFilter& filter,
                                                      const std::optional<TextCursor>& after,
                                                      int limit) = 0;
  virtual absl::StatusOr<PlanStats> GetPlanStats(const std::string& plan_id) = 0;

  // Tasks come with milestones but without assignment summaries.
  virtual absl::StatusOr<std::optional<Task>> FindTask(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<Task>> FindTasks(const std::vector<std::string>& ids) = 0;
  // Ordered by (deadline_us, id).
  virtual absl::StatusOr<std::vector<Task>> ListTasks(const TaskFilter& filter,
                                                      const std::optional<TimeCursor>& after,
                                                      int limit) = 0;
  // Every task strictly below `path`.
  virtual absl::StatusOr<std::vector<Task>> TasksUnder(const std::string& path) = 0;
  // The latest deadline among the task's direct children that are OPEN (nullopt if none).
  virtual absl::StatusOr<std::optional<int64_t>> LatestOpenChildDeadline(
      const std::string& task_id) = 0;
  // Summaries of the tasks' own assignments, ordered by (task, position).
  virtual absl::StatusOr<std::vector<std::pair<std::string, AssignmentSummary>>>
  AssignmentSummaries(const std::vector<std::string>& task_ids) = 0;

  virtual absl::StatusOr<std::optional<Assignment>> FindAssignment(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<Assignment>> FindAssignments(
      const std::vector<std::string>& ids) = 0;
  // A task's own assignments ordered by position (canceled included).
  virtual absl::StatusOr<std::vector<Assignment>> AssignmentsOfTask(const std::string& task_id) = 0;
  // Open assignments of a plan.
  virtual absl::StatusOr<std::vector<Assignment>> OpenAssignmentsOfPlan(
      const std::string& plan_id) = 0;
  // Ordered by (deadline_us, id), after the cursor, at most `limit`.
  virtual absl::StatusOr<std::vector<Assignment>> ListAssignments(
      const AssignmentFilter& filter, const std::optional<TimeCursor>& after, int limit) = 0;
  virtual absl::StatusOr<StateCounts> TaskStateCounts(const std::string& task_id) = 0;

  virtual absl::StatusOr<std::optional<ProgressReport>> FindProgressReport(
      const std::string& id) = 0;
  // Newest first: ordered by (create_us, id) descending, before the cursor.
  virtual absl::StatusOr<std::vector<ProgressReport>> ListProgressReports(
      const std::string& assignment_id, const std::optional<TimeCursor>& before, int limit) = 0;

  // Ordered by (time_us, sequence).
  virtual absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents(
      const AuditFilter& filter, const std::optional<SeqCursor>& after, int limit) = 0;

  virtual absl::StatusOr<std::optional<ExtensionRequest>> FindExtension(const std::string& id) = 0;
  // Newest first: (create_us, id) descending, before the cursor.
  virtual absl::StatusOr<std::vector<ExtensionRequest>> ListExtensions(
      const ExtensionFilter& filter, const std::optional<TimeCursor>& before, int limit) = 0;

  virtual absl::StatusOr<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  // Tasks whose deadline or a milestone was resolved on provisional calendar data.
  virtual absl::StatusOr<std::vector<Task>> ProvisionalTasks() = 0;

  // Every assignment of a plan (only those of the task at `task_path` and its descendants when
  // set), from an index that covers the board.
  virtual absl::Status ScanBoard(const std::string& plan_id, const std::string& task_path,
                                 const BoardColumns& columns,
                                 const std::function<void(const BoardRow&)>& fn) = 0;
  // The LEAD assignments of a task's direct children (one per unit for a cascade).
  virtual absl::StatusOr<std::vector<Assignment>> ChildLeadAssignments(
      const std::string& task_id) = 0;
  // Open assignments of the given units (of `plan_id` only, when set).
  virtual absl::Status ScanOpenAssignments(const std::vector<std::string>& unit_ids,
                                           const std::string& plan_id,
                                           const std::function<void(const OpenRow&)>& fn) = 0;

  // Units that already have a child task cascaded from `parent_task_id`.
  virtual absl::StatusOr<std::vector<std::string>> CascadedUnits(
      const std::string& parent_task_id) = 0;
  // Open assignments per unit, for the units among `unit_ids` that have any.
  virtual absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> OpenAssignmentCounts(
      const std::vector<std::string>& unit_ids) = 0;

  // Budgets ordered: the default, then per kind, then per unit id; after `after_key`.
  virtual absl::StatusOr<std::vector<AssignmentBudget>> ListBudgets(const std::string& after_key,
                                                                    int limit) = 0;

  // The oldest `limit` outbox rows, by sequence.
  virtual absl::StatusOr<std::vector<OutboxMessage>> ReadOutbox(int limit) = 0;
  virtual absl::StatusOr<int64_t> CountOutbox() = 0;
  virtual absl::StatusOr<int64_t> CountDeadOutbox() = 0;
};

class TaskWriter : public TaskReader {
 public:
  virtual absl::Status InsertRequest(const RequestRecord& record, int64_t now_us) = 0;

  virtual absl::Status InsertPlan(const Plan& plan) = 0;
  virtual absl::Status UpdatePlan(const Plan& plan) = 0;

  virtual absl::Status InsertTask(const Task& task) = 0;
  // Replaces every mutable column of task.id (not plan, parent, path, depth).
  virtual absl::Status UpdateTask(const Task& task) = 0;
  virtual absl::Status AddChildCount(const std::string& task_id, int64_t delta) = 0;

  virtual absl::Status InsertAssignment(const Assignment& a) = 0;
  virtual absl::Status UpdateAssignment(const Assignment& a) = 0;

  virtual absl::Status InsertProgressReport(const ProgressReport& r) = 0;
  // Returns the sequence assigned.
  virtual absl::StatusOr<int64_t> InsertAuditEvent(const AuditEvent& e) = 0;

  virtual absl::Status InsertExtension(const ExtensionRequest& e) = 0;
  virtual absl::Status UpdateExtension(const ExtensionRequest& e) = 0;

  virtual absl::Status SetMeta(const std::string& key, const std::string& value) = 0;

  virtual absl::Status UpsertBudget(const AssignmentBudget& b) = 0;
  // False if no budget was set for the scope.
  virtual absl::StatusOr<bool> DeleteBudget(const AssignmentBudget& scope) = 0;

  virtual absl::Status AppendOutbox(const OutboxMessage& m) = 0;
  virtual absl::Status DeleteOutbox(const std::vector<int64_t>& sequences) = 0;
  virtual absl::Status RecordOutboxAttempt(int64_t sequence, const std::string& error) = 0;
  // Moves a row the reminders service rejects for good to the dead table (kept for
  // inspection, never silently dropped).
  virtual absl::Status BuryOutbox(int64_t sequence, const std::string& error, int64_t now_us) = 0;
};

class TaskStore {
 public:
  virtual ~TaskStore() = default;
  virtual absl::Status Read(const std::function<absl::Status(TaskReader&)>& fn) = 0;
  virtual absl::Status Write(const std::function<absl::Status(TaskWriter&)>& fn) = 0;
};

}  // namespace duban::tasks
