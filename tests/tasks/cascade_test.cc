// CascadeTask and assignment budgets through TaskDirectory on a real SQLite file: one child per
// matching unit in one transaction, repeatable cascades, deadline and milestone guardrails
// (refuse or clamp), open-assignment budgets (refuse, validate_only, force), and bad input.
#include <gtest/gtest.h>

#include <absl/strings/str_cat.h>

#include "task_fixture.h"

namespace duban::tasks::testing {
namespace {

using A = AssignmentAction;
using Code = absl::StatusCode;

class CascadeTest : public TaskFixture {
 protected:
  void SetUp() override {
    TaskFixture::SetUp();
    // 3 towns under the district, 4 party branches each (one tagged 国企 per town).
    for (int t = 0; t < 3; ++t) {
      const std::string town = absl::StrCat("gd.zq.dz.t", t);
      units_.Add(town, "gd.zq.dz", UnitKind::kTown);
      for (int b = 0; b < 4; ++b) {
        units_.Add(town + absl::StrCat(".b", b), town, UnitKind::kPartyBranch,
                   b == 0 ? std::vector<std::string>{"国企"} : std::vector<std::string>{});
      }
    }
  }

  CascadeInput Branches(const std::string& task = "key") {
    CascadeInput in;
    in.task_id = task;
    in.root_unit_id = "gd.zq";
    in.unit_kinds = {UnitKind::kPartyBranch};
    in.actor = Who();
    in.note = "层层落实";
    return in;
  }

  int64_t OutboxRows() { return static_cast<int64_t>(Outbox().size()); }
};

TEST_F(CascadeTest, OneChildPerMatchingUnitAndRepeatable) {
  CreatePlan();
  Task key = CreateTask("key", LocalUs(2025, 10, 31, 18));
  const int64_t outbox_before = OutboxRows();
  auto r = directory_->CascadeTask(Branches());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(r->matched_units, 14);  // b1, b2 and 12 town branches
  EXPECT_EQ(r->created_tasks, 14);
  EXPECT_EQ(r->skipped_existing, 0);
  EXPECT_EQ(r->over_budget_count, 0);
  EXPECT_EQ(OutboxRows(), outbox_before + 14);
  auto parent = directory_->GetTask("key");
  EXPECT_EQ(parent->child_count, 14);
  ListTasksQuery q;
  q.plan_id = "p1";
  q.parent_task_id = "key";
  q.page_size = 100;
  auto children = directory_->ListTasks(q);
  ASSERT_TRUE(children.ok());
  ASSERT_EQ(children->tasks.size(), 14u);
  for (const auto& c : children->tasks) {
    EXPECT_TRUE(c.cascaded);
    EXPECT_EQ(c.depth, 1);
    EXPECT_EQ(c.title, key.title);
    EXPECT_EQ(c.deadline_us, key.deadline_us);
    ASSERT_EQ(c.assignments.size(), 1u);
    EXPECT_EQ(c.assignments[0].unit_id, c.lead_unit_id);
    EXPECT_EQ(c.assignments[0].role, AssignmentRole::kLead);
  }
  auto events = Audit(children->tasks[0].assignments[0].assignment_id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].note, "层层落实");
  // Again: everything is skipped. A unit that joins later gets its child.
  auto again = directory_->CascadeTask(Branches());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->created_tasks, 0);
  EXPECT_EQ(again->skipped_existing, 14);
  units_.Add("gd.zq.dz.t0.b9", "gd.zq.dz.t0", UnitKind::kPartyBranch);
  auto joined = directory_->CascadeTask(Branches());
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->created_tasks, 1);
  EXPECT_EQ(directory_->GetTask("key")->child_count, 15);
  // Coverage of the children through ListAssignments.
  ListAssignmentsQuery lq;
  lq.tasks_under = "key";
  lq.page_size = 1000;
  EXPECT_EQ(directory_->ListAssignments(lq)->assignments.size(), 15u);
}

