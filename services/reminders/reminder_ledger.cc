#include "reminder_ledger.h"

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <unordered_map>

#include <absl/container/flat_hash_set.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/queue/delivery_id.h"
#include "duban/status.h"
#include "duban/validation.h"

namespace duban::reminders {
namespace {

constexpr int kMaxBatch = 1000;
constexpr size_t kMaxMilestones = 50;
constexpr int kMaxDrifts = 100;
constexpr size_t kScoreSlice = 500;  // ids per ZMSCORE in FetchJobs
// Due-set members per ZSCAN call in Reconcile's pass 2. Not more: Redis 7.0 spends 3-4 times
// as long per member answering COUNT 5000 as COUNT 1000 (measured, 1M members).
constexpr int kScanCount = 1000;
constexpr char kCatchUpSlot[] = "digest:catchup";

bool Plannable(AssignmentState s) {
  return s == AssignmentState::kAssigned || s == AssignmentState::kAcknowledged ||
         s == AssignmentState::kInProgress || s == AssignmentState::kReturned;
}

// What the planner sees of an assignment.
AssignmentSnapshot SnapshotOf(const AssignmentMirror& a) {
  AssignmentSnapshot snap;
  snap.assignment_id = a.id;
  snap.version = a.version;
  snap.state = a.state;
  snap.create_time = absl::FromUnixMicros(a.create_us);
  snap.deadline = absl::FromUnixMicros(a.deadline_us);
  snap.milestones = a.milestones;
  snap.change_time = absl::FromUnixMicros(a.change_us);
  return snap;
}

bool IsFinalState(AssignmentState s) {
  return s == AssignmentState::kDone || s == AssignmentState::kCanceled;
}

SuppressionReason FromPlanner(Suppression s) {
  return static_cast<SuppressionReason>(static_cast<int>(s));
}

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

std::string NewReminderId() { return NewId("r"); }

// Sets the row's version-dependent fields for a (re)scheduled version.
void BumpVersion(ReminderRow& row, const std::string& queue_name) {
  row.version += 1;
  row.delivery_id = queue::DeliveryId(queue_name, row.id, row.version);
}

// The cursor text of a (time, id) position.
std::string CursorText(const TimeIdCursor& c) { return absl::StrCat(c.time_us, ":", c.id); }

absl::StatusOr<std::optional<TimeIdCursor>> ParseCursor(const std::string& text) {
  if (text.empty()) return std::optional<TimeIdCursor>();
  size_t colon = text.find(':');
  int64_t t = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(text.substr(0, colon), &t)) {
    return InvalidField("page_token", "malformed page token");
  }
  return std::optional<TimeIdCursor>(TimeIdCursor{t, text.substr(colon + 1)});
}

void CheckOptionalId(const std::string& value, const std::string& field, FieldViolations& v) {
  if (!value.empty()) v.AddIfError(field, ValidateId(value));
}

std::string EnumList(const std::vector<int>& values) {
  std::string out;
  for (int x : values) absl::StrAppend(&out, x, ",");
  return out;
}

// What Reconcile needs of a job: its version and, while in the due set, its due time.
struct JobView {
  int64_t version = 0;
  std::optional<int64_t> due_ms;
};

// Appends one RESP bulk string (the wire form hiredis would build with sdscatfmt, which was a
// fifth of a reconcile's client CPU).
void AppendBulk(std::string& out, absl::string_view s) {
  absl::StrAppend(&out, "$", s.size(), "\r\n");
  out.append(s.data(), s.size());
  out.append("\r\n");
}

// Reads the version and due score of many jobs in one round trip (read-only: one HGET of each
// job hash's version field and one ZMSCORE of the page in the due set; see queue_keys.h), so a
// reconcile of a million rows costs a few hundred round trips, not a million.
absl::StatusOr<std::vector<std::optional<JobView>>> FetchJobs(queue::RedisConnection& conn,
                                                              const queue::QueueKeys& keys,
                                                              const std::vector<PendingRef>& refs) {
  std::vector<std::optional<JobView>> out;
  if (refs.empty()) return out;
  if (auto s = conn.EnsureConnected(); !s.ok()) return s;
  redisContext* ctx = conn.context();
  std::string wire;
  wire.reserve(refs.size() * 96 + 64);
  for (const PendingRef& p : refs) {
    wire.append("*3\r\n$4\r\nHGET\r\n");
    AppendBulk(wire, keys.job(p.id));
    wire.append("$1\r\nv\r\n");
  }
  // ZMSCORE in slices: Redis 7.0 answers one of 500 ids in about half the time per id of one
  // of 5,000, and each of 5,000 pipelined ZSCOREs costs more still.
  for (size_t from = 0; from < refs.size(); from += kScoreSlice) {
    const size_t n = std::min(kScoreSlice, refs.size() - from);
    absl::StrAppend(&wire, "*", n + 2, "\r\n$7\r\nZMSCORE\r\n");
    AppendBulk(wire, keys.due());
    for (size_t i = from; i < from + n; ++i) AppendBulk(wire, refs[i].id);
  }
  if (redisAppendFormattedCommand(ctx, wire.data(), wire.size()) != REDIS_OK) {
    return conn.FailIo("pipeline append");
  }
  // Every reply is read before any is judged, so an error reply cannot leave the rest of the
  // pipeline unread on the connection.
  const size_t slices = (refs.size() + kScoreSlice - 1) / kScoreSlice;
  std::vector<queue::RedisReplyPtr> replies;
  replies.reserve(refs.size() + slices);
  for (size_t i = 0; i < refs.size() + slices; ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx, &raw) != REDIS_OK) return conn.FailIo("pipeline read");
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  out.reserve(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    const redisReply* version = replies[i].get();
    if (version->type == REDIS_REPLY_ERROR) {
      return absl::InternalError("redis error reply during reconcile");
    }
    if (queue::ReplyIsNil(version)) {
      out.emplace_back(std::nullopt);
      continue;
    }
    auto v = queue::ReplyInteger(version);
    if (!v.ok()) return v.status();
    out.emplace_back(JobView{*v, std::nullopt});
  }
  for (size_t slice = 0; slice < slices; ++slice) {
    const size_t from = slice * kScoreSlice;
    const size_t n = std::min(kScoreSlice, refs.size() - from);
    const redisReply* scores = replies[refs.size() + slice].get();
    if (auto s = queue::ExpectArray(scores, n); !s.ok()) return s;
    for (size_t i = 0; i < n; ++i) {
      const redisReply* score = scores->element[i];
      std::optional<JobView>& job = out[from + i];
      if (!job || queue::ReplyIsNil(score)) continue;
      auto text = queue::ReplyString(score);
      if (!text.ok()) return text.status();
      double d = 0;
      if (!absl::SimpleAtod(*text, &d)) return absl::InternalError("bad due score");
      job->due_ms = static_cast<int64_t>(d);
    }
  }
  return out;
}

// Reconcile's repairs on connections of their own: up to `in_flight` pages' Redis writes run
// at once, so Redis always has the next script call queued while the client builds another
// (one connection left it idle between round trips). Pages are disjoint id ranges, so their
// order does not matter; within a page, cancels go before schedules. Waits for every repair
// when destroyed.
class RepairPipeline {
 public:
  RepairPipeline(const queue::JobQueue& like, int in_flight) {
    for (int i = 0; i < std::max(1, in_flight); ++i) {
      queues_.push_back(std::make_unique<queue::JobQueue>(like.endpoint(), like.options(),
                                                          queue::RedisConnectionOptions()));
    }
  }
  RepairPipeline(const RepairPipeline&) = delete;
  RepairPipeline& operator=(const RepairPipeline&) = delete;
  ~RepairPipeline() { (void)Drain(); }

