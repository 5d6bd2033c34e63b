#pragma once
// ReminderLedger: the domain logic of the reminder ledger — applying the tasks service's
// assignment changes (plan, re-plan in place, cancel), the worker's delivery outcomes, dead
// letters, and keeping the Redis schedule in step with the ledger (Reconcile). No gRPC and no
// SQL: rows go through ReminderStore, the schedule through queue::JobQueue.
//
// The ledger decides: every change commits to the store first (one transaction per call), then
// the affected jobs are upserted into / removed from Redis. If Redis fails the call still
// succeeds and the ledger is marked out of step; a background loop reconciles until it is not.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "duban/calendar/working_calendar.h"
#include "duban/queue/job_queue.h"
#include "reminder_model.h"
#include "reminder_planner.h"
#include "reminder_store.h"
#include "unit_client.h"

namespace duban::reminders {

inline constexpr char kDefaultPolicyId[] = "default";

enum class ApplyOutcome : int { kApplied = 1, kDuplicate = 2, kStale = 3 };

// One change from the tasks service's outbox.
struct AssignmentChange {
  enum class Type { kSchedule, kCancel };
  Type type = Type::kSchedule;
  // kSchedule: the whole snapshot. kCancel: id, version, state (DONE or CANCELED), change_us.
  AssignmentMirror assignment;
  // Whether the required timestamps were present in the request.
  bool has_deadline = false;
  bool has_change_time = false;
  // Field path prefix of the change in the request, for violations: "assignment." for
  // ScheduleAssignment, "" for CancelAssignment, "changes[3].schedule.assignment." ...
  std::string field_prefix;
};

struct ApplyResult {
  std::string assignment_id;
  int64_t version = 0;
  ApplyOutcome outcome = ApplyOutcome::kApplied;
  int64_t current_version = 0;
  int added = 0;
  int updated = 0;
  int canceled = 0;
  int unchanged = 0;
  std::string policy_id;
  bool policy_fallback = false;
};

struct ListRemindersQuery {
  int32_t page_size = 0;
  std::string page_token;
  ReminderFilter filter;
};

struct ReminderPage {
  std::vector<ReminderRow> reminders;
  std::string next_page_token;
};

struct ListDeadQuery {
  int32_t page_size = 0;
  std::string page_token;
  DeadFilter filter;
};

struct SendCheck {
  std::string id;
  int64_t version = 0;
  std::optional<ReminderRow> row;
  bool sendable = false;
  std::string reason;
};

struct DeliveryReport {
  std::string reminder_id;
  int64_t version = 0;
  OutcomeKind outcome = OutcomeKind::kUnspecified;
  int attempt = 0;
  std::string delivery_id;
  std::string error;
  int channel = 0;
  std::optional<int64_t> sent_us;
  std::optional<int64_t> next_attempt_us;
  SuppressionReason suppression = SuppressionReason::kNone;
  std::vector<Recipient> recipients;
  std::string worker_id;
};

enum class RecordResult : int { kRecorded = 1, kDuplicate = 2, kStale = 3, kNotFound = 4 };

struct RetryDeadRequest {
  std::vector<std::string> reminder_ids;  // exactly one of ids and filter
  std::optional<DeadFilter> filter;
  std::string actor;
  std::string request_id;
};

struct RetryDeadResult {
  int64_t retried = 0;
  std::vector<std::string> skipped_ids;  // up to 1000
  int64_t skipped_count = 0;
};

enum class DriftKind : int { kMissing = 1, kStale = 2, kOrphaned = 3 };

struct Drift {
  DriftKind kind;
  std::string reminder_id;
  std::string detail;
};

struct ReconcileReport {
  int64_t ledger_pending = 0;
  int64_t redis_jobs = 0;
  int64_t missing = 0;
  int64_t stale = 0;
  int64_t orphaned = 0;
  std::vector<Drift> samples;  // up to 100
  bool applied = false;
  absl::Time start_time;
  absl::Duration duration;
};

struct LedgerQueueStats {
  queue::QueueStats redis;
  int64_t due_backlog = 0;  // jobs in the due set already due
  std::optional<int64_t> oldest_backlog_due_ms;
  std::vector<StateCount> ledger;
  std::vector<int64_t> lateness_us;  // ascending, SENT outcomes recorded in the window
  absl::Time evaluate_time;
};

struct PolicyPage {
  std::vector<StoredPolicy> policies;
  std::string next_page_token;
};

struct PreviewRequest {
  std::string policy_id;               // exactly one of policy_id and policy
  std::optional<StoredPolicy> policy;  // inline, validated as on create (id, name optional)
  AssignmentMirror assignment;         // unit_id, state and deadline required
  bool has_deadline = false;
  std::optional<absl::Time> now;
};

struct PreviewResult {
  std::vector<ReminderRow> reminders;  // ids and versions empty
  std::string timezone;
  bool provisional = false;
};

struct BurdenUsage {
  std::string unit_id;
  int max_messages_per_working_day = 0;  // 0 = none
  int64_t counted = 0;
  int64_t merged = 0;
};

// The etag of a policy: its revision in decimal.
std::string PolicyEtag(const StoredPolicy& p);
// The etag of a roll-call: its revision in decimal.
std::string RollCallEtag(const RollCall& rc);

struct RollCallPage {
  std::vector<RollCall> roll_calls;
  std::string next_page_token;
};

// A round with the counts derived from its units and the assignment mirror.
struct RoundView {
  RollCallRound round;
  int64_t units_called = 0;
  int64_t units_reported = 0;
  int64_t units_chased = 0;
  int64_t chases_sent = 0;
};

struct RoundPage {
  std::vector<RoundView> rounds;
  std::string next_page_token;
};

struct RoundUnitView {
  RoundUnit unit;
  int assignments_reported = 0;
  bool reported = false;
};

struct RoundUnitPage {
  std::vector<RoundUnitView> units;
  std::string next_page_token;
};

// What one tick of the roll-call ticker did.
struct RollCallTickReport {
  int rounds_started = 0;
  int chase_waves = 0;
  int chases_sent = 0;
};

struct LedgerOptions {
  // How often the background loop retries a Redis re-sync after a failed upsert.
  absl::Duration resync_interval = absl::Seconds(2);
  // Where a unit's time zone is unknown (the unit service does not know the unit).
  std::string fallback_timezone = "Asia/Shanghai";
  // ListReminders by plan or task only examines at most this many ledger rows per call (in
  // planned-time order); a page may then be short, even empty, with a next_page_token.
  int list_scan_rows = 10000;
  // Reconcile reads this many pending rows per page and asks Redis about them in one round
  // trip; ZSCAN asks for as many per call. A few thousand: round trips, not bytes, cost on a
  // busy machine.
  int reconcile_page = 5000;
  // Pages whose Redis repairs may run at once, each on a connection of its own.
  int reconcile_repairs_in_flight = 2;
};

class ReminderLedger {
 public:
  using Clock = std::function<absl::Time()>;

