#pragma once
// TaskDirectory: the domain rules of duban-tasks — plans, the task tree, assignments and their
// state machine, progress, extensions, the audit trail and the reminders outbox. No gRPC and
// no SQL here: storage goes through TaskStore, other services through UnitClient and
// PolicyClient, working days through the shared calendar.
//
// Every change that affects reminders appends an outbox row in the same store transaction;
// OutboxDispatcher delivers them. After such a commit the outbox listener is called so the
// dispatcher wakes up at once.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "assignment_state_machine.h"
#include "deadline_resolver.h"
#include "duban/calendar/working_calendar.h"
#include "task_store.h"
#include "traffic_light.h"
#include "unit_client.h"

namespace duban::tasks {

inline constexpr int kMaxBatch = 1000;
inline constexpr int kMaxTaskDepth = 8;  // levels: depth 0..7
inline constexpr int kMaxCooperatingUnits = 100;
inline constexpr int kMaxMilestones = 50;

struct PlanView {
  Plan plan;
  PlanStats stats;
};

struct ListPlansQuery {
  int32_t page_size = 0;
  std::string page_token;
  PlanFilter filter;
};

struct PlanPage {
  std::vector<PlanView> plans;
  std::string next_page_token;
};

struct ArchivePlanInput {
  std::string id;
  bool cancel_open_assignments = false;
  Actor actor;
  std::string note;
  std::string etag;
};

struct CancelTaskInput {
  std::string id;
  Actor actor;
  std::string reason;
  std::string etag;
  std::string request_id;
};

struct ListTasksQuery {
  int32_t page_size = 0;
  std::string page_token;
  std::string plan_id;
  std::string parent_task_id;
  std::string descendants_of;
  bool top_level_only = false;
  std::string unit_id;
  AssignmentRole role = AssignmentRole::kUnspecified;
  std::string unit_subtree_of;
  std::vector<TaskState> states;
  std::string tag;
  std::optional<int64_t> due_after_us;
  std::optional<int64_t> due_before_us;
};

struct TaskPage {
  std::vector<Task> tasks;
  std::string next_page_token;
};

// An assignment as the API shows it: with its light and last report, evaluated at a time.
struct AssignmentView {
  Assignment assignment;
  LightStatus light;
  bool overdue = false;
  std::optional<ProgressReport> last_report;
  // The task's policy, else the plan's default (empty: the reminders service's default).
  std::string effective_policy_id;
};

struct ListAssignmentsQuery {
  int32_t page_size = 0;
  std::string page_token;
  std::string plan_id;
  std::string task_id;
  std::string tasks_under;
  std::string unit_id;
  std::string unit_subtree_of;
  AssignmentRole role = AssignmentRole::kUnspecified;
  std::vector<AssignmentState> states;
  bool open_only = false;
  std::vector<TrafficLight> lights;
  bool overdue_only = false;
  std::optional<int64_t> due_after_us;
  std::optional<int64_t> due_before_us;
};

struct AssignmentPage {
  std::vector<AssignmentView> assignments;
  std::string next_page_token;
  int64_t evaluate_us = 0;
};

struct BatchAssignments {
  std::vector<AssignmentView> assignments;
  std::vector<std::string> missing_ids;
  std::vector<Task> tasks;
  std::vector<Plan> plans;
};

// Acknowledge, Start, Submit, Approve (note optional), Return and Cancel (note = reason,
// required).
struct TransitionInput {
  std::string assignment_id;
  Actor actor;
  std::string note;
  std::string etag;
  std::string request_id;
};

struct ReportInput {
  std::string assignment_id;
  int percent = 0;
  std::string text;
  Actor actor;
  std::string etag;
  std::string request_id;
};

struct ReportResult {
  ProgressReport report;
  AssignmentView assignment;
};

struct ListAuditQuery {
  int32_t page_size = 0;
  std::string page_token;
  AuditFilter filter;
};

struct AuditPage {
  std::vector<AuditEvent> events;
  std::string next_page_token;
};

struct ReportPage {
  std::vector<ProgressReport> reports;
  std::string next_page_token;
};

struct ExtensionInput {
  std::string assignment_id;
  DeadlineSpec requested_deadline;
  std::string reason;
  Actor actor;
  std::string request_id;
};

struct DecideExtensionInput {
  std::string id;
  Actor actor;
  std::string note;
  DeadlineSpec granted_deadline;  // approve only; empty = as requested
  std::string etag;
  std::string request_id;
};

struct ListExtensionsQuery {
  int32_t page_size = 0;
  std::string page_token;
  ExtensionFilter filter;
};

struct ExtensionPage {
  std::vector<ExtensionRequest> requests;
  std::string next_page_token;
};

struct ResolveResult {
  int64_t time_us = 0;
  bool provisional = false;
  std::string calendar_version;
};

inline constexpr int kMaxCascadeUnits = 50000;
inline constexpr size_t kMaxReportedUnits = 1000;
inline constexpr int64_t kMaxBudget = 100000;

struct CascadeInput {
  std::string task_id;
  std::string root_unit_id;
  std::vector<UnitKind> unit_kinds;
  std::string unit_tag;
  // The children's fields; empty / unspecified: the parent task's.
  std::string title;
  std::string description;
  DeadlineSpec deadline;
  std::vector<Milestone> milestones;
  Priority priority = Priority::kUnspecified;
  std::vector<std::string> tags;
  std::string reminder_policy_id;
  bool clamp_deadlines = false;
  bool force = false;
  bool validate_only = false;
  Actor actor;
  std::string note;
  std::string request_id;
};

struct UnitOverBudget {
  std::string unit_id;
  UnitKind unit_kind = UnitKind::kUnspecified;
  int64_t open_assignments = 0;
  int64_t max_open_assignments = 0;
};

struct ClampedDeadline {
  std::string unit_id;
  std::string milestone_title;  // empty for the task deadline
  int64_t requested_us = 0;
  int64_t applied_us = 0;
  std::string reason;
};

struct CascadeResult {
  bool applied = false;
  int64_t matched_units = 0;
  int64_t created_tasks = 0;
  int64_t skipped_existing = 0;
  std::vector<UnitOverBudget> over_budget;  // up to kMaxReportedUnits, by unit id
  int64_t over_budget_count = 0;
  std::vector<ClampedDeadline> clamped;  // up to kMaxReportedUnits, by unit id
  int64_t clamped_count = 0;
  bool deadline_provisional = false;
};

// A RESOURCE_EXHAUSTED cascade carries its units over budget in this payload: one line per
// unit, "<unit id>\t<open assignments>\t<budget>". The gRPC adapter turns it into a
// google.rpc.QuotaFailure.
inline constexpr char kOverBudgetPayload[] = "duban.tasks/units-over-budget";

struct BudgetPage {
  std::vector<AssignmentBudget> budgets;
  std::string next_page_token;
};

enum class BoardGrouping : int {
  kUnspecified = 0,
  kUnit = 1,
  kUnitKind = 2,
  kUnitTag = 3,
  kChildOfRoot = 4,
  kTopLevelTask = 5,
};
enum class BoardOrder : int { kUnspecified = 0, kRank = 1, kKey = 2 };

struct BoardQuery {
  std::string plan_id;
  std::string root_unit_id;
  std::string task_id;
  BoardGrouping group_by = BoardGrouping::kUnspecified;
  AssignmentRole role = AssignmentRole::kUnspecified;
  BoardOrder order_by = BoardOrder::kUnspecified;
  int32_t page_size = 0;
  std::string page_token;
};

struct BoardGroup {
  std::string key;
  std::string label;
  int64_t total = 0;
  StateCounts states;
  int64_t overdue = 0;
  int64_t done_on_time = 0;
  int64_t done_late = 0;
  int64_t due_so_far = 0;
  double completion_rate = 0;
  double on_time_rate = 0;
  int64_t green = 0;
  int64_t yellow = 0;
  int64_t red = 0;
  int rank = 0;  // 0: unranked
};

struct BoardPage {
  std::vector<BoardGroup> groups;
  std::string next_page_token;
  BoardGroup totals;
  int64_t group_count = 0;
  int64_t evaluate_us = 0;
};

enum class CoverageGap : int {
  kUnspecified = 0,
  kNotAcknowledged = 1,
  kNotReported = 2,
  kOverdue = 3,
};

struct CoverageQuery {
  std::string task_id;
  std::string unit_subtree_of;
  CoverageGap gap = CoverageGap::kUnspecified;
  std::optional<int64_t> reported_since_us;
  int32_t page_size = 0;
  std::string page_token;
};

struct CoverageEntry {
  std::string unit_id;
  std::string assignment_id;
  AssignmentState state = AssignmentState::kUnspecified;
  int64_t create_us = 0;
  std::optional<int64_t> last_report_us;
  int64_t deadline_us = 0;
  bool overdue = false;
};

struct CoveragePage {
  int64_t total = 0;
  StateCounts states;
  int64_t not_acknowledged = 0;
  int64_t not_reported = 0;
  int64_t overdue = 0;
  std::vector<CoverageEntry> units;
  std::string next_page_token;
  int64_t evaluate_us = 0;
};

struct BurdenQuery {
  std::string root_unit_id;
  std::string plan_id;
  std::vector<UnitKind> unit_kinds;
  int32_t page_size = 0;
  std::string page_token;
};

struct UnitBurden {
  std::string unit_id;
  UnitKind unit_kind = UnitKind::kUnspecified;
  int64_t open_assignments = 0;
  int64_t due_this_week = 0;
  int64_t overdue = 0;
  int64_t max_open_assignments = 0;
  bool over_budget = false;
};

struct BurdenPage {
  std::vector<UnitBurden> units;
  std::string next_page_token;
  int64_t evaluate_us = 0;
};

struct TaskDirectoryOptions {
  LightThresholds lights;
};

class TaskDirectory {
 public:
  using Clock = std::function<absl::Time()>;
  // `policies` may be null: reminder policy ids are then not checked (no reminders service).
  TaskDirectory(TaskStore& store, UnitClient& units, PolicyClient* policies,
                const calendar::WorkingCalendar& calendar, Clock clock = absl::Now,
                TaskDirectoryOptions options = {});

