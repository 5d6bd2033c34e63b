// TaskDirectory: CascadeTask (层层落实) with its guardrails against 层层加码, and the
// open-assignment budgets it enforces.
#include <algorithm>
#include <map>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <spdlog/spdlog.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/validation.h"
#include "task_directory.h"
#include "task_rules.h"

namespace duban::tasks {

using namespace rules;  // NOLINT(build/namespaces): internal helpers of this service

namespace {

bool ValidKind(UnitKind k) {
  int n = static_cast<int>(k);
  return n >= 1 && n <= kMaxUnitKind;
}

// What every child in one time zone gets: deadline, milestones and the clamps applied.
struct ZonePlan {
  DeadlineSpec spec;
  int64_t deadline_us = 0;
  bool provisional = false;
  std::vector<Milestone> milestones;
  std::vector<ClampedDeadline> clamps;  // unit_id empty
};

std::string MarginReason(int64_t days, int margin, absl::string_view what) {
  return absl::StrCat(days, " working days before the parent's ", what, "; the plan allows ",
                      margin);
}

// The first call's counts, kept as the resource of a cascade's request_id.
std::string EncodeCounts(const CascadeResult& r) {
  return absl::StrCat("cascade:", r.matched_units, ":", r.created_tasks, ":", r.skipped_existing,
                      ":", r.over_budget_count, ":", r.clamped_count, ":",
                      r.deadline_provisional ? 1 : 0);
}

bool DecodeCounts(const std::string& text, CascadeResult& r) {
  std::vector<std::string> p = absl::StrSplit(text, ':');
  int prov = 0;
  if (p.size() != 7 || p[0] != "cascade" || !absl::SimpleAtoi(p[1], &r.matched_units) ||
      !absl::SimpleAtoi(p[2], &r.created_tasks) || !absl::SimpleAtoi(p[3], &r.skipped_existing) ||
      !absl::SimpleAtoi(p[4], &r.over_budget_count) || !absl::SimpleAtoi(p[5], &r.clamped_count) ||
      !absl::SimpleAtoi(p[6], &prov)) {
    return false;
  }
  r.deadline_provisional = prov != 0;
  r.applied = true;
  return true;
}

std::string SpecKey(const DeadlineSpec& s) {
  if (s.absolute_us) return absl::StrCat("abs:", *s.absolute_us);
  if (s.working_days) {
    const auto& w = *s.working_days;
    return absl::StrCat("wd:", w.count, ":", w.from_date ? DateText(*w.from_date) : "", ":",
                        w.time_of_day_minutes.value_or(-1), ":", w.timezone);
  }
  return "";
}

}  // namespace

absl::StatusOr<CascadeResult> TaskDirectory::CascadeTask(const CascadeInput& in) {
  FieldViolations v;
  CheckRequiredId(in.task_id, "task_id", v);
  CheckRequiredId(in.root_unit_id, "root_unit_id", v);
  for (size_t i = 0; i < in.unit_kinds.size(); ++i) {
    if (!ValidKind(in.unit_kinds[i])) {
      v.Add(absl::StrCat("unit_kinds[", i, "]"), "must be a known unit kind");
    }
  }
  if (!in.unit_tag.empty()) v.AddIfError("unit_tag", ValidateText(in.unit_tag, 1, kMaxTagChars));
  if (!in.title.empty()) CheckTitle(in.title, "title", v);
  CheckLongText(in.description, kMaxDescriptionChars, "description", v);
  DeadlineResolver::Check(in.deadline, "deadline", /*required=*/false, v);
  CheckMilestones(in.milestones, "milestones", v);
  if (!ValidPriority(in.priority)) v.Add("priority", "must be a known priority");
  std::vector<std::string> tags = in.tags;
  CheckTags(tags, "tags", v);
  CheckOptionalId(in.reminder_policy_id, "reminder_policy_id", v);
  CheckActor(in.actor, "actor", /*required=*/true, v);
  CheckLongText(in.note, kMaxNoteChars, "note", v);
  CheckRequestId(in.request_id, v);
  if (!v.empty()) return v.ToStatus();
  if (auto s = CheckPolicy("reminder_policy_id", in.reminder_policy_id); !s.ok()) return s;
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }

