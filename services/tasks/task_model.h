#pragma once
// Domain types of plans, tasks, assignments, progress, extensions and the audit trail. No
// protobuf, no SQL: the gRPC adapter and the store translate to and from these. Times are
// int64 microseconds since the Unix epoch.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace duban::tasks {

// Enum values equal the proto enum numbers (duban.tasks.v1), so the adapter converts with a
// cast.
enum class UnitKind : int {
  kUnspecified = 0,
  kProvince = 1,
  kCity = 2,
  kDistrict = 3,
  kTown = 4,
  kVillage = 5,
  kDepartment = 6,
  kEnterprise = 7,
  kPartyBranch = 8,
  kOther = 9,
};
inline constexpr int kMaxUnitKind = 9;

enum class AssignmentRole : int { kUnspecified = 0, kLead = 1, kCooperate = 2 };

enum class AssignmentState : int {
  kUnspecified = 0,
  kAssigned = 1,
  kAcknowledged = 2,
  kInProgress = 3,
  kSubmitted = 4,
  kDone = 5,
  kReturned = 6,
  kCanceled = 7,
};
inline constexpr int kMaxAssignmentState = 7;

// Any state but DONE and CANCELED.
inline bool IsOpen(AssignmentState s) {
  return s != AssignmentState::kDone && s != AssignmentState::kCanceled &&
         s != AssignmentState::kUnspecified;
}
// "ASSIGNED", "SUBMITTED", ...
const char* StateName(AssignmentState s);

enum class TaskState : int { kUnspecified = 0, kOpen = 1, kClosed = 2, kCanceled = 3 };
enum class Priority : int { kUnspecified = 0, kLow = 1, kNormal = 2, kHigh = 3, kUrgent = 4 };
enum class TrafficLight : int { kUnspecified = 0, kGreen = 1, kYellow = 2, kRed = 3 };

enum class AuditEventKind : int {
  kUnspecified = 0,
  kCreated = 1,
  kStateChanged = 2,
  kProgressReported = 3,
  kDeadlineChanged = 4,
  kExtensionRequested = 5,
  kExtensionApproved = 6,
  kExtensionRejected = 7,
  kExtensionWithdrawn = 8,
  kBudgetOverridden = 9,
  kTaskUpdated = 10,
};
inline constexpr int kMaxAuditEventKind = 10;

enum class ExtensionState : int {
  kUnspecified = 0,
  kPending = 1,
  kApproved = 2,
  kRejected = 3,
  kWithdrawn = 4,
};
inline constexpr int kMaxExtensionState = 4;

inline constexpr char kDefaultTimezone[] = "Asia/Shanghai";

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  bool operator==(const Date&) const = default;
  bool empty() const { return year == 0 && month == 0 && day == 0; }
};
// "2025-05-30"; ordering of the text equals date order for years 1000-9999.
std::string DateText(const Date& d);
std::optional<Date> ParseDateText(const std::string& text);

struct Actor {
  std::string id;
  std::string name;
  std::string unit_id;
};

// "N working days after a date". The resolved form fills every default, so it can be
// re-resolved later with the same meaning.
struct WorkingDaysSpec {
  int count = 0;
  std::optional<Date> from_date;
  std::optional<int> time_of_day_minutes;  // minutes after local midnight
  std::string timezone;                    // IANA zone; empty = the unit's
};

// A deadline as the caller gave it: an absolute instant or working days.
struct DeadlineSpec {
  std::optional<int64_t> absolute_us;
  std::optional<WorkingDaysSpec> working_days;
  bool empty() const { return !absolute_us && !working_days; }
};

struct Milestone {
  std::string id;  // "m1", "m2", ...
  std::string title;
  DeadlineSpec due;
  int64_t due_us = 0;
  int planned_percent = 0;  // 0 = spread evenly
  bool provisional = false;
};