  // `queue` and `units` must outlive the ledger.
  ReminderLedger(ReminderStore& store, const calendar::WorkingCalendar& calendar,
                 queue::JobQueue& queue, UnitClient& units, LedgerOptions options = {},
                 Clock clock = absl::Now);
  ~ReminderLedger();
  ReminderLedger(const ReminderLedger&) = delete;
  ReminderLedger& operator=(const ReminderLedger&) = delete;

  // Creates the built-in "default" policy if missing (first start).
  absl::Status Initialize();
  // Starts / stops the background Redis re-sync loop.
  void StartBackground();
  void StopBackground();
  // True while Redis may be behind the ledger (an upsert failed and no reconcile fixed it yet).
  bool out_of_step() const { return out_of_step_.load(); }

  // ---- outbox calls ----
  absl::StatusOr<ApplyResult> ScheduleAssignment(AssignmentChange change);
  absl::StatusOr<ApplyResult> CancelAssignment(AssignmentChange change);
  // Up to 1000 changes in request order, in one transaction.
  absl::StatusOr<std::vector<ApplyResult>> ApplyChanges(std::vector<AssignmentChange> changes);
  // The assignment's pending rows by planned time.
  absl::StatusOr<std::vector<ReminderRow>> PendingOf(const std::string& assignment_id);

  // ---- policies (reminder_ledger_policies.cc) ----
  absl::StatusOr<StoredPolicy> CreatePolicy(StoredPolicy policy, const std::string& request_id);
  absl::StatusOr<StoredPolicy> GetPolicy(const std::string& id);
  absl::StatusOr<PolicyPage> ListPolicies(int32_t page_size, const std::string& page_token);
  // Re-plans the pending reminders of the open assignments using the policy.
  absl::StatusOr<StoredPolicy> UpdatePolicy(const StoredPolicy& policy,
                                            const std::vector<std::string>& mask,
                                            const std::string& etag);
  absl::Status DeletePolicy(const std::string& id, const std::string& etag);
  absl::StatusOr<PlanDefault> SetPlanDefaultPolicy(const PlanDefault& d);
  absl::StatusOr<PlanDefault> GetPlanDefaultPolicy(const std::string& plan_id);
  absl::StatusOr<PreviewResult> PreviewSchedule(const PreviewRequest& req);