  // The parent and its plan give the defaults; both are checked again when writing.
  Task parent;
  Plan plan;
  absl::Status read = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto t = tx.FindTask(in.task_id);
    if (!t.ok()) return t.status();
    if (!*t) return NotFound("task_id", "task", in.task_id);
    parent = **t;
    auto p = tx.FindPlan(parent.plan_id);
    if (!p.ok()) return p.status();
    if (!*p) return absl::InternalError("task without plan");
    plan = **p;
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  if (plan.archived) return Precondition("task_id", "plan is archived");
  if (parent.state != TaskState::kOpen) return Precondition("task_id", "the task is not OPEN");
  if (parent.depth + 1 >= kMaxTaskDepth) {
    return Precondition("task_id",
                        absl::StrCat("task trees are at most ", kMaxTaskDepth, " levels deep"));
  }

  // The units of the subtree (UnitService, pages of 1000).
  std::vector<UnitInfo> units;
  absl::Status listed = units_.ListSubtree(
      in.root_unit_id, in.unit_kinds, in.unit_tag, [&](std::vector<UnitInfo>& page) {
        for (auto& u : page) units.push_back(std::move(u));
        if (units.size() > static_cast<size_t>(kMaxCascadeUnits)) {
          return Precondition("root_unit_id", absl::StrCat("more than ", kMaxCascadeUnits,
                                                           " units match; cascade in parts"));
        }
        return absl::OkStatus();
      });
  if (listed.code() == absl::StatusCode::kNotFound) {
    return NotFound("root_unit_id", "unit", in.root_unit_id);
  }
  if (!listed.ok()) return listed;
  if (units.empty())
    return InvalidField("root_unit_id", "no unit of the subtree matches the filters");
  std::sort(units.begin(), units.end(),
            [](const UnitInfo& a, const UnitInfo& b) { return a.id < b.id; });

  const int64_t now = NowMicros();
  const int margin = plan.cascade_margin_working_days;
  const bool own_milestones = !in.milestones.empty();
  // Deadlines and milestones depend only on the unit's time zone: computed once per zone.
  std::map<std::string, ZonePlan> zones;
  auto plan_zone = [&](const std::string& tz) -> absl::StatusOr<const ZonePlan*> {
    auto it = zones.find(tz);
    if (it != zones.end()) return &it->second;
    ZonePlan z;
    if (!in.deadline.empty()) {
      auto r = resolver_.Resolve(in.deadline, tz, now, "deadline");
      if (!r.ok()) return r.status();
      z.spec = r->filled;
      z.deadline_us = r->time_us;
      z.provisional = r->provisional;
    } else {
      z.spec = parent.deadline;
      z.deadline_us = parent.deadline_us;
      z.provisional = parent.deadline_provisional;
    }
    if (z.deadline_us > parent.deadline_us) {
      return Precondition("deadline", "is later than the parent task's deadline");
    }
    auto earliest = resolver_.WorkingDaysBefore(parent.deadline_us, tz, margin);
    if (!earliest.ok()) return InvalidField("deadline", "is out of the calendar's range");
    if (z.deadline_us < *earliest) {
      const std::string reason = MarginReason(
          resolver_.WorkingDaysBetween(z.deadline_us, parent.deadline_us, tz), margin, "deadline");
      if (!in.clamp_deadlines) return Precondition("deadline", absl::StrCat("is ", reason));
      z.clamps.push_back({"", "", z.deadline_us, *earliest, reason});
      z.deadline_us = *earliest;
      DeadlineSpec at;
      at.absolute_us = *earliest;
      z.spec = at;
    }
    if (own_milestones) {
      z.milestones = in.milestones;
      if (auto s = ResolveMilestones(resolver_, z.milestones, tz, now, INT64_MAX, "milestones");
          !s.ok()) {
        return s;
      }
    } else {
      z.milestones = parent.milestones;
    }
    for (size_t i = 0; i < z.milestones.size(); ++i) {
      Milestone& m = z.milestones[i];
      const std::string f = absl::StrCat("milestones[", i, "].due");
      if (i < parent.milestones.size()) {
        // Not earlier than the parent's milestone at the same position by more than the margin.
        auto m_earliest = resolver_.WorkingDaysBefore(parent.milestones[i].due_us, tz, margin);
        if (!m_earliest.ok()) return InvalidField(f, "is out of the calendar's range");
        if (m.due_us < *m_earliest) {
          const std::string reason =
              MarginReason(resolver_.WorkingDaysBetween(m.due_us, parent.milestones[i].due_us, tz),
                           margin, absl::StrCat("milestone \"", parent.milestones[i].title, "\""));
          if (!in.clamp_deadlines) return Precondition(f, absl::StrCat("is ", reason));
          z.clamps.push_back({"", m.title, m.due_us, *m_earliest, reason});
          m.due_us = *m_earliest;
          m.due.absolute_us = *m_earliest;
          m.due.working_days.reset();
        }
      }
      if (m.due_us > z.deadline_us) {
        if (own_milestones) return InvalidField(f, "must not be later than the child's deadline");
        return InvalidField("milestones", absl::StrCat("the parent's milestone \"", m.title,
                                                       "\" is later than the children's "
                                                       "deadline; give the children milestones"));
      }
      if (i > 0 && m.due_us < z.milestones[i - 1].due_us) {
        return InvalidField(f, "must not be earlier than the previous milestone");
      }
      z.provisional |= m.provisional;
    }
    AssignMilestoneIds(z.milestones, {});
    return &zones.emplace(tz, std::move(z)).first->second;
  };
  std::vector<const ZonePlan*> unit_zone(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    auto z = plan_zone(units[i].timezone);
    if (!z.ok()) return z.status();
    unit_zone[i] = *z;
  }