  // Starts a page's repairs; first waits for the oldest when all connections are busy, and
  // returns that one's error, if any (the page is then not started).
  absl::Status Launch(std::vector<queue::CancelRequest> cancels,
                      std::vector<queue::ScheduleRequest> schedules) {
    if (running_.size() >= queues_.size()) {
      absl::Status s = running_.front().get();
      running_.pop_front();
      if (!s.ok()) return s;
    }
    // The oldest running page used queue next_ % size, and it is done (or there are fewer
    // running pages than queues).
    queue::JobQueue* q = queues_[next_++ % queues_.size()].get();
    running_.push_back(std::async(
        std::launch::async,
        [q, cancels = std::move(cancels), schedules = std::move(schedules)]() -> absl::Status {
          if (!cancels.empty()) {
            auto r = q->Cancel(cancels);
            if (!r.ok()) return r.status();
          }
          if (!schedules.empty()) {
            auto r = q->Schedule(schedules);
            if (!r.ok()) return r.status();
          }
          return absl::OkStatus();
        }));
    return absl::OkStatus();
  }

  // Waits for every running page; the first error.
  absl::Status Drain() {
    absl::Status first;
    while (!running_.empty()) {
      absl::Status s = running_.front().get();
      running_.pop_front();
      if (first.ok()) first = s;
    }
    return first;
  }

 private:
  std::vector<std::unique_ptr<queue::JobQueue>> queues_;
  std::deque<std::future<absl::Status>> running_;
  size_t next_ = 0;
};

}  // namespace

const char* ReminderStateName(ReminderState s) {
  switch (s) {
    case ReminderState::kScheduled:
      return "SCHEDULED";
    case ReminderState::kSent:
      return "SENT";
    case ReminderState::kFailed:
      return "FAILED";
    case ReminderState::kDead:
      return "DEAD";
    case ReminderState::kCanceled:
      return "CANCELED";
    case ReminderState::kSuppressed:
      return "SUPPRESSED";
  }
  return "UNSPECIFIED";
}

// ---------------------------------------------------------------- queue ops

void ReminderLedger::QueueOps::Schedule(const ReminderRow& row) {
  queue::ScheduleRequest req;
  req.job_id = row.id;
  req.version = row.version;
  req.due = absl::FromUnixMicros(row.due_us());
  if (row.send_by_us) req.deadline = absl::FromUnixMicros(*row.send_by_us);
  ops.emplace_back(row.id, std::move(req));
}

void ReminderLedger::QueueOps::Cancel(const ReminderRow& row) {
  ops.emplace_back(row.id, std::nullopt);
}

void ReminderLedger::Push(QueueOps& ops) {
  if (ops.ops.empty()) return;
  // The last op per job wins (a batch may re-plan and then close one assignment).
  std::unordered_map<std::string, size_t> last;
  for (size_t i = 0; i < ops.ops.size(); ++i) last[ops.ops[i].first] = i;
  std::vector<queue::ScheduleRequest> schedule;
  std::vector<queue::CancelRequest> cancel;
  for (size_t i = 0; i < ops.ops.size(); ++i) {
    if (last[ops.ops[i].first] != i) continue;
    if (ops.ops[i].second) {
      schedule.push_back(std::move(*ops.ops[i].second));
    } else {
      // Cancel whatever version Redis holds: the row is no longer pending in the ledger.
      cancel.push_back({ops.ops[i].first, queue::kMaxExactInteger});
    }
  }
  absl::Status status;
  if (!cancel.empty()) {
    auto r = queue_.Cancel(cancel);
    if (!r.ok()) status = r.status();
  }
  if (status.ok() && !schedule.empty()) {
    auto r = queue_.Schedule(schedule);
    if (!r.ok()) status = r.status();
  }
  if (!status.ok()) {
    spdlog::warn("redis schedule update failed ({} upserts, {} cancels): {}; will re-sync",
                 schedule.size(), cancel.size(), std::string(status.message()));
    ++push_failures_;
    out_of_step_ = true;
    bg_cv_.notify_all();
  }
}

// ---------------------------------------------------------------- life cycle

ReminderLedger::ReminderLedger(ReminderStore& store, const calendar::WorkingCalendar& calendar,
                               queue::JobQueue& queue, UnitClient& units, LedgerOptions options,
                               Clock clock)
    : store_(store),
      calendar_(calendar),
      planner_(calendar),
      queue_(queue),
      units_(units),
      options_(std::move(options)),
      clock_(std::move(clock)) {}

ReminderLedger::~ReminderLedger() { StopBackground(); }

absl::Status ReminderLedger::Initialize() {
  return store_.Write([&](ReminderWriter& w) -> absl::Status {
    auto found = w.FindPolicy(kDefaultPolicyId);
    if (!found.ok()) return found.status();
    if (*found) return absl::OkStatus();
    StoredPolicy p;
    p.policy = DefaultPolicy();
    p.policy.id = kDefaultPolicyId;
    p.description = "Built-in: 3 and 1 working days before, at the deadline, overdue daily (5).";
    p.built_in = true;
    p.create_us = p.update_us = Us(clock_());
    return w.UpsertPolicy(p);
  });
}

void ReminderLedger::StartBackground() {
  std::lock_guard<std::mutex> lock(bg_mu_);
  if (bg_thread_.joinable()) return;
  bg_stop_ = false;
  bg_thread_ = std::thread([this] { BackgroundLoop(); });
}

void ReminderLedger::StopBackground() {
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
}

void ReminderLedger::BackgroundLoop() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  while (!bg_stop_) {
    bg_cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.resync_interval));
    if (bg_stop_) break;
    if (!out_of_step_) continue;
    lock.unlock();
    auto report = Reconcile(/*dry_run=*/false);
    if (report.ok()) {
      spdlog::info("re-synced redis: {} missing, {} stale, {} orphaned restored", report->missing,
                   report->stale, report->orphaned);
    } else if (report.status().code() != absl::StatusCode::kAborted) {
      spdlog::warn("redis re-sync failed: {}", std::string(report.status().message()));
    }
    lock.lock();
  }
}

// ---------------------------------------------------------------- outbox calls