struct Plan {
  std::string id;
  std::string title;
  std::string description;
  std::string owner_unit_id;
  Date start_date;
  Date end_date;
  int cascade_margin_working_days = 0;
  std::string default_reminder_policy_id;
  int64_t policy_version = 0;  // increases with every change of the default policy
  bool archived = false;
  int64_t revision = 0;
  int64_t create_us = 0;
  int64_t update_us = 0;
  int64_t archive_us = 0;
};

// Counts of assignments per state (index = AssignmentState value).
struct StateCounts {
  int64_t by_state[kMaxAssignmentState + 1] = {};
  int64_t& operator[](AssignmentState s) { return by_state[static_cast<int>(s)]; }
  int64_t operator[](AssignmentState s) const { return by_state[static_cast<int>(s)]; }
  int64_t total() const;
  int64_t open() const;
};

struct PlanStats {
  int64_t task_count = 0;
  StateCounts assignments;
};

struct AssignmentSummary {
  std::string assignment_id;
  std::string unit_id;
  AssignmentRole role = AssignmentRole::kUnspecified;
  AssignmentState state = AssignmentState::kUnspecified;
};

struct Task {
  std::string id;
  std::string plan_id;
  std::string parent_task_id;
  // Materialized path "/top/child/id/" for subtree queries.
  std::string path;
  int depth = 0;
  std::string title;
  std::string description;
  std::string lead_unit_id;
  std::vector<std::string> cooperating_unit_ids;
  DeadlineSpec deadline;
  int64_t deadline_us = 0;
  bool deadline_provisional = false;
  std::vector<Milestone> milestones;
  Priority priority = Priority::kNormal;
  std::vector<std::string> tags;  // sorted, unique
  std::string reminder_policy_id;
  TaskState state = TaskState::kOpen;
  bool canceled = false;  // through CancelTask
  bool cascaded = false;
  // For cascaded children: the unit it was cascaded to (one child per unit and parent).
  std::string cascade_unit_id;
  int64_t child_count = 0;
  int64_t revision = 0;
  int64_t create_us = 0;
  int64_t update_us = 0;
  // Filled on reads: the task's own assignments, LEAD first, then COOPERATE in order.
  std::vector<AssignmentSummary> assignments;
};

struct ProgressReport {
  std::string id;
  std::string assignment_id;
  int percent = 0;
  std::string text;
  Actor actor;
  int64_t create_us = 0;
};

struct Assignment {
  std::string id;
  std::string task_id;
  std::string plan_id;
  std::string unit_id;
  // Denormalized from UnitService at creation, for boards and local-time arithmetic.
  UnitKind unit_kind = UnitKind::kUnspecified;
  std::vector<std::string> unit_tags;
  std::string unit_timezone;
  AssignmentRole role = AssignmentRole::kUnspecified;
  int position = 0;  // 0 = lead, 1.. = cooperating order
  AssignmentState state = AssignmentState::kAssigned;
  int64_t state_us = 0;
  int64_t baseline_deadline_us = 0;
  // The latest approved extension's granted deadline, if any.
  std::optional<int64_t> extended_deadline_us;
  int64_t deadline_us = 0;  // working deadline = max(baseline, extended)
  bool deadline_provisional = false;
  int64_t create_us = 0;
  std::optional<int64_t> acknowledge_us;
  std::optional<int64_t> submit_us;
  std::optional<int64_t> done_us;
  int return_count = 0;
  std::string return_reason;
  std::string pending_extension_id;
  // The last progress report (empty id: none).
  std::string last_report_id;
  int last_percent = 0;
  std::optional<int64_t> last_report_us;
  std::string reminder_policy_id;  // the task's own (empty: the plan's default applies)
  // Denormalized from the task for boards: its path, and its milestones' planned points as
  // "<due_us>:<planned_percent>,..." (kept in step by every save).
  std::string task_path;
  std::string plan_points;
  int64_t version = 0;
  int64_t revision = 0;
  int64_t update_us = 0;

