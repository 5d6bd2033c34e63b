// TaskDirectory: assignments (reads, transitions, progress reports) and the audit trail.
#include <algorithm>

#include <absl/container/flat_hash_set.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/validation.h"
#include "task_directory.h"
#include "task_rules.h"

namespace duban::tasks {

using namespace rules;  // NOLINT(build/namespaces): internal helpers of this service

namespace {

absl::Status BadToken() { return InvalidField("page_token", "is not a token this service issued"); }

// Validates an assignment id given by a caller (generated ids share the id alphabet).
absl::Status CheckAssignmentId(const std::string& id, const std::string& field) {
  if (id.empty()) return InvalidField(field, "is required");
  if (auto s = ValidateId(id); !s.ok()) return InvalidField(field, std::string(s.message()));
  return absl::OkStatus();
}

template <typename E>
std::string EnumKey(const std::vector<E>& items) {
  std::vector<int> v;
  for (E e : items) v.push_back(static_cast<int>(e));
  std::sort(v.begin(), v.end());
  return absl::StrJoin(v, ",");
}

}  // namespace

absl::StatusOr<AssignmentView> TaskDirectory::GetAssignment(const std::string& id) {
  if (auto s = CheckAssignmentId(id, "id"); !s.ok()) return s;
  AssignmentView out;
  const int64_t now = NowMicros();
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto found = tx.FindAssignment(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "assignment", id);
    auto views = BuildViews(tx, {std::move(**found)}, now);
    if (!views.ok()) return views.status();
    out = std::move(views->front());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<BatchAssignments> TaskDirectory::BatchGetAssignments(
    const std::vector<std::string>& ids, bool include_tasks, bool include_plans) {
  FieldViolations v;
  if (ids.empty()) v.Add("ids", "must not be empty");
  if (ids.size() > static_cast<size_t>(kMaxBatch)) {
    v.Add("ids", absl::StrCat("at most ", kMaxBatch, " ids"));
  }
  for (size_t i = 0; i < ids.size() && i < static_cast<size_t>(kMaxBatch); ++i) {
    v.AddIfError(absl::StrCat("ids[", i, "]"), ValidateId(ids[i]));
  }
  if (!v.empty()) return v.ToStatus();
  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (const auto& id : ids) {
    if (seen.insert(id).second) unique.push_back(id);
  }
  const int64_t now = NowMicros();
  BatchAssignments out;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto found = tx.FindAssignments(unique);
    if (!found.ok()) return found.status();
    absl::flat_hash_map<std::string, size_t> index;
    for (size_t i = 0; i < found->size(); ++i) index[(*found)[i].id] = i;
    std::vector<Assignment> ordered;
    for (const auto& id : unique) {
      auto it = index.find(id);
      if (it == index.end()) {
        out.missing_ids.push_back(id);
      } else {
        ordered.push_back(std::move((*found)[it->second]));
      }
    }
    std::vector<std::string> task_ids;
    std::vector<std::string> plan_ids;
    absl::flat_hash_set<std::string> st, sp;
    for (const auto& a : ordered) {
      if (st.insert(a.task_id).second) task_ids.push_back(a.task_id);
      if (sp.insert(a.plan_id).second) plan_ids.push_back(a.plan_id);
    }
    auto views = BuildViews(tx, std::move(ordered), now);
    if (!views.ok()) return views.status();
    out.assignments = std::move(*views);
    if (include_tasks && !task_ids.empty()) {
      auto tasks = tx.FindTasks(task_ids);
      if (!tasks.ok()) return tasks.status();
      if (auto s = FillSummaries(tx, *tasks); !s.ok()) return s;
      out.tasks = std::move(*tasks);
    }
    if (include_plans && !plan_ids.empty()) {
      auto plans = tx.FindPlans(plan_ids);
      if (!plans.ok()) return plans.status();
      out.plans = std::move(*plans);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<AssignmentPage> TaskDirectory::ListAssignments(const ListAssignmentsQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  if (q.plan_id.empty() && q.task_id.empty() && q.tasks_under.empty() && q.unit_id.empty() &&
      q.unit_subtree_of.empty()) {
    v.Add("plan_id",
          "one of plan_id, task_id, tasks_under, unit_id and unit_subtree_of is required");
  }
  CheckOptionalId(q.plan_id, "plan_id", v);
  CheckOptionalId(q.task_id, "task_id", v);
  CheckOptionalId(q.tasks_under, "tasks_under", v);
  CheckOptionalId(q.unit_id, "unit_id", v);
  CheckOptionalId(q.unit_subtree_of, "unit_subtree_of", v);
  int role = static_cast<int>(q.role);
  if (role < 0 || role > 2) v.Add("role", "must be a known role");
  for (size_t i = 0; i < q.states.size(); ++i) {
    int s = static_cast<int>(q.states[i]);
    if (s < 1 || s > kMaxAssignmentState) {
      v.Add(absl::StrCat("states[", i, "]"), "must be a known assignment state");
    }
  }
  for (size_t i = 0; i < q.lights.size(); ++i) {
    int l = static_cast<int>(q.lights[i]);
    if (l < 1 || l > 3) v.Add(absl::StrCat("lights[", i, "]"), "must be GREEN, YELLOW or RED");
  }
  if (q.due_after_us && q.due_before_us && *q.due_before_us <= *q.due_after_us) {
    v.Add("due_before", "must be after due_after");
  }
  if (!v.empty()) return v.ToStatus();

  uint64_t fp = FilterFingerprint(absl::StrCat(
      "assignments|p=", q.plan_id, "|t=", q.task_id, "|tu=", q.tasks_under, "|u=", q.unit_id,
      "|us=", q.unit_subtree_of, "|r=", role, "|s=", EnumKey(q.states), "|o=", q.open_only,
      "|l=", EnumKey(q.lights), "|od=", q.overdue_only,
      "|da=", q.due_after_us ? absl::StrCat(*q.due_after_us) : "",
      "|db=", q.due_before_us ? absl::StrCat(*q.due_before_us) : ""));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  // Cursor: "<evaluate_us>|<deadline_us>|<id>".
  int64_t evaluate_us = NowMicros();
  std::optional<TimeCursor> after;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, '|');
    TimeCursor c;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &evaluate_us) ||
        !absl::SimpleAtoi(parts[1], &c.us)) {
      return BadToken();
    }
    c.id = parts[2];
    after = c;
  }

