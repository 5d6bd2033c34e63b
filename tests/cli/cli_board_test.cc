// dubanctl board: the HTML renderer as a pure function (escaping, cell classes, folding of
// cascaded children), and board / coverage / burden / --html against the real stack with
// assignments of known lights.
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "board_html.h"
#include "cli_runner.h"
#include "support/temp_dir.h"

namespace duban::cli_test {
namespace {

namespace tv1 = ::duban::tasks::v1;
namespace uv1 = ::duban::units::v1;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// ---- RenderBoardHtml, no server ----

tv1::Assignment MakeAssignment(const std::string& id, const std::string& unit,
                               const std::string& task, tv1::TrafficLight light,
                               const std::string& reason, int percent,
                               tv1::AssignmentState state = tv1::ASSIGNMENT_STATE_IN_PROGRESS) {
  tv1::Assignment a;
  a.set_id(id);
  a.set_unit_id(unit);
  a.set_task_id(task);
  a.set_state(state);
  a.mutable_light()->set_light(light);
  a.mutable_light()->set_reason(reason);
  a.mutable_last_report()->set_percent(percent);
  return a;
}

cli::BoardHtmlInput SampleInput() {
  cli::BoardHtmlInput in;
  in.plan.set_id("p1");
  in.plan.set_title("方案 <b>& \"quoted\"");
  in.generated_at = "2026-11-27 10:00 Asia/Shanghai";
  for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
           {"u.a", "禅城区"}, {"u.evil", "<script>alert(1)</script> & 村"}}) {
    tv1::BoardGroup g;
    g.set_key(key);
    g.set_label(label);
    in.units.push_back(g);
  }
  tv1::Task t1, t2, child;
  t1.set_id("t1");
  t1.set_title("任务一");
  t2.set_id("t2");
  t2.set_title("任务<二>");
  child.set_id("t1.c");
  child.set_title("cascaded");
  child.set_parent_task_id("t1");
  child.set_cascaded(true);
  in.tasks = {t1, t2, child};
  in.assignments = {
      MakeAssignment("a1", "u.a", "t1", tv1::TRAFFIC_LIGHT_RED, "overdue by 2 working days", 20),
      MakeAssignment("a2", "u.evil", "t2", tv1::TRAFFIC_LIGHT_YELLOW,
                     "planned 50%, reported 30%: 20 points <behind>", 30),
      // Folds into t1's column for u.evil.
      MakeAssignment("a3", "u.evil", "t1.c", tv1::TRAFFIC_LIGHT_GREEN, "done", 0,
                     tv1::ASSIGNMENT_STATE_DONE),
  };
  return in;
}

TEST(BoardHtmlTest, EscapesEveryText) {
  EXPECT_EQ(cli::HtmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  const std::string html = cli::RenderBoardHtml(SampleInput());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; 村"), std::string::npos);
  EXPECT_NE(html.find("方案 &lt;b&gt;&amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_NE(html.find("任务&lt;二&gt;"), std::string::npos);
  EXPECT_NE(html.find("title=\"planned 50%, reported 30%: 20 points &lt;behind&gt;\""),
            std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  // Self-contained: no scripts, no external references.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
}

TEST(BoardHtmlTest, CellsAreUnitsTimesTasksWithLights) {
  const std::string html = cli::RenderBoardHtml(SampleInput());
  // 2 units × 2 columns (the cascaded child folds into t1).
  EXPECT_EQ(Count(html, "<td class=\"cell "), 4u) << html;
  EXPECT_EQ(Count(html, "<th class=\"task\""), 2u);
  EXPECT_NE(html.find("<td class=\"cell red\" data-unit=\"u.a\" data-task=\"t1\""),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"cell yellow\" data-unit=\"u.evil\" data-task=\"t2\""),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"cell green\" data-unit=\"u.evil\" data-task=\"t1\""),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"cell empty\" data-unit=\"u.a\" data-task=\"t2\""),
            std::string::npos);
  // The bar: reported percent, 100 when done.
  EXPECT_NE(html.find("data-assignment=\"a1\""), std::string::npos);
  EXPECT_NE(html.find("width:20%"), std::string::npos);
  EXPECT_NE(html.find("width:100%"), std::string::npos);
  EXPECT_NE(html.find("id=\"legend\""), std::string::npos);
  EXPECT_NE(html.find("2026-11-27 10:00 Asia/Shanghai"), std::string::npos);
}

// ---- against the stack ----

class BoardCliTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    CliTest::SetUpTestSuite();
    AddUnit("b.city", "江门市", uv1::UNIT_KIND_CITY, "");
    AddUnit("b.a", "蓬江区", uv1::UNIT_KIND_DISTRICT, "b.city");
    AddUnit("b.b", "江海区", uv1::UNIT_KIND_DISTRICT, "b.city");
    AddUnit("b.a.v", "荷塘村", uv1::UNIT_KIND_VILLAGE, "b.a");
  }
};