TEST_F(CascadeTest, FiltersAndChildFields) {
  CreatePlan();
  CreateTask("key", LocalUs(2025, 10, 31, 18));
  CascadeInput in = Branches();
  in.unit_tag = "国企";
  in.title = "基层落实";
  in.priority = Priority::kHigh;
  in.tags = {"基层"};
  in.reminder_policy_id = "strict";
  auto r = directory_->CascadeTask(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->created_tasks, 4);  // b2 and the three town b0s
  ListTasksQuery q;
  q.plan_id = "p1";
  q.parent_task_id = "key";
  auto children = directory_->ListTasks(q);
  for (const auto& c : children->tasks) {
    EXPECT_EQ(c.title, "基层落实");
    EXPECT_EQ(c.priority, Priority::kHigh);
    EXPECT_EQ(c.tags, (std::vector<std::string>{"基层"}));
    EXPECT_EQ(c.reminder_policy_id, "strict");
  }
  EXPECT_EQ(Outbox().back().snapshot.policy_id, "strict");
}

TEST_F(CascadeTest, BadInputNamesTheFieldAndWritesNothing) {
  CreatePlan();
  CreateTask("key", LocalUs(2025, 10, 31, 18));
  const std::string before = Dump();
  struct Case {
    std::function<void(CascadeInput&)> mutate;
    Code code;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](CascadeInput& in) { in.task_id = ""; }, Code::kInvalidArgument, "task_id"},
      {[](CascadeInput& in) { in.task_id = "nope"; }, Code::kNotFound, "task_id"},
      {[](CascadeInput& in) { in.root_unit_id = ""; }, Code::kInvalidArgument, "root_unit_id"},
      {[](CascadeInput& in) { in.root_unit_id = "gd.none"; }, Code::kNotFound, "root_unit_id"},
      {[](CascadeInput& in) { in.unit_kinds = {static_cast<UnitKind>(12)}; },
       Code::kInvalidArgument, "unit_kinds[0]"},
      {[](CascadeInput& in) { in.unit_tag = "没有"; }, Code::kInvalidArgument, "root_unit_id"},
      {[](CascadeInput& in) { in.title = std::string(201, 't'); }, Code::kInvalidArgument, "title"},
      {[](CascadeInput& in) {
         in.deadline = WorkingDays(0, {2025, 10, 1});
       },
       Code::kInvalidArgument, "deadline.working_days.count"},
      {[](CascadeInput& in) { in.deadline = At(LocalUs(2025, 11, 1, 18)); },
       Code::kFailedPrecondition, "deadline"},
      {[](CascadeInput& in) { in.deadline = At(LocalUs(2025, 10, 30, 18)); },
       Code::kFailedPrecondition, "deadline"},
      {[](CascadeInput& in) {
         Milestone m;
         m.title = "late";
         m.due = At(LocalUs(2025, 11, 30, 18));
         in.milestones = {m};
       },
       Code::kInvalidArgument, "milestones[0].due"},
      {[](CascadeInput& in) { in.priority = static_cast<Priority>(7); }, Code::kInvalidArgument,
       "priority"},
      {[](CascadeInput& in) {
         in.tags = {"x", "x"};
       },
       Code::kInvalidArgument, "tags"},
      {[](CascadeInput& in) { in.reminder_policy_id = "missing"; }, Code::kInvalidArgument,
       "reminder_policy_id"},
      {[](CascadeInput& in) { in.actor = {}; }, Code::kInvalidArgument, "actor.id"},
      {[](CascadeInput& in) { in.note = std::string(2001, 'n'); }, Code::kInvalidArgument, "note"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CascadeInput in = Branches();
    cases[i].mutate(in);
    auto r = directory_->CascadeTask(in);
    EXPECT_EQ(r.status().code(), cases[i].code) << i << " " << r.status();
    EXPECT_EQ(FirstField(r.status()), cases[i].field) << i << " " << r.status();
  }
  units_.set_unavailable(true);
  EXPECT_EQ(directory_->CascadeTask(Branches()).status().code(), Code::kUnavailable);
  units_.set_unavailable(false);
  EXPECT_EQ(Dump(), before);
  // Not on a closed task.
  Task done = CreateTask("done", LocalUs(2025, 10, 31, 18));
  const std::string a = done.assignments[0].assignment_id;
  ASSERT_TRUE(Do(A::kAcknowledge, a).ok());
  ASSERT_TRUE(Do(A::kSubmit, a).ok());
  ASSERT_TRUE(Do(A::kApprove, a).ok());
  auto closed = directory_->CascadeTask(Branches("done"));
  EXPECT_EQ(closed.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(FirstField(closed.status()), "task_id");
}