  bool done_on_time() const {
    return state == AssignmentState::kDone && submit_us && *submit_us <= baseline_deadline_us;
  }
  bool OverdueAt(int64_t now_us) const {
    return IsOpen(state) && state != AssignmentState::kSubmitted && deadline_us < now_us;
  }
};

struct AuditEvent {
  int64_t sequence = 0;
  AuditEventKind kind = AuditEventKind::kUnspecified;
  std::string plan_id;
  std::string task_id;
  std::string assignment_id;
  std::string unit_id;
  AssignmentState from_state = AssignmentState::kUnspecified;
  AssignmentState to_state = AssignmentState::kUnspecified;
  std::optional<int64_t> old_deadline_us;
  std::optional<int64_t> new_deadline_us;
  Actor actor;
  std::string note;
  std::string summary;
  int64_t time_us = 0;
};

struct ExtensionRequest {
  std::string id;
  std::string assignment_id;
  std::string task_id;
  std::string plan_id;
  std::string unit_id;
  ExtensionState state = ExtensionState::kPending;
  DeadlineSpec requested_deadline;
  int64_t requested_deadline_us = 0;
  int64_t previous_deadline_us = 0;
  std::optional<int64_t> granted_deadline_us;
  std::string reason;
  Actor requested_by;
  Actor decided_by;
  std::string decision_note;
  int64_t create_us = 0;
  std::optional<int64_t> decide_us;
  int64_t revision = 0;
};

// What the reminders service is told about an assignment (duban.reminders.v1 snapshot).
struct MilestoneSnapshot {
  std::string id;
  std::string title;
  int64_t due_us = 0;
};

struct AssignmentSnapshot {
  std::string assignment_id;
  int64_t version = 0;
  std::string plan_id;
  std::string task_id;
  std::string unit_id;
  AssignmentRole role = AssignmentRole::kUnspecified;
  AssignmentState state = AssignmentState::kUnspecified;
  std::string policy_id;
  int64_t create_us = 0;
  std::optional<int64_t> acknowledge_us;
  int64_t deadline_us = 0;
  std::vector<MilestoneSnapshot> milestones;
  std::optional<int64_t> last_report_us;
  int64_t change_us = 0;
  std::string task_path;  // Task::path, for roll-calls of a task and its descendants
};

// One change waiting in the outbox for the reminders service.
enum class OutboxKind : int {
  kScheduleAssignment = 1,  // ScheduleAssignment(snapshot)
  kCancelAssignment = 2,    // CancelAssignment(id, version, final state)
  kPlanDefaultPolicy = 3,   // SetPlanDefaultPolicy(plan, policy, plan_version)
};

struct OutboxMessage {
  int64_t sequence = 0;  // assigned by the store, increasing
  OutboxKind kind = OutboxKind::kScheduleAssignment;
  // Schedule / cancel: the snapshot (for cancel only id, version, state and change time count).
  AssignmentSnapshot snapshot;
  // Plan default policy.
  std::string plan_id;
  std::string policy_id;
  int64_t plan_version = 0;
  int64_t create_us = 0;
  int attempts = 0;
  std::string last_error;
};

// A maximum of open assignments: for one unit, one unit kind, or the default (neither).
struct AssignmentBudget {
  std::string unit_id;
  UnitKind unit_kind = UnitKind::kUnspecified;
  int64_t max_open_assignments = 0;
  int64_t update_us = 0;
};

// The order key of a budget's scope: the default ("0"), then kinds ("1:08"), then units
// ("2:<unit id>").
std::string BudgetKey(const AssignmentBudget& b);

std::string EtagOf(int64_t revision);

// Task path helpers.
std::string ChildTaskPath(const std::string& parent_path, const std::string& id);
// The id of the top-level task of a task path.
std::string TopTaskOf(const std::string& path);
// Assignment.plan_points of a milestone list.
std::string PlanPointsText(const std::vector<Milestone>& milestones);

}  // namespace duban::tasks