TEST_F(BoardCliTest, BoardShowsLightsReasonsAndHtml) {
  CtlJson({"plans", "create", "--id", "bp", "--title", "江门方案", "--owner", "b.city"});
  // b.a: a milestone (50% planned) a few seconds away and 10% reported → red once it passes.
  const auto t1 = CtlJson({"tasks", "create", "--plan", "bp", "--title", "任务一", "--lead", "b.a",
                           "--cooperate", "b.b", "--deadline", "+30d", "--milestone", "摸底@+2s"});
  const std::string lead = t1["assignments"][0].value("assignmentId", "");
  const std::string coop = t1["assignments"][1].value("assignmentId", "");
  ASSERT_EQ(Ctl({"assignments", "ack", lead}).exit_code, 0);
  ASSERT_EQ(Ctl({"assignments", "report", lead, "--percent", "10"}).exit_code, 0);
  // b.b: done → green.
  for (const char* step : {"ack", "submit", "approve"}) {
    ASSERT_EQ(Ctl({"assignments", step, coop}).exit_code, 0) << step;
  }
  ::sleep(3);

  const CliResult text = Ctl({"board", "bp", "--reasons"});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_NE(text.out.find("蓬江区"), std::string::npos) << Describe(text);
  EXPECT_NE(text.out.find("江海区"), std::string::npos) << Describe(text);
  EXPECT_NE(text.out.find("合计"), std::string::npos) << Describe(text);
  EXPECT_NE(text.out.find("● red"), std::string::npos) << Describe(text);
  EXPECT_NE(text.out.find("behind"), std::string::npos) << Describe(text);
  EXPECT_NE(text.out.find("█"), std::string::npos) << Describe(text);

  const auto j = CtlJson({"board", "bp"});
  ASSERT_EQ(j["groups"].size(), 2u) << j.dump();
  EXPECT_EQ(j["totals"]["lights"].value("red", "0"), "1") << j.dump();
  EXPECT_EQ(j["totals"]["stateCounts"].value("done", "0"), "1") << j.dump();
  EXPECT_EQ(CtlJson({"board", "bp", "--group-by", "kind"})["groups"].size(), 1u);
  EXPECT_EQ(Ctl({"board", "bp", "--group-by", "planet"}).exit_code, 2);
  EXPECT_EQ(Ctl({"board", "nope"}).exit_code, 4);
  EXPECT_EQ(Ctl({"board", "bp", "--group-by", "child"}).exit_code, 3);  // needs --root

  testing::TempDir dir;
  const std::string file = dir.File("board.html");
  const CliResult html = Ctl({"board", "bp", "--html", file});
  ASSERT_EQ(html.exit_code, 0) << Describe(html);
  std::ifstream in(file);
  std::stringstream page;
  page << in.rdbuf();
  EXPECT_EQ(Count(page.str(), "<td class=\"cell "), 2u) << page.str();
  EXPECT_NE(page.str().find("<td class=\"cell red\" data-unit=\"b.a\""), std::string::npos);
  EXPECT_NE(page.str().find("<td class=\"cell green\" data-unit=\"b.b\""), std::string::npos);
  EXPECT_NE(page.str().find("江门方案"), std::string::npos);
}

TEST_F(BoardCliTest, CoverageAndBurden) {
  CtlJson({"plans", "create", "--id", "cp", "--title", "覆盖", "--owner", "b.city"});
  const auto t = CtlJson({"tasks", "create", "--plan", "cp", "--title", "全覆盖任务", "--lead",
                          "b.city", "--deadline", "+10d"});
  const std::string id = t.value("id", "");
  const auto cascade = CtlJson({"tasks", "cascade", id, "--root", "b.city", "--kind", "district"});
  ASSERT_EQ(cascade.value("createdTasks", "0"), "2") << cascade.dump();
  // One district acknowledges; the other is who hasn't.
  const auto mine = CtlJson({"assignments", "list", "--under", id, "--unit", "b.a"});
  ASSERT_EQ(mine["assignments"].size(), 1u) << mine.dump();
  ASSERT_EQ(Ctl({"assignments", "ack", mine["assignments"][0].value("id", "")}).exit_code, 0);

  const CliResult cov = Ctl({"board", "coverage", id});
  ASSERT_EQ(cov.exit_code, 0) << Describe(cov);
  EXPECT_NE(cov.out.find("not acknowledged 1"), std::string::npos) << Describe(cov);
  EXPECT_NE(cov.out.find("b.b"), std::string::npos) << Describe(cov);
  const auto covj = CtlJson({"board", "coverage", id, "--gap", "not-reported"});
  EXPECT_EQ(covj["units"].size(), 2u) << covj.dump();
  EXPECT_EQ(Ctl({"board", "coverage", id, "--gap", "lazy"}).exit_code, 2);

  const CliResult burden = Ctl({"board", "burden", "b.city", "--plan", "cp"});
  ASSERT_EQ(burden.exit_code, 0) << Describe(burden);
  EXPECT_NE(burden.out.find("b.a"), std::string::npos) << Describe(burden);
  EXPECT_NE(burden.out.find("DISTRICT"), std::string::npos) << Describe(burden);
  const CliResult unknown = Ctl({"board", "burden", "no.such.unit"});
  EXPECT_NE(unknown.exit_code, 0) << Describe(unknown);
}

TEST_F(BoardCliTest, Help) {
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"board", "--help"}, {"board", "coverage", "--help"}, {"board", "burden", "--help"}}) {
    const CliResult r = RunCtl(cmd);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
  }
  EXPECT_EQ(RunCtl({"board"}).exit_code, 2);
  EXPECT_EQ(RunCtl({"board", "coverage"}).exit_code, 2);
}

}  // namespace
}  // namespace duban::cli_test