TEST_F(CascadeTest, EarlyDeadlinesAreRefusedOrClamped) {
  CreatePlan("p1", /*margin=*/1);
  // Parent due Thu 2025-10-09 18:00; one working day earlier is Tue 09-30 (holiday between).
  CreateTask("key", LocalUs(2025, 10, 9, 18));
  CascadeInput in = Branches();
  in.unit_kinds = {UnitKind::kDistrict};  // one unit: gd.zq.dz
  in.deadline = At(LocalUs(2025, 9, 29, 18));
  const std::string before = Dump();
  auto refused = directory_->CascadeTask(in);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(FirstField(refused.status()), "deadline");
  EXPECT_NE(refused.status().message().find("2 working days before the parent's deadline; the "
                                            "plan allows 1"),
            std::string::npos)
      << refused.status();
  in.clamp_deadlines = true;
  in.validate_only = true;
  auto preview = directory_->CascadeTask(in);
  ASSERT_TRUE(preview.ok()) << preview.status();
  EXPECT_FALSE(preview->applied);
  EXPECT_EQ(preview->created_tasks, 1);
  ASSERT_EQ(preview->clamped.size(), 1u);
  EXPECT_EQ(Dump(), before);
  in.validate_only = false;
  auto clamped = directory_->CascadeTask(in);
  ASSERT_TRUE(clamped.ok()) << clamped.status();
  EXPECT_EQ(clamped->clamped_count, 1);
  ASSERT_EQ(clamped->clamped.size(), 1u);
  EXPECT_EQ(clamped->clamped[0].unit_id, "gd.zq.dz");
  EXPECT_EQ(clamped->clamped[0].requested_us, LocalUs(2025, 9, 29, 18));
  EXPECT_EQ(clamped->clamped[0].applied_us, LocalUs(2025, 9, 30, 18));
  EXPECT_TRUE(clamped->clamped[0].milestone_title.empty());
  ListTasksQuery q;
  q.plan_id = "p1";
  q.parent_task_id = "key";
  EXPECT_EQ(directory_->ListTasks(q)->tasks[0].deadline_us, LocalUs(2025, 9, 30, 18));
  // Later than the parent is refused even with clamping.
  in.unit_kinds = {UnitKind::kTown};
  in.deadline = At(LocalUs(2025, 10, 10, 18));
  EXPECT_EQ(directory_->CascadeTask(in).status().code(), Code::kFailedPrecondition);
}

TEST_F(CascadeTest, MilestonesFollowTheParentsWithinTheMargin) {
  CreatePlan("p1", /*margin=*/2);
  Task key = MakeTask("key", LocalUs(2025, 10, 31, 18));
  Milestone m;
  m.title = "动员部署";
  m.due = At(LocalUs(2025, 10, 20, 18));  // Mon
  key.milestones = {m};
  ASSERT_TRUE(directory_->CreateTask(key, "", Who()).ok());
  CascadeInput in = Branches();
  in.unit_kinds = {UnitKind::kDistrict};
  Milestone early;
  early.title = "提前部署";
  early.due = At(LocalUs(2025, 10, 15, 18));  // Wed: 3 working days before Mon
  in.milestones = {early};
  auto refused = directory_->CascadeTask(in);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(FirstField(refused.status()), "milestones[0].due");
  in.clamp_deadlines = true;
  auto r = directory_->CascadeTask(in);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->clamped.size(), 1u);
  EXPECT_EQ(r->clamped[0].milestone_title, "提前部署");
  EXPECT_EQ(r->clamped[0].applied_us, LocalUs(2025, 10, 16, 18));  // Thu: 2 working days before
  // Inherited milestones are the parent's.
  in = Branches();
  in.unit_kinds = {UnitKind::kTown};
  auto inherit = directory_->CascadeTask(in);
  ASSERT_TRUE(inherit.ok()) << inherit.status();
  ListTasksQuery q;
  q.plan_id = "p1";
  q.parent_task_id = "key";
  q.page_size = 10;
  auto children = directory_->ListTasks(q);
  ASSERT_TRUE(children.ok());
  for (const auto& c : children->tasks) {
    ASSERT_EQ(c.milestones.size(), 1u);
    EXPECT_EQ(c.milestones[0].id, "m1");
  }
}

