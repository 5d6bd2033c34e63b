// GetBoard, GetCoverage and GetBurden through TaskDirectory on a real SQLite file: counts,
// outcome-only ranking with shared ranks, every grouping, filters, paging and bad input.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "task_fixture.h"

namespace duban::tasks::testing {
namespace {

using A = AssignmentAction;
using S = AssignmentState;
using Code = absl::StatusCode;

class BoardTest : public TaskFixture {
 protected:
  void SetUp() override {
    TaskFixture::SetUp();
    units_.Add("gd.zq.dz.b3", "gd.zq.dz", UnitKind::kPartyBranch, {"五区"});
    units_.Add("gd.zq.dz.b4", "gd.zq.dz", UnitKind::kPartyBranch, {"五区"});
    CreatePlan("p1", 5);
    k1_ = CreateTask("k1", LocalUs(2025, 10, 31, 18), {"gd.zq.fin"});
    CascadeInput in;
    in.task_id = "k1";
    in.root_unit_id = "gd.zq.dz";
    in.unit_kinds = {UnitKind::kPartyBranch};
    in.actor = Who();
    auto r = directory_->CascadeTask(in);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->created_tasks, 4);  // b1..b4
    k2_ = CreateTask("k2", LocalUs(2025, 10, 10, 18), {}, "gd.zq.dz");
    // edu: acknowledged and half done; fin: untouched.
    const std::string edu = k1_.assignments[0].assignment_id;
    ASSERT_TRUE(Do(A::kAcknowledge, edu).ok());
    ASSERT_TRUE(Report(edu, 50).ok());
    // b1: done on time; b2: canceled; b3: acknowledged; b4: untouched.
    ASSERT_TRUE(Do(A::kAcknowledge, Child("gd.zq.dz.b1")).ok());
    ASSERT_TRUE(Do(A::kAcknowledge, Child("gd.zq.dz.b3")).ok());
    ASSERT_TRUE(Do(A::kCancel, Child("gd.zq.dz.b2"), "合并").ok());
    now_ = absl::FromUnixMicros(LocalUs(2025, 10, 15, 10));
    ASSERT_TRUE(Do(A::kSubmit, Child("gd.zq.dz.b1")).ok());
    ASSERT_TRUE(Do(A::kApprove, Child("gd.zq.dz.b1")).ok());
    // dz: k2 done late (due 10-10, submitted 10-15).
    const std::string dz = k2_.assignments[0].assignment_id;
    ASSERT_TRUE(Do(A::kAcknowledge, dz).ok());
    ASSERT_TRUE(Do(A::kSubmit, dz).ok());
    ASSERT_TRUE(Do(A::kApprove, dz).ok());
    now_ = absl::FromUnixMicros(LocalUs(2025, 11, 3, 10));  // Monday, k1 overdue
  }

