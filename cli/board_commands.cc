// dubanctl board ...: the battle map (挂图作战) of a plan in the terminal or as an HTML page,
// coverage of a cascaded task ("who hasn't") and the burden per unit (减轻基层负担)
// (duban.tasks.v1.TaskService GetBoard, GetCoverage, GetBurden).
#include <absl/time/clock.h>

#include <fstream>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "board_html.h"
#include "cli_context.h"
#include "output.h"
#include "paging.h"
#include "task_text.h"
#include "workplan_import.h"

namespace duban::cli {

namespace {

struct BoardOpts {
  std::string plan, root, task, group_by = "unit", role, order = "rank", html;
  bool reasons = false;
  int limit = 0;
};

tv1::BoardGrouping Grouping(const std::string& g) {
  if (g == "unit") return tv1::BOARD_GROUPING_UNIT;
  if (g == "kind") return tv1::BOARD_GROUPING_UNIT_KIND;
  if (g == "tag") return tv1::BOARD_GROUPING_UNIT_TAG;
  if (g == "child") return tv1::BOARD_GROUPING_CHILD_OF_ROOT;
  if (g == "task") return tv1::BOARD_GROUPING_TOP_LEVEL_TASK;
  throw UsageError{"--group-by: unit, kind, tag, child (of --root) or task"};
}

// Every page of the board in one response (groups appended; totals from the first page).
grpc::Status FetchBoard(Context& ctx, const BoardOpts& o, tv1::BoardGrouping grouping,
                        tv1::GetBoardResponse* all) {
  tv1::GetBoardRequest req;
  req.set_plan_id(o.plan);
  req.set_root_unit_id(o.root);
  req.set_task_id(o.task);
  req.set_group_by(grouping);
  if (o.role == "lead")
    req.set_role(tv1::ASSIGNMENT_ROLE_LEAD);
  else if (o.role == "cooperate")
    req.set_role(tv1::ASSIGNMENT_ROLE_COOPERATE);
  else if (!o.role.empty())
    throw UsageError{"--role: lead or cooperate"};
  if (o.order == "key")
    req.set_order_by(tv1::BOARD_ORDER_KEY);
  else if (o.order == "rank")
    req.set_order_by(tv1::BOARD_ORDER_RANK);
  else
    throw UsageError{"--order: rank or key"};
  // The totals, group count and evaluate_time of the first page hold for the whole board.
  return FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) { return ctx.tasks().GetBoard(ctx.Call().get(), r, &page); },
      [](auto& page) { return page.mutable_groups(); }, *all);
}

// The plan's assignments under the board's filters (--root, --task with its subtree).
grpc::Status FetchAssignments(Context& ctx, const BoardOpts& o,
                              const std::vector<tv1::TrafficLight>& lights,
                              std::vector<tv1::Assignment>* out, std::string* rpc) {
  *rpc = "ListAssignments";
  std::vector<tv1::ListAssignmentsRequest> reqs(o.task.empty() ? 1 : 2);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto& req = reqs[i];
    req.set_plan_id(o.plan);
    req.set_unit_subtree_of(o.root);
    if (!o.task.empty()) (i == 0 ? req.set_task_id(o.task) : req.set_tasks_under(o.task));
    for (auto l : lights) req.add_lights(l);
    tv1::ListAssignmentsResponse all;
    const grpc::Status s = FetchPages(
        req, 0,
        [&](const auto& r, auto& page) {
          return ctx.tasks().ListAssignments(ctx.Call().get(), r, &page);
        },
        [](auto& page) { return page.mutable_assignments(); }, all);
    if (!s.ok()) return s;
    for (auto& a : *all.mutable_assignments()) out->push_back(std::move(a));
  }
  return grpc::Status::OK;
}