absl::Status ReminderLedger::ValidateChange(const AssignmentChange& c, FieldViolations& v) const {
  const AssignmentMirror& a = c.assignment;
  const std::string& p = c.field_prefix;
  v.AddIfError(p + "assignment_id", ValidateId(a.id));
  if (a.version < 1 || a.version > queue::kMaxExactInteger) {
    v.Add(p + "version", "must be >= 1");
  }
  if (c.type == AssignmentChange::Type::kCancel) {
    if (!IsFinalState(a.state)) v.Add(p + "final_state", "must be DONE or CANCELED");
    if (!c.has_change_time) v.Add(p + "change_time", "required");
    return absl::OkStatus();
  }
  v.AddIfError(p + "plan_id", ValidateId(a.plan_id));
  v.AddIfError(p + "task_id", ValidateId(a.task_id));
  if (!a.task_path.empty()) {
    const std::string own = "/" + a.task_id + "/";
    if (a.task_path.size() > 1000 || a.task_path.front() != '/' ||
        a.task_path.size() < own.size() ||
        a.task_path.compare(a.task_path.size() - own.size(), own.size(), own) != 0) {
      v.Add(p + "task_path", "must be empty or \"/.../task_id/\", at most 1,000 characters");
    }
  }
  v.AddIfError(p + "unit_id", ValidateId(a.unit_id));
  if (a.role < 0 || a.role > 2) v.Add(p + "role", "unknown role");
  int state = static_cast<int>(a.state);
  if (state < 1 || state > 7) v.Add(p + "state", "required: an assignment state");
  CheckOptionalId(a.policy_id, p + "policy_id", v);
  if (!c.has_deadline) v.Add(p + "deadline_time", "required");
  if (!c.has_change_time) v.Add(p + "change_time", "required");
  if (a.milestones.size() > kMaxMilestones) {
    v.Add(p + "milestones", "at most 50 milestones");
  } else {
    std::set<std::string> seen;
    for (size_t i = 0; i < a.milestones.size(); ++i) {
      const auto& m = a.milestones[i];
      std::string f = absl::StrCat(p, "milestones[", i, "]");
      if (auto s = ValidateId(m.id); !s.ok()) {
        v.AddIfError(f + ".id", s);
      } else if (!seen.insert(m.id).second) {
        v.Add(f + ".id", "duplicate milestone id");
      }
      if (!m.title.empty()) v.AddIfError(f + ".title", ValidateText(m.title, 0, 200));
      if (m.due == absl::UnixEpoch()) v.Add(f + ".due_time", "required");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::TimeZone> ReminderLedger::Zone(const std::string& name) const {
  absl::TimeZone tz;
  const std::string& n = name.empty() ? options_.fallback_timezone : name;
  if (!absl::LoadTimeZone(n, &tz)) {
    spdlog::warn("unknown time zone {}; using {}", n, options_.fallback_timezone);
    if (!absl::LoadTimeZone(options_.fallback_timezone, &tz)) return calendar_.default_timezone();
  }
  return tz;
}

absl::StatusOr<std::pair<StoredPolicy, bool>> ReminderLedger::ResolvePolicy(
    ReminderReader& r, const AssignmentMirror& a, PolicyCache& cache) {
  auto policy = [&](const std::string& id) -> absl::StatusOr<const std::optional<StoredPolicy>*> {
    auto it = cache.policies.find(id);
    if (it == cache.policies.end()) {
      auto found = r.FindPolicy(id);
      if (!found.ok()) return found.status();
      it = cache.policies.emplace(id, std::move(*found)).first;
    }
    return &it->second;
  };
  bool fallback = false;
  if (!a.policy_id.empty()) {
    auto own = policy(a.policy_id);
    if (!own.ok()) return own.status();
    if (**own) return std::make_pair(***own, false);
    fallback = true;
  }
  auto pd = cache.plan_defaults.find(a.plan_id);
  if (pd == cache.plan_defaults.end()) {
    auto found = r.FindPlanDefault(a.plan_id);
    if (!found.ok()) return found.status();
    pd = cache.plan_defaults.emplace(a.plan_id, std::move(*found)).first;
  }
  if (pd->second && !pd->second->policy_id.empty()) {
    auto p = policy(pd->second->policy_id);
    if (!p.ok()) return p.status();
    if (**p) return std::make_pair(***p, fallback);
  }
  auto def = policy(kDefaultPolicyId);
  if (!def.ok()) return def.status();
  if (!**def) return absl::InternalError("built-in default policy missing");
  return std::make_pair(***def, fallback);
}

absl::StatusOr<ApplyResult> ReminderLedger::ScheduleAssignment(AssignmentChange change) {
  change.type = AssignmentChange::Type::kSchedule;
  std::vector<AssignmentChange> changes;
  changes.push_back(std::move(change));
  auto r = ApplyChanges(std::move(changes));
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

absl::StatusOr<ApplyResult> ReminderLedger::CancelAssignment(AssignmentChange change) {
  change.type = AssignmentChange::Type::kCancel;
  std::vector<AssignmentChange> changes;
  changes.push_back(std::move(change));
  auto r = ApplyChanges(std::move(changes));
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

absl::StatusOr<std::vector<ApplyResult>> ReminderLedger::ApplyChanges(
    std::vector<AssignmentChange> changes) {
  if (changes.empty()) return InvalidField("changes", "1-1000 changes required");
  if (changes.size() > kMaxBatch) return InvalidField("changes", "at most 1000 changes");
  FieldViolations v;
  for (const auto& c : changes) {
    if (auto s = ValidateChange(c, v); !s.ok()) return s;
  }
  if (!v.empty()) return v.ToStatus();

  // The units' time zones, one call for the whole batch (before the transaction).
  std::vector<std::string> unit_ids;
  for (const auto& c : changes) {
    if (c.type == AssignmentChange::Type::kSchedule && Plannable(c.assignment.state)) {
      unit_ids.push_back(c.assignment.unit_id);
    }
  }
  std::sort(unit_ids.begin(), unit_ids.end());
  unit_ids.erase(std::unique(unit_ids.begin(), unit_ids.end()), unit_ids.end());
  std::unordered_map<std::string, UnitInfo> zones;
  if (!unit_ids.empty()) {
    auto units = units_.BatchGetUnits(unit_ids);
    if (!units.ok()) return units.status();
    for (const auto& u : *units) zones[u.id] = u;
  }

  const absl::Time now = clock_();
  const PrePlans preplans = PlanAhead(changes, zones, now);
  QueueOps ops;
  std::vector<ApplyResult> results;
  absl::Status st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    results.clear();
    ops.ops.clear();
    PolicyCache policies;
    for (const auto& c : changes) {
      UnitInfo unit;
      if (auto it = zones.find(c.assignment.unit_id); it != zones.end()) unit = it->second;
      auto r = ApplyOne(w, c, unit, now, ops, policies, preplans);
      if (!r.ok()) return r.status();
      results.push_back(std::move(*r));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  Push(ops);
  return results;
}

AssignmentMirror ReminderLedger::MirrorOf(const AssignmentChange& c, const UnitInfo& unit) {
  AssignmentMirror a = c.assignment;
  a.timezone = unit.timezone;
  a.unit_kind = unit.kind;
  return a;
}

ReminderLedger::PrePlans ReminderLedger::PlanAhead(
    const std::vector<AssignmentChange>& changes,
    const std::unordered_map<std::string, UnitInfo>& units, absl::Time now) {
  PrePlans out;
  // Best effort: whatever cannot be planned here (an unknown zone, a read error) is planned
  // inside the write transaction as before, which also reports the error.
  (void)store_.Read([&](ReminderReader& r) -> absl::Status {
    PolicyCache policies;
    for (const auto& c : changes) {
      if (c.type != AssignmentChange::Type::kSchedule || IsFinalState(c.assignment.state)) {
        continue;
      }
      UnitInfo unit;
      if (auto it = units.find(c.assignment.unit_id); it != units.end()) unit = it->second;
      const AssignmentMirror a = MirrorOf(c, unit);
      auto policy = ResolvePolicy(r, a, policies);
      if (!policy.ok()) continue;
      auto tz = Zone(a.timezone);
      if (!tz.ok()) continue;
      auto plan = planner_.PlanAssignment(policy->first.policy, SnapshotOf(a), *tz, now);
      if (!plan.ok()) continue;
      out[a.id] = PrePlan{policy->first.policy.id, policy->first.revision, std::move(*plan)};
    }
    return absl::OkStatus();
  });
  return out;
}

absl::StatusOr<ApplyResult> ReminderLedger::ApplyOne(ReminderWriter& w, const AssignmentChange& c,
                                                     const UnitInfo& unit, absl::Time now,
                                                     QueueOps& ops, PolicyCache& policies,
                                                     const PrePlans& preplans) {
  ApplyResult result;
  result.assignment_id = c.assignment.id;
  result.version = c.assignment.version;
  auto stored = w.FindAssignment(c.assignment.id);
  if (!stored.ok()) return stored.status();
  if (*stored && (*stored)->version >= c.assignment.version) {
    result.outcome = (*stored)->version == c.assignment.version ? ApplyOutcome::kDuplicate
                                                                : ApplyOutcome::kStale;
    result.current_version = (*stored)->version;
    return result;
  }
  result.current_version = c.assignment.version;

  AssignmentMirror a;
  if (c.type == AssignmentChange::Type::kCancel) {
    // Keep what we knew of the assignment; record the closure (a tombstone if unknown).
    if (*stored) a = **stored;
    a.id = c.assignment.id;
    a.version = c.assignment.version;
    a.state = c.assignment.state;
    a.change_us = c.assignment.change_us;
  } else {
    a = MirrorOf(c, unit);
  }
  a.update_us = Us(now);
  if (auto s = w.UpsertAssignment(a); !s.ok()) return s;

  if (IsFinalState(a.state)) {
    std::string detail =
        absl::StrCat("assignment ", a.state == AssignmentState::kDone ? "DONE" : "CANCELED",
                     " (version ", a.version, ")");
    if (auto s = CancelPending(w, a.id, detail, now, ops, result.canceled); !s.ok()) return s;
    return result;
  }
  auto policy = ResolvePolicy(w, a, policies);
  if (!policy.ok()) return policy.status();
  result.policy_id = policy->first.policy.id;
  result.policy_fallback = policy->second;
  // The plan made ahead holds if the policy did not change in between (same id, revision).
  const Plan* preplanned = nullptr;
  if (auto it = preplans.find(a.id); it != preplans.end() &&
                                     it->second.policy_id == policy->first.policy.id &&
                                     it->second.policy_revision == policy->first.revision) {
    preplanned = &it->second.plan;
  }
  if (auto s = Replan(w, a, policy->first, now, ops, result, preplanned); !s.ok()) return s;
  return result;
}

absl::Status ReminderLedger::CancelPending(ReminderWriter& w, const std::string& assignment_id,
                                           const std::string& detail, absl::Time now, QueueOps& ops,
                                           int& canceled) {
  auto rows = w.AssignmentReminders(assignment_id);
  if (!rows.ok()) return rows.status();
  for (ReminderRow& row : *rows) {
    if (!IsPending(row.state)) continue;
    row.state = ReminderState::kCanceled;
    row.detail = detail;
    row.next_attempt_us.reset();
    row.update_us = Us(now);
    if (auto s = w.UpdateReminder(row); !s.ok()) return s;
    ops.Cancel(row);
    ++canceled;
  }
  return absl::OkStatus();
}

absl::Status ReminderLedger::Replan(ReminderWriter& w, const AssignmentMirror& a,
                                    const StoredPolicy& policy, absl::Time now, QueueOps& ops,
                                    ApplyResult& result, const Plan* preplanned) {
  auto tz = Zone(a.timezone);
  if (!tz.ok()) return tz.status();
  absl::StatusOr<Plan> planned;
  if (preplanned == nullptr) {
    planned = planner_.PlanAssignment(policy.policy, SnapshotOf(a), *tz, now);
    if (!planned.ok()) return planned.status();
    preplanned = &*planned;
  }
  const Plan* plan = preplanned;

  auto rows = w.AssignmentReminders(a.id);
  if (!rows.ok()) return rows.status();
  // The newest row per slot is the slot's current row (older ones are final history).
  std::map<std::string, ReminderRow*> current;
  for (ReminderRow& row : *rows) current[row.slot] = &row;

  const std::string& queue_name = queue_.options().name;
  const int64_t now_us = Us(now);
  std::set<std::string> planned_slots;
  std::vector<ReminderRow*> to_merge;  // rows merged into the catch-up digest
  std::vector<ReminderRow> inserted;
  inserted.reserve(plan->reminders.size());

  auto fill = [&](ReminderRow& row, const PlannedReminder& p) {
    row.kind = p.kind;
    row.plan_id = a.plan_id;
    row.task_id = a.task_id;
    row.unit_id = a.unit_id;
    row.milestone_id = p.milestone_id;
    row.escalation_level = p.escalation_level;
    row.escalation_trigger = p.escalation_trigger;
    row.policy_id = policy.policy.id;
    row.planned_us = Us(p.planned_time);
    row.rule_us = Us(p.rule_time);
    row.send_by_us = p.send_by ? std::optional<int64_t>(Us(*p.send_by)) : std::nullopt;
    row.assignment_version = a.version;
    row.provisional = p.provisional;
    row.update_us = now_us;
    if (p.suppression == Suppression::kNone) {
      row.state = ReminderState::kScheduled;
      row.suppression = SuppressionReason::kNone;
      row.detail = p.detail;
    } else {
      row.state = ReminderState::kSuppressed;
      row.suppression = FromPlanner(p.suppression);
      row.detail = p.detail;
    }
  };

  for (const PlannedReminder& p : plan->reminders) {
    // Only needed to cancel current rows the plan dropped: a new assignment has none.
    if (!current.empty()) planned_slots.insert(p.slot);
    auto it = current.find(p.slot);
    ReminderRow* existing = it == current.end() ? nullptr : it->second;
    // A row the planner itself suppressed (send window, same slot) was never sent nor listed
    // anywhere: it is re-planned in place like a pending row.
    const bool replannable =
        existing != nullptr &&
        (IsPending(existing->state) || (existing->state == ReminderState::kSuppressed &&
                                        (existing->suppression == SuppressionReason::kSendWindow ||
                                         existing->suppression == SuppressionReason::kSameSlot)));
    if (replannable) {
      const bool same = existing->planned_us == Us(p.planned_time) &&
                        existing->rule_us == Us(p.rule_time) &&
                        existing->suppression == FromPlanner(p.suppression) &&
                        existing->send_by_us ==
                            (p.send_by ? std::optional<int64_t>(Us(*p.send_by)) : std::nullopt);
      if (same) {
        // Keep the row (and a FAILED row's retry) as it is; note the snapshot it matches.
        if (existing->assignment_version != a.version || existing->policy_id != policy.policy.id) {
          existing->assignment_version = a.version;
          existing->policy_id = policy.policy.id;
          existing->update_us = now_us;
          if (auto s = w.UpdateReminder(*existing); !s.ok()) return s;
        }
        ++result.unchanged;
        continue;
      }
      ReminderRow row = *existing;
      fill(row, p);
      if (row.state == ReminderState::kScheduled) {
        if (auto s = ApplyBudget(w, a, *tz, policy.policy, now, row, ops); !s.ok()) return s;
      }
      if (row.state == ReminderState::kScheduled) {
        BumpVersion(row, queue_name);
        row.attempts = 0;
        row.last_error.clear();
        row.next_attempt_us.reset();
        ops.Schedule(row);
      } else if (IsPending(existing->state)) {
        ops.Cancel(row);
      }
      if (auto s = w.UpdateReminder(row); !s.ok()) return s;
      *existing = row;
      if (row.suppression == SuppressionReason::kMergedIntoDigest) to_merge.push_back(existing);
      ++result.updated;
      continue;
    }
    if (existing != nullptr) {
      // Final row: a new row only when the slot's new instant is later than now and differs.
      const bool later = p.planned_time > now && Us(p.planned_time) != existing->planned_us &&
                         p.suppression == Suppression::kNone;
      const bool reopened = existing->state == ReminderState::kCanceled && p.planned_time > now &&
                            p.suppression == Suppression::kNone;
      if (!later && !reopened) {
        ++result.unchanged;
        continue;
      }
    }
    ReminderRow row;
    row.id = NewReminderId();
    row.assignment_id = a.id;
    row.slot = p.slot;
    row.version = 1;
    row.delivery_id = queue::DeliveryId(queue_name, row.id, row.version);
    row.create_us = now_us;
    fill(row, p);
    if (row.state == ReminderState::kScheduled) {
      if (auto s = ApplyBudget(w, a, *tz, policy.policy, now, row, ops); !s.ok()) return s;
    }
    if (auto s = w.InsertReminder(row); !s.ok()) return s;
    if (row.state == ReminderState::kScheduled) ops.Schedule(row);
    inserted.push_back(std::move(row));
    if (inserted.back().suppression == SuppressionReason::kMergedIntoDigest) {
      to_merge.push_back(&inserted.back());
    }
    ++result.added;
  }

  // Pending rows of slots the plan no longer has (digests are not the assignment's slots).
  for (auto& [slot, row] : current) {
    if (planned_slots.count(slot) != 0 || !IsPending(row->state)) continue;
    row->state = ReminderState::kCanceled;
    row->detail = absl::StrCat("no longer planned (assignment version ", a.version, ")");
    row->next_attempt_us.reset();
    row->update_us = now_us;
    if (auto s = w.UpdateReminder(*row); !s.ok()) return s;
    ops.Cancel(*row);
    ++result.canceled;
  }

  if (!to_merge.empty() && plan->catch_up_digest_time) {
    for (ReminderRow* row : to_merge) {
      auto digest = MergeIntoDigest(w, *row, *plan->catch_up_digest_time, now, ops);
      if (!digest.ok()) return digest.status();
      row->digest_id = *digest;
      if (auto s = w.UpdateReminder(*row); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReminderLedger::MergeIntoDigest(ReminderWriter& w,
                                                            const ReminderRow& merged,
                                                            absl::Time at, absl::Time now,
                                                            QueueOps& ops,
                                                            const std::string& slot) {
  const int64_t at_us = Us(at);
  auto found = w.FindPendingDigest(merged.unit_id, slot, at_us);
  if (!found.ok()) return found.status();
  ReminderRow digest;
  if (*found) {
    digest = std::move(**found);
    if (digest.merged_ids.size() >= static_cast<size_t>(kMaxBatch)) {
      return digest.id;  // full: the listing is capped; the row still names its digest
    }
  } else {
    digest.id = NewReminderId();
    digest.kind = ReminderKind::kDigest;
    digest.slot = slot;
    digest.unit_id = merged.unit_id;
    digest.plan_id = merged.plan_id;
    digest.planned_us = digest.rule_us = at_us;
    digest.version = 0;
    digest.create_us = Us(now);
    digest.detail = slot == kCatchUpSlot ? "missed reminders" : "reminders over budget";
  }
  digest.merged_ids.push_back(merged.id);
  if (!merged.assignment_id.empty() &&
      std::find(digest.assignment_ids.begin(), digest.assignment_ids.end(), merged.assignment_id) ==
          digest.assignment_ids.end()) {
    digest.assignment_ids.push_back(merged.assignment_id);
  }
  digest.update_us = Us(now);
  BumpVersion(digest, queue_.options().name);
  digest.state = ReminderState::kScheduled;
  absl::Status s = digest.version == 1 ? w.InsertReminder(digest) : w.UpdateReminder(digest);
  if (!s.ok()) return s;
  ops.Schedule(digest);
  return digest.id;
}

absl::StatusOr<std::vector<ReminderRow>> ReminderLedger::PendingOf(
    const std::string& assignment_id) {
  std::vector<ReminderRow> out;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rows = r.AssignmentReminders(assignment_id);
    if (!rows.ok()) return rows.status();
    for (auto& row : *rows) {
      if (IsPending(row.state)) out.push_back(std::move(row));
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  std::sort(out.begin(), out.end(), [](const ReminderRow& x, const ReminderRow& y) {
    return std::tie(x.planned_us, x.id) < std::tie(y.planned_us, y.id);
  });
  return out;
}

// ---------------------------------------------------------------- ledger reads

absl::StatusOr<std::pair<ReminderRow, std::vector<AttemptRecord>>> ReminderLedger::GetReminder(
    const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  std::pair<ReminderRow, std::vector<AttemptRecord>> out;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto row = r.FindReminder(id);
    if (!row.ok()) return row.status();
    if (!*row) return FieldError(absl::StatusCode::kNotFound, "id", "no such reminder");
    out.first = std::move(**row);
    auto log = r.AttemptLog(id, 20);
    if (!log.ok()) return log.status();
    out.second = std::move(*log);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<std::vector<SendCheck>> ReminderLedger::BatchGetReminders(
    const std::vector<std::pair<std::string, int64_t>>& refs) {
  if (refs.empty() || refs.size() > static_cast<size_t>(kMaxBatch)) {
    return InvalidField("refs", "1-1000 refs required");
  }
  FieldViolations v;
  std::vector<std::string> ids;
  for (size_t i = 0; i < refs.size(); ++i) {
    v.AddIfError(absl::StrCat("refs[", i, "].id"), ValidateId(refs[i].first));
    if (refs[i].second < 1) v.Add(absl::StrCat("refs[", i, "].version"), "must be >= 1");
    ids.push_back(refs[i].first);
  }
  if (!v.empty()) return v.ToStatus();
  std::unordered_map<std::string, ReminderRow> rows;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto found = r.FindReminders(ids);
    if (!found.ok()) return found.status();
    for (auto& row : *found) rows.emplace(row.id, std::move(row));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  std::vector<SendCheck> out;
  for (const auto& [id, version] : refs) {
    SendCheck c;
    c.id = id;
    c.version = version;
    auto it = rows.find(id);
    if (it == rows.end()) {
      c.reason = "not found";
    } else {
      c.row = it->second;
      if (it->second.version != version) {
        c.reason = absl::StrCat("version ", it->second.version, " is current");
      } else if (!IsPending(it->second.state)) {
        c.reason = ReminderStateName(it->second.state);
      } else {
        c.sendable = true;
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<ReminderPage> ReminderLedger::ListReminders(const ListRemindersQuery& q) {
  const ReminderFilter& f = q.filter;
  FieldViolations v;
  auto size = EffectivePageSize(q.page_size);
  if (!size.ok()) v.AddIfError("page_size", size.status());
  CheckOptionalId(f.assignment_id, "assignment_id", v);
  CheckOptionalId(f.unit_id, "unit_id", v);
  CheckOptionalId(f.plan_id, "plan_id", v);
  CheckOptionalId(f.task_id, "task_id", v);
  CheckOptionalId(f.roll_call_id, "roll_call_id", v);
  CheckOptionalId(f.round_id, "round_id", v);
  if (f.assignment_id.empty() && f.unit_id.empty() && f.plan_id.empty() && f.task_id.empty() &&
      f.roll_call_id.empty()) {
    v.Add("assignment_id",
          "one of assignment_id, unit_id, plan_id, task_id, roll_call_id is required");
  }
  for (size_t i = 0; i < f.states.size(); ++i) {
    int s = static_cast<int>(f.states[i]);
    if (s < 1 || s > 6) v.Add(absl::StrCat("states[", i, "]"), "unknown state");
  }
  for (size_t i = 0; i < f.kinds.size(); ++i) {
    int k = static_cast<int>(f.kinds[i]);
    if (k < 1 || k > 6) v.Add(absl::StrCat("kinds[", i, "]"), "unknown kind");
  }
  if (f.planned_after_us && f.planned_before_us && *f.planned_after_us > *f.planned_before_us) {
    v.Add("planned_before", "must not be before planned_after");
  }
  if (!v.empty()) return v.ToStatus();

  std::vector<int> states, kinds;
  for (auto s : f.states) states.push_back(static_cast<int>(s));
  for (auto k : f.kinds) kinds.push_back(static_cast<int>(k));
  const uint64_t fp = FilterFingerprint(absl::StrCat(
      "reminders|", f.assignment_id, "|", f.unit_id, "|", f.plan_id, "|", f.task_id, "|",
      f.roll_call_id, "|", f.round_id, "|", EnumList(states), "|", EnumList(kinds), "|",
      f.planned_after_us.value_or(-1), "|", f.planned_before_us.value_or(-1)));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  auto cursor = ParseCursor(*cursor_text);
  if (!cursor.ok()) return cursor.status();

  ReminderPage page;
  std::optional<TimeIdCursor> scanned_to;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto listing = r.ListReminders(f, *cursor, *size + 1, options_.list_scan_rows);
    if (!listing.ok()) return listing.status();
    page.reminders = std::move(listing->rows);
    scanned_to = std::move(listing->scanned_to);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (page.reminders.size() > static_cast<size_t>(*size)) {
    page.reminders.resize(*size);
    const auto& last = page.reminders.back();
    page.next_page_token = EncodePageToken(fp, CursorText({last.planned_us, last.id}));
  } else if (scanned_to) {
    // A short page (AIP-158): the walk stopped at its row budget; the next one goes on there.
    page.next_page_token = EncodePageToken(fp, CursorText(*scanned_to));
  }
  return page;
}

absl::StatusOr<ReminderPage> ReminderLedger::ListDeadLetters(const ListDeadQuery& q) {
  const DeadFilter& f = q.filter;
  FieldViolations v;
  auto size = EffectivePageSize(q.page_size);
  if (!size.ok()) v.AddIfError("page_size", size.status());
  CheckOptionalId(f.unit_id, "unit_id", v);
  CheckOptionalId(f.assignment_id, "assignment_id", v);
  CheckOptionalId(f.plan_id, "plan_id", v);
  for (size_t i = 0; i < f.kinds.size(); ++i) {
    int k = static_cast<int>(f.kinds[i]);
    if (k < 1 || k > 6) v.Add(absl::StrCat("kinds[", i, "]"), "unknown kind");
  }
  if (f.since_us && f.until_us && *f.since_us > *f.until_us) {
    v.Add("until", "must not be before since");
  }
  if (!v.empty()) return v.ToStatus();
  std::vector<int> kinds;
  for (auto k : f.kinds) kinds.push_back(static_cast<int>(k));
  const uint64_t fp = FilterFingerprint(
      absl::StrCat("dead|", f.unit_id, "|", f.assignment_id, "|", f.plan_id, "|", EnumList(kinds),
                   "|", f.since_us.value_or(-1), "|", f.until_us.value_or(-1)));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  auto cursor = ParseCursor(*cursor_text);
  if (!cursor.ok()) return cursor.status();
  ReminderPage page;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rows = r.ListDead(f, *cursor, *size + 1);
    if (!rows.ok()) return rows.status();
    page.reminders = std::move(*rows);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (page.reminders.size() > static_cast<size_t>(*size)) {
    page.reminders.resize(*size);
    const auto& last = page.reminders.back();
    page.next_page_token = EncodePageToken(fp, CursorText({last.dead_us.value_or(0), last.id}));
  }
  return page;
}

absl::StatusOr<RetryDeadResult> ReminderLedger::RetryDeadLetters(const RetryDeadRequest& req) {
  FieldViolations v;
  if (req.reminder_ids.empty() == !req.filter.has_value()) {
    v.Add("reminder_ids", "exactly one of reminder_ids and filter is required");
  }
  if (req.reminder_ids.size() > static_cast<size_t>(kMaxBatch)) {
    v.Add("reminder_ids", "at most 1000 ids");
  }
  for (size_t i = 0; i < req.reminder_ids.size() && i < static_cast<size_t>(kMaxBatch); ++i) {
    v.AddIfError(absl::StrCat("reminder_ids[", i, "]"), ValidateId(req.reminder_ids[i]));
  }
  if (req.filter) {
    CheckOptionalId(req.filter->unit_id, "filter.unit_id", v);
    CheckOptionalId(req.filter->assignment_id, "filter.assignment_id", v);
    CheckOptionalId(req.filter->plan_id, "filter.plan_id", v);
  }
  v.AddIfError("actor", ValidateText(req.actor, 1, 128));
  if (!req.request_id.empty()) v.AddIfError("request_id", ValidateRequestId(req.request_id));
  if (!v.empty()) return v.ToStatus();

  const absl::Time now = clock_();
  const int64_t now_us = Us(now);
  RetryDeadResult result;
  QueueOps ops;
  auto skip = [&](const std::string& id) {
    if (result.skipped_ids.size() < static_cast<size_t>(kMaxBatch)) {
      result.skipped_ids.push_back(id);
    }
    ++result.skipped_count;
  };
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    result = RetryDeadResult();
    ops.ops.clear();
    std::vector<ReminderRow> rows;
    if (req.filter) {
      std::optional<TimeIdCursor> before;
      while (rows.size() < 100000) {
        auto page = w.ListDead(*req.filter, before, kMaxBatch);
        if (!page.ok()) return page.status();
        if (page->empty()) break;
        before = TimeIdCursor{page->back().dead_us.value_or(0), page->back().id};
        for (auto& r : *page) rows.push_back(std::move(r));
      }
    } else {
      auto found = w.FindReminders(req.reminder_ids);
      if (!found.ok()) return found.status();
      std::set<std::string> present;
      for (auto& r : *found) present.insert(r.id);
      for (const auto& id : req.reminder_ids) {
        if (present.count(id) == 0) skip(id);
      }
      rows = std::move(*found);
    }
    std::unordered_map<std::string, std::optional<AssignmentMirror>> mirrors;
    for (ReminderRow& row : rows) {
      if (row.state != ReminderState::kDead) {
        skip(row.id);
        continue;
      }
      std::string tz;
      absl::Duration grace = absl::Hours(1);
      std::optional<Policy> policy;
      if (!row.assignment_id.empty()) {
        auto it = mirrors.find(row.assignment_id);
        if (it == mirrors.end()) {
          auto m = w.FindAssignment(row.assignment_id);
          if (!m.ok()) return m.status();
          it = mirrors.emplace(row.assignment_id, std::move(*m)).first;
        }
        if (!it->second || it->second->closed()) {
          skip(row.id);
          continue;
        }
        tz = it->second->timezone;
      }
      if (!row.policy_id.empty()) {
        auto p = w.FindPolicy(row.policy_id);
        if (!p.ok()) return p.status();
        if (*p) policy = (*p)->policy;
      }
      if (!policy) policy = DefaultPolicy();
      grace = policy->catch_up_grace;
      auto zone = Zone(tz);
      if (!zone.ok()) return zone.status();
      auto at = calendar_.NextInstantInWindow(
          now, *zone,
          {policy->window_start, policy->window_end, !policy->send_on_non_working_days});
      if (!at.ok()) return at.status();
      BumpVersion(row, queue_.options().name);
      row.state = ReminderState::kScheduled;
      row.attempts = 0;
      row.next_attempt_us.reset();
      row.dead_us.reset();
      row.planned_us = Us(at->time);
      if (row.send_by_us) row.send_by_us = Us(at->time + grace);
      row.detail = absl::StrCat("retried from DEAD by ", req.actor);
      row.update_us = now_us;
      if (auto s = w.UpdateReminder(row); !s.ok()) return s;
      AttemptRecord rec;
      rec.reminder_id = row.id;
      rec.version = row.version;
      rec.attempt = 0;
      rec.outcome = OutcomeKind::kUnspecified;
      rec.error = row.detail;
      rec.time_us = now_us;
      if (auto s = w.InsertAttempt(rec); !s.ok()) return s;
      ops.Schedule(row);
      ++result.retried;
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  spdlog::info("RetryDeadLetters by {}: {} retried, {} skipped", req.actor, result.retried,
               result.skipped_count);
  Push(ops);
  return result;
}

absl::StatusOr<std::vector<RecordResult>> ReminderLedger::RecordDeliveries(
    const std::vector<DeliveryReport>& reports) {
  if (reports.empty() || reports.size() > static_cast<size_t>(kMaxBatch)) {
    return InvalidField("outcomes", "1-1000 outcomes required");
  }
  FieldViolations v;
  for (size_t i = 0; i < reports.size(); ++i) {
    const DeliveryReport& d = reports[i];
    std::string p = absl::StrCat("outcomes[", i, "].");
    v.AddIfError(p + "reminder_id", ValidateId(d.reminder_id));
    if (d.version < 1) v.Add(p + "version", "must be >= 1");
    int k = static_cast<int>(d.outcome);
    if (k < 1 || k > 5) v.Add(p + "outcome", "required");
    if (d.attempt < 1) v.Add(p + "attempt", "must be >= 1");
    if (d.error.size() > 1000) v.Add(p + "error", "at most 1,000 characters");
    if (d.outcome == OutcomeKind::kSuppressed) {
      int r = static_cast<int>(d.suppression);
      if (r < 1 || r > 8) v.Add(p + "suppression_reason", "required for SUPPRESSED");
    }
    if (d.channel < 0 || d.channel > 3) v.Add(p + "channel", "unknown channel");
  }
  if (!v.empty()) return v.ToStatus();

  const absl::Time now = clock_();
  const int64_t now_us = Us(now);
  std::vector<RecordResult> results;
  QueueOps ops;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    results.clear();
    ops.ops.clear();
    for (const DeliveryReport& d : reports) {
      auto found = w.FindReminder(d.reminder_id);
      if (!found.ok()) return found.status();
      if (!*found) {
        results.push_back(RecordResult::kNotFound);
        continue;
      }
      ReminderRow& row = **found;
      auto exists = w.AttemptExists(d.reminder_id, d.version, d.attempt, d.outcome);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        results.push_back(RecordResult::kDuplicate);
        continue;
      }
      AttemptRecord rec;
      rec.reminder_id = d.reminder_id;
      rec.version = d.version;
      rec.attempt = d.attempt;
      rec.outcome = d.outcome;
      rec.error = d.error;
      rec.channel = d.channel;
      rec.time_us = now_us;
      rec.stale = d.version != row.version || !IsPending(row.state);
      if (!rec.stale && d.outcome == OutcomeKind::kSent) {
        rec.lateness_us = d.sent_us.value_or(now_us) - row.planned_us;
      }
      if (auto s = w.InsertAttempt(rec); !s.ok()) return s;
      if (rec.stale) {
        results.push_back(RecordResult::kStale);
        continue;
      }
      row.attempts = std::max(row.attempts, d.attempt);
      row.update_us = now_us;
      switch (d.outcome) {
        case OutcomeKind::kSent:
          row.state = ReminderState::kSent;
          row.sent_us = d.sent_us.value_or(now_us);
          row.recipients = d.recipients;
          row.next_attempt_us.reset();
          break;
        case OutcomeKind::kRetry:
          row.state = ReminderState::kFailed;
          row.last_error = d.error;
          row.next_attempt_us = d.next_attempt_us;
          break;
        case OutcomeKind::kDead:
          row.state = ReminderState::kDead;
          row.last_error = d.error;
          row.detail = d.error;
          row.dead_us = now_us;
          row.next_attempt_us.reset();
          break;
        case OutcomeKind::kSuppressed:
          row.state = ReminderState::kSuppressed;
          row.suppression = d.suppression;
          row.next_attempt_us.reset();
          break;
        case OutcomeKind::kMissed: {
          // The catch-up rule of the policy that planned it.
          Policy policy = DefaultPolicy();
          if (!row.policy_id.empty()) {
            auto p = w.FindPolicy(row.policy_id);
            if (!p.ok()) return p.status();
            if (*p) policy = (*p)->policy;
          }
          row.next_attempt_us.reset();
          if (row.kind == ReminderKind::kEscalation || row.kind == ReminderKind::kDigest ||
              row.kind == ReminderKind::kRollcall || policy.catch_up == CatchUpMode::kSendEach) {
            // Never missed, only late: send it now.
            BumpVersion(row, queue_.options().name);
            row.state = ReminderState::kScheduled;
            row.planned_us = now_us;
            row.send_by_us.reset();
            row.attempts = 0;
            row.detail = "sent late after an outage";
            ops.Schedule(row);
          } else if (policy.catch_up == CatchUpMode::kSkip) {
            row.state = ReminderState::kSuppressed;
            row.suppression = SuppressionReason::kMissed;
            row.detail = "missed during an outage (catch-up: skip)";
          } else {
            row.state = ReminderState::kSuppressed;
            row.suppression = SuppressionReason::kMergedIntoDigest;
            row.detail = "missed during an outage; listed in the catch-up digest";
            std::string tz;
            if (!row.assignment_id.empty()) {
              auto m = w.FindAssignment(row.assignment_id);
              if (!m.ok()) return m.status();
              if (*m) tz = (*m)->timezone;
            }
            auto zone = Zone(tz);
            if (!zone.ok()) return zone.status();
            auto at = calendar_.NextInstantInWindow(
                now, *zone,
                {policy.window_start, policy.window_end, !policy.send_on_non_working_days});
            if (!at.ok()) return at.status();
            auto digest = MergeIntoDigest(w, row, at->time, now, ops);
            if (!digest.ok()) return digest.status();
            row.digest_id = *digest;
          }
          break;
        }
        case OutcomeKind::kUnspecified:
          break;
      }
      if (auto s = w.UpdateReminder(row); !s.ok()) return s;
      results.push_back(RecordResult::kRecorded);
    }
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  Push(ops);
  return results;
}

// ---------------------------------------------------------------- operations

absl::StatusOr<ReconcileReport> ReminderLedger::Reconcile(bool dry_run) {
  std::unique_lock<std::mutex> lock(reconcile_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return absl::AbortedError("a reconcile is already running");
  return ReconcileLocked(dry_run);
}

absl::StatusOr<ReconcileReport> ReminderLedger::ReconcileLocked(bool dry_run) {
  ReconcileReport report;
  report.start_time = clock_();
  report.applied = !dry_run;
  // Upserts that fail during the pass are not covered by it.
  const uint64_t failures_at_start = push_failures_.load();
  auto note = [&](DriftKind kind, const std::string& id, std::string detail) {
    if (report.samples.size() < static_cast<size_t>(kMaxDrifts)) {
      report.samples.push_back({kind, id, std::move(detail)});
    }
  };

  queue::RedisConnection conn(queue_.endpoint(), queue::RedisConnectionOptions());
  // Hashes of the ids pass 1 found pending, so that pass 2 looks up in the ledger only the jobs
  // it did not see (a million primary-key searches otherwise). A hash collision can at worst
  // leave one orphan for the next pass; a row closed after pass 1 removes its own job.
  absl::flat_hash_set<size_t> seen_pending;
  const std::hash<std::string> hash_id;
  // Repairs of a page go to Redis on other threads and connections while the next pages are
  // read and compared: after a FLUSHALL the Redis writes (the schedule script for every job)
  // are most of the work, and Redis should never wait for the client between two of them.
  std::optional<RepairPipeline> repairs;
  if (!dry_run) repairs.emplace(queue_, options_.reconcile_repairs_in_flight);
  auto finish_repairs = [&]() -> absl::Status {
    if (!repairs) return absl::OkStatus();
    absl::Status s = repairs->Drain();
    if (!s.ok()) out_of_step_ = true;
    return s;
  };
  const int page_rows = std::max(1, options_.reconcile_page);
  // 1. Every pending ledger row must have its job at its version and due time.
  std::string after;
  for (;;) {
    std::vector<PendingRef> page;
    auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
      auto rows = r.ListPending(after, page_rows);
      if (!rows.ok()) return rows.status();
      page = std::move(*rows);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    if (page.empty()) break;
    const std::string page_after = after;
    after = page.back().id;
    report.ledger_pending += static_cast<int64_t>(page.size());
    for (const PendingRef& p : page) seen_pending.insert(hash_id(p.id));
    std::vector<queue::CancelRequest> cancels;
    std::vector<queue::ScheduleRequest> schedules;
    auto jobs = FetchJobs(conn, queue_.keys(), page);
    if (!jobs.ok()) {
      if (!dry_run) out_of_step_ = true;
      (void)finish_repairs();
      return jobs.status();
    }
    // Suspects first; then the ledger is read again so a row changed meanwhile by a
    // concurrent call (whose own upsert follows its commit) is not "repaired" backwards.
    std::vector<size_t> suspects;
    for (size_t i = 0; i < page.size(); ++i) {
      const std::optional<JobView>& job = (*jobs)[i];
      if (!job || job->version != page[i].version ||
          (job->due_ms && *job->due_ms != page[i].due_us / 1000)) {
        suspects.push_back(i);
      }
    }
    std::unordered_map<std::string, PendingRef> current;
    if (!suspects.empty()) {
      // The page's id range read again: one index range, where looking up each suspect (all of
      // them after a FLUSHALL) was a search per row.
      auto reread = store_.Read([&](ReminderReader& r) -> absl::Status {
        auto rows = r.ListPendingRange(page_after, after);
        if (!rows.ok()) return rows.status();
        for (auto& row : *rows) current.emplace(row.id, std::move(row));
        return absl::OkStatus();
      });
      if (!reread.ok()) {
        (void)finish_repairs();
        return reread;
      }
    }
    for (size_t i : suspects) {
      const PendingRef& p = page[i];
      auto now_row = current.find(p.id);
      if (now_row == current.end() || now_row->second.version != p.version ||
          now_row->second.due_us != p.due_us) {
        continue;  // changed meanwhile: that change pushed (or will push) its own job
      }
      const std::optional<JobView>& job = (*jobs)[i];
      if (!job) {
        ++report.missing;
        note(DriftKind::kMissing, p.id, absl::StrCat("ledger version ", p.version));
      } else {
        const int64_t due_ms = p.due_us / 1000;
        ++report.stale;
        note(DriftKind::kStale, p.id,
             job->version != p.version
                 ? absl::StrCat("redis version ", job->version, ", ledger ", p.version)
                 : absl::StrCat("redis due ", job->due_ms.value_or(0), " ms, ledger ", due_ms,
                                " ms"));
        if (job->version >= p.version) cancels.push_back({p.id, job->version});
      }
      queue::ScheduleRequest req;
      req.job_id = p.id;
      req.version = p.version;
      req.due = absl::FromUnixMicros(p.due_us);
      if (p.send_by_us) req.deadline = absl::FromUnixMicros(*p.send_by_us);
      schedules.push_back(std::move(req));
    }
    if (repairs && (!cancels.empty() || !schedules.empty())) {
      if (auto s = repairs->Launch(std::move(cancels), std::move(schedules)); !s.ok()) {
        out_of_step_ = true;
        (void)finish_repairs();
        return s;
      }
    }
  }
  if (auto s = finish_repairs(); !s.ok()) return s;

  // 2. Every job in the due set must have a pending row.
  std::string cursor = "0";
  do {
    auto reply =
        conn.Command({"ZSCAN", queue_.keys().due(), cursor, "COUNT", absl::StrCat(kScanCount)});
    if (!reply.ok()) {
      if (!dry_run) out_of_step_ = true;
      return reply.status();
    }
    const redisReply* r = reply->get();
    if (auto s = queue::ExpectArray(r, 2); !s.ok()) return s;
    auto next = queue::ReplyString(r->element[0]);
    if (!next.ok()) return next.status();
    cursor = *next;
    const redisReply* items = r->element[1];
    std::vector<std::string> ids;
    for (size_t i = 0; i + 1 < items->elements; i += 2) {
      auto id = queue::ReplyString(items->element[i]);
      if (!id.ok()) return id.status();
      ids.push_back(std::move(*id));
    }
    report.redis_jobs += static_cast<int64_t>(ids.size());
    std::vector<std::string> unseen;
    for (auto& id : ids) {
      if (!seen_pending.contains(hash_id(id))) unseen.push_back(std::move(id));
    }
    if (unseen.empty()) continue;
    std::set<std::string> pending;
    auto st = store_.Read([&](ReminderReader& rd) -> absl::Status {
      auto rows = rd.FindPending(unseen);
      if (!rows.ok()) return rows.status();
      for (const auto& p : *rows) pending.insert(p.id);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    std::vector<queue::CancelRequest> orphans;
    for (const auto& id : unseen) {
      if (pending.count(id) != 0) continue;
      ++report.orphaned;
      note(DriftKind::kOrphaned, id, "no pending ledger row");
      orphans.push_back({id, queue::kMaxExactInteger});
    }
    if (!dry_run && !orphans.empty()) {
      auto c = queue_.Cancel(orphans);
      if (!c.ok()) {
        out_of_step_ = true;
        return c.status();
      }
    }
  } while (cursor != "0");

  if (!dry_run && push_failures_.load() == failures_at_start) out_of_step_ = false;
  report.duration = clock_() - report.start_time;
  spdlog::info("reconcile{}: {} pending, {} redis jobs, {} missing, {} stale, {} orphaned",
               dry_run ? " (dry run)" : "", report.ledger_pending, report.redis_jobs,
               report.missing, report.stale, report.orphaned);
  return report;
}

absl::StatusOr<LedgerQueueStats> ReminderLedger::QueueStats(absl::Duration window) {
  if (window == absl::ZeroDuration()) window = absl::Minutes(5);
  if (window < absl::Minutes(1) || window > absl::Hours(24)) {
    return InvalidField("window", "must be 1 minute - 24 hours");
  }
  LedgerQueueStats out;
  out.evaluate_time = clock_();
  auto redis = queue_.Stats();
  if (!redis.ok()) return redis.status();
  out.redis = *redis;
  {
    queue::RedisConnection conn(queue_.endpoint(), queue::RedisConnectionOptions());
    const std::string now_ms = absl::StrCat(redis->server_now_ms);
    auto count = conn.Command({"ZCOUNT", queue_.keys().due(), "-inf", now_ms});
    if (!count.ok()) return count.status();
    auto n = queue::ReplyInteger(count->get());
    if (!n.ok()) return n.status();
    out.due_backlog = *n;
    if (*n > 0 && redis->next_due_ms) out.oldest_backlog_due_ms = redis->next_due_ms;
  }
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto counts = r.CountByState();
    if (!counts.ok()) return counts.status();
    out.ledger = std::move(*counts);
    auto lateness = r.LatenessSince(Us(out.evaluate_time - window));
    if (!lateness.ok()) return lateness.status();
    out.lateness_us = std::move(*lateness);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace duban::reminders
