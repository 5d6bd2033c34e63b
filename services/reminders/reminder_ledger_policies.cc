// ReminderLedger: policies, plan defaults and schedule previews.
#include <set>

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/status.h"
#include "duban/validation.h"
#include "reminder_ledger.h"

namespace duban::reminders {
namespace {

constexpr int kReplanPage = 500;

const std::set<std::string>& MutablePolicyPaths() {
  static const std::set<std::string> kPaths = {
      "name",          "description", "before_deadline", "at_deadline", "before_milestones",
      "at_milestones", "overdue",     "escalation",      "send_window", "send_on_non_working_days",
      "catch_up",      "calendar"};
  return kPaths;
}

// Checks the fields a caller sets on a policy (id and name as on create when `create`).
void ValidateStoredPolicy(const StoredPolicy& p, bool create, bool name_required,
                          FieldViolations& v) {
  if (create && !p.policy.id.empty()) v.AddIfError("policy.id", ValidateId(p.policy.id));
  if (name_required || !p.policy.name.empty()) {
    v.AddIfError("policy.name", ValidateText(p.policy.name, 1, 100));
  }
  v.AddIfError("policy.description", ValidateText(p.description, 0, 2000, true));
  if (!p.calendar.empty() && p.calendar != "cn") {
    v.Add("policy.calendar", "unknown calendar (only \"cn\")");
  }
  ValidatePolicy(p.policy, "policy.", v);
}

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

}  // namespace

std::string PolicyEtag(const StoredPolicy& p) { return absl::StrCat(p.revision); }

absl::StatusOr<StoredPolicy> ReminderLedger::CreatePolicy(StoredPolicy p,
                                                          const std::string& request_id) {
  FieldViolations v;
  ValidateStoredPolicy(p, /*create=*/true, /*name_required=*/true, v);
  if (!request_id.empty()) v.AddIfError("request_id", ValidateRequestId(request_id));
  if (!v.empty()) return v.ToStatus();
  if (p.calendar.empty()) p.calendar = "cn";
  const bool generated = p.policy.id.empty();
  if (generated) p.policy.id = NewId("p");
  StoredPolicy out;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    if (!request_id.empty()) {
      auto prior = w.FindPolicyByRequestId(request_id);
      if (!prior.ok()) return prior.status();
      if (*prior) {
        if ((!generated && (*prior)->policy.id != p.policy.id) ||
            (*prior)->policy.name != p.policy.name) {
          return InvalidField("request_id", "was used for a different request");
        }
        out = std::move(**prior);
        return absl::OkStatus();
      }
    }
    auto taken = w.FindPolicy(p.policy.id);
    if (!taken.ok()) return taken.status();
    if (*taken) {
      return FieldError(absl::StatusCode::kAlreadyExists, "policy.id", "policy id is taken");
    }
    p.built_in = false;
    p.revision = 1;
    p.create_us = p.update_us = Us(clock_());
    p.request_id = request_id;
    if (auto s = w.UpsertPolicy(p); !s.ok()) return s;
    out = p;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<StoredPolicy> ReminderLedger::GetPolicy(const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  StoredPolicy out;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto p = r.FindPolicy(id);
    if (!p.ok()) return p.status();
    if (!*p) return FieldError(absl::StatusCode::kNotFound, "id", "no such policy");
    out = std::move(**p);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<PolicyPage> ReminderLedger::ListPolicies(int32_t page_size,
                                                        const std::string& page_token) {
  auto size = EffectivePageSize(page_size);
  if (!size.ok()) return size.status();
  const uint64_t fp = FilterFingerprint("policies");
  auto after = DecodePageToken(page_token, fp);
  if (!after.ok()) return after.status();
  PolicyPage page;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto rows = r.ListPolicies(*after, *size + 1);
    if (!rows.ok()) return rows.status();
    page.policies = std::move(*rows);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  if (page.policies.size() > static_cast<size_t>(*size)) {
    page.policies.resize(*size);
    page.next_page_token = EncodePageToken(fp, page.policies.back().policy.id);
  }
  return page;
}

absl::Status ReminderLedger::ReplanOpen(ReminderWriter& w, const OpenAssignmentQuery& q,
                                        const std::string& policy_id, absl::Time now,
                                        QueueOps& ops) {
  std::string after;
  PolicyCache policies;
  for (;;) {
    auto page = w.OpenAssignments(q, after, kReplanPage);
    if (!page.ok()) return page.status();
    if (page->empty()) return absl::OkStatus();
    after = page->back().id;
    for (const AssignmentMirror& a : *page) {
      auto policy = ResolvePolicy(w, a, policies);
      if (!policy.ok()) return policy.status();
      if (!policy_id.empty() && policy->first.policy.id != policy_id) continue;
      ApplyResult ignored;
      if (auto s = Replan(w, a, policy->first, now, ops, ignored); !s.ok()) return s;
    }
  }
}

absl::StatusOr<StoredPolicy> ReminderLedger::UpdatePolicy(const StoredPolicy& in,
                                                          const std::vector<std::string>& mask,
                                                          const std::string& etag) {
  FieldViolations v;
  v.AddIfError("policy.id", ValidateId(in.policy.id));
  if (mask.empty()) v.Add("update_mask", "required: the fields to change");
  for (const auto& path : mask) {
    if (MutablePolicyPaths().count(path) == 0) {
      v.Add("update_mask", absl::StrCat("unknown or immutable path \"", path, "\""));
    }
  }
  if (!v.empty()) return v.ToStatus();
  const absl::Time now = clock_();
  StoredPolicy out;
  QueueOps ops;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    ops.ops.clear();
    auto found = w.FindPolicy(in.policy.id);
    if (!found.ok()) return found.status();
    if (!*found) return FieldError(absl::StatusCode::kNotFound, "policy.id", "no such policy");
    StoredPolicy p = std::move(**found);
    if (!etag.empty() && etag != PolicyEtag(p)) {
      return FieldError(absl::StatusCode::kAborted, "etag", "the policy changed; read it again");
    }
    for (const auto& path : mask) {
      if (path == "name") p.policy.name = in.policy.name;
      if (path == "description") p.description = in.description;
      if (path == "before_deadline") p.policy.before_deadline = in.policy.before_deadline;
      if (path == "at_deadline") p.policy.at_deadline = in.policy.at_deadline;
      if (path == "before_milestones") p.policy.before_milestones = in.policy.before_milestones;
      if (path == "at_milestones") p.policy.at_milestones = in.policy.at_milestones;
      if (path == "overdue") p.policy.overdue = in.policy.overdue;
      if (path == "escalation") p.policy.escalation = in.policy.escalation;
      if (path == "send_window") {
        p.policy.window_start = in.policy.window_start;
        p.policy.window_end = in.policy.window_end;
      }
      if (path == "send_on_non_working_days") {
        p.policy.send_on_non_working_days = in.policy.send_on_non_working_days;
      }
      if (path == "catch_up") {
        p.policy.catch_up = in.policy.catch_up;
        p.policy.catch_up_grace = in.policy.catch_up_grace;
      }
      if (path == "calendar") p.calendar = in.calendar.empty() ? "cn" : in.calendar;
    }
    FieldViolations pv;
    ValidateStoredPolicy(p, /*create=*/false, /*name_required=*/true, pv);
    if (!pv.empty()) return pv.ToStatus();
    p.revision += 1;
    p.update_us = Us(now);
    if (auto s = w.UpsertPolicy(p); !s.ok()) return s;
    // Re-plan its users: own policy, plans defaulting to it, and (for the built-in) the rest.
    OpenAssignmentQuery own;
    own.policy_id = p.policy.id;
    if (auto s = ReplanOpen(w, own, p.policy.id, now, ops); !s.ok()) return s;
    if (p.policy.id == kDefaultPolicyId) {
      if (auto s = ReplanOpen(w, OpenAssignmentQuery(), p.policy.id, now, ops); !s.ok()) {
        return s;
      }
    } else {
      auto plans = w.PlansDefaultingTo(p.policy.id);
      if (!plans.ok()) return plans.status();
      for (const auto& plan : *plans) {
        OpenAssignmentQuery q;
        q.plan_id = plan;
        if (auto s = ReplanOpen(w, q, p.policy.id, now, ops); !s.ok()) return s;
      }
    }
    out = std::move(p);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  Push(ops);
  return out;
}

absl::Status ReminderLedger::DeletePolicy(const std::string& id, const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  return store_.Write([&](ReminderWriter& w) -> absl::Status {
    auto found = w.FindPolicy(id);
    if (!found.ok()) return found.status();
    if (!*found) return FieldError(absl::StatusCode::kNotFound, "id", "no such policy");
    if ((*found)->built_in) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "id",
                        "the built-in policy cannot be deleted");
    }
    if (!etag.empty() && etag != PolicyEtag(**found)) {
      return FieldError(absl::StatusCode::kAborted, "etag", "the policy changed; read it again");
    }
    auto plans = w.CountPlanDefaultsUsing(id);
    if (!plans.ok()) return plans.status();
    auto open = w.CountOpenAssignmentsUsing(id);
    if (!open.ok()) return open.status();
    if (*plans > 0 || *open > 0) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "id",
                        absl::StrCat("in use by ", *plans, " plan default(s) and ", *open,
                                     " open assignment(s)"));
    }
    return w.DeletePolicy(id);
  });
}

