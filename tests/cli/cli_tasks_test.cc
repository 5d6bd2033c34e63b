// dubanctl plans, tasks and assignments against the real stack: happy paths, the server's
// field violations (exit 3), local validation of a work-plan file (exit 2, nothing sent),
// idempotent re-import, cascade, and the assignment state machine including an illegal
// transition (exit 5 naming the current state).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli_context.h"
#include "cli_runner.h"
#include "support/temp_dir.h"
#include "workplan_import.h"

namespace duban::cli_test {
namespace {

namespace tv1 = ::duban::tasks::v1;
namespace uv1 = ::duban::units::v1;

// ---- the work-plan parser, no server ----

std::string UsageMessage(const std::string& name, const std::string& text) {
  try {
    cli::ParseWorkPlan(name, text, "Asia/Shanghai");
  } catch (const cli::UsageError& e) {
    return e.message;
  }
  return "";
}

TEST(WorkPlanParseTest, CsvQuotingBomAndCrlf) {
  const auto rows = cli::ParseWorkPlan(
      "p.csv",
      "\xEF\xBB\xBFkey,title,lead_unit,working_days,milestones,priority\r\n"
      "a,\"标题, 带逗号 \"\"引号\"\"\",u.a,5,\"m1@2027-01-10@30;m2@2027-01-20\",urgent\r\n"
      "\r\n"
      "b,\"两行\n标题\",u.b,3,,\r\n",
      "Asia/Shanghai");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].task.title(), "标题, 带逗号 \"引号\"");
  EXPECT_EQ(rows[0].task.milestones(0).planned_percent(), 30);
  EXPECT_EQ(rows[0].task.milestones(1).title(), "m2");
  EXPECT_EQ(rows[0].task.priority(), tv1::PRIORITY_URGENT);
  EXPECT_EQ(rows[0].task.deadline().working_days().count(), 5);
  EXPECT_EQ(rows[1].task.title(), "两行\n标题");
  EXPECT_EQ(rows[1].line, 4);
}

TEST(WorkPlanParseTest, ProblemsNameFileAndLine) {
  EXPECT_NE(UsageMessage("x.csv", "key,title,lead_unit,colour\n").find("x.csv:1: unknown column"),
            std::string::npos);
  const std::string many = UsageMessage("x.csv",
                                        "key,title,lead_unit,deadline,milestones,priority\n"
                                        "a,t,u,tomorrow-ish,,\n"
                                        "b,t,u,2027-01-01,no-at-sign,\n"
                                        "a,t,u,2027-01-01,,highest\n");
  EXPECT_NE(many.find("x.csv:2: deadline: bad time"), std::string::npos) << many;
  EXPECT_NE(many.find("x.csv:3: milestones: bad milestone"), std::string::npos) << many;
  EXPECT_NE(many.find("x.csv:4: key 'a' repeats"), std::string::npos) << many;
  EXPECT_NE(many.find("x.csv:4: priority: bad priority"), std::string::npos) << many;
  const std::string yaml = UsageMessage("x.yaml",
                                        "- key: a\n"
                                        "  title: t\n"
                                        "  lead_unit: u\n"
                                        "  deadline: 2027-01-01\n"
                                        "- key: b\n"
                                        "  title: t\n"
                                        "  lead_unit: u\n");
  EXPECT_NE(yaml.find("x.yaml:5: give exactly one of deadline and working_days"), std::string::npos)
      << yaml;
  EXPECT_NE(UsageMessage("x.yml", "- key: [unclosed\n").find("x.yml:"), std::string::npos);
}

TEST(WorkPlanParseTest, RequestIdsAreStableAndPrintable) {
  EXPECT_EQ(cli::ImportRequestId("p1", "k1.1"), "import:p1:k1.1");
  const std::string cjk = cli::ImportRequestId("p1", "重点任务 一");
  EXPECT_EQ(cjk, cli::ImportRequestId("p1", "重点任务 一"));
  EXPECT_NE(cjk, cli::ImportRequestId("p1", "重点任务 二"));
  EXPECT_NE(cjk, cli::ImportRequestId("p2", "重点任务 一"));
  for (unsigned char c : cjk) EXPECT_TRUE(c >= 0x21 && c <= 0x7e) << cjk;
  EXPECT_LE(cli::ImportRequestId(std::string(120, 'p'), std::string(100, 'k')).size(), 128u);
}

class TasksCliTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    CliTest::SetUpTestSuite();
    // A small tree: a city with two districts, each with a village.
    AddUnit("t.city", "佛山市", uv1::UNIT_KIND_CITY, "");
    AddUnit("t.a", "禅城区", uv1::UNIT_KIND_DISTRICT, "t.city");
    AddUnit("t.b", "南海区", uv1::UNIT_KIND_DISTRICT, "t.city");
    AddUnit("t.a.v1", "祖庙村", uv1::UNIT_KIND_VILLAGE, "t.a");
    AddUnit("t.b.v1", "桂城村", uv1::UNIT_KIND_VILLAGE, "t.b");
  }

  // A new plan owned by t.city; returns its id.
  std::string NewPlan(const std::string& id) {
    const auto j =
        CtlJson({"plans", "create", "--id", id, "--title", "工作方案 " + id, "--owner", "t.city",
                 "--start", "2026-01-01", "--end", "2027-12-31", "--margin", "30"});
    return j.value("id", "");
  }

  // A task led by `lead`, due in 30 days; returns the LEAD assignment id.
  std::string NewAssignment(const std::string& plan, const std::string& lead) {
    const auto j = CtlJson({"tasks", "create", "--plan", plan, "--title", "任务", "--lead", lead,
                            "--deadline", "+30d"});
    return j["assignments"][0].value("assignmentId", "");
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.File(name);
    std::ofstream(path) << text;
    return path;
  }

  testing::TempDir dir_;
};

TEST_F(TasksCliTest, PlansCreateListGetArchive) {
  const CliResult created =
      Ctl({"plans", "create", "--id", "p-basic", "--title", "百千万工程", "--owner", "t.city"});
  ASSERT_EQ(created.exit_code, 0) << Describe(created);
  EXPECT_NE(created.out.find("created plan p-basic"), std::string::npos) << Describe(created);

  const auto got = CtlJson({"plans", "get", "p-basic"});
  EXPECT_EQ(got.value("title", ""), "百千万工程");
  EXPECT_EQ(got["startDate"].value("month", 0) > 0, true) << got.dump();

  const CliResult list = Ctl({"plans", "list", "--owner", "t.city"});
  ASSERT_EQ(list.exit_code, 0) << Describe(list);
  EXPECT_NE(list.out.find("百千万工程"), std::string::npos) << Describe(list);

  const CliResult archived = Ctl({"plans", "archive", "p-basic"});
  EXPECT_EQ(archived.exit_code, 0) << Describe(archived);
  EXPECT_TRUE(CtlJson({"plans", "get", "p-basic"}).value("archived", false));
  // Archived plans only show with --archived.
  EXPECT_EQ(Ctl({"plans", "list"}).out.find("p-basic"), std::string::npos);
  EXPECT_NE(Ctl({"plans", "list", "--archived"}).out.find("p-basic"), std::string::npos);
}