  const std::string title = in.title.empty() ? parent.title : in.title;
  const std::string description = in.description.empty() ? parent.description : in.description;
  const Priority priority = in.priority == Priority::kUnspecified ? parent.priority : in.priority;
  if (tags.empty()) tags = parent.tags;
  const std::string policy =
      in.reminder_policy_id.empty() ? parent.reminder_policy_id : in.reminder_policy_id;

  std::vector<std::string> kinds;
  for (auto k : in.unit_kinds) kinds.push_back(absl::StrCat(static_cast<int>(k)));
  std::vector<std::string> ms;
  for (const auto& m : in.milestones) {
    ms.push_back(absl::StrCat(m.title, "@", SpecKey(m.due), "/", m.planned_percent));
  }
  const std::string fp = Fingerprint(absl::StrCat(
      in.task_id, "|", in.root_unit_id, "|", absl::StrJoin(kinds, ","), "|", in.unit_tag, "|",
      in.title, "|", in.description, "|", SpecKey(in.deadline), "|", absl::StrJoin(ms, ","), "|",
      static_cast<int>(in.priority), "|", absl::StrJoin(in.tags, ","), "|", in.reminder_policy_id,
      "|", in.clamp_deadlines, "|", in.force));

  // Which units get a child, who goes over budget, what was clamped: read in the transaction
  // that applies it.
  CascadeResult result;
  std::vector<size_t> to_create;
  absl::flat_hash_set<size_t> over;
  auto assess = [&](TaskReader& tx) -> absl::Status {
    auto t = tx.FindTask(in.task_id);
    if (!t.ok()) return t.status();
    if (!*t) return NotFound("task_id", "task", in.task_id);
    if ((*t)->revision != parent.revision) {
      return absl::AbortedError("the task changed while the cascade was prepared; retry");
    }
    auto p = tx.FindPlan(parent.plan_id);
    if (!p.ok()) return p.status();
    if (*p && (*p)->archived) return Precondition("task_id", "plan is archived");
    auto existing = tx.CascadedUnits(parent.id);
    if (!existing.ok()) return existing.status();
    absl::flat_hash_set<std::string> have(existing->begin(), existing->end());
    result = CascadeResult{};
    to_create.clear();
    over.clear();
    result.matched_units = static_cast<int64_t>(units.size());
    std::vector<std::string> ids;
    for (size_t i = 0; i < units.size(); ++i) {
      if (have.contains(units[i].id)) {
        ++result.skipped_existing;
        continue;
      }
      to_create.push_back(i);
      ids.push_back(units[i].id);
    }
    result.created_tasks = static_cast<int64_t>(to_create.size());
    auto budgets = tx.ListBudgets("", 1'000'000);
    if (!budgets.ok()) return budgets.status();
    BudgetTable table(*budgets);
    absl::flat_hash_map<std::string, int64_t> open;
    if (!table.empty() && !ids.empty()) {
      auto counts = tx.OpenAssignmentCounts(ids);
      if (!counts.ok()) return counts.status();
      for (auto& [unit, n] : *counts) open[unit] = n;
    }
    for (size_t i : to_create) {
      const UnitInfo& u = units[i];
      const ZonePlan& z = *unit_zone[i];
      result.deadline_provisional |= z.provisional;
      for (const auto& c : z.clamps) {
        if (result.clamped.size() < kMaxReportedUnits) {
          ClampedDeadline entry = c;
          entry.unit_id = u.id;
          result.clamped.push_back(std::move(entry));
        }
        ++result.clamped_count;
      }
      const int64_t max = table.For(u.id, u.kind);
      if (max <= 0) continue;
      auto it = open.find(u.id);
      const int64_t n = it == open.end() ? 0 : it->second;
      if (n + 1 > max) {
        over.insert(i);
        if (result.over_budget.size() < kMaxReportedUnits) {
          result.over_budget.push_back({u.id, u.kind, n, max});
        }
        ++result.over_budget_count;
      }
    }
    return absl::OkStatus();
  };