  // Called after every commit that appended outbox rows.
  void SetOutboxListener(std::function<void()> listener) { outbox_listener_ = std::move(listener); }

  // ---- Plans ----
  absl::StatusOr<PlanView> CreatePlan(Plan plan, const std::string& request_id, const Actor& actor);
  absl::StatusOr<PlanView> GetPlan(const std::string& id);
  absl::StatusOr<PlanPage> ListPlans(const ListPlansQuery& query);
  absl::StatusOr<PlanView> UpdatePlan(const Plan& patch, const std::vector<std::string>& mask,
                                      const std::string& etag, const Actor& actor);
  absl::StatusOr<PlanView> ArchivePlan(const ArchivePlanInput& input);

  // ---- Tasks ----
  absl::StatusOr<Task> CreateTask(Task task, const std::string& request_id, const Actor& actor);
  absl::StatusOr<Task> GetTask(const std::string& id);
  absl::StatusOr<TaskPage> ListTasks(const ListTasksQuery& query);
  absl::StatusOr<Task> UpdateTask(const Task& patch, const std::vector<std::string>& mask,
                                  const std::string& etag, const Actor& actor,
                                  const std::string& note);
  absl::StatusOr<Task> CancelTask(const CancelTaskInput& input);
  absl::StatusOr<ResolveResult> ResolveDeadline(const DeadlineSpec& spec,
                                                const std::string& unit_id);