int WriteHtml(Context& ctx, const BoardOpts& o) {
  BoardHtmlInput in;
  in.time_zone = ctx.options.time_zone;
  {
    tv1::GetPlanRequest req;
    req.set_id(o.plan);
    const grpc::Status s = ctx.tasks().GetPlan(ctx.Call().get(), req, &in.plan);
    if (!s.ok()) return ctx.Fail("GetPlan", s);
  }
  tv1::GetBoardResponse board;
  grpc::Status s = FetchBoard(ctx, o, tv1::BOARD_GROUPING_UNIT, &board);
  if (!s.ok()) return ctx.Fail("GetBoard", s);
  in.units.assign(board.groups().begin(), board.groups().end());
  in.totals = board.totals();
  {
    tv1::ListTasksRequest req;
    req.set_plan_id(o.plan);
    tv1::ListTasksResponse all;
    s = FetchPages(
        req, 0,
        [&](const auto& r, auto& page) {
          return ctx.tasks().ListTasks(ctx.Call().get(), r, &page);
        },
        [](auto& page) { return page.mutable_tasks(); }, all);
    if (!s.ok()) return ctx.Fail("ListTasks", s);
    for (auto& t : *all.mutable_tasks()) in.tasks.push_back(std::move(t));
  }
  std::string rpc;
  s = FetchAssignments(ctx, o, {}, &in.assignments, &rpc);
  if (!s.ok()) return ctx.Fail(rpc, s);
  google::protobuf::Timestamp now;
  now.set_seconds(absl::ToUnixSeconds(absl::Now()));
  in.generated_at = FormatTime(now, ctx.options.time_zone) + " " + ctx.options.time_zone;
  const std::string page = RenderBoardHtml(in);
  std::ofstream f(o.html, std::ios::binary | std::ios::trunc);
  if (!f || !(f << page) || !(f.flush())) throw UsageError{o.html + ": cannot write the file"};
  if (ctx.json()) {
    std::cout << nlohmann::json({{"file", o.html},
                                 {"units", in.units.size()},
                                 {"assignments", in.assignments.size()},
                                 {"bytes", page.size()}})
                     .dump()
              << "\n";
  } else {
    std::cout << "wrote " << o.html << ": " << in.units.size() << " unit(s), "
              << in.assignments.size() << " assignment(s)\n";
  }
  return kExitOk;
}