  // ---- burden budget (reminder_ledger_budget.cc) ----
  absl::StatusOr<BurdenBudget> SetBurdenBudget(const BurdenBudget& b);
  absl::StatusOr<std::pair<std::vector<BurdenBudget>, std::string>> ListBurdenBudgets(
      int32_t page_size, const std::string& page_token);
  absl::Status DeleteBurdenBudget(const std::string& unit_id, int unit_kind);
  // Each unit's usage on its local `date` (default: today there), in request order.
  absl::StatusOr<std::vector<BurdenUsage>> GetBurdenUsage(const std::vector<std::string>& ids,
                                                          std::optional<absl::CivilDay> date);

  // ---- roll-calls (reminder_ledger_rollcalls.cc) ----
  absl::StatusOr<RollCall> CreateRollCall(RollCall rc, const std::string& request_id);
  absl::StatusOr<RollCall> GetRollCall(const std::string& id);
  absl::StatusOr<RollCallPage> ListRollCalls(const RollCallFilter& f, int32_t page_size,
                                             const std::string& page_token);
  absl::StatusOr<RollCall> UpdateRollCall(const RollCall& rc, const std::vector<std::string>& mask,
                                          const std::string& etag);
  absl::StatusOr<RollCall> PauseRollCall(const std::string& id, const std::string& etag);
  absl::StatusOr<RollCall> ResumeRollCall(const std::string& id, const std::string& etag);
  absl::Status DeleteRollCall(const std::string& id, const std::string& etag);
  absl::StatusOr<RoundView> StartRollCallRound(const std::string& id,
                                               const std::string& request_id);
  absl::StatusOr<RoundPage> ListRollCallRounds(const std::string& roll_call_id, int32_t page_size,
                                               const std::string& page_token);
  absl::StatusOr<RoundUnitPage> ListRollCallRoundUnits(const std::string& round_id,
                                                       bool not_reported_only, int32_t page_size,
                                                       const std::string& page_token);
  // Starts every due scheduled round and sends every due chase (the ticker's work). Safe to
  // run concurrently and after a restart: a round is started once per (roll-call, number) and
  // a chase once per (round, unit, chase number), each in the transaction that moves the
  // schedule on.
  absl::StatusOr<RollCallTickReport> RunDueRollCalls();

  // ---- ledger ----
  absl::StatusOr<std::pair<ReminderRow, std::vector<AttemptRecord>>> GetReminder(
      const std::string& id);
  absl::StatusOr<std::vector<SendCheck>> BatchGetReminders(
      const std::vector<std::pair<std::string, int64_t>>& refs);
  absl::StatusOr<ReminderPage> ListReminders(const ListRemindersQuery& q);
  absl::StatusOr<ReminderPage> ListDeadLetters(const ListDeadQuery& q);
  absl::StatusOr<RetryDeadResult> RetryDeadLetters(const RetryDeadRequest& req);
  absl::StatusOr<std::vector<RecordResult>> RecordDeliveries(
      const std::vector<DeliveryReport>& reports);

  // ---- operations ----
  absl::StatusOr<ReconcileReport> Reconcile(bool dry_run);
  absl::StatusOr<LedgerQueueStats> QueueStats(absl::Duration window);

 private:
  // Queue work collected while writing, pushed after the commit. The last op per job wins.
  struct QueueOps {
    std::vector<std::pair<std::string, std::optional<queue::ScheduleRequest>>> ops;
    void Schedule(const ReminderRow& row);
    void Cancel(const ReminderRow& row);
  };