  std::string Child(const std::string& unit) {
    ListAssignmentsQuery q;
    q.tasks_under = "k1";
    q.unit_id = unit;
    auto page = directory_->ListAssignments(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() && !page->assignments.empty() ? page->assignments[0].assignment.id : "";
  }

  std::vector<BoardGroup> AllGroups(BoardQuery q, int page_size = 2) {
    std::vector<BoardGroup> out;
    q.page_size = page_size;
    for (;;) {
      auto page = directory_->GetBoard(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return out;
      for (auto& g : page->groups) out.push_back(g);
      if (page->next_page_token.empty()) return out;
      q.page_token = page->next_page_token;
    }
  }

  Task k1_;
  Task k2_;
};

TEST_F(BoardTest, ByUnitCountsAndRanksOnOutcomesOnly) {
  BoardQuery q;
  q.plan_id = "p1";
  q.group_by = BoardGrouping::kUnit;
  auto page = directory_->GetBoard(q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->group_count, 7);
  std::map<std::string, BoardGroup> g;
  for (const auto& x : page->groups) g[x.key] = x;
  // b1 on time; dz done late; edu, fin, b3, b4 overdue and open; b2 canceled (unranked).
  EXPECT_EQ(g["gd.zq.dz.b1"].rank, 1);
  EXPECT_EQ(g["gd.zq.dz.b1"].done_on_time, 1);
  EXPECT_DOUBLE_EQ(g["gd.zq.dz.b1"].on_time_rate, 1.0);
  EXPECT_EQ(g["gd.zq.dz"].rank, 2);
  EXPECT_EQ(g["gd.zq.dz"].done_late, 1);
  EXPECT_DOUBLE_EQ(g["gd.zq.dz"].completion_rate, 1.0);
  // Acknowledging and reporting earn nothing: edu ties with the untouched fin, b3, b4.
  for (const char* u : {"gd.zq.edu", "gd.zq.fin", "gd.zq.dz.b3", "gd.zq.dz.b4"}) {
    EXPECT_EQ(g[u].rank, 3) << u;
    EXPECT_EQ(g[u].overdue, 1) << u;
    EXPECT_EQ(g[u].red, 1) << u;
  }
  EXPECT_EQ(g["gd.zq.dz.b2"].rank, 0);
  EXPECT_EQ(g["gd.zq.dz.b2"].states[S::kCanceled], 1);
  EXPECT_DOUBLE_EQ(g["gd.zq.dz.b2"].completion_rate, 0);
  EXPECT_EQ(g["gd.zq.edu"].label, "单位gd.zq.edu");
  // Rank order: ranked by rank then key, unranked last.
  std::vector<std::string> keys;
  for (const auto& x : page->groups) keys.push_back(x.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"gd.zq.dz.b1", "gd.zq.dz", "gd.zq.dz.b3", "gd.zq.dz.b4",
                                            "gd.zq.edu", "gd.zq.fin", "gd.zq.dz.b2"}));
  const BoardGroup& t = page->totals;
  EXPECT_EQ(t.total, 7);
  EXPECT_EQ(t.states[S::kDone], 2);
  EXPECT_EQ(t.states[S::kCanceled], 1);
  EXPECT_EQ(t.overdue, 4);
  EXPECT_EQ(t.due_so_far, 6);
  EXPECT_EQ(t.done_on_time, 1);
  EXPECT_EQ(t.done_late, 1);
  EXPECT_EQ(t.red, 4);
  EXPECT_EQ(t.green + t.yellow + t.red, 4);  // lights of open assignments only
  EXPECT_DOUBLE_EQ(t.completion_rate, 2.0 / 6.0);
  EXPECT_EQ(t.rank, 0);
  EXPECT_TRUE(t.key.empty());
  // Paging gives the same order without repeats.
  std::vector<std::string> paged;
  for (const auto& x : AllGroups(q)) paged.push_back(x.key);
  EXPECT_EQ(paged, keys);
  BoardQuery by_key = q;
  by_key.order_by = BoardOrder::kKey;
  std::vector<std::string> sorted;
  for (const auto& x : AllGroups(by_key, 3)) sorted.push_back(x.key);
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
  EXPECT_EQ(sorted.size(), 7u);
}

TEST_F(BoardTest, OtherGroupingsAndFilters) {
  BoardQuery q;
  q.plan_id = "p1";
  q.group_by = BoardGrouping::kUnitKind;
  std::map<std::string, BoardGroup> g;
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g["UNIT_KIND_PARTY_BRANCH"].total, 4);
  EXPECT_EQ(g["UNIT_KIND_PARTY_BRANCH"].label, "党支部");
  EXPECT_EQ(g["UNIT_KIND_DEPARTMENT"].total, 2);
  EXPECT_EQ(g["UNIT_KIND_DISTRICT"].total, 1);