  if (in.validate_only) {
    absl::Status s = store_.Read(assess);
    if (!s.ok()) return s;
    result.applied = false;
    return result;
  }

  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, in.request_id, "CascadeTask", fp);
    if (!prior.ok()) return prior.status();
    if (*prior) {
      result = CascadeResult{};
      if (!DecodeCounts(**prior, result)) return absl::InternalError("bad cascade replay record");
      return absl::OkStatus();
    }
    if (auto s = assess(tx); !s.ok()) return s;
    if (result.over_budget_count > 0 && !in.force) {
      std::string lines;
      for (const auto& o : result.over_budget) {
        absl::StrAppend(&lines, o.unit_id, "\t", o.open_assignments, "\t", o.max_open_assignments,
                        "\n");
      }
      absl::Status refused = absl::ResourceExhaustedError(absl::StrCat(
          result.over_budget_count,
          " units would exceed their open-assignment budget; nothing was applied (set force to "
          "apply anyway)"));
      refused.SetPayload(kOverBudgetPayload, absl::Cord(lines));
      return refused;
    }
    Mutation m(tx, now, in.actor);
    for (size_t i : to_create) {
      const UnitInfo& u = units[i];
      const ZonePlan& z = *unit_zone[i];
      Task child;
      child.id = NewSortableId("t");
      child.plan_id = parent.plan_id;
      child.parent_task_id = parent.id;
      child.path = ChildTaskPath(parent.path, child.id);
      child.depth = parent.depth + 1;
      child.title = title;
      child.description = description;
      child.lead_unit_id = u.id;
      child.deadline = z.spec;
      child.deadline_us = z.deadline_us;
      child.deadline_provisional = z.provisional;
      child.milestones = z.milestones;
      child.priority = priority;
      child.tags = tags;
      child.reminder_policy_id = policy;
      child.state = TaskState::kOpen;
      child.cascaded = true;
      child.cascade_unit_id = u.id;
      child.revision = 1;
      child.create_us = child.update_us = now;
      if (auto s = tx.InsertTask(child); !s.ok()) return s;
      Assignment a;
      a.id = NewSortableId("a");
      a.task_id = child.id;
      a.plan_id = child.plan_id;
      a.unit_id = u.id;
      a.unit_kind = u.kind;
      a.unit_tags = u.tags;
      a.unit_timezone = u.timezone;
      a.role = AssignmentRole::kLead;
      a.state = AssignmentState::kAssigned;
      a.state_us = now;
      a.baseline_deadline_us = a.deadline_us = child.deadline_us;
      a.deadline_provisional = child.deadline_provisional;
      a.create_us = now;
      a.reminder_policy_id = policy;
      if (auto s = m.CreateAssignment(a, child, in.note); !s.ok()) return s;
      if (over.contains(i)) {
        AuditEvent e;
        e.kind = AuditEventKind::kBudgetOverridden;
        e.plan_id = a.plan_id;
        e.task_id = a.task_id;
        e.assignment_id = a.id;
        e.unit_id = a.unit_id;
        e.note = in.note;
        e.summary = "cascaded with force while the unit was over its open-assignment budget";
        if (auto s = m.Audit(std::move(e)); !s.ok()) return s;
      }
    }
    if (!to_create.empty()) {
      if (auto s = tx.AddChildCount(parent.id, static_cast<int64_t>(to_create.size())); !s.ok()) {
        return s;
      }
    }
    result.applied = true;
    if (auto s = Remember(tx, in.request_id, "CascadeTask", fp, EncodeCounts(result), now);
        !s.ok()) {
      return s;
    }
    wrote_outbox = m.wrote_outbox();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (result.over_budget_count > 0 && in.force) {
    spdlog::info("cascade of {} applied with force: {} units over budget", in.task_id,
                 result.over_budget_count);
  }
  return result;
}