  // ---- Assignments ----
  absl::StatusOr<AssignmentView> GetAssignment(const std::string& id);
  absl::StatusOr<BatchAssignments> BatchGetAssignments(const std::vector<std::string>& ids,
                                                       bool include_tasks, bool include_plans);
  absl::StatusOr<AssignmentPage> ListAssignments(const ListAssignmentsQuery& query);
  // Acknowledge, Start, Submit, Approve, Return, Cancel (not ReportProgress).
  absl::StatusOr<AssignmentView> Transition(AssignmentAction action, const TransitionInput& in);
  absl::StatusOr<ReportResult> ReportProgress(const ReportInput& input);
  absl::StatusOr<AuditPage> ListAuditEvents(const ListAuditQuery& query);
  absl::StatusOr<ReportPage> ListProgressReports(const std::string& assignment_id,
                                                 int32_t page_size, const std::string& token);

  // ---- Extension requests ----
  absl::StatusOr<ExtensionRequest> RequestExtension(const ExtensionInput& input);
  absl::StatusOr<ExtensionRequest> GetExtensionRequest(const std::string& id);
  absl::StatusOr<ExtensionPage> ListExtensionRequests(const ListExtensionsQuery& query);
  absl::StatusOr<ExtensionRequest> ApproveExtension(const DecideExtensionInput& input);
  absl::StatusOr<ExtensionRequest> RejectExtension(const DecideExtensionInput& input);

