// dubanctl tasks ...: the task tree of a plan (重点任务 → 工作任务), importing a work-plan
// table, cascading (层层落实) and cancelling (duban.tasks.v1.TaskService).
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_context.h"
#include "output.h"
#include "task_text.h"
#include "workplan_import.h"

namespace duban::cli {

namespace {

// --deadline / --working-days [--from]: exactly one of the first two unless `optional`.
struct DeadlineFlags {
  std::string deadline, from;
  int working_days = 0;

  void Add(CLI::App* cmd) {
    cmd->add_option("--deadline", deadline,
                    "Deadline: 2026-12-31 (18:00), '2026-12-31 12:00', RFC 3339 or +3d");
    cmd->add_option("--working-days", working_days, "Or: due N working days after --from");
    cmd->add_option("--from", from, "Start date for --working-days (default today)");
  }
  // Unset Deadline when neither is given and `optional`.
  std::optional<tv1::Deadline> Get(const std::string& tz, bool optional) const {
    if (!deadline.empty() && working_days != 0) {
      throw UsageError{"give either --deadline or --working-days, not both"};
    }
    if (!deadline.empty()) return OrThrow(ParseAbsoluteDeadline(deadline, tz), "--deadline");
    if (working_days != 0)
      return OrThrow(WorkingDaysDeadline(working_days, from), "--working-days");
    if (!from.empty()) throw UsageError{"--from needs --working-days"};
    if (optional) return std::nullopt;
    throw UsageError{"a deadline is required: --deadline TIME or --working-days N"};
  }
};

void PrintTask(const tv1::Task& t, const std::vector<tv1::Assignment>& assignments,
               const Context& ctx) {
  const std::string& tz = ctx.options.time_zone;
  std::cout << "id:          " << t.id() << "\n"
            << "title:       " << t.title() << "\n"
            << "plan:        " << t.plan_id() << "\n"
            << "parent:      " << (t.parent_task_id().empty() ? "-" : t.parent_task_id())
            << (t.cascaded() ? " (cascaded)" : "") << "\n"
            << "state:       " << TaskStateName(t.state()) << "\n"
            << "lead:        " << t.lead_unit_id() << "\n";
  if (t.cooperating_unit_ids_size() > 0) {
    std::cout << "cooperating: ";
    for (int i = 0; i < t.cooperating_unit_ids_size(); ++i) {
      std::cout << (i ? ", " : "") << t.cooperating_unit_ids(i);
    }
    std::cout << "\n";
  }
  std::cout << "deadline:    " << FormatTime(t.deadline_time(), tz)
            << (t.deadline_provisional() ? " [provisional calendar]" : "") << "\n"
            << "priority:    " << PriorityName(t.priority()) << "\n";
  if (t.tags_size() > 0) {
    std::cout << "tags:        ";
    for (int i = 0; i < t.tags_size(); ++i) std::cout << (i ? ", " : "") << t.tags(i);
    std::cout << "\n";
  }
  if (!t.reminder_policy_id().empty())
    std::cout << "policy:      " << t.reminder_policy_id() << "\n";
  std::cout << "children:    " << t.child_count() << "\n";
  if (!t.description().empty()) std::cout << "description: " << t.description() << "\n";
  if (t.milestones_size() > 0) {
    std::cout << "milestones:\n";
    for (const auto& m : t.milestones()) {
      std::cout << "  " << m.id() << "  " << FormatTime(m.due_time(), tz) << "  "
                << (m.planned_percent() > 0 ? std::to_string(m.planned_percent()) + "%" : "auto")
                << "  " << m.title() << "\n";
    }
  }
  std::cout << "etag:        " << t.etag() << "\n\n";
  Table table({"ASSIGNMENT", "UNIT", "ROLE", "STATE", "LIGHT", "PROGRESS", "REASON"});
  for (const auto& a : assignments) {
    table.AddRow({a.id(), a.unit_id(), RoleName(a.role()), StateName(a.state()),
                  LightDot(a.light().light(), ctx.color()), Bar(CompletionPercent(a)),
                  a.light().reason()});
  }
  table.Print(60);
}

// ---- create ----

struct CreateOpts {
  std::string plan, title, lead, cooperate, parent, priority, policy, description, id, request_id;
  std::vector<std::string> milestones, tags;
  DeadlineFlags deadline;
};

int CreateTask(Context& ctx, const CreateOpts& o) {
  const std::string& tz = ctx.options.time_zone;
  tv1::CreateTaskRequest req;
  tv1::Task& t = *req.mutable_task();
  t.set_id(o.id);
  t.set_plan_id(o.plan);
  t.set_parent_task_id(o.parent);
  t.set_title(o.title);
  t.set_description(o.description);
  t.set_lead_unit_id(o.lead);
  for (const auto& u : SplitList(o.cooperate, ',')) t.add_cooperating_unit_ids(u);
  *t.mutable_deadline() = *o.deadline.Get(tz, false);
  for (const auto& m : o.milestones)
    *t.add_milestones() = OrThrow(ParseMilestone(m, tz), "--milestone");
  if (!o.priority.empty()) t.set_priority(OrThrow(ParsePriority(o.priority), "--priority"));
  for (const auto& tag : o.tags) t.add_tags(tag);
  t.set_reminder_policy_id(o.policy);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::Task task;
  const grpc::Status s = ctx.tasks().CreateTask(ctx.Call().get(), req, &task);
  if (!s.ok()) return ctx.Fail("CreateTask", s);
  if (ctx.json()) {
    PrintJson(task);
  } else {
    std::cout << "created task " << task.id() << " (" << task.title() << "), due "
              << FormatTime(task.deadline_time(), tz) << ", " << task.assignments_size()
              << " assignment(s)\n";
  }
  return kExitOk;
}

// ---- import ----

struct ImportOpts {
  std::string plan, file;
  bool dry_run = false;
};

int ImportTasks(Context& ctx, const ImportOpts& o) {
  const std::vector<WorkPlanRow> rows = ReadWorkPlan(o.file, ctx.options.time_zone);
  if (o.dry_run) {
    if (ctx.json()) {
      std::cout << nlohmann::json({{"valid", true}, {"rows", rows.size()}}).dump() << "\n";
    } else {
      std::cout << o.file << ": " << rows.size() << " task(s), all valid; nothing sent\n";
    }
    return kExitOk;
  }
  std::map<std::string, std::string> ids;  // key → task id
  nlohmann::json created = nlohmann::json::array();
  Table table({"KEY", "TASK", "TITLE", "DEADLINE"});
  for (const WorkPlanRow& row : rows) {
    tv1::CreateTaskRequest req;
    *req.mutable_task() = row.task;
    req.mutable_task()->set_plan_id(o.plan);
    if (!row.parent_key.empty()) req.mutable_task()->set_parent_task_id(ids.at(row.parent_key));
    req.set_request_id(ImportRequestId(o.plan, row.key));
    *req.mutable_actor() = ctx.actor();
    tv1::Task task;
    const grpc::Status s = ctx.tasks().CreateTask(ctx.Call().get(), req, &task);
    if (!s.ok()) {
      // What was created stays (a re-run after fixing the row skips it by request_id).
      if (!ctx.json() && table.size() > 0) table.Print();
      std::cerr << o.file << ":" << row.line << ": row '" << row.key << "' rejected; " << ids.size()
                << " of " << rows.size() << " task(s) created before it\n";
      return ctx.Fail("CreateTask", s);
    }
    ids[row.key] = task.id();
    created.push_back({{"key", row.key}, {"line", row.line}, {"taskId", task.id()}});
    table.AddRow({row.key, task.id(), task.title(),
                  FormatTime(task.deadline_time(), ctx.options.time_zone)});
  }
  if (ctx.json()) {
    std::cout << nlohmann::json({{"planId", o.plan}, {"tasks", created}}).dump() << "\n";
  } else {
    table.Print();
    std::cout << rows.size() << " task(s) imported into " << o.plan << "\n";
  }
  return kExitOk;
}

// ---- cascade ----

struct CascadeOpts {
  std::string task, root, unit_tag, title, priority, policy, note, request_id;
  std::vector<std::string> kinds, milestones, child_tags;
  DeadlineFlags deadline;
  bool clamp = false, force = false, dry_run = false;
};

// The units named in a RESOURCE_EXHAUSTED status's google.rpc.QuotaFailure.
void PrintQuotaFailure(const grpc::Status& s) {
  google::rpc::Status details;
  if (s.error_details().empty() || !details.ParseFromString(s.error_details())) return;
  for (const auto& any : details.details()) {
    google::rpc::QuotaFailure qf;
    if (!any.UnpackTo(&qf)) continue;
    std::cerr << "units over their assignment budget (use --force to cascade anyway):\n";
    for (const auto& v : qf.violations()) {
      std::cerr << "  " << v.subject() << ": " << v.description() << "\n";
    }
  }
}

int CascadeTask(Context& ctx, const CascadeOpts& o) {
  const std::string& tz = ctx.options.time_zone;
  tv1::CascadeTaskRequest req;
  req.set_task_id(o.task);
  req.set_root_unit_id(o.root);
  for (const auto& k : o.kinds) req.add_unit_kinds(OrThrow(ParseTaskUnitKind(k), "--kind"));
  req.set_unit_tag(o.unit_tag);
  req.set_title(o.title);
  if (auto d = o.deadline.Get(tz, true)) *req.mutable_deadline() = *d;
  for (const auto& m : o.milestones)
    *req.add_milestones() = OrThrow(ParseMilestone(m, tz), "--milestone");
  if (!o.priority.empty()) req.set_priority(OrThrow(ParsePriority(o.priority), "--priority"));
  for (const auto& t : o.child_tags) req.add_tags(t);
  req.set_reminder_policy_id(o.policy);
  req.set_clamp_deadlines(o.clamp);
  req.set_force(o.force);
  req.set_validate_only(o.dry_run);
  req.set_note(o.note);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::CascadeTaskResponse resp;
  // A cascade over a whole province writes tens of thousands of rows: allow it more time.
  const grpc::Status s = ctx.tasks().CascadeTask(ctx.Call(10).get(), req, &resp);
  if (!s.ok()) {
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && !ctx.json()) {
      PrintQuotaFailure(s);
    }
    return ctx.Fail("CascadeTask", s);
  }
  if (ctx.json()) {
    PrintJson(resp);
    return kExitOk;
  }
  std::cout << (resp.applied() ? "cascaded" : "dry run (nothing written)") << ": "
            << resp.matched_units() << " unit(s) matched, " << resp.created_tasks()
            << (resp.applied() ? " child task(s) created, " : " would be created, ")
            << resp.skipped_existing() << " skipped (already cascaded)\n";
  if (resp.deadline_provisional()) {
    std::cout << "note: some deadlines were computed on provisional holiday data\n";
  }
  if (resp.clamped_count() > 0) {
    std::cout << "\n" << resp.clamped_count() << " deadline(s) clamped:\n";
    Table t({"UNIT", "MILESTONE", "REQUESTED", "APPLIED", "REASON"});
    for (const auto& c : resp.clamped()) {
      t.AddRow({c.unit_id(), c.milestone_title().empty() ? "(deadline)" : c.milestone_title(),
                FormatTime(c.requested_time(), tz), FormatTime(c.applied_time(), tz), c.reason()});
    }
    t.Print(60);
  }
  if (resp.over_budget_count() > 0) {
    std::cout << "\n"
              << resp.over_budget_count() << " unit(s) over their assignment budget"
              << (resp.applied() ? " (forced)" : "") << ":\n";
    Table t({"UNIT", "KIND", "OPEN", "BUDGET"});
    for (const auto& u : resp.over_budget()) {
      t.AddRow({u.unit_id(), tv1::UnitKind_Name(u.unit_kind()),
                std::to_string(u.open_assignments()), std::to_string(u.max_open_assignments())});
    }
    t.Print();
  }
  return kExitOk;
}

// ---- get / list / cancel ----

// The assignments behind a task's summaries (for their lights and progress).
grpc::Status FetchAssignments(Context& ctx, const tv1::Task& task,
                              std::vector<tv1::Assignment>* out) {
  if (task.assignments_size() == 0) return grpc::Status::OK;
  tv1::BatchGetAssignmentsRequest req;
  for (const auto& a : task.assignments()) req.add_ids(a.assignment_id());
  tv1::BatchGetAssignmentsResponse resp;
  const grpc::Status s = ctx.tasks().BatchGetAssignments(ctx.Call().get(), req, &resp);
  if (s.ok()) out->assign(resp.assignments().begin(), resp.assignments().end());
  return s;
}

int GetTask(Context& ctx, const std::string& id) {
  tv1::GetTaskRequest req;
  req.set_id(id);
  tv1::Task task;
  grpc::Status s = ctx.tasks().GetTask(ctx.Call().get(), req, &task);
  if (!s.ok()) return ctx.Fail("GetTask", s);
  if (ctx.json()) {
    PrintJson(task);
    return kExitOk;
  }
  std::vector<tv1::Assignment> assignments;
  s = FetchAssignments(ctx, task, &assignments);
  if (!s.ok()) return ctx.Fail("BatchGetAssignments", s);
  PrintTask(task, assignments, ctx);
  return kExitOk;
}

struct ListOpts {
  std::string plan, unit, subtree, parent, tag;
  std::vector<std::string> lights, states;
  bool overdue = false, top_level = false;
  int limit = 0;
};

int ListTasks(Context& ctx, const ListOpts& o) {
  tv1::ListTasksRequest req;
  req.set_plan_id(o.plan);
  req.set_unit_id(o.unit);
  req.set_unit_subtree_of(o.subtree);
  req.set_parent_task_id(o.parent);
  req.set_top_level_only(o.top_level);
  req.set_tag(o.tag);
  for (const auto& st : o.states) {
    std::string u = st;
    for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    tv1::TaskState state = tv1::TASK_STATE_UNSPECIFIED;
    if (!tv1::TaskState_Parse(u, &state) && !tv1::TaskState_Parse("TASK_STATE_" + u, &state)) {
      throw UsageError{"--state: bad task state '" + st + "' (open, closed, canceled)"};
    }
    req.add_states(state);
  }
  // Lights and "overdue" belong to assignments: find the tasks that have a matching one.
  std::optional<std::set<std::string>> keep;
  if (o.overdue || !o.lights.empty()) {
    tv1::ListAssignmentsRequest areq;
    areq.set_plan_id(o.plan);
    areq.set_unit_id(o.unit);
    areq.set_unit_subtree_of(o.subtree);
    areq.set_overdue_only(o.overdue);
    for (const auto& l : o.lights) areq.add_lights(OrThrow(ParseLight(l), "--light"));
    areq.set_page_size(1000);
    keep.emplace();
    do {
      tv1::ListAssignmentsResponse page;
      const grpc::Status s = ctx.tasks().ListAssignments(ctx.Call().get(), areq, &page);
      if (!s.ok()) return ctx.Fail("ListAssignments", s);
      for (const auto& a : page.assignments()) keep->insert(a.task_id());
      areq.set_page_token(page.next_page_token());
    } while (!areq.page_token().empty());
  }
  tv1::ListTasksResponse all;
  req.set_page_size(1000);
  do {
    tv1::ListTasksResponse page;
    const grpc::Status s = ctx.tasks().ListTasks(ctx.Call().get(), req, &page);
    if (!s.ok()) return ctx.Fail("ListTasks", s);
    for (auto& t : *page.mutable_tasks()) {
      if (keep && !keep->count(t.id())) continue;
      if (o.limit > 0 && all.tasks_size() >= o.limit) break;
      *all.add_tasks() = std::move(t);
    }
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty() && (o.limit <= 0 || all.tasks_size() < o.limit));
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  Table t({"ID", "TITLE", "LEAD", "DEADLINE", "STATE", "PRIORITY", "PARENT", "ASSIGNMENTS"});
  for (const auto& task : all.tasks()) {
    int done = 0;
    for (const auto& a : task.assignments()) done += a.state() == tv1::ASSIGNMENT_STATE_DONE;
    t.AddRow({task.id(), task.title(), task.lead_unit_id(),
              FormatTime(task.deadline_time(), ctx.options.time_zone), TaskStateName(task.state()),
              PriorityName(task.priority()),
              task.parent_task_id().empty() ? "-" : task.parent_task_id(),
              std::to_string(done) + "/" + std::to_string(task.assignments_size()) + " done"});
  }
  t.Print();
  std::cout << t.size() << " task(s)\n";
  return kExitOk;
}

struct CancelOpts {
  std::string id, reason, etag, request_id;
};

int CancelTask(Context& ctx, const CancelOpts& o) {
  tv1::CancelTaskRequest req;
  req.set_id(o.id);
  req.set_reason(o.reason);
  req.set_etag(o.etag);
  req.set_request_id(o.request_id);
  *req.mutable_actor() = ctx.actor();
  tv1::Task task;
  const grpc::Status s = ctx.tasks().CancelTask(ctx.Call().get(), req, &task);
  if (!s.ok()) return ctx.Fail("CancelTask", s);
  if (ctx.json())
    PrintJson(task);
  else
    std::cout << "canceled task " << task.id() << " and its subtree\n";
  return kExitOk;
}

}  // namespace