absl::StatusOr<PlanDefault> ReminderLedger::SetPlanDefaultPolicy(const PlanDefault& d) {
  FieldViolations v;
  v.AddIfError("plan_id", ValidateId(d.plan_id));
  if (!d.policy_id.empty()) v.AddIfError("policy_id", ValidateId(d.policy_id));
  if (d.plan_version < 1) v.Add("plan_version", "must be >= 1");
  if (!v.empty()) return v.ToStatus();
  const absl::Time now = clock_();
  PlanDefault out;
  QueueOps ops;
  auto st = store_.Write([&](ReminderWriter& w) -> absl::Status {
    ops.ops.clear();
    auto prior = w.FindPlanDefault(d.plan_id);
    if (!prior.ok()) return prior.status();
    if (*prior && (*prior)->plan_version >= d.plan_version) {
      out = **prior;  // an older or equal version changes nothing
      return absl::OkStatus();
    }
    if (!d.policy_id.empty()) {
      auto p = w.FindPolicy(d.policy_id);
      if (!p.ok()) return p.status();
      if (!*p) return FieldError(absl::StatusCode::kNotFound, "policy_id", "no such policy");
    }
    out = d;
    out.update_us = Us(now);
    if (auto s = w.UpsertPlanDefault(out); !s.ok()) return s;
    OpenAssignmentQuery q;
    q.plan_id = d.plan_id;
    return ReplanOpen(w, q, "", now, ops);
  });
  if (!st.ok()) return st;
  Push(ops);
  return out;
}