  absl::Status ValidateChange(const AssignmentChange& c, FieldViolations& v) const;
  absl::StatusOr<absl::TimeZone> Zone(const std::string& name) const;
  // Policies and plan defaults read within one write transaction. Nothing else writes them
  // meanwhile (one writer), so a batch of a cascaded task's assignments reads each once instead
  // of once per assignment.
  struct PolicyCache {
    std::unordered_map<std::string, std::optional<StoredPolicy>> policies;
    std::unordered_map<std::string, std::optional<PlanDefault>> plan_defaults;
  };
  // Loads the policy an assignment uses (own, plan default, built-in) and whether the own id
  // was unknown.
  absl::StatusOr<std::pair<StoredPolicy, bool>> ResolvePolicy(ReminderReader& r,
                                                              const AssignmentMirror& a,
                                                              PolicyCache& cache);
  // A plan made before the write transaction, and the policy (id, revision) it was made with.
  struct PrePlan {
    std::string policy_id;
    int64_t policy_revision = 0;
    Plan plan;
  };
  // Assignment id → its plan for the version in the batch.
  using PrePlans = std::unordered_map<std::string, PrePlan>;
  // The mirror of a scheduled assignment as ApplyOne stores it.
  static AssignmentMirror MirrorOf(const AssignmentChange& c, const UnitInfo& unit);
  // Plans the batch's schedule changes in a read transaction: planning is pure CPU, and done
  // inside the write transaction it kept a concurrent batch's planning off the second core.
  PrePlans PlanAhead(const std::vector<AssignmentChange>& changes,
                     const std::unordered_map<std::string, UnitInfo>& units, absl::Time now);
  absl::StatusOr<ApplyResult> ApplyOne(ReminderWriter& w, const AssignmentChange& c,
                                       const UnitInfo& unit, absl::Time now, QueueOps& ops,
                                       PolicyCache& policies, const PrePlans& preplans);
  // Re-plans an assignment's rows from the mirror `a` (already stored). `preplanned`, when
  // given, is the plan of `a` under `policy` as of `now`, made earlier.
  absl::Status Replan(ReminderWriter& w, const AssignmentMirror& a, const StoredPolicy& policy,
                      absl::Time now, QueueOps& ops, ApplyResult& result,
                      const Plan* preplanned = nullptr);
  // Cancels every pending row of the assignment.
  absl::Status CancelPending(ReminderWriter& w, const std::string& assignment_id,
                             const std::string& detail, absl::Time now, QueueOps& ops,
                             int& canceled);
  // Adds `merged` to the unit's catch-up digest at `at` (creating it if needed).
  absl::StatusOr<std::string> MergeIntoDigest(ReminderWriter& w, const ReminderRow& merged,
                                              absl::Time at, absl::Time now, QueueOps& ops,
                                              const std::string& slot = "digest:catchup");
  // Re-plans every open assignment matching `q` whose resolved policy is `policy_id` (empty:
  // any).
  absl::Status ReplanOpen(ReminderWriter& w, const OpenAssignmentQuery& q,
                          const std::string& policy_id, absl::Time now, QueueOps& ops);
  // Over the unit's budget on the row's local day, turns a SCHEDULED row SUPPRESSED
  // (OVER_BUDGET) and merges it into the unit's digest at the next working day's opening.
  absl::Status ApplyBudget(ReminderWriter& w, const AssignmentMirror& a, absl::TimeZone tz,
                           const Policy& policy, absl::Time now, ReminderRow& row, QueueOps& ops);
  void Push(QueueOps& ops);
  // Roll-call rounds (reminder_ledger_rollcalls.cc). Opens round `number` of `rc` at `start`
  // for the units of `subtree`, closing the previous open round.
  absl::StatusOr<RollCallRound> OpenRound(ReminderWriter& w, RollCall& rc,
                                          const std::vector<UnitInfo>& subtree, absl::Time start,
                                          const std::string& request_id, absl::Time now,
                                          QueueOps& ops);
  // Cancels the pending ROLLCALL rows of a roll-call (of one round when round_id is set).
  absl::Status CancelRollCallPending(ReminderWriter& w, const std::string& roll_call_id,
                                     const std::string& round_id, const std::string& detail,
                                     absl::Time now, QueueOps& ops);
  // Closes a round and cancels its pending ROLLCALL rows.
  absl::Status CloseRound(ReminderWriter& w, RollCallRound& round, const std::string& detail,
                          absl::Time now, QueueOps& ops);
  // Sends the round's next chase wave to units with assignments still without a report.
  absl::StatusOr<int> ChaseRound(ReminderWriter& w, RollCallRound& round, absl::Time now,
                                 QueueOps& ops);
  absl::StatusOr<RoundView> ViewRound(ReminderReader& r, const RollCallRound& round);
  absl::StatusOr<ReconcileReport> ReconcileLocked(bool dry_run);
  void BackgroundLoop();

  ReminderStore& store_;
  const calendar::WorkingCalendar& calendar_;
  ReminderPlanner planner_;
  queue::JobQueue& queue_;
  UnitClient& units_;
  const LedgerOptions options_;
  Clock clock_;

  std::atomic<bool> out_of_step_{false};
  std::atomic<uint64_t> push_failures_{0};  // a reconcile clears out_of_step_ only if none new
  std::mutex reconcile_mu_;                 // one Reconcile at a time

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  std::thread bg_thread_;
};

}  // namespace duban::reminders