TEST_F(TasksCliTest, PlanFieldViolationsArePerField) {
  const CliResult r = Ctl({"plans", "create", "--title", "x", "--owner", "no.such.unit", "--start",
                           "2026-05-01", "--end", "2026-04-01"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("plan."), std::string::npos) << Describe(r);
  const CliResult bad_date =
      Ctl({"plans", "create", "--title", "x", "--owner", "t.city", "--start", "2026-13-01"});
  EXPECT_EQ(bad_date.exit_code, 2) << Describe(bad_date);
  EXPECT_EQ(Ctl({"plans", "get", "nope"}).exit_code, 4);
}

TEST_F(TasksCliTest, TaskCreateGetListCancel) {
  const std::string plan = NewPlan("p-tasks");
  const CliResult created = Ctl({"tasks",
                                 "create",
                                 "--plan",
                                 plan,
                                 "--title",
                                 "农村人居环境整治",
                                 "--lead",
                                 "t.a",
                                 "--cooperate",
                                 "t.b",
                                 "--working-days",
                                 "10",
                                 "--from",
                                 "2026-12-01",
                                 "--milestone",
                                 "方案制定@2026-12-05",
                                 "--priority",
                                 "high",
                                 "--tag",
                                 "环境",
                                 "-o",
                                 "json"});
  ASSERT_EQ(created.exit_code, 0) << Describe(created);
  const auto task = created.Json();
  const std::string id = task.value("id", "");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(task["assignments"].size(), 2u);
  EXPECT_EQ(task.value("priority", ""), "PRIORITY_HIGH");

  const CliResult got = Ctl({"tasks", "get", id});
  ASSERT_EQ(got.exit_code, 0) << Describe(got);
  EXPECT_NE(got.out.find("农村人居环境整治"), std::string::npos) << Describe(got);
  EXPECT_NE(got.out.find("方案制定"), std::string::npos) << Describe(got);
  EXPECT_NE(got.out.find("COOPERATE"), std::string::npos) << Describe(got);

  const auto listed = CtlJson({"tasks", "list", "--plan", plan, "--unit", "t.b"});
  ASSERT_EQ(listed["tasks"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["tasks"][0].value("id", ""), id);
  // Nothing is overdue or red yet.
  EXPECT_EQ(CtlJson({"tasks", "list", "--plan", plan, "--overdue"}).count("tasks"), 0u);
  EXPECT_EQ(CtlJson({"tasks", "list", "--plan", plan, "--light", "red"}).count("tasks"), 0u);

  const CliResult canceled = Ctl({"tasks", "cancel", id, "--reason", "合并到其他任务"});
  EXPECT_EQ(canceled.exit_code, 0) << Describe(canceled);
  EXPECT_EQ(CtlJson({"tasks", "get", id}).value("state", ""), "TASK_STATE_CANCELED");
  const CliResult again = Ctl({"tasks", "cancel", id, "--reason", "again"});
  EXPECT_EQ(again.exit_code, 5) << Describe(again);
}

TEST_F(TasksCliTest, TaskCreateFieldViolations) {
  const std::string plan = NewPlan("p-bad");
  const CliResult r = Ctl({"tasks", "create", "--plan", plan, "--title", "x", "--lead", "t.a",
                           "--cooperate", "no.such", "--deadline", "+3d"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("cooperating_unit_ids[0]"), std::string::npos) << Describe(r);
  // Local: no deadline at all, or both kinds.
  EXPECT_EQ(Ctl({"tasks", "create", "--plan", plan, "--title", "x", "--lead", "t.a"}).exit_code, 2);
  EXPECT_EQ(Ctl({"tasks", "create", "--plan", plan, "--title", "x", "--lead", "t.a", "--deadline",
                 "+3d", "--working-days", "3"})
                .exit_code,
            2);
}

TEST_F(TasksCliTest, ImportCsvIsIdempotent) {
  const std::string plan = NewPlan("p-import");
  const std::string csv = Write(
      "plan.csv",
      "key,parent_key,title,lead_unit,cooperating_units,deadline,working_days,milestones,"
      "priority,tags\n"
      "k1,,\"重点任务一, 产业振兴\",t.a,t.b,2027-06-30,,启动@2027-01-15;中期@2027-03-31 18:00,"
      "high,产业;振兴\n"
      "k1.1,k1,工作任务 1.1,t.a.v1,,2027-06-15,,,,\n"
      "k2,,重点任务二,t.b,,,20,,,\n");
  const CliResult first = Ctl({"tasks", "import", "--plan", plan, csv, "-o", "json"});
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  const auto j = first.Json();
  ASSERT_EQ(j["tasks"].size(), 3u) << j.dump();
  const std::string k1 = j["tasks"][0].value("taskId", "");
  const std::string k11 = j["tasks"][1].value("taskId", "");
  const auto child = CtlJson({"tasks", "get", k11});
  EXPECT_EQ(child.value("parentTaskId", ""), k1);
  const auto parent = CtlJson({"tasks", "get", k1});
  EXPECT_EQ(parent["milestones"].size(), 2u);
  EXPECT_EQ(parent["tags"].size(), 2u);
  EXPECT_EQ(parent.value("title", ""), "重点任务一, 产业振兴");

  // A re-run creates nothing new and maps the keys to the same tasks.
  const CliResult second = Ctl({"tasks", "import", "--plan", plan, csv});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_NE(second.out.find(k11), std::string::npos) << Describe(second);
  EXPECT_EQ(CtlJson({"tasks", "list", "--plan", plan})["tasks"].size(), 3u);

  // The same table on stdin maps to the same tasks.
  std::ifstream in(csv);
  std::stringstream text;
  text << in.rdbuf();
  const CliResult piped = Ctl({"tasks", "import", "--plan", plan, "-"}, text.str());
  ASSERT_EQ(piped.exit_code, 0) << Describe(piped);
  EXPECT_NE(piped.out.find(k1), std::string::npos) << Describe(piped);
}

TEST_F(TasksCliTest, ImportYaml) {
  const std::string plan = NewPlan("p-yaml");
  const std::string yaml = Write("plan.yaml",
                                 "- key: a\n"
                                 "  title: 典型村建设\n"
                                 "  lead_unit: t.b\n"
                                 "  cooperating_units: [t.a]\n"
                                 "  deadline: 2027-03-31\n"
                                 "  milestones: [\"摸底@2027-01-10\"]\n"
                                 "- key: b\n"
                                 "  parent_key: a\n"
                                 "  title: 子任务\n"
                                 "  lead_unit: t.b.v1\n"
                                 "  deadline: 2027-03-20 12:00\n");
  const auto j = CtlJson({"tasks", "import", "--plan", plan, yaml});
  ASSERT_EQ(j["tasks"].size(), 2u) << j.dump();
  EXPECT_EQ(CtlJson({"tasks", "get", j["tasks"][0].value("taskId", "")})["cooperatingUnitIds"][0],
            "t.a");
}

TEST_F(TasksCliTest, ImportValidatesTheWholeFileFirst) {
  const std::string plan = NewPlan("p-invalid");
  const std::string csv = Write("bad.csv",
                                "key,parent_key,title,lead_unit,deadline,working_days\n"
                                "a,,ok,t.a,2027-01-31,\n"
                                "b,zz,no parent,t.a,2027-01-31,\n"
                                "c,,both,t.a,2027-01-31,5\n"
                                "d,,,t.a,,5\n");
  const CliResult r = Ctl({"tasks", "import", "--plan", plan, csv});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("bad.csv:3: parent_key 'zz'"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("bad.csv:4: give exactly one of deadline and working_days"),
            std::string::npos)
      << Describe(r);
  EXPECT_NE(r.err.find("bad.csv:5: title is empty"), std::string::npos) << Describe(r);
  // Nothing was sent, not even the valid first row.
  EXPECT_EQ(CtlJson({"tasks", "list", "--plan", plan}).count("tasks"), 0u);
}

TEST_F(TasksCliTest, ImportReportsTheRejectedRow) {
  const std::string plan = NewPlan("p-reject");
  const std::string csv = Write("rej.csv",
                                "key,title,lead_unit,deadline\n"
                                "a,ok,t.a,2027-01-31\n"
                                "b,unknown lead,no.such.unit,2027-01-31\n");
  const CliResult r = Ctl({"tasks", "import", "--plan", plan, csv});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("rej.csv:3: row 'b' rejected"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("task.lead_unit_id"), std::string::npos) << Describe(r);
}

TEST_F(TasksCliTest, CascadeDryRunThenApply) {
  const std::string plan = NewPlan("p-cascade");
  const auto task = CtlJson({"tasks", "create", "--plan", plan, "--title", "村级任务", "--lead",
                             "t.city", "--deadline", "+20d"});
  const std::string id = task.value("id", "");
  const CliResult dry =
      Ctl({"tasks", "cascade", id, "--root", "t.city", "--kind", "village", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  EXPECT_NE(dry.out.find("dry run"), std::string::npos) << Describe(dry);
  EXPECT_NE(dry.out.find("2 unit(s) matched"), std::string::npos) << Describe(dry);
  EXPECT_EQ(CtlJson({"tasks", "get", id}).value("childCount", "0"), "0");

  const auto applied = CtlJson({"tasks", "cascade", id, "--root", "t.city", "--kind", "village"});
  EXPECT_TRUE(applied.value("applied", false)) << applied.dump();
  EXPECT_EQ(applied.value("createdTasks", "0"), "2") << applied.dump();
  // Again: both units already have a child.
  const auto repeat = CtlJson({"tasks", "cascade", id, "--root", "t.city", "--kind", "village"});
  EXPECT_EQ(repeat.value("skippedExisting", "0"), "2") << repeat.dump();

  const CliResult later = Ctl({"tasks", "cascade", id, "--root", "t.city", "--deadline", "+60d"});
  EXPECT_EQ(later.exit_code, 5) << Describe(later);
  EXPECT_EQ(Ctl({"tasks", "cascade", id, "--root", "t.city", "--kind", "planet"}).exit_code, 2);
}

TEST_F(TasksCliTest, CascadeOverBudgetListsUnitsAndForceApplies) {
  AddUnit("q.root", "高要区", uv1::UNIT_KIND_DISTRICT, "");
  AddUnit("q.v1", "回龙村", uv1::UNIT_KIND_VILLAGE, "q.root");
  AddUnit("q.v2", "白土村", uv1::UNIT_KIND_VILLAGE, "q.root");
  {
    tv1::SetAssignmentBudgetRequest req;
    req.mutable_budget()->set_unit_id("q.v1");
    req.mutable_budget()->set_max_open_assignments(1);
    req.mutable_actor()->set_id("test:budget");
    tv1::AssignmentBudget budget;
    grpc::ClientContext ctx;
    const grpc::Status s = stack().tasks().SetAssignmentBudget(&ctx, req, &budget);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const std::string plan = NewPlan("p-budget");
  NewAssignment(plan, "q.v1");  // q.v1 is now at its budget
  const auto task = CtlJson({"tasks", "create", "--plan", plan, "--title", "村级任务", "--lead",
                             "q.root", "--deadline", "+20d"});
  const std::string id = task.value("id", "");

  const CliResult refused = Ctl({"tasks", "cascade", id, "--root", "q.root", "--kind", "village"});
  EXPECT_EQ(refused.exit_code, 7) << Describe(refused);
  EXPECT_NE(refused.err.find("RESOURCE_EXHAUSTED"), std::string::npos) << Describe(refused);
  EXPECT_NE(refused.err.find("units/q.v1"), std::string::npos) << Describe(refused);
  EXPECT_EQ(CtlJson({"tasks", "get", id}).value("childCount", "0"), "0");

  const CliResult forced =
      Ctl({"tasks", "cascade", id, "--root", "q.root", "--kind", "village", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << Describe(forced);
  EXPECT_NE(forced.out.find("2 child task(s) created"), std::string::npos) << Describe(forced);
  EXPECT_NE(forced.out.find("1 unit(s) over their assignment budget (forced)"), std::string::npos)
      << Describe(forced);
  EXPECT_NE(forced.out.find("q.v1"), std::string::npos) << Describe(forced);
}

TEST_F(TasksCliTest, AssignmentLifecycle) {
  const std::string plan = NewPlan("p-life");
  const std::string a = NewAssignment(plan, "t.a");
  ASSERT_FALSE(a.empty());

  CliResult r = Ctl({"assignments", "report", a, "--percent", "10", "--text", "x"});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);  // acknowledge first

  r = Ctl({"assignments", "ack", a, "--note", "收到"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("now ACKNOWLEDGED"), std::string::npos) << Describe(r);

  // The illegal transition names the current state, exit 5.
  r = Ctl({"assignments", "ack", a});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  EXPECT_NE(r.err.find("FAILED_PRECONDITION"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("ACKNOWLEDGED"), std::string::npos) << Describe(r);

  r = Ctl({"assignments", "start", a});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Ctl({"assignments", "report", a, "--percent", "60", "--text", "已完成摸底"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("reported 60%"), std::string::npos) << Describe(r);
  r = Ctl({"assignments", "report", a, "--percent", "160"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("percent"), std::string::npos) << Describe(r);

  // A stale etag is a conflict.
  r = Ctl({"assignments", "submit", a, "--etag", "stale"});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  EXPECT_NE(r.err.find("ABORTED"), std::string::npos) << Describe(r);

  ASSERT_EQ(Ctl({"assignments", "submit", a}).exit_code, 0);
  r = Ctl({"assignments", "return", a, "--reason", "材料不全"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(CtlJson({"assignments", "get", a}).value("returnReason", ""), "材料不全");
  ASSERT_EQ(Ctl({"assignments", "submit", a}).exit_code, 0);
  r = Ctl({"assignments", "close", a});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("now DONE"), std::string::npos) << Describe(r);

  const CliResult shown = Ctl({"assignments", "get", a});
  EXPECT_NE(shown.out.find("DONE"), std::string::npos) << Describe(shown);
  const CliResult audit = Ctl({"assignments", "audit", a});
  ASSERT_EQ(audit.exit_code, 0) << Describe(audit);
  EXPECT_NE(audit.out.find("STATE_CHANGED"), std::string::npos) << Describe(audit);
  EXPECT_NE(audit.out.find("PROGRESS_REPORTED"), std::string::npos) << Describe(audit);
  EXPECT_NE(audit.out.find("材料不全"), std::string::npos) << Describe(audit);

  const auto done = CtlJson({"assignments", "list", "--plan", plan, "--state", "done"});
  ASSERT_EQ(done["assignments"].size(), 1u) << done.dump();
  EXPECT_EQ(
      CtlJson({"assignments", "list", "--plan", plan, "--state", "assigned"}).count("assignments"),
      0u);
  EXPECT_EQ(Ctl({"assignments", "list", "--plan", plan, "--state", "bogus"}).exit_code, 2);
}

TEST_F(TasksCliTest, CancelAndExtensions) {
  const std::string plan = NewPlan("p-ext");
  const std::string a = NewAssignment(plan, "t.b");
  ASSERT_EQ(Ctl({"assignments", "ack", a}).exit_code, 0);

  // Not later than the current deadline: a field violation.
  CliResult r = Ctl({"assignments", "extension", "request", a, "--until", "+1d", "--reason", "x"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("requested_deadline"), std::string::npos) << Describe(r);

  auto ext = CtlJson(
      {"assignments", "extension", "request", a, "--until", "+40d", "--reason", "汛期影响施工"});
  const std::string e1 = ext.value("id", "");
  EXPECT_EQ(ext.value("state", ""), "EXTENSION_STATE_PENDING");
  r = Ctl({"assignments", "extension", "approve", e1, "--note", "同意"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("APPROVED"), std::string::npos) << Describe(r);
  r = Ctl({"assignments", "extension", "reject", e1, "--note", "too late"});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  EXPECT_NE(r.err.find("APPROVED"), std::string::npos) << Describe(r);

  ext = CtlJson({"assignments", "extension", "request", a, "--until", "+50d", "--reason", "再延"});
  const std::string e2 = ext.value("id", "");
  r = Ctl({"assignments", "extension", "reject", e2});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);  // a rejection needs a note
  r = Ctl({"assignments", "extension", "reject", e2, "--note", "不同意"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  const auto listed = CtlJson({"assignments", "extension", "list", "--assignment", a});
  EXPECT_EQ(listed["requests"].size(), 2u) << listed.dump();

  r = Ctl({"assignments", "cancel", a, "--reason", "单位撤并"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Ctl({"assignments", "start", a});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  EXPECT_NE(r.err.find("CANCELED"), std::string::npos) << Describe(r);
}

TEST_F(TasksCliTest, HelpOnEverySubcommand) {
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"plans", "create"},
                                             {"plans", "list"},
                                             {"plans", "get"},
                                             {"plans", "archive"},
                                             {"tasks", "create"},
                                             {"tasks", "import"},
                                             {"tasks", "cascade"},
                                             {"tasks", "get"},
                                             {"tasks", "list"},
                                             {"tasks", "cancel"},
                                             {"assignments", "list"},
                                             {"assignments", "get"},
                                             {"assignments", "ack"},
                                             {"assignments", "start"},
                                             {"assignments", "submit"},
                                             {"assignments", "approve"},
                                             {"assignments", "close"},
                                             {"assignments", "return"},
                                             {"assignments", "cancel"},
                                             {"assignments", "report"},
                                             {"assignments", "audit"},
                                             {"assignments", "extension", "request"},
                                             {"assignments", "extension", "approve"},
                                             {"assignments", "extension", "reject"},
                                             {"assignments", "extension", "list"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("--help");
    const CliResult r = RunCtl(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << Describe(r);
  }
  EXPECT_EQ(RunCtl({"tasks", "import", "--plan", "p"}).exit_code, 2);
  EXPECT_EQ(RunCtl({"assignments", "return", "x"}).exit_code, 2);  // --reason is required
}

}  // namespace
}  // namespace duban::cli_test