// ============================================================================================
// Budgets
// ============================================================================================

namespace {

void CheckScope(const AssignmentBudget& b, FieldViolations& v, const std::string& prefix) {
  if (!b.unit_id.empty()) {
    v.AddIfError(prefix + "unit_id", ValidateId(b.unit_id));
    if (b.unit_kind != UnitKind::kUnspecified) {
      v.Add(prefix + "unit_kind", "must be unset when unit_id is set");
    }
  } else if (b.unit_kind != UnitKind::kUnspecified && !ValidKind(b.unit_kind)) {
    v.Add(prefix + "unit_kind", "must be a known unit kind");
  }
}

}  // namespace

absl::StatusOr<AssignmentBudget> TaskDirectory::SetAssignmentBudget(AssignmentBudget b,
                                                                    const Actor& actor) {
  FieldViolations v;
  CheckScope(b, v, "budget.");
  if (b.max_open_assignments < 1 || b.max_open_assignments > kMaxBudget) {
    v.Add("budget.max_open_assignments", absl::StrCat("must be 1-", kMaxBudget));
  }
  CheckActor(actor, "actor", /*required=*/true, v);
  if (!v.empty()) return v.ToStatus();
  std::vector<UnitRef> refs;
  if (!b.unit_id.empty()) refs.push_back({"budget.unit_id", b.unit_id});
  if (!actor.unit_id.empty()) refs.push_back({"actor.unit_id", actor.unit_id});
  if (auto u = CheckUnits(refs); !u.ok()) return u.status();
  b.update_us = NowMicros();
  absl::Status s = store_.Write([&](TaskWriter& tx) { return tx.UpsertBudget(b); });
  if (!s.ok()) return s;
  spdlog::info("assignment budget {} set to {} by {}", BudgetKey(b), b.max_open_assignments,
               actor.id);
  return b;
}

absl::StatusOr<BudgetPage> TaskDirectory::ListAssignmentBudgets(int32_t page_size_in,
                                                                const std::string& token) {
  auto page_size = EffectivePageSize(page_size_in);
  if (!page_size.ok()) return page_size.status();
  const uint64_t fp = FilterFingerprint("budgets");
  auto cursor = DecodePageToken(token, fp);
  if (!cursor.ok()) return cursor.status();
  BudgetPage page;
  absl::Status s = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto rows = tx.ListBudgets(*cursor, *page_size + 1);
    if (!rows.ok()) return rows.status();
    if (rows->size() > static_cast<size_t>(*page_size)) {
      rows->resize(*page_size);
      page.next_page_token = EncodePageToken(fp, BudgetKey(rows->back()));
    }
    page.budgets = std::move(*rows);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return page;
}

absl::Status TaskDirectory::DeleteAssignmentBudget(const AssignmentBudget& scope,
                                                   const Actor& actor) {
  FieldViolations v;
  CheckScope(scope, v, "");
  CheckActor(actor, "actor", /*required=*/true, v);
  if (!v.empty()) return v.ToStatus();
  bool deleted = false;
  absl::Status s = store_.Write([&](TaskWriter& tx) -> absl::Status {
    auto d = tx.DeleteBudget(scope);
    if (!d.ok()) return d.status();
    deleted = *d;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!deleted) {
    return FieldError(absl::StatusCode::kNotFound,
                      !scope.unit_id.empty()                      ? "unit_id"
                      : scope.unit_kind != UnitKind::kUnspecified ? "unit_kind"
                                                                  : "unit_id",
                      "no budget is set for this scope");
  }
  spdlog::info("assignment budget {} removed by {}", BudgetKey(scope), actor.id);
  return absl::OkStatus();
}

}  // namespace duban::tasks
