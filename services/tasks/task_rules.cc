#include "task_rules.h"

#include <algorithm>
#include <atomic>
#include <random>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "duban/page_token.h"
#include "duban/validation.h"
#include "task_directory.h"

namespace duban::tasks::rules {

absl::Status NotFound(std::string field, absl::string_view what, absl::string_view id) {
  return FieldError(absl::StatusCode::kNotFound, std::move(field),
                    absl::StrCat(what, " \"", id, "\" not found"));
}

absl::Status Precondition(std::string field, std::string description) {
  return FieldError(absl::StatusCode::kFailedPrecondition, std::move(field),
                    std::move(description));
}

absl::Status CheckEtag(const std::string& given, int64_t revision) {
  if (!given.empty() && given != EtagOf(revision)) {
    return FieldError(absl::StatusCode::kAborted, "etag",
                      "does not match: the resource changed since it was read");
  }
  return absl::OkStatus();
}

void CheckActor(const Actor& actor, const std::string& field, bool required, FieldViolations& v) {
  if (actor.id.empty() && actor.name.empty() && actor.unit_id.empty() && !required) return;
  v.AddIfError(field + ".id", ValidateText(actor.id, 1, kMaxActorIdChars));
  if (!actor.name.empty()) {
    v.AddIfError(field + ".name", ValidateText(actor.name, 1, kMaxActorNameChars));
  }
  if (!actor.unit_id.empty()) v.AddIfError(field + ".unit_id", ValidateId(actor.unit_id));
}

void CheckRequestId(const std::string& request_id, FieldViolations& v) {
  if (!request_id.empty()) v.AddIfError("request_id", ValidateRequestId(request_id));
}

void CheckOptionalId(const std::string& id, const std::string& field, FieldViolations& v) {
  if (!id.empty()) v.AddIfError(field, ValidateId(id));
}

void CheckRequiredId(const std::string& id, const std::string& field, FieldViolations& v) {
  if (id.empty()) {
    v.Add(field, "is required");
  } else {
    v.AddIfError(field, ValidateId(id));
  }
}

void CheckTitle(const std::string& s, const std::string& field, FieldViolations& v) {
  v.AddIfError(field, ValidateText(s, 1, kMaxTitleChars));
}

void CheckLongText(const std::string& s, size_t max_chars, const std::string& field,
                   FieldViolations& v) {
  if (!s.empty()) v.AddIfError(field, ValidateText(s, 0, max_chars, /*allow_newlines=*/true));
}

void CheckTags(std::vector<std::string>& tags, const std::string& field, FieldViolations& v) {
  if (tags.size() > kMaxTags) {
    v.Add(field, absl::StrCat("at most ", kMaxTags, " tags"));
    return;
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    v.AddIfError(absl::StrCat(field, "[", i, "]"), ValidateText(tags[i], 1, kMaxTagChars));
  }
  std::sort(tags.begin(), tags.end());
  if (std::adjacent_find(tags.begin(), tags.end()) != tags.end()) {
    v.Add(field, "must not contain duplicates");
  }
}

std::string NewSortableId(absl::string_view prefix) {
  static std::atomic<uint32_t> sequence{0};
  thread_local std::mt19937 rng(std::random_device{}());
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  const uint32_t seq = sequence.fetch_add(1, std::memory_order_relaxed);
  const uint32_t noise = rng() & 0xffff;
  return absl::StrCat(prefix, "-", absl::Hex(now, absl::kZeroPad14),
                      absl::Hex(seq, absl::kZeroPad8), absl::Hex(noise, absl::kZeroPad4));
}

std::string Fingerprint(absl::string_view canonical) {
  return absl::StrCat(absl::Hex(FilterFingerprint(canonical), absl::kZeroPad16));
}

absl::StatusOr<std::optional<std::string>> Replay(TaskReader& tx, const std::string& request_id,
                                                  const std::string& method,
                                                  const std::string& fingerprint) {
  if (request_id.empty()) return std::optional<std::string>();
  auto prior = tx.FindRequest(request_id);
  if (!prior.ok()) return prior.status();
  if (!*prior) return std::optional<std::string>();
  if ((*prior)->method != method || (*prior)->fingerprint != fingerprint) {
    return InvalidField("request_id", "was already used for a different request");
  }
  return std::optional<std::string>((*prior)->resource_id);
}

absl::Status Remember(TaskWriter& tx, const std::string& request_id, const std::string& method,
                      const std::string& fingerprint, const std::string& resource_id,
                      int64_t now_us) {
  if (request_id.empty()) return absl::OkStatus();
  return tx.InsertRequest({request_id, method, fingerprint, resource_id}, now_us);
}

AssignmentSnapshot SnapshotOf(const Assignment& a, const Task& task, int64_t change_us) {
  AssignmentSnapshot s;
  s.assignment_id = a.id;
  s.version = a.version;
  s.plan_id = a.plan_id;
  s.task_id = a.task_id;
  s.task_path = task.path;
  s.unit_id = a.unit_id;
  s.role = a.role;
  s.state = a.state;
  s.policy_id = task.reminder_policy_id;
  s.create_us = a.create_us;
  s.acknowledge_us = a.acknowledge_us;
  s.deadline_us = a.deadline_us;
  for (const auto& m : task.milestones) s.milestones.push_back({m.id, m.title, m.due_us});
  // The last report, submission or closure.
  std::optional<int64_t> last;
  for (const auto& t : {a.last_report_us, a.submit_us, a.done_us}) {
    if (t && (!last || *t > *last)) last = t;
  }
  s.last_report_us = last;
  s.change_us = change_us;
  return s;
}

TaskState DeriveTaskState(const StateCounts& counts, bool canceled) {
  if (canceled) return TaskState::kCanceled;
  if (counts.open() > 0) return TaskState::kOpen;
  if (counts[AssignmentState::kDone] > 0) return TaskState::kClosed;
  return TaskState::kCanceled;
}

absl::Status Mutation::Audit(AuditEvent e) {
  if (e.actor.id.empty()) e.actor = actor_;
  if (e.time_us == 0) e.time_us = now_;
  auto seq = tx_.InsertAuditEvent(e);
  return seq.ok() ? absl::OkStatus() : seq.status();
}

absl::Status Mutation::CreateAssignment(Assignment& a, const Task& task, const std::string& note) {
  a.version = 1;
  a.revision = 1;
  a.update_us = now_;
  a.task_path = task.path;
  a.plan_points = PlanPointsText(task.milestones);
  if (auto s = tx_.InsertAssignment(a); !s.ok()) return s;
  AuditEvent e;
  e.kind = AuditEventKind::kCreated;
  e.plan_id = a.plan_id;
  e.task_id = a.task_id;
  e.assignment_id = a.id;
  e.unit_id = a.unit_id;
  e.to_state = a.state;
  e.new_deadline_us = a.deadline_us;
  e.note = note;
  e.summary = absl::StrCat("assigned to ", a.unit_id, " as ",
                           a.role == AssignmentRole::kLead ? "LEAD" : "COOPERATE");
  if (auto s = Audit(std::move(e)); !s.ok()) return s;
  OutboxMessage m;
  m.kind = OutboxKind::kScheduleAssignment;
  m.snapshot = SnapshotOf(a, task, now_);
  m.create_us = now_;
  wrote_outbox_ = true;
  return tx_.AppendOutbox(m);
}

absl::Status Mutation::SaveAssignment(Assignment& a, const Task& task, bool tell_reminders) {
  a.revision += 1;
  a.update_us = now_;
  a.task_path = task.path;
  a.plan_points = PlanPointsText(task.milestones);
  if (tell_reminders) a.version += 1;
  if (auto s = tx_.UpdateAssignment(a); !s.ok()) return s;
  if (!tell_reminders) return absl::OkStatus();
  OutboxMessage m;
  m.kind = IsOpen(a.state) ? OutboxKind::kScheduleAssignment : OutboxKind::kCancelAssignment;
  m.snapshot = SnapshotOf(a, task, now_);
  m.create_us = now_;
  wrote_outbox_ = true;
  return tx_.AppendOutbox(m);
}

absl::Status Mutation::ChangeState(Assignment& a, AssignmentState to, const std::string& note) {
  AuditEvent e;
  e.kind = AuditEventKind::kStateChanged;
  e.plan_id = a.plan_id;
  e.task_id = a.task_id;
  e.assignment_id = a.id;
  e.unit_id = a.unit_id;
  e.from_state = a.state;
  e.to_state = to;
  e.note = note;
  e.summary = absl::StrCat(StateName(a.state), " → ", StateName(to));
  a.state = to;
  a.state_us = now_;
  return Audit(std::move(e));
}

absl::Status Mutation::WithdrawPendingExtension(Assignment& a, const std::string& why) {
  if (a.pending_extension_id.empty()) return absl::OkStatus();
  auto ext = tx_.FindExtension(a.pending_extension_id);
  if (!ext.ok()) return ext.status();
  a.pending_extension_id.clear();
  if (!*ext || (*ext)->state != ExtensionState::kPending) return absl::OkStatus();
  ExtensionRequest e = **ext;
  e.state = ExtensionState::kWithdrawn;
  e.decide_us = now_;
  e.decision_note = why;
  e.revision += 1;
  if (auto s = tx_.UpdateExtension(e); !s.ok()) return s;
  AuditEvent ev;
  ev.kind = AuditEventKind::kExtensionWithdrawn;
  ev.plan_id = a.plan_id;
  ev.task_id = a.task_id;
  ev.assignment_id = a.id;
  ev.unit_id = a.unit_id;
  ev.old_deadline_us = a.deadline_us;
  ev.new_deadline_us = a.deadline_us;
  ev.summary = absl::StrCat("extension request ", e.id, " withdrawn: ", why);
  return Audit(std::move(ev));
}

absl::Status Mutation::CancelAssignment(Assignment& a, const Task& task,
                                        const std::string& reason) {
  if (auto s = WithdrawPendingExtension(a, "assignment canceled"); !s.ok()) return s;
  if (auto s = ChangeState(a, AssignmentState::kCanceled, reason); !s.ok()) return s;
  return SaveAssignment(a, task, /*tell_reminders=*/true);
}

absl::Status Mutation::RefreshTaskState(Task& task) {
  auto counts = tx_.TaskStateCounts(task.id);
  if (!counts.ok()) return counts.status();
  TaskState next = DeriveTaskState(*counts, task.canceled);
  if (next == task.state) return absl::OkStatus();
  task.state = next;
  task.revision += 1;
  task.update_us = now_;
  return tx_.UpdateTask(task);
}

absl::Status Mutation::AppendPlanPolicy(const Plan& plan) {
  OutboxMessage m;
  m.kind = OutboxKind::kPlanDefaultPolicy;
  m.plan_id = plan.id;
  m.policy_id = plan.default_reminder_policy_id;
  m.plan_version = plan.policy_version;
  m.create_us = now_;
  wrote_outbox_ = true;
  return tx_.AppendOutbox(m);
}

bool ValidPriority(Priority p) {
  int n = static_cast<int>(p);
  return n >= 0 && n <= 4;
}

// Shape checks of a milestone list (before resolution).
void CheckMilestones(const std::vector<Milestone>& ms, const std::string& field,
                     FieldViolations& v) {
  if (ms.size() > static_cast<size_t>(kMaxMilestones)) {
    v.Add(field, absl::StrCat("at most ", kMaxMilestones, " milestones"));
    return;
  }
  bool any_zero = false;
  bool any_set = false;
  for (size_t i = 0; i < ms.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    CheckTitle(ms[i].title, f + ".title", v);
    DeadlineResolver::Check(ms[i].due, f + ".due", /*required=*/true, v);
    if (ms[i].planned_percent < 0 || ms[i].planned_percent > 100) {
      v.Add(f + ".planned_percent", "must be 0-100");
    }
    (ms[i].planned_percent == 0 ? any_zero : any_set) = true;
  }
  if (any_zero && any_set) {
    v.Add(field, "planned_percent must be set on every milestone or on none");
  } else if (any_set) {
    for (size_t i = 1; i < ms.size(); ++i) {
      if (ms[i].planned_percent <= ms[i - 1].planned_percent) {
        v.Add(absl::StrCat(field, "[", i, "].planned_percent"), "must increase along the list");
      }
    }
  }
}

// Numbers of "m<N>" ids.
static int MilestoneNumber(const std::string& id) {
  int n = 0;
  if (id.size() > 1 && id[0] == 'm' && absl::SimpleAtoi(id.substr(1), &n)) return n;
  return 0;
}

// Gives milestones their ids: kept where position and title match the old list, else new.
void AssignMilestoneIds(std::vector<Milestone>& next, const std::vector<Milestone>& old) {
  int max_n = 0;
  for (const auto& m : old) max_n = std::max(max_n, MilestoneNumber(m.id));
  for (size_t i = 0; i < next.size(); ++i) {
    if (i < old.size() && old[i].title == next[i].title && !old[i].id.empty()) {
      next[i].id = old[i].id;
    } else {
      next[i].id = absl::StrCat("m", ++max_n);
    }
  }
}

// The deadline rules of a child against its parent: not later than the parent's deadline, and
// not earlier than it by more than the plan's margin (in the child's lead unit's zone).
absl::Status CheckChildDeadline(const DeadlineResolver& resolver, const Plan& plan,
                                const Task& parent, int64_t child_us, const std::string& tz,
                                const std::string& field) {
  if (child_us > parent.deadline_us) {
    return Precondition(field, "is later than the parent task's deadline");
  }
  auto earliest =
      resolver.WorkingDaysBefore(parent.deadline_us, tz, plan.cascade_margin_working_days);
  if (!earliest.ok()) return InvalidField(field, "is out of the calendar's range");
  if (child_us < *earliest) {
    int64_t days = resolver.WorkingDaysBetween(child_us, parent.deadline_us, tz);
    return Precondition(field, absl::StrCat("is ", days,
                                            " working days before the parent task's deadline; the "
                                            "plan allows ",
                                            plan.cascade_margin_working_days));
  }
  return absl::OkStatus();
}

// Resolves a checked milestone list in `tz`; each must be due in order and not after
// `deadline_us`.
absl::Status ResolveMilestones(const DeadlineResolver& resolver, std::vector<Milestone>& ms,
                               const std::string& tz, int64_t now_us, int64_t deadline_us,
                               const std::string& field) {
  FieldViolations v;
  for (size_t i = 0; i < ms.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "].due");
    auto r = resolver.Resolve(ms[i].due, tz, now_us, f);
    if (!r.ok()) return r.status();
    ms[i].due = r->filled;
    ms[i].due_us = r->time_us;
    ms[i].provisional = r->provisional;
    if (ms[i].due_us > deadline_us) {
      v.Add(f, "must not be later than the task's deadline");
    } else if (i > 0 && ms[i].due_us < ms[i - 1].due_us) {
      v.Add(f, "must not be earlier than the previous milestone");
    }
  }
  return v.ToStatus();
}

BudgetTable::BudgetTable(const std::vector<AssignmentBudget>& budgets) {
  for (const auto& b : budgets) {
    if (!b.unit_id.empty()) {
      by_unit_[b.unit_id] = b.max_open_assignments;
    } else if (b.unit_kind != UnitKind::kUnspecified) {
      by_kind_[static_cast<int>(b.unit_kind)] = b.max_open_assignments;
    } else {
      default_ = b.max_open_assignments;
    }
  }
  empty_ = budgets.empty();
}

int64_t BudgetTable::For(const std::string& unit_id, UnitKind kind) const {
  if (auto it = by_unit_.find(unit_id); it != by_unit_.end()) return it->second;
  if (auto it = by_kind_.find(static_cast<int>(kind)); it != by_kind_.end()) return it->second;
  return default_;
}

}  // namespace duban::tasks::rules