absl::StatusOr<PlanDefault> ReminderLedger::GetPlanDefaultPolicy(const std::string& plan_id) {
  if (auto s = ValidateId(plan_id); !s.ok()) {
    return InvalidField("plan_id", std::string(s.message()));
  }
  PlanDefault out;
  auto st = store_.Read([&](ReminderReader& r) -> absl::Status {
    auto d = r.FindPlanDefault(plan_id);
    if (!d.ok()) return d.status();
    if (!*d) {
      return FieldError(absl::StatusCode::kNotFound, "plan_id", "no default set for the plan");
    }
    out = **d;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

absl::StatusOr<PreviewResult> ReminderLedger::PreviewSchedule(const PreviewRequest& req) {
  FieldViolations v;
  if (req.policy_id.empty() == !req.policy.has_value()) {
    v.Add("policy_id", "exactly one of policy_id and policy is required");
  }
  if (!req.policy_id.empty()) v.AddIfError("policy_id", ValidateId(req.policy_id));
  if (req.policy) ValidateStoredPolicy(*req.policy, true, /*name_required=*/false, v);
  const AssignmentMirror& a = req.assignment;
  v.AddIfError("assignment.unit_id", ValidateId(a.unit_id));
  int state = static_cast<int>(a.state);
  if (state < 1 || state > 7) v.Add("assignment.state", "required: an assignment state");
  if (!req.has_deadline) v.Add("assignment.deadline_time", "required");
  if (!v.empty()) return v.ToStatus();

  StoredPolicy policy;
  if (req.policy) {
    policy = *req.policy;
  } else {
    auto found = GetPolicy(req.policy_id);
    if (!found.ok()) {
      if (found.status().code() == absl::StatusCode::kNotFound) {
        return FieldError(absl::StatusCode::kNotFound, "policy_id", "no such policy");
      }
      return found.status();
    }
    policy = std::move(*found);
  }
  auto units = units_.BatchGetUnits({a.unit_id});
  if (!units.ok()) return units.status();
  if (units->empty()) {
    return InvalidField("assignment.unit_id", "no such unit in the unit service");
  }
  PreviewResult out;
  out.timezone =
      units->front().timezone.empty() ? options_.fallback_timezone : units->front().timezone;
  auto tz = Zone(out.timezone);
  if (!tz.ok()) return tz.status();
  const absl::Time now = req.now.value_or(clock_());
  AssignmentSnapshot snap;
  snap.assignment_id = a.id;
  snap.version = a.version;
  snap.state = a.state;
  snap.create_time = a.create_us ? absl::FromUnixMicros(a.create_us) : now;
  snap.deadline = absl::FromUnixMicros(a.deadline_us);
  snap.milestones = a.milestones;
  snap.change_time = a.change_us ? absl::FromUnixMicros(a.change_us) : now;
  auto plan = planner_.PlanAssignment(policy.policy, snap, *tz, now);
  if (!plan.ok()) return plan.status();
  out.provisional = plan->provisional;
  for (const PlannedReminder& p : plan->reminders) {
    ReminderRow row;
    row.kind = p.kind;
    row.state = p.suppression == Suppression::kNone ? ReminderState::kScheduled
                                                    : ReminderState::kSuppressed;
    row.suppression = static_cast<SuppressionReason>(static_cast<int>(p.suppression));
    row.detail = p.detail;
    row.assignment_id = a.id;
    row.plan_id = a.plan_id;
    row.task_id = a.task_id;
    row.unit_id = a.unit_id;
    row.milestone_id = p.milestone_id;
    row.escalation_level = p.escalation_level;
    row.escalation_trigger = p.escalation_trigger;
    row.policy_id = policy.policy.id;
    row.planned_us = Us(p.planned_time);
    row.rule_us = Us(p.rule_time);
    if (p.send_by) row.send_by_us = Us(*p.send_by);
    row.version = 0;
    row.provisional = p.provisional;
    out.reminders.push_back(std::move(row));
  }
  return out;
}

}  // namespace duban::reminders