TEST_F(CascadeTest, BudgetsRefuseValidateOrForce) {
  CreatePlan();
  // b1 already carries one open assignment.
  CreateTask("other", LocalUs(2025, 10, 31, 18), {}, "gd.zq.dz.b1");
  CreateTask("key", LocalUs(2025, 10, 31, 18));
  AssignmentBudget kind;
  kind.unit_kind = UnitKind::kPartyBranch;
  kind.max_open_assignments = 1;
  ASSERT_TRUE(directory_->SetAssignmentBudget(kind, Who()).ok());
  const std::string before = Dump();
  auto refused = directory_->CascadeTask(Branches());
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status();
  auto payload = refused.status().GetPayload(kOverBudgetPayload);
  ASSERT_TRUE(payload);
  EXPECT_EQ(std::string(*payload), "gd.zq.dz.b1\t1\t1\n");
  EXPECT_EQ(Dump(), before);
  CascadeInput preview = Branches();
  preview.validate_only = true;
  auto v = directory_->CascadeTask(preview);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->applied);
  EXPECT_EQ(v->over_budget_count, 1);
  ASSERT_EQ(v->over_budget.size(), 1u);
  EXPECT_EQ(v->over_budget[0].unit_id, "gd.zq.dz.b1");
  EXPECT_EQ(v->over_budget[0].unit_kind, UnitKind::kPartyBranch);
  EXPECT_EQ(v->over_budget[0].open_assignments, 1);
  EXPECT_EQ(v->over_budget[0].max_open_assignments, 1);
  EXPECT_EQ(Dump(), before);
  // A unit's own budget wins over its kind's.
  AssignmentBudget unit;
  unit.unit_id = "gd.zq.dz.b1";
  unit.max_open_assignments = 5;
  ASSERT_TRUE(directory_->SetAssignmentBudget(unit, Who()).ok());
  EXPECT_EQ(directory_->CascadeTask(preview)->over_budget_count, 0);
  ASSERT_TRUE(directory_->DeleteAssignmentBudget(unit, Who()).ok());
  // Forced: applied, with the override in the audit trail.
  CascadeInput forced = Branches();
  forced.force = true;
  auto f = directory_->CascadeTask(forced);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->applied);
  EXPECT_EQ(f->over_budget_count, 1);
  EXPECT_EQ(f->created_tasks, 14);
  ListAuditQuery q;
  q.filter.plan_id = "p1";
  q.filter.kinds = {AuditEventKind::kBudgetOverridden};
  auto overridden = directory_->ListAuditEvents(q);
  ASSERT_EQ(overridden->events.size(), 1u);
  EXPECT_EQ(overridden->events[0].unit_id, "gd.zq.dz.b1");
}