  q.group_by = BoardGrouping::kUnitTag;
  g.clear();
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g["五区"].total, 5);  // dz, b1..b4
  EXPECT_EQ(g["国企"].total, 1);  // b2 counts in both of its tags
  EXPECT_EQ(g["市直单位"].total, 2);
  auto page = directory_->GetBoard(q);
  EXPECT_EQ(page->totals.total, 7);  // ...but once in the totals

  q.group_by = BoardGrouping::kChildOfRoot;
  q.root_unit_id = "gd.zq";
  g.clear();
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g["gd.zq.dz"].total, 5);
  EXPECT_EQ(g["gd.zq.dz"].label, "单位gd.zq.dz");
  EXPECT_EQ(g["gd.zq.edu"].total, 1);

  q.root_unit_id = "gd.zq.dz";
  q.group_by = BoardGrouping::kUnit;
  EXPECT_EQ(directory_->GetBoard(q)->totals.total, 5);

  q.root_unit_id = "";
  q.group_by = BoardGrouping::kTopLevelTask;
  g.clear();
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g["k1"].total, 6);
  EXPECT_EQ(g["k1"].label, k1_.title);
  EXPECT_EQ(g["k2"].total, 1);

  // With a root, rows are tallied per unit while the subtree is fetched, then folded: every
  // grouping keeps its keys and counts only the subtree's rows.
  q.root_unit_id = "gd.zq.dz";
  g.clear();
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(g["k1"].total, 4);  // b1..b4, not edu or fin
  EXPECT_EQ(g["k1"].label, k1_.title);
  EXPECT_EQ(g["k2"].total, 1);
  EXPECT_EQ(g["k2"].states[S::kDone], 1);
  EXPECT_EQ(directory_->GetBoard(q)->totals.total, 5);
  q.group_by = BoardGrouping::kUnitKind;
  g.clear();
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(g["UNIT_KIND_PARTY_BRANCH"].total, 4);
  EXPECT_EQ(g["UNIT_KIND_PARTY_BRANCH"].states[S::kCanceled], 1);
  EXPECT_EQ(g["UNIT_KIND_DISTRICT"].total, 1);
  q.root_unit_id = "gd.zq";
  q.group_by = BoardGrouping::kUnitTag;
  g.clear();
  for (const auto& x : AllGroups(q)) g[x.key] = x;
  EXPECT_EQ(g["五区"].total, 5);
  EXPECT_EQ(g["市直单位"].total, 2);
  EXPECT_EQ(directory_->GetBoard(q)->totals.total, 7);
  q.root_unit_id = "";

  q.group_by = BoardGrouping::kUnit;
  q.task_id = "k1";
  q.role = AssignmentRole::kLead;
  auto k1 = directory_->GetBoard(q);
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(k1->totals.total, 5);  // edu and the four branches, not fin
}

TEST_F(BoardTest, ScanBoardFillsOnlyTheColumnsAsked) {
  auto scan = [&](const BoardColumns& columns) {
    std::vector<std::tuple<std::string, int, std::string, std::string, std::string, int>> rows;
    absl::Status s = store_->Read([&](TaskReader& tx) {
      return tx.ScanBoard("p1", "", columns, [&](const BoardRow& r) {
        rows.emplace_back(std::string(r.unit_id), static_cast<int>(r.unit_kind),
                          std::string(r.task_path), std::string(r.unit_timezone),
                          std::string(r.unit_tags), static_cast<int>(r.state));
      });
    });
    EXPECT_TRUE(s.ok()) << s;
    return rows;
  };
  const auto all = scan(BoardColumns());
  BoardColumns none;
  none.unit_kind = none.task_path = none.unit_timezone = none.unit_tags = false;
  const auto some = scan(none);
  ASSERT_EQ(all.size(), some.size());
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    // Same rows in the same order; the columns not asked for stay empty.
    EXPECT_EQ(std::get<0>(some[i]), std::get<0>(all[i]));
    EXPECT_EQ(std::get<5>(some[i]), std::get<5>(all[i]));
    EXPECT_NE(std::get<1>(all[i]), 0);
    EXPECT_FALSE(std::get<2>(all[i]).empty());
    EXPECT_FALSE(std::get<3>(all[i]).empty());
    EXPECT_EQ(std::get<1>(some[i]), 0);
    EXPECT_TRUE(std::get<2>(some[i]).empty());
    EXPECT_TRUE(std::get<3>(some[i]).empty());
    EXPECT_TRUE(std::get<4>(some[i]).empty());
  }
}