int ShowBoard(Context& ctx, const BoardOpts& o) {
  if (!o.html.empty()) return WriteHtml(ctx, o);
  tv1::GetBoardResponse board;
  grpc::Status s = FetchBoard(ctx, o, Grouping(o.group_by), &board);
  if (!s.ok()) return ctx.Fail("GetBoard", s);
  std::vector<tv1::Assignment> why;
  if (o.reasons) {
    std::string rpc;
    s = FetchAssignments(ctx, o, {tv1::TRAFFIC_LIGHT_RED, tv1::TRAFFIC_LIGHT_YELLOW}, &why, &rpc);
    if (!s.ok()) return ctx.Fail(rpc, s);
  }
  if (ctx.json()) {
    if (!o.reasons) {
      PrintJson(board);
      return kExitOk;
    }
    nlohmann::json j = nlohmann::json::parse(ToJson(board));
    j["reasons"] = nlohmann::json::array();
    for (const auto& a : why) j["reasons"].push_back(nlohmann::json::parse(ToJson(a)));
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  const bool color = ctx.color();
  const auto lights = [&](const tv1::LightCounts& l) {
    return Paint("●", Color::kRed, color) + std::to_string(l.red()) + " " +
           Paint("●", Color::kYellow, color) + std::to_string(l.yellow()) + " " +
           Paint("●", Color::kGreen, color) + std::to_string(l.green());
  };
  const auto pct = [](double r) { return std::to_string(static_cast<int>(r * 100 + 0.5)) + "%"; };
  Table t({"RANK", "GROUP", "KEY", "TOTAL", "DONE", "OVERDUE", "LIGHTS (R Y G)", "COMPLETION",
           "ON TIME"});
  for (const auto& g : board.groups()) {
    std::string overdue = std::to_string(g.overdue());
    if (g.overdue() > 0) overdue = Paint(overdue, Color::kRed, color);
    t.AddRow({g.rank() > 0 ? std::to_string(g.rank()) : "-", g.label(), g.key(),
              std::to_string(g.total()), std::to_string(g.state_counts().done()), overdue,
              lights(g.lights()), Bar(static_cast<int>(g.completion_rate() * 100 + 0.5)),
              pct(g.on_time_rate())});
  }
  const auto& tot = board.totals();
  t.AddRow({"", Paint("合计 total", Color::kBold, color), "", std::to_string(tot.total()),
            std::to_string(tot.state_counts().done()), std::to_string(tot.overdue()),
            lights(tot.lights()), Bar(static_cast<int>(tot.completion_rate() * 100 + 0.5)),
            pct(tot.on_time_rate())});
  t.Print();
  std::cout << board.group_count() << " group(s), evaluated "
            << FormatTime(board.evaluate_time(), ctx.options.time_zone) << "\n";
  if (o.reasons) {
    std::cout << "\nwhy red / yellow:\n";
    Table r({"LIGHT", "UNIT", "TASK", "STATE", "ASSIGNMENT", "REASON"});
    for (const auto& a : why) {
      r.AddRow({LightDot(a.light().light(), color), a.unit_id(), a.task_id(), StateName(a.state()),
                a.id(), a.light().reason()});
    }
    r.Print(70);
  }
  return kExitOk;
}

// ---- coverage ----

struct CoverageOpts {
  std::string task, subtree, gap = "not-acknowledged", since;
  int limit = 0;
};

int Coverage(Context& ctx, const CoverageOpts& o) {
  tv1::GetCoverageRequest req;
  req.set_task_id(o.task);
  req.set_unit_subtree_of(o.subtree);
  if (o.gap == "not-acknowledged")
    req.set_gap(tv1::COVERAGE_GAP_NOT_ACKNOWLEDGED);
  else if (o.gap == "not-reported")
    req.set_gap(tv1::COVERAGE_GAP_NOT_REPORTED);
  else if (o.gap == "overdue")
    req.set_gap(tv1::COVERAGE_GAP_OVERDUE);
  else
    throw UsageError{"--gap: not-acknowledged, not-reported or overdue"};
  if (!o.since.empty()) {
    *req.mutable_reported_since() = OrThrow(ParseTime(o.since, ctx.options.time_zone), "--since");
  }
  tv1::GetCoverageResponse all;  // the counts come with every page; the first's are kept
  const grpc::Status s = FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) {
        return ctx.tasks().GetCoverage(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_units(); }, all);
  if (!s.ok()) return ctx.Fail("GetCoverage", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  std::cout << "coverage of " << o.task << ": " << all.total() << " unit(s); not acknowledged "
            << all.not_acknowledged() << ", not reported " << all.not_reported() << ", overdue "
            << all.overdue() << ", done " << all.state_counts().done() << "\n\n"
            << o.gap << ":\n";
  Table t({"UNIT", "STATE", "ASSIGNMENT", "DEADLINE", "LAST REPORT"});
  for (const auto& u : all.units()) {
    t.AddRow({u.unit_id(), StateName(u.state()), u.assignment_id(),
              FormatTime(u.deadline_time(), tz) + (u.overdue() ? " !" : ""),
              FormatTime(u.last_report_time(), tz)});
  }
  t.Print();
  std::cout << t.size() << " unit(s) listed\n";
  return kExitOk;
}

// ---- burden ----

struct BurdenOpts {
  std::string root, plan;
  std::vector<std::string> kinds;
  int limit = 0;
};

int Burden(Context& ctx, const BurdenOpts& o) {
  tv1::GetBurdenRequest req;
  req.set_root_unit_id(o.root);
  req.set_plan_id(o.plan);
  for (const auto& k : o.kinds) req.add_unit_kinds(OrThrow(ParseTaskUnitKind(k), "--kind"));
  tv1::GetBurdenResponse all;
  const grpc::Status s = FetchPages(
      req, o.limit,
      [&](const auto& r, auto& page) { return ctx.tasks().GetBurden(ctx.Call().get(), r, &page); },
      [](auto& page) { return page.mutable_units(); }, all);
  if (!s.ok()) return ctx.Fail("GetBurden", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  const bool color = ctx.color();
  Table t({"UNIT", "KIND", "OPEN", "DUE THIS WEEK", "OVERDUE", "BUDGET"});
  for (const auto& u : all.units()) {
    std::string kind = tv1::UnitKind_Name(u.unit_kind());
    if (kind.rfind("UNIT_KIND_", 0) == 0) kind = kind.substr(10);
    std::string budget =
        u.max_open_assignments() > 0 ? std::to_string(u.max_open_assignments()) : "-";
    if (u.over_budget()) budget = Paint(budget + " OVER", Color::kRed, color);
    t.AddRow({u.unit_id(), kind, std::to_string(u.open_assignments()),
              std::to_string(u.due_this_week()), std::to_string(u.overdue()), budget});
  }
  t.Print();
  std::cout << t.size() << " unit(s) with open assignments\n";
  return kExitOk;
}

}  // namespace

void AddBoardCommands(CLI::App& app, Context& ctx) {
  // `board PLAN` shows the map itself, so the group has a positional and its own action,
  // taken only when no subcommand (coverage, burden) was given.
  auto o = std::make_shared<BoardOpts>();
  CLI::App* board = app.add_subcommand(
      "board", "The battle map (挂图作战) of a plan: board PLAN, board coverage, board burden");
  board->add_option("plan", o->plan, "Plan id (required unless a subcommand is given)");
  board->add_option("--root", o->root, "Only units in this subtree");
  board
      ->add_option("--group-by", o->group_by,
                   "Rows: unit, kind, tag, child (children of --root) or task (key tasks)")
      ->capture_default_str();
  board->add_option("--task", o->task, "Only this task and its descendants");
  board->add_option("--role", o->role, "Only lead or cooperate assignments");
  board->add_option("--order", o->order, "rank or key")->capture_default_str();
  board->add_flag("--reasons", o->reasons, "Also list every red/yellow assignment with its reason");
  board->add_option("--html", o->html,
                    "Write a self-contained HTML page (units × tasks) to FILE instead");
  board->add_option("--limit", o->limit, "At most N groups");
  board->callback([&ctx, board, o] {
    if (!board->get_subcommands().empty()) return;
    if (o->plan.empty()) throw CLI::RequiredError("plan");
    ctx.action = [&ctx, o] { return ShowBoard(ctx, *o); };
  });

  auto c = std::make_shared<CoverageOpts>();
  CLI::App* coverage = Leaf(*board, "coverage",
                            "Who hasn't: units of a cascaded task that have not acknowledged, "
                            "reported or are overdue",
                            ctx, [&ctx, c] { return Coverage(ctx, *c); });
  coverage->add_option("task", c->task, "The cascaded task")->required();
  coverage->add_option("--gap", c->gap, "not-acknowledged, not-reported or overdue")
      ->capture_default_str();
  coverage->add_option("--subtree", c->subtree, "Only units in this subtree");
  coverage->add_option("--since", c->since, "not-reported: reports before this do not count");
  coverage->add_option("--limit", c->limit, "At most N units listed");

  auto b = std::make_shared<BurdenOpts>();
  CLI::App* burden = Leaf(*board, "burden", "Open assignments per unit, most loaded first", ctx,
                          [&ctx, b] { return Burden(ctx, *b); });
  burden->add_option("root", b->root, "Root unit of the subtree")->required();
  burden->add_option("--plan", b->plan, "Only this plan");
  burden->add_option("--kind", b->kinds, "Only units of this kind (repeatable)");
  burden->add_option("--limit", b->limit, "At most N units");
}

}  // namespace duban::cli
