// dubanctl assignments ...: one unit's part of a task and its state machine — acknowledge
// (签收), start, report progress (进展填报), submit, approve (办结销号), return (退回), cancel —
// its audit trail and extension requests (延期申请) (duban.tasks.v1.TaskService).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "paging.h"
#include "task_text.h"
#include "workplan_import.h"

namespace duban::cli {

namespace {

int Show(Context& ctx, const tv1::Assignment& a, const std::string& verb) {
  if (ctx.json()) {
    PrintJson(a);
  } else if (verb.empty()) {
    PrintAssignment(a, ctx);
  } else {
    std::cout << verb << " " << a.id() << ": now " << StateName(a.state()) << "\n";
  }
  return kExitOk;
}

// ---- list / get ----

struct ListOpts {
  std::string plan, task, under, unit, subtree, role, light_text;
  std::vector<std::string> states, lights;
  bool overdue = false, open = false;
  int limit = 0;
};

int ListAssignments(Context& ctx, const ListOpts& o) {
  tv1::ListAssignmentsRequest req;
  req.set_plan_id(o.plan);
  req.set_task_id(o.task);
  req.set_tasks_under(o.under);
  req.set_unit_id(o.unit);
  req.set_unit_subtree_of(o.subtree);
  if (!o.role.empty()) {
    const std::string r = o.role == "lead" || o.role == "LEAD" ? "ASSIGNMENT_ROLE_LEAD"
                          : o.role == "cooperate" || o.role == "COOPERATE"
                              ? "ASSIGNMENT_ROLE_COOPERATE"
                              : "";
    if (r.empty()) throw UsageError{"--role: lead or cooperate"};
    tv1::AssignmentRole role = tv1::ASSIGNMENT_ROLE_UNSPECIFIED;
    tv1::AssignmentRole_Parse(r, &role);
    req.set_role(role);
  }
  for (const auto& s : o.states) req.add_states(OrThrow(ParseAssignmentState(s), "--state"));
  for (const auto& l : o.lights) req.add_lights(OrThrow(ParseLight(l), "--light"));
  req.set_overdue_only(o.overdue);
  req.set_open_only(o.open);
  tv1::ListAssignmentsResponse all;
  const grpc::Status s = FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) {
        return ctx.tasks().ListAssignments(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_assignments(); }, all);
  if (!s.ok()) return ctx.Fail("ListAssignments", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  Table t({"ID", "TASK", "UNIT", "ROLE", "STATE", "DEADLINE", "LIGHT", "PROGRESS", "REASON"});
  for (const auto& a : all.assignments()) {
    t.AddRow({a.id(), a.task_id(), a.unit_id(), RoleName(a.role()), StateName(a.state()),
              FormatTime(a.deadline_time(), tz) + (a.overdue() ? " !" : ""),
              LightDot(a.light().light(), ctx.color()), Bar(CompletionPercent(a)),
              a.light().reason()});
  }
  t.Print(60);
  std::cout << t.size() << " assignment(s), evaluated " << FormatTime(all.evaluate_time(), tz)
            << "\n";
  return kExitOk;
}

int GetAssignment(Context& ctx, const std::string& id) {
  tv1::GetAssignmentRequest req;
  req.set_id(id);
  tv1::Assignment a;
  const grpc::Status s = ctx.tasks().GetAssignment(ctx.Call().get(), req, &a);
  if (!s.ok()) return ctx.Fail("GetAssignment", s);
  return Show(ctx, a, "");
}

// ---- transitions ----

struct TransitionOpts {
  std::string id, note, reason, etag, request_id;
};

using TransitionRpc = grpc::Status (tv1::TaskService::Stub::*)(grpc::ClientContext*,
                                                               const tv1::TransitionRequest&,
                                                               tv1::Assignment*);

int Transition(Context& ctx, const TransitionOpts& o, TransitionRpc rpc, const char* name,
               const char* verb) {
  tv1::TransitionRequest req;
  req.set_assignment_id(o.id);
  req.set_note(o.note);
  req.set_etag(o.etag);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::Assignment a;
  const grpc::Status s = (ctx.tasks().*rpc)(ctx.Call().get(), req, &a);
  if (!s.ok()) return ctx.Fail(name, s);
  return Show(ctx, a, verb);
}

int Return(Context& ctx, const TransitionOpts& o) {
  tv1::ReturnAssignmentRequest req;
  req.set_assignment_id(o.id);
  req.set_reason(o.reason);
  req.set_etag(o.etag);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::Assignment a;
  const grpc::Status s = ctx.tasks().ReturnAssignment(ctx.Call().get(), req, &a);
  if (!s.ok()) return ctx.Fail("ReturnAssignment", s);
  return Show(ctx, a, "returned");
}

int Cancel(Context& ctx, const TransitionOpts& o) {
  tv1::CancelAssignmentRequest req;
  req.set_assignment_id(o.id);
  req.set_reason(o.reason);
  req.set_etag(o.etag);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::Assignment a;
  const grpc::Status s = ctx.tasks().CancelAssignment(ctx.Call().get(), req, &a);
  if (!s.ok()) return ctx.Fail("CancelAssignment", s);
  return Show(ctx, a, "canceled");
}

struct ReportOpts {
  std::string id, text, etag, request_id;
  int percent = -1;
};

int Report(Context& ctx, const ReportOpts& o) {
  tv1::ReportProgressRequest req;
  req.set_assignment_id(o.id);
  req.set_percent(o.percent);
  req.set_text(o.text);
  req.set_etag(o.etag);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::ReportProgressResponse resp;
  const grpc::Status s = ctx.tasks().ReportProgress(ctx.Call().get(), req, &resp);
  if (!s.ok()) return ctx.Fail("ReportProgress", s);
  if (ctx.json()) {
    PrintJson(resp);
  } else {
    std::cout << "reported " << resp.report().percent() << "% on " << resp.assignment().id()
              << ": now " << StateName(resp.assignment().state()) << ", light "
              << LightDot(resp.assignment().light().light(), ctx.color()) << " "
              << resp.assignment().light().reason() << "\n";
  }
  return kExitOk;
}

// ---- audit ----

struct AuditOpts {
  std::string id;
  int limit = 0;
};

int Audit(Context& ctx, const AuditOpts& o) {
  tv1::ListAuditEventsRequest req;
  req.set_assignment_id(o.id);
  tv1::ListAuditEventsResponse all;
  const grpc::Status s = FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) {
        return ctx.tasks().ListAuditEvents(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_events(); }, all);
  if (!s.ok()) return ctx.Fail("ListAuditEvents", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  Table t({"TIME", "EVENT", "ACTOR", "SUMMARY", "NOTE"});
  for (const auto& e : all.events()) {
    std::string kind = tv1::AuditEventKind_Name(e.kind());
    if (kind.rfind("AUDIT_EVENT_KIND_", 0) == 0) kind = kind.substr(17);
    std::string actor =
        e.actor().name().empty() ? e.actor().id() : e.actor().name() + " (" + e.actor().id() + ")";
    t.AddRow({FormatTime(e.time(), ctx.options.time_zone), kind, actor, e.summary(), e.note()});
  }
  t.Print(60);
  std::cout << t.size() << " event(s)\n";
  return kExitOk;
}

// ---- extensions ----

struct ExtensionOpts {
  std::string id, until, reason, note, grant, etag, request_id;
};

int ShowExtension(Context& ctx, const tv1::ExtensionRequest& e, const std::string& verb) {
  if (ctx.json()) {
    PrintJson(e);
    return kExitOk;
  }
  std::string state = tv1::ExtensionState_Name(e.state());
  if (state.rfind("EXTENSION_STATE_", 0) == 0) state = state.substr(16);
  const std::string& tz = ctx.options.time_zone;
  std::cout << verb << " extension " << e.id() << " (" << state << ") for assignment "
            << e.assignment_id() << ": " << FormatTime(e.previous_deadline_time(), tz) << " → "
            << FormatTime(e.requested_deadline_time(), tz);
  if (e.has_granted_deadline_time()) {
    std::cout << ", granted " << FormatTime(e.granted_deadline_time(), tz);
  }
  std::cout << "\n";
  return kExitOk;
}

int RequestExtension(Context& ctx, const ExtensionOpts& o) {
  tv1::RequestExtensionRequest req;
  req.set_assignment_id(o.id);
  *req.mutable_requested_deadline() =
      OrThrow(ParseAbsoluteDeadline(o.until, ctx.options.time_zone), "--until");
  req.set_reason(o.reason);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::ExtensionRequest e;
  const grpc::Status s = ctx.tasks().RequestExtension(ctx.Call().get(), req, &e);
  if (!s.ok()) return ctx.Fail("RequestExtension", s);
  return ShowExtension(ctx, e, "requested");
}

int DecideExtension(Context& ctx, const ExtensionOpts& o, bool approve) {
  tv1::DecideExtensionRequest req;
  req.set_id(o.id);
  req.set_note(o.note);
  req.set_etag(o.etag);
  req.set_request_id(o.request_id);
  if (!o.grant.empty()) {
    if (!approve) throw UsageError{"--grant is for approve only"};
    *req.mutable_granted_deadline() =
        OrThrow(ParseAbsoluteDeadline(o.grant, ctx.options.time_zone), "--grant");
  }
  *req.mutable_actor() = ctx.actor();
  tv1::ExtensionRequest e;
  const grpc::Status s = approve ? ctx.tasks().ApproveExtension(ctx.Call().get(), req, &e)
                                 : ctx.tasks().RejectExtension(ctx.Call().get(), req, &e);
  if (!s.ok()) return ctx.Fail(approve ? "ApproveExtension" : "RejectExtension", s);
  return ShowExtension(ctx, e, approve ? "approved" : "rejected");
}

struct ExtListOpts {
  std::string assignment, plan, task, unit;
  std::vector<std::string> states;
};

int ListExtensions(Context& ctx, const ExtListOpts& o) {
  tv1::ListExtensionRequestsRequest req;
  req.set_assignment_id(o.assignment);
  req.set_plan_id(o.plan);
  req.set_task_id(o.task);
  req.set_unit_id(o.unit);
  for (const auto& st : o.states) {
    std::string u = st;
    for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    tv1::ExtensionState state = tv1::EXTENSION_STATE_UNSPECIFIED;
    if (!tv1::ExtensionState_Parse("EXTENSION_STATE_" + u, &state)) {
      throw UsageError{"--state: pending, approved, rejected or withdrawn"};
    }
    req.add_states(state);
  }
  tv1::ListExtensionRequestsResponse all;
  const grpc::Status s = FetchPages(
      req, 0,
      [&](const auto& r, auto& page) {
        return ctx.tasks().ListExtensionRequests(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_requests(); }, all);
  if (!s.ok()) return ctx.Fail("ListExtensionRequests", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  Table t({"ID", "ASSIGNMENT", "UNIT", "STATE", "FROM", "TO", "REASON"});
  for (const auto& e : all.requests()) {
    std::string state = tv1::ExtensionState_Name(e.state()).substr(16);
    t.AddRow({e.id(), e.assignment_id(), e.unit_id(), state,
              FormatTime(e.previous_deadline_time(), tz),
              FormatTime(e.requested_deadline_time(), tz), e.reason()});
  }
  t.Print(60);
  std::cout << t.size() << " request(s)\n";
  return kExitOk;
}

void AddTransition(CLI::App& parent, Context& ctx, const std::string& name,
                   const std::string& description, TransitionRpc rpc, const char* rpc_name,
                   const char* verb) {
  auto o = std::make_shared<TransitionOpts>();
  CLI::App* cmd = Leaf(parent, name, description, ctx, [&ctx, o, rpc, rpc_name, verb] {
    return Transition(ctx, *o, rpc, rpc_name, verb);
  });
  cmd->add_option("id", o->id, "Assignment id")->required();
  cmd->add_option("--note", o->note, "Note for the audit trail");
  cmd->add_option("--etag", o->etag, "Fail (exit 5) if the assignment changed since this etag");
  cmd->add_option("--request-id", o->request_id, "Idempotency key for safe retries");
}

}  // namespace

void AddAssignmentsCommands(CLI::App& app, Context& ctx) {
  CLI::App* as = Group(app, "assignments",
                       "One unit's part of a task: list, state transitions, progress, extensions");

  auto l = std::make_shared<ListOpts>();
  CLI::App* list = Leaf(*as, "list",
                        "List assignments (at least one of --plan/--task/--under/"
                        "--unit/--subtree)",
                        ctx, [&ctx, l] { return ListAssignments(ctx, *l); });
  list->add_option("--plan", l->plan, "Only this plan");
  list->add_option("--task", l->task, "Only this task's own assignments");
  list->add_option("--under", l->under, "Only assignments of this task's descendants");
  list->add_option("--unit", l->unit, "Only this unit");
  list->add_option("--subtree", l->subtree, "Only units in this unit's subtree");
  list->add_option("--role", l->role, "lead or cooperate");
  list->add_option("--state", l->states, "Only this state (repeatable), e.g. assigned");
  list->add_option("--light", l->lights, "Only this light (repeatable): red, yellow, green");
  list->add_flag("--overdue", l->overdue, "Only overdue assignments");
  list->add_flag("--open", l->open, "Only open assignments");
  list->add_option("--limit", l->limit, "At most N assignments");

  auto id = std::make_shared<std::string>();
  Leaf(*as, "get", "Show one assignment with its light and progress", ctx,
       [&ctx, id] { return GetAssignment(ctx, *id); })
      ->add_option("id", *id, "Assignment id")
      ->required();

  using Stub = tv1::TaskService::Stub;
  AddTransition(*as, ctx, "ack", "Acknowledge (签收): ASSIGNED → ACKNOWLEDGED",
                &Stub::AcknowledgeAssignment, "AcknowledgeAssignment", "acknowledged");
  AddTransition(*as, ctx, "start", "Start work: ACKNOWLEDGED/RETURNED → IN_PROGRESS",
                &Stub::StartAssignment, "StartAssignment", "started");
  AddTransition(*as, ctx, "submit", "Submit for approval (报送) → SUBMITTED",
                &Stub::SubmitAssignment, "SubmitAssignment", "submitted");
  AddTransition(*as, ctx, "approve", "Approve a submission (办结销号): SUBMITTED → DONE",
                &Stub::ApproveAssignment, "ApproveAssignment", "approved");
  // `close` is the everyday word for 办结; it is the same RPC as approve.
  AddTransition(*as, ctx, "close", "Close (办结销号), same as approve: SUBMITTED → DONE",
                &Stub::ApproveAssignment, "ApproveAssignment", "closed");

  auto r = std::make_shared<TransitionOpts>();
  CLI::App* ret = Leaf(*as, "return", "Return a submission (退回): SUBMITTED → RETURNED", ctx,
                       [&ctx, r] { return Return(ctx, *r); });
  ret->add_option("id", r->id, "Assignment id")->required();
  ret->add_option("--reason", r->reason, "Why it is returned")->required();
  ret->add_option("--etag", r->etag, "Fail if the assignment changed since this etag");
  ret->add_option("--request-id", r->request_id, "Idempotency key for safe retries");

  auto x = std::make_shared<TransitionOpts>();
  CLI::App* cancel =
      Leaf(*as, "cancel", "Cancel an open assignment", ctx, [&ctx, x] { return Cancel(ctx, *x); });
  cancel->add_option("id", x->id, "Assignment id")->required();
  cancel->add_option("--reason", x->reason, "Why it is canceled")->required();
  cancel->add_option("--etag", x->etag, "Fail if the assignment changed since this etag");
  cancel->add_option("--request-id", x->request_id, "Idempotency key for safe retries");

  auto p = std::make_shared<ReportOpts>();
  CLI::App* report =
      Leaf(*as, "report", "Report progress (进展填报)", ctx, [&ctx, p] { return Report(ctx, *p); });
  report->add_option("id", p->id, "Assignment id")->required();
  report->add_option("--percent", p->percent, "Progress, 0-100")->required();
  report->add_option("--text", p->text, "What was done");
  report->add_option("--etag", p->etag, "Fail if the assignment changed since this etag");
  report->add_option("--request-id", p->request_id, "Idempotency key for safe retries");

  auto au = std::make_shared<AuditOpts>();
  CLI::App* audit = Leaf(*as, "audit", "The audit trail of an assignment", ctx,
                         [&ctx, au] { return Audit(ctx, *au); });
  audit->add_option("id", au->id, "Assignment id")->required();
  audit->add_option("--limit", au->limit, "At most N events");

  CLI::App* ext = Group(*as, "extension", "Extension requests (延期申请)");
  auto eq = std::make_shared<ExtensionOpts>();
  CLI::App* request = Leaf(*ext, "request", "Ask for a later working deadline", ctx,
                           [&ctx, eq] { return RequestExtension(ctx, *eq); });
  request->add_option("id", eq->id, "Assignment id")->required();
  request->add_option("--until", eq->until, "The deadline asked for")->required();
  request->add_option("--reason", eq->reason, "Why")->required();
  request->add_option("--request-id", eq->request_id, "Idempotency key for safe retries");
  for (const bool approve : {true, false}) {
    auto d = std::make_shared<ExtensionOpts>();
    CLI::App* decide = Leaf(*ext, approve ? "approve" : "reject",
                            approve ? "Approve a pending extension request"
                                    : "Reject a pending extension request (--note required)",
                            ctx, [&ctx, d, approve] { return DecideExtension(ctx, *d, approve); });
    decide->add_option("id", d->id, "Extension request id")->required();
    decide->add_option("--note", d->note, approve ? "Note" : "Why it is rejected");
    if (approve) decide->add_option("--grant", d->grant, "Grant this deadline (default: asked)");
    decide->add_option("--etag", d->etag, "Fail if the request changed since this etag");
    decide->add_option("--request-id", d->request_id, "Idempotency key for safe retries");
  }
  auto el = std::make_shared<ExtListOpts>();
  CLI::App* elist = Leaf(*ext, "list", "List extension requests", ctx,
                         [&ctx, el] { return ListExtensions(ctx, *el); });
  elist->add_option("--assignment", el->assignment, "Only this assignment");
  elist->add_option("--plan", el->plan, "Only this plan");
  elist->add_option("--task", el->task, "Only this task");
  elist->add_option("--unit", el->unit, "Only this unit");
  elist->add_option("--state", el->states, "pending, approved, rejected, withdrawn (repeatable)");
}

}  // namespace duban::cli