TEST_F(BoardTest, BoardBadInput) {
  BoardQuery q;
  q.group_by = BoardGrouping::kUnit;
  EXPECT_EQ(FirstField(directory_->GetBoard(q).status()), "plan_id");
  q.plan_id = "p1";
  q.group_by = BoardGrouping::kUnspecified;
  EXPECT_EQ(FirstField(directory_->GetBoard(q).status()), "group_by");
  q.group_by = BoardGrouping::kChildOfRoot;
  EXPECT_EQ(FirstField(directory_->GetBoard(q).status()), "root_unit_id");
  q.root_unit_id = "gd.none";
  EXPECT_EQ(directory_->GetBoard(q).status().code(), Code::kNotFound);
  q.root_unit_id = "";
  q.group_by = BoardGrouping::kUnit;
  q.plan_id = "p404";
  EXPECT_EQ(directory_->GetBoard(q).status().code(), Code::kNotFound);
  q.plan_id = "p1";
  q.task_id = "nope";
  EXPECT_EQ(FirstField(directory_->GetBoard(q).status()), "task_id");
  q.task_id = "";
  q.order_by = static_cast<BoardOrder>(9);
  EXPECT_EQ(FirstField(directory_->GetBoard(q).status()), "order_by");
  q.order_by = BoardOrder::kRank;
  q.page_size = 1;
  auto first = directory_->GetBoard(q);
  q.group_by = BoardGrouping::kUnitKind;
  q.page_token = first->next_page_token;
  EXPECT_EQ(FirstField(directory_->GetBoard(q).status()), "page_token");
}