  AssignmentFilter f;
  f.plan_id = q.plan_id;
  f.task_id = q.task_id;
  f.role = q.role;
  f.overdue_only = q.overdue_only;
  f.now_us = evaluate_us;
  f.due_after_us = q.due_after_us;
  f.due_before_us = q.due_before_us;
  f.states = q.states;
  if (q.open_only) {
    std::vector<AssignmentState> open;
    for (int s = 1; s <= kMaxAssignmentState; ++s) {
      auto st = static_cast<AssignmentState>(s);
      if (IsOpen(st) &&
          (q.states.empty() || std::find(q.states.begin(), q.states.end(), st) != q.states.end())) {
        open.push_back(st);
      }
    }
    f.states = open;
    if (f.states.empty()) f.states = {AssignmentState::kUnspecified};  // matches nothing
  }
  if (auto s = UnitScope(q.unit_id, q.unit_subtree_of, f.has_units, f.unit_ids); !s.ok()) return s;

  AssignmentPage page;
  page.evaluate_us = evaluate_us;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    if (!q.tasks_under.empty()) {
      auto root = tx.FindTask(q.tasks_under);
      if (!root.ok()) return root.status();
      if (!*root) return NotFound("tasks_under", "task", q.tasks_under);
      f.tasks_under_path = (*root)->path;
    }
    const size_t want = static_cast<size_t>(*page_size) + 1;
    std::vector<AssignmentView> matched;
    std::optional<TimeCursor> cursor = after;
    // Lights are evaluated here, not in SQL: scan in chunks until the page is full.
    const int chunk = q.lights.empty() ? static_cast<int>(want) : std::max<int>(200, want * 2);
    for (;;) {
      auto rows = tx.ListAssignments(f, cursor, chunk);
      if (!rows.ok()) return rows.status();
      const size_t got = rows->size();
      if (got == 0) break;
      cursor = TimeCursor{rows->back().deadline_us, rows->back().id};
      auto views = BuildViews(tx, std::move(*rows), evaluate_us);
      if (!views.ok()) return views.status();
      for (auto& view : *views) {
        if (!q.lights.empty() &&
            std::find(q.lights.begin(), q.lights.end(), view.light.light) == q.lights.end()) {
          continue;
        }
        matched.push_back(std::move(view));
        if (matched.size() == want) break;
      }
      if (matched.size() == want || got < static_cast<size_t>(chunk)) break;
    }
    if (matched.size() == want) {
      matched.pop_back();
      const Assignment& last = matched.back().assignment;
      page.next_page_token =
          EncodePageToken(fp, absl::StrCat(evaluate_us, "|", last.deadline_us, "|", last.id));
    }
    page.assignments = std::move(matched);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<AssignmentView> TaskDirectory::Transition(AssignmentAction action,
                                                         const TransitionInput& in) {
  if (action == AssignmentAction::kReportProgress) {
    return absl::InternalError("ReportProgress goes through ReportProgress()");
  }
  const bool needs_reason =
      action == AssignmentAction::kReturn || action == AssignmentAction::kCancel;
  FieldViolations v;
  v.AddIfError("assignment_id", CheckAssignmentId(in.assignment_id, "assignment_id"));
  CheckActor(in.actor, "actor", /*required=*/true, v);
  if (needs_reason) {
    v.AddIfError("reason", ValidateText(in.note, 1, kMaxNoteChars, /*allow_newlines=*/true));
  } else {
    CheckLongText(in.note, kMaxNoteChars, "note", v);
  }
  CheckRequestId(in.request_id, v);
  if (!v.empty()) return v.ToStatus();
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }

  const std::string method = ActionName(action);
  const std::string fp = Fingerprint(absl::StrCat(in.assignment_id, "|", in.note));
  const int64_t now = NowMicros();
  AssignmentView out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, in.request_id, method, fp);
    if (!prior.ok()) return prior.status();
    auto found = tx.FindAssignment(in.assignment_id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("assignment_id", "assignment", in.assignment_id);
    Assignment a = **found;
    if (!*prior) {
      if (auto s = CheckEtag(in.etag, a.revision); !s.ok()) return s;
      auto plan = tx.FindPlan(a.plan_id);
      if (!plan.ok()) return plan.status();
      if (*plan && (*plan)->archived) return Precondition("assignment_id", "plan is archived");
      auto to = AssignmentStateMachine::Apply(a.state, action);
      if (!to.ok()) return to.status();
      auto task = tx.FindTask(a.task_id);
      if (!task.ok()) return task.status();
      if (!*task) return absl::InternalError("assignment without task");
      Task t = **task;
      Mutation m(tx, now, in.actor);
      switch (action) {
        case AssignmentAction::kAcknowledge:
          a.acknowledge_us = now;
          break;
        case AssignmentAction::kSubmit:
          a.submit_us = now;
          if (auto s = m.WithdrawPendingExtension(a, "assignment submitted"); !s.ok()) return s;
          break;
        case AssignmentAction::kApprove:
          a.done_us = now;
          break;
        case AssignmentAction::kReturn:
          a.return_count += 1;
          a.return_reason = in.note;
          break;
        case AssignmentAction::kCancel:
          if (auto s = m.WithdrawPendingExtension(a, "assignment canceled"); !s.ok()) return s;
          break;
        default:
          break;
      }
      if (auto s = m.ChangeState(a, *to, in.note); !s.ok()) return s;
      if (auto s = m.SaveAssignment(a, t, /*tell_reminders=*/true); !s.ok()) return s;
      if (auto s = m.RefreshTaskState(t); !s.ok()) return s;
      if (auto s = Remember(tx, in.request_id, method, fp, a.id, now); !s.ok()) return s;
      wrote_outbox = m.wrote_outbox();
    }
    auto views = BuildViews(tx, {std::move(a)}, now);
    if (!views.ok()) return views.status();
    out = std::move(views->front());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ReportResult> TaskDirectory::ReportProgress(const ReportInput& in) {
  FieldViolations v;
  v.AddIfError("assignment_id", CheckAssignmentId(in.assignment_id, "assignment_id"));
  if (in.percent < 0 || in.percent > 100) v.Add("percent", "must be 0-100");
  CheckLongText(in.text, kMaxReportChars, "text", v);
  CheckActor(in.actor, "actor", /*required=*/true, v);
  CheckRequestId(in.request_id, v);
  if (!v.empty()) return v.ToStatus();
  if (!in.actor.unit_id.empty()) {
    if (auto u = CheckUnits({{"actor.unit_id", in.actor.unit_id}}); !u.ok()) return u.status();
  }
  const std::string fp = Fingerprint(absl::StrCat(in.assignment_id, "|", in.percent, "|", in.text));
  const int64_t now = NowMicros();
  ReportResult out;
  absl::Status status = WriteAndNotify([&](TaskWriter& tx, bool& wrote_outbox) -> absl::Status {
    auto prior = Replay(tx, in.request_id, "ReportProgress", fp);
    if (!prior.ok()) return prior.status();
    auto found = tx.FindAssignment(in.assignment_id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("assignment_id", "assignment", in.assignment_id);
    Assignment a = **found;
    if (*prior) {
      auto report = tx.FindProgressReport(**prior);
      if (!report.ok()) return report.status();
      if (!*report) return absl::InternalError("replayed report missing");
      out.report = **report;
    } else {
      if (auto s = CheckEtag(in.etag, a.revision); !s.ok()) return s;
      auto plan = tx.FindPlan(a.plan_id);
      if (!plan.ok()) return plan.status();
      if (*plan && (*plan)->archived) return Precondition("assignment_id", "plan is archived");
      auto to = AssignmentStateMachine::Apply(a.state, AssignmentAction::kReportProgress);
      if (!to.ok()) return to.status();
      auto task = tx.FindTask(a.task_id);
      if (!task.ok()) return task.status();
      if (!*task) return absl::InternalError("assignment without task");
      Task t = **task;
      Mutation m(tx, now, in.actor);
      if (*to != a.state) {
        if (auto s = m.ChangeState(a, *to, ""); !s.ok()) return s;
      }
      ProgressReport r;
      r.id = NewSortableId("r");
      r.assignment_id = a.id;
      r.percent = in.percent;
      r.text = in.text;
      r.actor = in.actor;
      r.create_us = now;
      if (auto s = tx.InsertProgressReport(r); !s.ok()) return s;
      AuditEvent e;
      e.kind = AuditEventKind::kProgressReported;
      e.plan_id = a.plan_id;
      e.task_id = a.task_id;
      e.assignment_id = a.id;
      e.unit_id = a.unit_id;
      e.note = in.text;
      e.summary = a.last_report_id.empty()
                      ? absl::StrCat("percent ", in.percent)
                      : absl::StrCat("percent ", a.last_percent, " → ", in.percent);
      if (auto s = m.Audit(std::move(e)); !s.ok()) return s;
      a.last_report_id = r.id;
      a.last_percent = r.percent;
      a.last_report_us = now;
      if (auto s = m.SaveAssignment(a, t, /*tell_reminders=*/true); !s.ok()) return s;
      if (auto s = Remember(tx, in.request_id, "ReportProgress", fp, r.id, now); !s.ok()) {
        return s;
      }
      wrote_outbox = m.wrote_outbox();
      out.report = r;
    }
    auto views = BuildViews(tx, {std::move(a)}, now);
    if (!views.ok()) return views.status();
    out.assignment = std::move(views->front());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<AuditPage> TaskDirectory::ListAuditEvents(const ListAuditQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  const AuditFilter& f = q.filter;
  std::vector<std::string> given;
  if (!f.assignment_id.empty()) given.push_back("assignment_id");
  if (!f.task_id.empty()) given.push_back("task_id");
  if (!f.plan_id.empty()) given.push_back("plan_id");
  if (given.size() != 1) {
    // Name the first missing field, or the first one too many.
    v.Add(given.empty() ? "assignment_id" : given[1],
          "exactly one of assignment_id, task_id and plan_id is required");
  }
  CheckOptionalId(f.assignment_id, "assignment_id", v);
  CheckOptionalId(f.task_id, "task_id", v);
  CheckOptionalId(f.plan_id, "plan_id", v);
  for (size_t i = 0; i < f.kinds.size(); ++i) {
    int k = static_cast<int>(f.kinds[i]);
    if (k < 1 || k > kMaxAuditEventKind) {
      v.Add(absl::StrCat("kinds[", i, "]"), "must be a known audit event kind");
    }
  }
  if (f.since_us && f.until_us && *f.until_us <= *f.since_us) {
    v.Add("until", "must be after since");
  }
  if (!v.empty()) return v.ToStatus();
  uint64_t fp = FilterFingerprint(absl::StrCat("audit|a=", f.assignment_id, "|t=", f.task_id,
                                               "|p=", f.plan_id, "|k=", EnumKey(f.kinds),
                                               "|s=", f.since_us ? absl::StrCat(*f.since_us) : "",
                                               "|u=", f.until_us ? absl::StrCat(*f.until_us) : ""));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  std::optional<SeqCursor> after;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, '|');
    SeqCursor c;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &c.us) ||
        !absl::SimpleAtoi(parts[1], &c.seq)) {
      return BadToken();
    }
    after = c;
  }
  AuditPage page;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    // The subject must exist, so a typo is NOT_FOUND rather than an empty trail.
    if (!f.assignment_id.empty()) {
      auto a = tx.FindAssignment(f.assignment_id);
      if (!a.ok()) return a.status();
      if (!*a) return NotFound("assignment_id", "assignment", f.assignment_id);
    } else if (!f.task_id.empty()) {
      auto t = tx.FindTask(f.task_id);
      if (!t.ok()) return t.status();
      if (!*t) return NotFound("task_id", "task", f.task_id);
    } else {
      auto p = tx.FindPlan(f.plan_id);
      if (!p.ok()) return p.status();
      if (!*p) return NotFound("plan_id", "plan", f.plan_id);
    }
    auto events = tx.ListAuditEvents(f, after, *page_size + 1);
    if (!events.ok()) return events.status();
    if (events->size() > static_cast<size_t>(*page_size)) {
      events->resize(*page_size);
      page.next_page_token =
          EncodePageToken(fp, absl::StrCat(events->back().time_us, "|", events->back().sequence));
    }
    page.events = std::move(*events);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<ReportPage> TaskDirectory::ListProgressReports(const std::string& assignment_id,
                                                              int32_t page_size_in,
                                                              const std::string& token) {
  FieldViolations v;
  auto page_size = EffectivePageSize(page_size_in);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  v.AddIfError("assignment_id", CheckAssignmentId(assignment_id, "assignment_id"));
  if (!v.empty()) return v.ToStatus();
  uint64_t fp = FilterFingerprint(absl::StrCat("reports|a=", assignment_id));
  auto cursor_text = DecodePageToken(token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  std::optional<TimeCursor> before;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, '|');
    TimeCursor c;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &c.us)) return BadToken();
    c.id = parts[1];
    before = c;
  }
  ReportPage page;
  absl::Status status = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto a = tx.FindAssignment(assignment_id);
    if (!a.ok()) return a.status();
    if (!*a) return NotFound("assignment_id", "assignment", assignment_id);
    auto reports = tx.ListProgressReports(assignment_id, before, *page_size + 1);
    if (!reports.ok()) return reports.status();
    if (reports->size() > static_cast<size_t>(*page_size)) {
      reports->resize(*page_size);
      page.next_page_token =
          EncodePageToken(fp, absl::StrCat(reports->back().create_us, "|", reports->back().id));
    }
    page.reports = std::move(*reports);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return page;
}

}  // namespace duban::tasks