  // ---- Cascades and assignment budgets ----
  absl::StatusOr<CascadeResult> CascadeTask(const CascadeInput& input);
  absl::StatusOr<AssignmentBudget> SetAssignmentBudget(AssignmentBudget budget, const Actor& actor);
  absl::StatusOr<BudgetPage> ListAssignmentBudgets(int32_t page_size, const std::string& token);
  absl::Status DeleteAssignmentBudget(const AssignmentBudget& scope, const Actor& actor);

  // Re-resolves deadlines and milestones computed on provisional calendar data when the
  // calendar data version differs from the one last used (run at start-up). Changes are
  // audited (actor "system:calendar") and sent to the reminders service. Returns how many
  // tasks changed.
  absl::StatusOr<int64_t> RefreshProvisionalDeadlines();

  // ---- Battle map, coverage, burden ----
  absl::StatusOr<BoardPage> GetBoard(const BoardQuery& query);
  absl::StatusOr<CoveragePage> GetCoverage(const CoverageQuery& query);
  absl::StatusOr<BurdenPage> GetBurden(const BurdenQuery& query);

  const DeadlineResolver& resolver() const { return resolver_; }
  int64_t NowMicros() const;

 private:
  // Checks unit ids through UnitService: unknown or archived -> INVALID_ARGUMENT naming the
  // field. Returns the units found, by id.
  struct UnitRef {
    std::string field;
    std::string unit_id;
  };
  absl::StatusOr<absl::flat_hash_map<std::string, UnitInfo>> CheckUnits(
      const std::vector<UnitRef>& refs);
  absl::Status CheckPolicy(const std::string& field, const std::string& policy_id);
  // The ids of the active units of a subtree; NOT_FOUND naming `field` if the root is unknown.
  absl::StatusOr<std::vector<std::string>> SubtreeUnitIds(const std::string& root_id,
                                                          const std::string& field);
  // The unit filter of a list query: `unit_id`, the units under `subtree_of` (field
  // "unit_subtree_of"), or `unit_id` only if it is under `subtree_of`. Sets `has_units` when
  // either is given; `unit_ids` then empty matches nothing.
  absl::Status UnitScope(const std::string& unit_id, const std::string& subtree_of, bool& has_units,
                         std::vector<std::string>& unit_ids);
  // Views of assignments at `now_us`, loading their tasks, plans and last reports.
  absl::StatusOr<std::vector<AssignmentView>> BuildViews(TaskReader& tx,
                                                         std::vector<Assignment> assignments,
                                                         int64_t now_us);
  absl::Status FillSummaries(TaskReader& tx, std::vector<Task>& tasks);
  absl::StatusOr<ExtensionRequest> DecideExtension(const DecideExtensionInput& input, bool approve);
  // Runs a write transaction and notifies the outbox listener if it appended rows.
  absl::Status WriteAndNotify(const std::function<absl::Status(TaskWriter&, bool&)>& fn);

  TaskStore& store_;
  UnitClient& units_;
  PolicyClient* policies_;
  DeadlineResolver resolver_;
  Clock clock_;
  TrafficLightRules lights_;
  std::function<void()> outbox_listener_;
};

}  // namespace duban::tasks