TEST_F(CascadeTest, BudgetCrudAndBadInput) {
  AssignmentBudget def;
  def.max_open_assignments = 50;
  AssignmentBudget kind;
  kind.unit_kind = UnitKind::kVillage;
  kind.max_open_assignments = 10;
  AssignmentBudget kind2;
  kind2.unit_kind = UnitKind::kCity;
  kind2.max_open_assignments = 100;
  AssignmentBudget unit;
  unit.unit_id = "gd.zq.dz.b1";
  unit.max_open_assignments = 3;
  for (const auto& b : {unit, kind, def, kind2}) {
    ASSERT_TRUE(directory_->SetAssignmentBudget(b, Who()).ok());
  }
  def.max_open_assignments = 60;  // replaces
  ASSERT_TRUE(directory_->SetAssignmentBudget(def, Who()).ok());
  std::vector<std::string> order;
  std::string token;
  do {
    auto page = directory_->ListAssignmentBudgets(2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& b : page->budgets) {
      order.push_back(BudgetKey(b) + absl::StrCat("=", b.max_open_assignments));
    }
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(order, (std::vector<std::string>{"0=60", "1:02=100", "1:05=10", "2:gd.zq.dz.b1=3"}));
  ASSERT_TRUE(directory_->DeleteAssignmentBudget(kind, Who()).ok());
  auto again = directory_->DeleteAssignmentBudget(kind, Who());
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(FirstField(again), "unit_kind");
  AssignmentBudget bad = unit;
  bad.unit_kind = UnitKind::kCity;
  EXPECT_EQ(FirstField(directory_->SetAssignmentBudget(bad, Who()).status()), "budget.unit_kind");
  bad = unit;
  bad.max_open_assignments = 0;
  EXPECT_EQ(FirstField(directory_->SetAssignmentBudget(bad, Who()).status()),
            "budget.max_open_assignments");
  bad.max_open_assignments = 100001;
  EXPECT_EQ(FirstField(directory_->SetAssignmentBudget(bad, Who()).status()),
            "budget.max_open_assignments");
  bad = unit;
  bad.unit_id = "gd.none";
  EXPECT_EQ(FirstField(directory_->SetAssignmentBudget(bad, Who()).status()), "budget.unit_id");
  bad = kind;
  bad.unit_kind = static_cast<UnitKind>(42);
  EXPECT_EQ(FirstField(directory_->SetAssignmentBudget(bad, Who()).status()), "budget.unit_kind");
  EXPECT_EQ(FirstField(directory_->SetAssignmentBudget(unit, Actor{}).status()), "actor.id");
  EXPECT_EQ(FirstField(directory_->ListAssignmentBudgets(-1, "").status()), "page_size");
  EXPECT_EQ(FirstField(directory_->ListAssignmentBudgets(0, "junk").status()), "page_token");
}

TEST_F(CascadeTest, RetriedCascadeReturnsTheFirstCounts) {
  CreatePlan();
  CreateTask("key", LocalUs(2025, 10, 31, 18));
  CascadeInput in = Branches();
  in.request_id = "cascade-1";
  auto first = directory_->CascadeTask(in);
  ASSERT_TRUE(first.ok()) << first.status();
  units_.Add("gd.zq.dz.t1.b9", "gd.zq.dz.t1", UnitKind::kPartyBranch);
  const std::string before = Dump();
  auto retry = directory_->CascadeTask(in);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->created_tasks, first->created_tasks);
  EXPECT_EQ(retry->matched_units, first->matched_units);
  EXPECT_EQ(Dump(), before);
  in.force = true;
  EXPECT_EQ(FirstField(directory_->CascadeTask(in).status()), "request_id");
}

// UnitService answers with more than 50,000 matching units.
class HugeSubtree : public FakeUnits {
 public:
  absl::Status ListSubtree(
      const std::string&, const std::vector<UnitKind>&, const std::string&,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) override {
    for (int p = 0; p < 60; ++p) {
      std::vector<UnitInfo> page(1000);
      for (int i = 0; i < 1000; ++i) page[i].id = absl::StrCat("u", p * 1000 + i);
      if (auto s = on_page(page); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

TEST_F(CascadeTest, AtMostFiftyThousandUnitsPerCall) {
  CreatePlan();
  CreateTask("key", LocalUs(2025, 10, 31, 18));
  HugeSubtree huge;
  TaskDirectory d(*store_, huge, &policies_, *calendar_, [this] { return now_; });
  auto r = d.CascadeTask(Branches());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(FirstField(r.status()), "root_unit_id");
}

}  // namespace
}  // namespace duban::tasks::testing
