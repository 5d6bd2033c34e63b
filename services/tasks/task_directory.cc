// TaskDirectory: shared plumbing (unit and policy checks, views, lights) and plans.
#include "task_directory.h"

#include <algorithm>

#include <absl/container/flat_hash_set.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/time_util.h"
#include "duban/validation.h"
#include "task_rules.h"

namespace duban::tasks {

using namespace rules;  // NOLINT(build/namespaces): internal helpers of this service

TaskDirectory::TaskDirectory(TaskStore& store, UnitClient& units, PolicyClient* policies,
                             const calendar::WorkingCalendar& calendar, Clock clock,
                             TaskDirectoryOptions options)
    : store_(store),
      units_(units),
      policies_(policies),
      resolver_(calendar),
      clock_(std::move(clock)),
      lights_(options.lights) {}

int64_t TaskDirectory::NowMicros() const { return ToMicros(clock_()); }

absl::Status TaskDirectory::WriteAndNotify(
    const std::function<absl::Status(TaskWriter&, bool&)>& fn) {
  bool wrote_outbox = false;
  absl::Status status = store_.Write([&](TaskWriter& tx) { return fn(tx, wrote_outbox); });
  if (status.ok() && wrote_outbox && outbox_listener_) outbox_listener_();
  return status;
}

absl::StatusOr<absl::flat_hash_map<std::string, UnitInfo>> TaskDirectory::CheckUnits(
    const std::vector<UnitRef>& refs) {
  absl::flat_hash_map<std::string, UnitInfo> by_id;
  if (refs.empty()) return by_id;
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> seen;
  for (const auto& r : refs) {
    if (seen.insert(r.unit_id).second) ids.push_back(r.unit_id);
  }
  auto found = units_.BatchGetUnits(ids);
  if (!found.ok()) return found.status();
  for (auto& u : *found) by_id.emplace(u.id, std::move(u));
  FieldViolations v;
  for (const auto& r : refs) {
    auto it = by_id.find(r.unit_id);
    if (it == by_id.end()) {
      v.Add(r.field, absl::StrCat("unit \"", r.unit_id, "\" not found"));
    } else if (it->second.archived) {
      v.Add(r.field, absl::StrCat("unit \"", r.unit_id, "\" is archived"));
    }
  }
  if (!v.empty()) return v.ToStatus();
  return by_id;
}

absl::Status TaskDirectory::CheckPolicy(const std::string& field, const std::string& policy_id) {
  if (policy_id.empty() || policies_ == nullptr) return absl::OkStatus();
  auto exists = policies_->PolicyExists(policy_id);
  if (!exists.ok()) return exists.status();
  if (!*exists) {
    return InvalidField(field, absl::StrCat("reminder policy \"", policy_id, "\" not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> TaskDirectory::SubtreeUnitIds(const std::string& root_id,
                                                                       const std::string& field) {
  std::vector<std::string> ids;
  absl::Status s = units_.ListSubtree(root_id, {}, "", [&](std::vector<UnitInfo>& page) {
    for (auto& u : page) ids.push_back(std::move(u.id));
    return absl::OkStatus();
  });
  if (s.code() == absl::StatusCode::kNotFound) return NotFound(field, "unit", root_id);
  if (!s.ok()) return s;
  return ids;
}

absl::Status TaskDirectory::UnitScope(const std::string& unit_id, const std::string& subtree_of,
                                      bool& has_units, std::vector<std::string>& unit_ids) {
  if (!subtree_of.empty()) {
    auto ids = SubtreeUnitIds(subtree_of, "unit_subtree_of");
    if (!ids.ok()) return ids.status();
    has_units = true;
    if (unit_id.empty()) {
      unit_ids = std::move(*ids);
    } else if (std::find(ids->begin(), ids->end(), unit_id) != ids->end()) {
      unit_ids = {unit_id};
    }
  } else if (!unit_id.empty()) {
    has_units = true;
    unit_ids = {unit_id};
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AssignmentView>> TaskDirectory::BuildViews(
    TaskReader& tx, std::vector<Assignment> assignments, int64_t now_us) {
  std::vector<std::string> task_ids;
  std::vector<std::string> plan_ids;
  absl::flat_hash_set<std::string> seen_tasks;
  absl::flat_hash_set<std::string> seen_plans;
  for (const auto& a : assignments) {
    if (seen_tasks.insert(a.task_id).second) task_ids.push_back(a.task_id);
    if (seen_plans.insert(a.plan_id).second) plan_ids.push_back(a.plan_id);
  }
  auto tasks = tx.FindTasks(task_ids);
  if (!tasks.ok()) return tasks.status();
  auto plans = tx.FindPlans(plan_ids);
  if (!plans.ok()) return plans.status();
  absl::flat_hash_map<std::string, const Task*> task_by_id;
  for (const auto& t : *tasks) task_by_id[t.id] = &t;
  absl::flat_hash_map<std::string, const Plan*> plan_by_id;
  for (const auto& p : *plans) plan_by_id[p.id] = &p;
  absl::flat_hash_map<std::string, std::vector<PlannedPoint>> points;
  for (const auto& t : *tasks) points[t.id] = TrafficLightRules::PointsOf(t.milestones);

  std::vector<AssignmentView> out;
  out.reserve(assignments.size());
  for (auto& a : assignments) {
    AssignmentView v;
    auto t = task_by_id.find(a.task_id);
    auto p = plan_by_id.find(a.plan_id);
    v.effective_policy_id = a.reminder_policy_id;
    if (v.effective_policy_id.empty() && p != plan_by_id.end()) {
      v.effective_policy_id = p->second->default_reminder_policy_id;
    }
    v.overdue = a.OverdueAt(now_us);
    LightInput in;
    in.state = a.state;
    in.create_us = a.create_us;
    in.deadline_us = a.deadline_us;
    if (t != task_by_id.end()) in.milestones = points[a.task_id];
    in.reported_percent = a.last_percent;
    in.now_us = now_us;
    if (IsOpen(a.state) && now_us > a.deadline_us) {
      in.overdue_working_days =
          resolver_.WorkingDaysBetween(a.deadline_us, now_us, a.unit_timezone);
    }
    v.light = lights_.Evaluate(in);
    if (!a.last_report_id.empty()) {
      auto r = tx.FindProgressReport(a.last_report_id);
      if (!r.ok()) return r.status();
      v.last_report = std::move(*r);
    }
    v.assignment = std::move(a);
    out.push_back(std::move(v));
  }
  return out;
}

absl::Status TaskDirectory::FillSummaries(TaskReader& tx, std::vector<Task>& tasks) {
  if (tasks.empty()) return absl::OkStatus();
  std::vector<std::string> ids;
  for (const auto& t : tasks) ids.push_back(t.id);
  auto rows = tx.AssignmentSummaries(ids);
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<std::string, Task*> by_id;
  for (auto& t : tasks) {
    t.assignments.clear();
    by_id[t.id] = &t;
  }
  for (auto& [task_id, summary] : *rows) {
    auto it = by_id.find(task_id);
    if (it != by_id.end()) it->second->assignments.push_back(std::move(summary));
  }
  // LEAD first (the current lead before replaced ones), then COOPERATE in the order of
  // cooperating_unit_ids, then units no longer cooperating.
  for (auto& t : tasks) {
    auto rank = [&t](const AssignmentSummary& s) -> std::pair<int, int> {
      if (s.role == AssignmentRole::kLead) {
        return {0, s.unit_id == t.lead_unit_id && s.state != AssignmentState::kCanceled ? 0 : 1};
      }
      auto it = std::find(t.cooperating_unit_ids.begin(), t.cooperating_unit_ids.end(), s.unit_id);
      if (it == t.cooperating_unit_ids.end()) return {2, 0};
      return {1, static_cast<int>(it - t.cooperating_unit_ids.begin())};
    };
    std::stable_sort(
        t.assignments.begin(), t.assignments.end(),
        [&](const AssignmentSummary& a, const AssignmentSummary& b) { return rank(a) < rank(b); });
  }
  return absl::OkStatus();
}

absl::StatusOr<ResolveResult> TaskDirectory::ResolveDeadline(const DeadlineSpec& spec,
                                                             const std::string& unit_id) {
  FieldViolations v;
  DeadlineResolver::Check(spec, "deadline", /*required=*/true, v);
  CheckOptionalId(unit_id, "unit_id", v);
  if (!v.empty()) return v.ToStatus();
  std::string tz;
  if (!unit_id.empty()) {
    auto units = CheckUnits({{"unit_id", unit_id}});
    if (!units.ok()) return units.status();
    tz = units->at(unit_id).timezone;
  }
  auto r = resolver_.Resolve(spec, tz, NowMicros(), "deadline");
  if (!r.ok()) return r.status();
  return ResolveResult{r->time_us, r->provisional, resolver_.calendar().version()};
}

// ============================================================================================
// Plans
// ============================================================================================

namespace {

void CheckPlanDates(const Plan& p, FieldViolations& v) {
  bool start_ok = IsValidDate(p.start_date);
  bool end_ok = IsValidDate(p.end_date);
  if (!start_ok) v.Add("plan.start_date", "must be a valid date with year 1970-9999");
  if (!end_ok) v.Add("plan.end_date", "must be a valid date with year 1970-9999");
  if (start_ok && end_ok && DateText(p.end_date) < DateText(p.start_date)) {
    v.Add("plan.end_date", "must not be before start_date");
  }
}

void CheckMargin(int margin, FieldViolations& v) {
  if (margin < 0 || margin > kMaxMarginWorkingDays) {
    v.Add("plan.cascade_margin_working_days", absl::StrCat("must be 0-", kMaxMarginWorkingDays));
  }
}

std::string PlanFingerprint(const Plan& p) {
  return Fingerprint(absl::StrCat(p.id, "|", p.title, "|", p.description, "|", p.owner_unit_id, "|",
                                  DateText(p.start_date), "|", DateText(p.end_date), "|",
                                  p.cascade_margin_working_days, "|",
                                  p.default_reminder_policy_id));
}

}  // namespace

absl::StatusOr<PlanView> TaskDirectory::CreatePlan(Plan plan, const std::string& request_id,
                                                   const Actor& actor) {
  FieldViolations v;
  CheckRequestId(request_id, v);
  CheckOptionalId(plan.id, "plan.id", v);
  CheckTitle(plan.title, "plan.title", v);
  CheckLongText(plan.description, kMaxDescriptionChars, "plan.description", v);
  CheckRequiredId(plan.owner_unit_id, "plan.owner_unit_id", v);
  CheckPlanDates(plan, v);
  CheckMargin(plan.cascade_margin_working_days, v);
  CheckOptionalId(plan.default_reminder_policy_id, "plan.default_reminder_policy_id", v);
  CheckActor(actor, "actor", /*required=*/false, v);
  if (!v.empty()) return v.ToStatus();

  std::vector<UnitRef> refs = {{"plan.owner_unit_id", plan.owner_unit_id}};
  if (!actor.unit_id.empty()) refs.push_back({"actor.unit_id", actor.unit_id});
  if (auto units = CheckUnits(refs); !units.ok()) return units.status();
  if (auto s = CheckPolicy("plan.default_reminder_policy_id", plan.default_reminder_policy_id);
      !s.ok()) {
    return s;
  }

  const std::string fp = PlanFingerprint(plan);
  const bool generated = plan.id.empty();
  if (generated) plan.id = NewSortableId("p");
  PlanView out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, request_id, "CreatePlan", fp);
    if (!prior.ok()) return prior.status();
    if (*prior) {
      auto found = tx.FindPlan(**prior);
      if (!found.ok()) return found.status();
      if (!*found) return absl::InternalError("replayed plan missing");
      out.plan = **found;
      auto stats = tx.GetPlanStats(out.plan.id);
      if (!stats.ok()) return stats.status();
      out.stats = *stats;
      return absl::OkStatus();
    }
    auto existing = tx.FindPlan(plan.id);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      return FieldError(absl::StatusCode::kAlreadyExists, "plan.id",
                        absl::StrCat("plan \"", plan.id, "\" already exists"));
    }
    Mutation m(tx, NowMicros(), actor);
    plan.archived = false;
    plan.revision = 1;
    plan.create_us = plan.update_us = m.now();
    plan.archive_us = 0;
    plan.policy_version = plan.default_reminder_policy_id.empty() ? 0 : 1;
    if (auto s = tx.InsertPlan(plan); !s.ok()) return s;
    if (!plan.default_reminder_policy_id.empty()) {
      if (auto s = m.AppendPlanPolicy(plan); !s.ok()) return s;
    }
    if (auto s = Remember(tx, request_id, "CreatePlan", fp, plan.id, m.now()); !s.ok()) return s;
    wrote_outbox = m.wrote_outbox();
    out.plan = plan;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<PlanView> TaskDirectory::GetPlan(const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  PlanView out;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto found = tx.FindPlan(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "plan", id);
    out.plan = **found;
    auto stats = tx.GetPlanStats(id);
    if (!stats.ok()) return stats.status();
    out.stats = *stats;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<PlanPage> TaskDirectory::ListPlans(const ListPlansQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  CheckOptionalId(q.filter.owner_unit_id, "owner_unit_id", v);
  if (q.filter.active_on && !IsValidDate(*q.filter.active_on)) {
    v.Add("active_on", "must be a valid date with year 1970-9999");
  }
  if (!v.empty()) return v.ToStatus();
  uint64_t fp =
      FilterFingerprint(absl::StrCat("plans|o=", q.filter.owner_unit_id,
                                     "|d=", q.filter.active_on ? DateText(*q.filter.active_on) : "",
                                     "|a=", q.filter.include_archived));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  std::optional<TextCursor> after;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, '|');
    if (parts.size() != 2) return InvalidField("page_token", "is not a token this service issued");
    after = TextCursor{parts[0], parts[1]};
  }
  PlanPage page;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto plans = tx.ListPlans(q.filter, after, *page_size + 1);
    if (!plans.ok()) return plans.status();
    if (plans->size() > static_cast<size_t>(*page_size)) {
      plans->resize(*page_size);
      const Plan& last = plans->back();
      page.next_page_token =
          EncodePageToken(fp, absl::StrCat(DateText(last.start_date), "|", last.id));
    }
    for (auto& p : *plans) {
      auto stats = tx.GetPlanStats(p.id);
      if (!stats.ok()) return stats.status();
      page.plans.push_back({std::move(p), *stats});
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<PlanView> TaskDirectory::UpdatePlan(const Plan& patch,
                                                   const std::vector<std::string>& mask,
                                                   const std::string& etag, const Actor& actor) {
  FieldViolations v;
  CheckRequiredId(patch.id, "plan.id", v);
  if (mask.empty()) v.Add("update_mask", "must name at least one field");
  CheckActor(actor, "actor", /*required=*/false, v);
  bool dates = false;
  bool policy = false;
  for (const auto& path : mask) {
    if (path == "title") {
      CheckTitle(patch.title, "plan.title", v);
    } else if (path == "description") {
      CheckLongText(patch.description, kMaxDescriptionChars, "plan.description", v);
    } else if (path == "start_date" || path == "end_date") {
      dates = true;
    } else if (path == "cascade_margin_working_days") {
      CheckMargin(patch.cascade_margin_working_days, v);
    } else if (path == "default_reminder_policy_id") {
      CheckOptionalId(patch.default_reminder_policy_id, "plan.default_reminder_policy_id", v);
      policy = true;
    } else if (path == "owner_unit_id" || path == "id") {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is immutable"));
    } else {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is not an updatable field"));
    }
  }
  if (!v.empty()) return v.ToStatus();
  if (policy) {
    if (auto s = CheckPolicy("plan.default_reminder_policy_id", patch.default_reminder_policy_id);
        !s.ok()) {
      return s;
    }
  }
  if (!actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", actor.unit_id}}); !u.ok()) return u.status();
  }

  PlanView out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto found = tx.FindPlan(patch.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("plan.id", "plan", patch.id);
    if (auto s = CheckEtag(etag, (*found)->revision); !s.ok()) return s;
    if ((*found)->archived) return Precondition("plan.id", "plan is archived");
    Plan next = **found;
    for (const auto& path : mask) {
      if (path == "title") next.title = patch.title;
      if (path == "description") next.description = patch.description;
      if (path == "start_date") next.start_date = patch.start_date;
      if (path == "end_date") next.end_date = patch.end_date;
      if (path == "cascade_margin_working_days") {
        next.cascade_margin_working_days = patch.cascade_margin_working_days;
      }
      if (path == "default_reminder_policy_id") {
        next.default_reminder_policy_id = patch.default_reminder_policy_id;
      }
    }
    if (dates) {
      FieldViolations dv;
      CheckPlanDates(next, dv);
      if (!dv.empty()) return dv.ToStatus();
    }
    Mutation m(tx, NowMicros(), actor);
    const bool policy_changed =
        next.default_reminder_policy_id != (*found)->default_reminder_policy_id;
    if (policy_changed) next.policy_version += 1;
    next.revision += 1;
    next.update_us = m.now();
    if (auto s = tx.UpdatePlan(next); !s.ok()) return s;
    if (policy_changed) {
      if (auto s = m.AppendPlanPolicy(next); !s.ok()) return s;
    }
    wrote_outbox = m.wrote_outbox();
    out.plan = next;
    auto stats = tx.GetPlanStats(next.id);
    if (!stats.ok()) return stats.status();
    out.stats = *stats;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<PlanView> TaskDirectory::ArchivePlan(const ArchivePlanInput& in) {
  FieldViolations v;
  CheckRequiredId(in.id, "id", v);
  CheckActor(in.actor, "actor", /*required=*/true, v);
  CheckLongText(in.note, kMaxNoteChars, "note", v);
  if (!v.empty()) return v.ToStatus();
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }
  PlanView out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto found = tx.FindPlan(in.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "plan", in.id);
    if (auto s = CheckEtag(in.etag, (*found)->revision); !s.ok()) return s;
    Plan plan = **found;
    if (plan.archived) {
      out.plan = plan;
      auto stats = tx.GetPlanStats(plan.id);
      if (!stats.ok()) return stats.status();
      out.stats = *stats;
      return absl::OkStatus();
    }
    auto open = tx.OpenAssignmentsOfPlan(plan.id);
    if (!open.ok()) return open.status();
    if (!open->empty() && !in.cancel_open_assignments) {
      return Precondition("cancel_open_assignments",
                          absl::StrCat("plan has ", open->size(),
                                       " open assignments; close them or set "
                                       "cancel_open_assignments"));
    }
    Mutation m(tx, NowMicros(), in.actor);
    const std::string reason = in.note.empty() ? "plan archived" : in.note;
    absl::flat_hash_map<std::string, Task> tasks;
    for (auto& a : *open) {
      auto it = tasks.find(a.task_id);
      if (it == tasks.end()) {
        auto t = tx.FindTask(a.task_id);
        if (!t.ok()) return t.status();
        if (!*t) return absl::InternalError("assignment without task");
        it = tasks.emplace(a.task_id, std::move(**t)).first;
      }
      if (auto s = m.CancelAssignment(a, it->second, reason); !s.ok()) return s;
    }
    for (auto& [id, task] : tasks) {
      if (auto s = m.RefreshTaskState(task); !s.ok()) return s;
    }
    plan.archived = true;
    plan.archive_us = m.now();
    plan.revision += 1;
    plan.update_us = m.now();
    if (auto s = tx.UpdatePlan(plan); !s.ok()) return s;
    wrote_outbox = m.wrote_outbox();
    out.plan = plan;
    auto stats = tx.GetPlanStats(plan.id);
    if (!stats.ok()) return stats.status();
    out.stats = *stats;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace duban::tasks