void AddTasksCommands(CLI::App& app, Context& ctx) {
  CLI::App* tasks = Group(app, "tasks", "Tasks of a plan: create, import, cascade, list, cancel");

  auto c = std::make_shared<CreateOpts>();
  CLI::App* create = Leaf(*tasks, "create", "Create a task with its lead and cooperating units",
                          ctx, [&ctx, c] { return CreateTask(ctx, *c); });
  create->add_option("--plan", c->plan, "Plan id")->required();
  create->add_option("--title", c->title, "Title")->required();
  create->add_option("--lead", c->lead, "Lead unit id (牵头单位)")->required();
  create->add_option("--cooperate", c->cooperate,
                     "Cooperating unit ids (配合单位), comma-separated");
  c->deadline.Add(create);
  create->add_option("--milestone", c->milestones,
                     "Milestone 'title@TIME' or 'title@TIME@PERCENT' (repeatable)");
  create->add_option("--parent", c->parent, "Parent task id (key task → work task)");
  create->add_option("--priority", c->priority, "low, normal, high or urgent");
  create->add_option("--tag", c->tags, "Tag (repeatable)");
  create->add_option("--policy", c->policy, "Reminder policy id");
  create->add_option("--description", c->description, "Description");
  create->add_option("--id", c->id, "Task id (default: generated)");
  create->add_option("--request-id", c->request_id, "Idempotency key for safe retries");

  auto im = std::make_shared<ImportOpts>();
  CLI::App* import =
      Leaf(*tasks, "import", "Import a work-plan table (CSV or YAML); safe to re-run", ctx,
           [&ctx, im] { return ImportTasks(ctx, *im); });
  import->add_option("--plan", im->plan, "Plan id")->required();
  import
      ->add_option(
          "file", im->file,
          "CSV with the header key,parent_key,title,lead_unit,cooperating_units,"
          "deadline,working_days,milestones,priority,tags (or .yaml/.yml; - reads CSV from stdin)")
      ->required();
  import->add_flag("--dry-run", im->dry_run, "Only check the file");

  auto cs = std::make_shared<CascadeOpts>();
  CLI::App* cascade =
      Leaf(*tasks, "cascade", "Cascade a task to every matching unit of a subtree (层层落实)", ctx,
           [&ctx, cs] { return CascadeTask(ctx, *cs); });
  cascade->add_option("task", cs->task, "Task id to cascade from")->required();
  cascade->add_option("--root", cs->root, "Root of the unit subtree")->required();
  cascade->add_option("--kind", cs->kinds,
                      "Only units of this kind (repeatable), e.g. party_branch");
  cascade->add_option("--tag", cs->unit_tag, "Only units with this tag, e.g. 国企");
  cascade->add_option("--title", cs->title, "Children's title (default the task's)");
  cs->deadline.Add(cascade);
  cascade->add_option("--milestone", cs->milestones, "Children's milestones (repeatable)");
  cascade->add_option("--priority", cs->priority, "Children's priority");
  cascade->add_option("--child-tag", cs->child_tags, "Children's tags (repeatable)");
  cascade->add_option("--policy", cs->policy, "Children's reminder policy id");
  cascade->add_flag("--clamp", cs->clamp, "Move too-early deadlines instead of failing");
  cascade->add_flag("--force", cs->force, "Apply even if units go over their assignment budget");
  cascade->add_flag("--dry-run", cs->dry_run, "Report what would happen, write nothing");
  cascade->add_option("--note", cs->note, "Recorded in the audit trail");
  cascade->add_option("--request-id", cs->request_id, "Idempotency key for safe retries");

  auto id = std::make_shared<std::string>();
  Leaf(*tasks, "get", "Show a task with its assignments and lights", ctx,
       [&ctx, id] { return GetTask(ctx, *id); })
      ->add_option("id", *id, "Task id")
      ->required();

  auto l = std::make_shared<ListOpts>();
  CLI::App* list = Leaf(*tasks, "list", "List the tasks of a plan", ctx,
                        [&ctx, l] { return ListTasks(ctx, *l); });
  list->add_option("--plan", l->plan, "Plan id")->required();
  list->add_option("--unit", l->unit, "Only tasks assigned to this unit");
  list->add_option("--subtree", l->subtree, "Only tasks assigned in this unit's subtree");
  list->add_option("--parent", l->parent, "Only direct children of this task");
  list->add_flag("--top-level", l->top_level, "Only key tasks");
  list->add_option("--tag", l->tag, "Only tasks with this tag");
  list->add_option("--state", l->states, "open, closed or canceled (repeatable)");
  list->add_flag("--overdue", l->overdue, "Only tasks with an overdue assignment");
  list->add_option("--light", l->lights,
                   "Only tasks with an assignment of this light (repeatable)");
  list->add_option("--limit", l->limit, "At most N tasks");

  auto x = std::make_shared<CancelOpts>();
  CLI::App* cancel = Leaf(*tasks, "cancel", "Cancel a task, its subtree and open assignments", ctx,
                          [&ctx, x] { return CancelTask(ctx, *x); });
  cancel->add_option("id", x->id, "Task id")->required();
  cancel->add_option("--reason", x->reason, "Why (recorded on every assignment)")->required();
  cancel->add_option("--etag", x->etag, "Fail if the task changed since this etag");
  cancel->add_option("--request-id", x->request_id, "Idempotency key for safe retries");
}

}  // namespace duban::cli