TEST_F(BoardTest, CoverageListsWhoHasnt) {
  CoverageQuery q;
  q.task_id = "k1";
  q.gap = CoverageGap::kNotAcknowledged;
  auto page = directory_->GetCoverage(q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(page->states[S::kDone], 1);
  EXPECT_EQ(page->states[S::kCanceled], 1);
  EXPECT_EQ(page->not_acknowledged, 1);  // b4
  EXPECT_EQ(page->not_reported, 2);      // b3 and b4 (b1 submitted)
  EXPECT_EQ(page->overdue, 2);
  ASSERT_EQ(page->units.size(), 1u);
  EXPECT_EQ(page->units[0].unit_id, "gd.zq.dz.b4");
  q.gap = CoverageGap::kOverdue;
  q.page_size = 1;
  std::vector<std::string> overdue;
  for (;;) {
    auto p = directory_->GetCoverage(q);
    ASSERT_TRUE(p.ok()) << p.status();
    for (const auto& e : p->units) {
      overdue.push_back(e.unit_id);
      EXPECT_TRUE(e.overdue);
    }
    if (p->next_page_token.empty()) break;
    q.page_token = p->next_page_token;
  }
  EXPECT_EQ(overdue, (std::vector<std::string>{"gd.zq.dz.b3", "gd.zq.dz.b4"}));
  // Reports before reported_since do not count.
  ASSERT_TRUE(Report(Child("gd.zq.dz.b3"), 10).ok());
  CoverageQuery nr;
  nr.task_id = "k1";
  nr.gap = CoverageGap::kNotReported;
  EXPECT_EQ(directory_->GetCoverage(nr)->not_reported, 1);
  nr.reported_since_us = ToMicros(now_) + 1;
  EXPECT_EQ(directory_->GetCoverage(nr)->not_reported, 2);
  CoverageQuery sub;
  sub.task_id = "k1";
  sub.gap = CoverageGap::kNotAcknowledged;
  sub.unit_subtree_of = "gd.zq.dz.b1";
  EXPECT_EQ(directory_->GetCoverage(sub)->total, 1);
  // Bad input.
  CoverageQuery bad;
  bad.gap = CoverageGap::kOverdue;
  EXPECT_EQ(FirstField(directory_->GetCoverage(bad).status()), "task_id");
  bad.task_id = "k1";
  bad.gap = CoverageGap::kUnspecified;
  EXPECT_EQ(FirstField(directory_->GetCoverage(bad).status()), "gap");
  bad.gap = CoverageGap::kOverdue;
  bad.task_id = "nope";
  EXPECT_EQ(directory_->GetCoverage(bad).status().code(), Code::kNotFound);
  bad.task_id = "k1";
  bad.unit_subtree_of = "gd.none";
  EXPECT_EQ(FirstField(directory_->GetCoverage(bad).status()), "unit_subtree_of");
}

TEST_F(BoardTest, BurdenRanksTheMostLoadedUnits) {
  // fin gets two more open assignments, one due this week (Mon 11-03 .. Sun 11-09).
  CreateTask("k3", LocalUs(2025, 11, 7, 18), {}, "gd.zq.fin");
  CreateTask("k4", LocalUs(2025, 11, 20, 18), {}, "gd.zq.fin");
  AssignmentBudget b;
  b.unit_id = "gd.zq.fin";
  b.max_open_assignments = 2;
  ASSERT_TRUE(directory_->SetAssignmentBudget(b, Who()).ok());
  BurdenQuery q;
  q.root_unit_id = "gd.zq";
  auto page = directory_->GetBurden(q);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->units.empty());
  const UnitBurden& top = page->units[0];
  EXPECT_EQ(top.unit_id, "gd.zq.fin");
  EXPECT_EQ(top.open_assignments, 3);
  EXPECT_EQ(top.due_this_week, 1);
  EXPECT_EQ(top.overdue, 1);
  EXPECT_EQ(top.max_open_assignments, 2);
  EXPECT_TRUE(top.over_budget);
  std::vector<std::string> ids;
  for (const auto& u : page->units) ids.push_back(u.unit_id);
  // Then one open each (edu, b3, b4), by unit id; units without open work are left out.
  EXPECT_EQ(ids,
            (std::vector<std::string>{"gd.zq.fin", "gd.zq.dz.b3", "gd.zq.dz.b4", "gd.zq.edu"}));
  q.unit_kinds = {UnitKind::kPartyBranch};
  q.page_size = 1;
  std::vector<std::string> branches;
  for (;;) {
    auto p = directory_->GetBurden(q);
    ASSERT_TRUE(p.ok()) << p.status();
    for (const auto& u : p->units) branches.push_back(u.unit_id);
    if (p->next_page_token.empty()) break;
    q.page_token = p->next_page_token;
  }
  EXPECT_EQ(branches, (std::vector<std::string>{"gd.zq.dz.b3", "gd.zq.dz.b4"}));
  BurdenQuery plan_only;
  plan_only.root_unit_id = "gd.zq";
  plan_only.plan_id = "p1";
  EXPECT_EQ(directory_->GetBurden(plan_only)->units[0].open_assignments, 3);
  BurdenQuery bad;
  EXPECT_EQ(FirstField(directory_->GetBurden(bad).status()), "root_unit_id");
  bad.root_unit_id = "gd.none";
  EXPECT_EQ(directory_->GetBurden(bad).status().code(), Code::kNotFound);
  bad.root_unit_id = "gd.zq";
  bad.unit_kinds = {static_cast<UnitKind>(0)};
  EXPECT_EQ(FirstField(directory_->GetBurden(bad).status()), "unit_kinds[0]");
  bad.unit_kinds = {};
  bad.plan_id = "p404";
  EXPECT_EQ(directory_->GetBurden(bad).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace duban::tasks::testing
