// Plans and tasks through TaskDirectory on a real SQLite file: creation, idempotency, deadlines
// (absolute and working days across holidays and 调休), milestones, the task tree, updates,
// cancellation, listing, and bad input (right code, field named, nothing written).
#include <gtest/gtest.h>

#include <absl/strings/str_cat.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "task_fixture.h"

namespace duban::tasks::testing {
namespace {

using Code = absl::StatusCode;

class PlanTaskTest : public TaskFixture {};

// ---------------------------------------------------------------------------------- plans

TEST_F(PlanTaskTest, CreateGetAndReplayPlan) {
  auto p = directory_->CreatePlan(MakePlan("p1"), "req-1", Who());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->plan.revision, 1);
  EXPECT_FALSE(p->plan.archived);
  auto again = directory_->CreatePlan(MakePlan("p1"), "req-1", Who());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->plan.create_us, p->plan.create_us);
  auto dup = directory_->CreatePlan(MakePlan("p1"), "", Who());
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(FirstField(dup.status()), "plan.id");
  Plan other = MakePlan("p2");
  auto reuse = directory_->CreatePlan(other, "req-1", Who());
  EXPECT_EQ(reuse.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FirstField(reuse.status()), "request_id");
  Plan generated = MakePlan("");
  auto g = directory_->CreatePlan(generated, "", Who());
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->plan.id.rfind("p-", 0), 0u);
  auto got = directory_->GetPlan("p1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->plan.title, "学习教育工作方案");
  EXPECT_EQ(directory_->GetPlan("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(directory_->GetPlan("Bad Id").status().code(), Code::kInvalidArgument);
}

TEST_F(PlanTaskTest, CreatePlanBadInputNamesTheFieldAndWritesNothing) {
  CreatePlan("p0");
  const std::string before = Dump();
  struct Case {
    std::function<void(Plan&)> mutate;
    Code code;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](Plan& p) { p.id = "Bad Id"; }, Code::kInvalidArgument, "plan.id"},
      {[](Plan& p) { p.title = ""; }, Code::kInvalidArgument, "plan.title"},
      {[](Plan& p) { p.title = std::string(201, 'x'); }, Code::kInvalidArgument, "plan.title"},
      {[](Plan& p) { p.owner_unit_id = ""; }, Code::kInvalidArgument, "plan.owner_unit_id"},
      {[](Plan& p) { p.owner_unit_id = "gd.nowhere"; }, Code::kInvalidArgument,
       "plan.owner_unit_id"},
      {[](Plan& p) { p.owner_unit_id = "gd.zq.old"; }, Code::kInvalidArgument,
       "plan.owner_unit_id"},
      {[](Plan& p) {
         p.start_date = {2025, 2, 30};
       },
       Code::kInvalidArgument, "plan.start_date"},
      {[](Plan& p) { p.end_date = {}; }, Code::kInvalidArgument, "plan.end_date"},
      {[](Plan& p) {
         p.end_date = {2025, 8, 1};
       },
       Code::kInvalidArgument, "plan.end_date"},
      {[](Plan& p) { p.cascade_margin_working_days = 61; }, Code::kInvalidArgument,
       "plan.cascade_margin_working_days"},
      {[](Plan& p) { p.default_reminder_policy_id = "missing"; }, Code::kInvalidArgument,
       "plan.default_reminder_policy_id"},
      {[](Plan& p) { p.id = "p0"; }, Code::kAlreadyExists, "plan.id"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Plan p = MakePlan("p-new");
    cases[i].mutate(p);
    auto r = directory_->CreatePlan(p, "", Who());
    EXPECT_EQ(r.status().code(), cases[i].code) << i << " " << r.status();
    EXPECT_EQ(FirstField(r.status()), cases[i].field) << i;
  }
  auto bad_actor = directory_->CreatePlan(MakePlan("p-new"), "", Actor{"", "x", ""});
  EXPECT_EQ(FirstField(bad_actor.status()), "actor.id");
  auto bad_rid = directory_->CreatePlan(MakePlan("p-new"), std::string(129, 'r'), Who());
  EXPECT_EQ(FirstField(bad_rid.status()), "request_id");
  units_.set_unavailable(true);
  EXPECT_EQ(directory_->CreatePlan(MakePlan("p-new"), "", Who()).status().code(),
            Code::kUnavailable);
  units_.set_unavailable(false);
  policies_.unavailable = true;
  Plan with_policy = MakePlan("p-new");
  with_policy.default_reminder_policy_id = "strict";
  EXPECT_EQ(directory_->CreatePlan(with_policy, "", Who()).status().code(), Code::kUnavailable);
  EXPECT_EQ(Dump(), before);
}

TEST_F(PlanTaskTest, ListPlansPagesAndFilters) {
  for (int i = 0; i < 7; ++i) {
    Plan p = MakePlan(absl::StrCat("p", i));
    p.start_date = {2025, 1 + i, 1};
    if (i % 2) p.owner_unit_id = "gd.fs";
    ASSERT_TRUE(directory_->CreatePlan(p, "", Who()).ok());
  }
  ListPlansQuery q;
  q.page_size = 3;
  std::vector<std::string> ids;
  for (;;) {
    auto page = directory_->ListPlans(q);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& p : page->plans) ids.push_back(p.plan.id);
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}));
  ListPlansQuery owner;
  owner.filter.owner_unit_id = "gd.fs";
  EXPECT_EQ(directory_->ListPlans(owner)->plans.size(), 3u);
  ListPlansQuery active;
  active.filter.active_on = Date{2025, 6, 15};  // periods end 2025-12-31
  EXPECT_EQ(directory_->ListPlans(active)->plans.size(), 6u);
  ListPlansQuery neg;
  neg.page_size = -1;
  EXPECT_EQ(FirstField(directory_->ListPlans(neg).status()), "page_size");
  ListPlansQuery other = owner;
  other.page_token = q.page_token.empty() ? "garbage" : q.page_token;
  EXPECT_EQ(FirstField(directory_->ListPlans(other).status()), "page_token");
  ListPlansQuery bad_date;
  bad_date.filter.active_on = Date{2025, 13, 1};
  EXPECT_EQ(FirstField(directory_->ListPlans(bad_date).status()), "active_on");
}

TEST_F(PlanTaskTest, UpdatePlanMaskEtagAndPolicyOutbox) {
  PlanView p = CreatePlan();
  Plan patch;
  patch.id = "p1";
  patch.title = "新标题";
  patch.default_reminder_policy_id = "strict";
  auto up = directory_->UpdatePlan(patch, {"title", "default_reminder_policy_id"}, "1", Who());
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->plan.title, "新标题");
  EXPECT_EQ(up->plan.revision, 2);
  auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), 1u);
  EXPECT_EQ(outbox[0].kind, OutboxKind::kPlanDefaultPolicy);
  EXPECT_EQ(outbox[0].policy_id, "strict");
  EXPECT_EQ(outbox[0].plan_version, 1);
  const std::string before = Dump();
  EXPECT_EQ(directory_->UpdatePlan(patch, {"title"}, "1", Who()).status().code(), Code::kAborted);
  EXPECT_EQ(FirstField(directory_->UpdatePlan(patch, {}, "", Who()).status()), "update_mask");
  EXPECT_EQ(FirstField(directory_->UpdatePlan(patch, {"owner_unit_id"}, "", Who()).status()),
            "update_mask");
  EXPECT_EQ(FirstField(directory_->UpdatePlan(patch, {"colour"}, "", Who()).status()),
            "update_mask");
  Plan bad = patch;
  bad.end_date = {2025, 1, 1};
  EXPECT_EQ(FirstField(directory_->UpdatePlan(bad, {"end_date"}, "", Who()).status()),
            "plan.end_date");
  bad = patch;
  bad.default_reminder_policy_id = "missing";
  EXPECT_EQ(
      FirstField(directory_->UpdatePlan(bad, {"default_reminder_policy_id"}, "", Who()).status()),
      "plan.default_reminder_policy_id");
  bad.id = "nope";
  EXPECT_EQ(directory_->UpdatePlan(bad, {"title"}, "", Who()).status().code(), Code::kNotFound);
  EXPECT_EQ(Dump(), before);
}

TEST_F(PlanTaskTest, ArchivePlanNeedsClosedAssignmentsOrCancelsThem) {
  CreatePlan();
  Task t = CreateTask("t1", LocalUs(2025, 10, 31, 18), {"gd.zq.fin"});
  ArchivePlanInput in;
  in.id = "p1";
  in.actor = Who();
  const std::string before = Dump();
  auto refused = directory_->ArchivePlan(in);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("2 open assignments"), std::string::npos);
  EXPECT_EQ(Dump(), before);
  in.actor = Actor{};
  EXPECT_EQ(FirstField(directory_->ArchivePlan(in).status()), "actor.id");
  in.actor = Who();
  in.cancel_open_assignments = true;
  in.note = "方案调整";
  auto archived = directory_->ArchivePlan(in);
  ASSERT_TRUE(archived.ok()) << archived.status();
  EXPECT_TRUE(archived->plan.archived);
  EXPECT_EQ(archived->stats.assignments[AssignmentState::kCanceled], 2);
  auto task = directory_->GetTask("t1");
  EXPECT_EQ(task->state, TaskState::kCanceled);
  auto events = Audit(AssignmentOf(t, "gd.zq.edu").empty() ? task->assignments[0].assignment_id
                                                           : AssignmentOf(t, "gd.zq.edu"));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().to_state, AssignmentState::kCanceled);
  EXPECT_EQ(events.back().note, "方案调整");
  auto outbox = Outbox();
  EXPECT_EQ(outbox.back().kind, OutboxKind::kCancelAssignment);
  // Read-only from now on.
  EXPECT_EQ(
      directory_->CreateTask(MakeTask("t2", LocalUs(2025, 10, 31, 18)), "", Who()).status().code(),
      Code::kFailedPrecondition);
  Plan patch;
  patch.id = "p1";
  patch.title = "x";
  EXPECT_EQ(directory_->UpdatePlan(patch, {"title"}, "", Who()).status().code(),
            Code::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------- tasks

TEST_F(PlanTaskTest, CreateTaskMakesAssignmentsAuditAndOutbox) {
  CreatePlan();
  Task t = MakeTask("t1", LocalUs(2025, 10, 31, 18), "p1", "gd.zq.edu", {"gd.zq.fin", "gd.zq.dz"});
  t.tags = {"宣传", "学习"};
  Milestone m1;
  m1.title = "动员部署";
  m1.due = At(LocalUs(2025, 10, 10, 18));
  Milestone m2;
  m2.title = "总结";
  m2.due = At(LocalUs(2025, 10, 30, 18));
  t.milestones = {m1, m2};
  auto out = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->state, TaskState::kOpen);
  EXPECT_EQ(out->priority, Priority::kNormal);
  EXPECT_EQ(out->tags, (std::vector<std::string>{"学习", "宣传"}));
  ASSERT_EQ(out->milestones.size(), 2u);
  EXPECT_EQ(out->milestones[0].id, "m1");
  EXPECT_EQ(out->milestones[1].id, "m2");
  ASSERT_EQ(out->assignments.size(), 3u);
  EXPECT_EQ(out->assignments[0].unit_id, "gd.zq.edu");
  EXPECT_EQ(out->assignments[0].role, AssignmentRole::kLead);
  EXPECT_EQ(out->assignments[1].unit_id, "gd.zq.fin");
  EXPECT_EQ(out->assignments[2].unit_id, "gd.zq.dz");
  for (const auto& a : out->assignments) EXPECT_EQ(a.state, AssignmentState::kAssigned);
  auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), 3u);
  for (const auto& m : outbox) {
    EXPECT_EQ(m.kind, OutboxKind::kScheduleAssignment);
    EXPECT_EQ(m.snapshot.version, 1);
    EXPECT_EQ(m.snapshot.deadline_us, LocalUs(2025, 10, 31, 18));
    EXPECT_EQ(m.snapshot.milestones.size(), 2u);
    EXPECT_EQ(m.snapshot.state, AssignmentState::kAssigned);
  }
  auto events = Audit(out->assignments[1].assignment_id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, AuditEventKind::kCreated);
  EXPECT_EQ(events[0].actor.id, "user:1");
  auto view = directory_->GetAssignment(out->assignments[2].assignment_id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->assignment.unit_kind, UnitKind::kDistrict);
  EXPECT_EQ(view->assignment.unit_tags, (std::vector<std::string>{"五区"}));
  EXPECT_EQ(view->light.light, TrafficLight::kGreen);
  auto plan = directory_->GetPlan("p1");
  EXPECT_EQ(plan->stats.task_count, 1);
  EXPECT_EQ(plan->stats.assignments[AssignmentState::kAssigned], 3);
}

TEST_F(PlanTaskTest, WorkingDayDeadlinesFollowHolidaysAndMakeupDays) {
  CreatePlan();
  // From Fri 2025-09-26, 3 working days: Sun 09-28 is a make-up working day (调休), then
  // 09-29, 09-30.
  Task t = MakeTask("t1", 0);
  t.deadline = WorkingDays(3, {2025, 9, 26});
  auto a = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->deadline_us, LocalUs(2025, 9, 30, 18));
  EXPECT_FALSE(a->deadline_provisional);
  ASSERT_TRUE(a->deadline.working_days);
  EXPECT_EQ(a->deadline.working_days->timezone, "Asia/Shanghai");
  EXPECT_EQ(a->deadline.working_days->time_of_day_minutes, 18 * 60);
  // From 09-30, 1 working day skips the National Day holiday (10-01..10-08).
  t.id = "t2";
  t.deadline = WorkingDays(1, {2025, 9, 30}, 17 * 60 + 30);
  auto b = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->deadline_us, LocalUs(2025, 10, 9, 17, 30));
  // 3 working days from 09-30: 10-09, 10-10, and Sat 10-11 (make-up day).
  t.id = "t3";
  t.deadline = WorkingDays(3, {2025, 9, 30});
  EXPECT_EQ(directory_->CreateTask(t, "", Who())->deadline_us, LocalUs(2025, 10, 11, 18));
  // Without from_date: today (2025-09-26 in the lead's zone).
  t.id = "t4";
  t.deadline = WorkingDays(1, {});
  t.deadline.working_days->from_date.reset();
  auto d = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->deadline_us, LocalUs(2025, 9, 28, 18));
  EXPECT_EQ(d->deadline.working_days->from_date, (Date{2025, 9, 26}));
  // A year without published data is provisional, and says so.
  t.id = "t5";
  t.deadline = WorkingDays(2, {2027, 1, 4});
  auto e = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->deadline_provisional);
  auto view = directory_->GetAssignment(e->assignments[0].assignment_id);
  EXPECT_TRUE(view->assignment.deadline_provisional);
  auto resolved = directory_->ResolveDeadline(WorkingDays(2, {2027, 1, 4}), "gd.zq");
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->provisional);
  EXPECT_EQ(resolved->calendar_version, calendar_->version());
  EXPECT_EQ(FirstField(directory_->ResolveDeadline({}, "").status()), "deadline");
  EXPECT_EQ(
      FirstField(directory_->ResolveDeadline(WorkingDays(1, {2025, 1, 1}), "gd.none").status()),
      "unit_id");
}

TEST_F(PlanTaskTest, UnitTimeZoneAppliesToWorkingDays) {
  units_.Add("gd.zq.ny", "gd.zq", UnitKind::kOther, {}, "America/New_York");
  CreatePlan();
  Task t = MakeTask("t1", 0, "p1", "gd.zq.ny");
  t.deadline = WorkingDays(1, {2025, 9, 29});
  auto out = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(out.ok()) << out.status();
  absl::TimeZone ny;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &ny));
  // New York has no Chinese holidays' effect on the *calendar* (the calendar is national),
  // but the local time of day is New York's: 09-30 18:00 EDT.
  EXPECT_EQ(out->deadline_us,
            ToMicros(absl::FromCivil(absl::CivilSecond(2025, 9, 30, 18, 0, 0), ny)));
}

TEST_F(PlanTaskTest, CreateTaskBadInputNamesTheFieldAndWritesNothing) {
  CreatePlan();
  CreateTask("parent", LocalUs(2025, 10, 31, 18));
  const std::string before = Dump();
  struct Case {
    std::function<void(Task&)> mutate;
    Code code;
    std::string field;
  };
  Milestone late;
  late.title = "late";
  late.due = At(LocalUs(2025, 11, 30, 18));
  Milestone early;
  early.title = "early";
  early.due = At(LocalUs(2025, 10, 1, 18));
  Milestone mid;
  mid.title = "mid";
  mid.due = At(LocalUs(2025, 10, 15, 18));
  std::vector<Case> cases = {
      {[](Task& t) { t.id = "BAD"; }, Code::kInvalidArgument, "task.id"},
      {[](Task& t) { t.plan_id = ""; }, Code::kInvalidArgument, "task.plan_id"},
      {[](Task& t) { t.plan_id = "p404"; }, Code::kNotFound, "task.plan_id"},
      {[](Task& t) { t.title = ""; }, Code::kInvalidArgument, "task.title"},
      {[](Task& t) { t.description = std::string(10001, 'd'); }, Code::kInvalidArgument,
       "task.description"},
      {[](Task& t) { t.lead_unit_id = ""; }, Code::kInvalidArgument, "task.lead_unit_id"},
      {[](Task& t) { t.lead_unit_id = "gd.none"; }, Code::kInvalidArgument, "task.lead_unit_id"},
      {[](Task& t) { t.lead_unit_id = "gd.zq.old"; }, Code::kInvalidArgument, "task.lead_unit_id"},
      {[](Task& t) {
         t.cooperating_unit_ids = {"gd.zq.fin", "gd.none"};
       },
       Code::kInvalidArgument, "task.cooperating_unit_ids[1]"},
      {[](Task& t) {
         t.cooperating_unit_ids = {"gd.zq.fin", "gd.zq.fin"};
       },
       Code::kInvalidArgument, "task.cooperating_unit_ids[1]"},
      {[](Task& t) { t.cooperating_unit_ids = {"gd.zq.edu"}; }, Code::kInvalidArgument,
       "task.cooperating_unit_ids[0]"},
      {[](Task& t) { t.deadline = {}; }, Code::kInvalidArgument, "task.deadline"},
      {[](Task& t) {
         t.deadline = WorkingDays(0, {2025, 9, 26});
       },
       Code::kInvalidArgument, "task.deadline.working_days.count"},
      {[](Task& t) {
         t.deadline = WorkingDays(1, {2025, 2, 29});
       },
       Code::kInvalidArgument, "task.deadline.working_days.from_date"},
      {[](Task& t) {
         t.deadline = WorkingDays(1, {2025, 9, 26}, 24 * 60);
       },
       Code::kInvalidArgument, "task.deadline.working_days.time_of_day"},
      {[](Task& t) {
         t.deadline = WorkingDays(1, {2025, 9, 26});
         t.deadline.working_days->timezone = "Mars/Olympus";
       },
       Code::kInvalidArgument, "task.deadline.working_days.timezone"},
      {[&](Task& t) { t.milestones = {late}; }, Code::kInvalidArgument, "task.milestones[0].due"},
      {[&](Task& t) {
         t.milestones = {mid, early};
       },
       Code::kInvalidArgument, "task.milestones[1].due"},
      {[&](Task& t) {
         Milestone a = early, b = mid;
         a.planned_percent = 50;
         b.planned_percent = 40;
         t.milestones = {a, b};
       },
       Code::kInvalidArgument, "task.milestones[1].planned_percent"},
      {[&](Task& t) {
         Milestone a = early;
         a.title = "";
         t.milestones = {a};
       },
       Code::kInvalidArgument, "task.milestones[0].title"},
      {[](Task& t) { t.priority = static_cast<Priority>(9); }, Code::kInvalidArgument,
       "task.priority"},
      {[](Task& t) {
         t.tags = {"a", "a"};
       },
       Code::kInvalidArgument, "task.tags"},
      {[](Task& t) { t.reminder_policy_id = "missing"; }, Code::kInvalidArgument,
       "task.reminder_policy_id"},
      {[](Task& t) { t.parent_task_id = "nope"; }, Code::kNotFound, "task.parent_task_id"},
      {[](Task& t) {
         t.parent_task_id = "parent";
         t.deadline = At(LocalUs(2025, 11, 1, 18));
       },
       Code::kFailedPrecondition, "task.deadline"},
      {[](Task& t) {
         t.parent_task_id = "parent";
         t.deadline = At(LocalUs(2025, 10, 30, 18));  // margin 0
       },
       Code::kFailedPrecondition, "task.deadline"},
      {[](Task& t) { t.id = "parent"; }, Code::kAlreadyExists, "task.id"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Task t = MakeTask("t-new", LocalUs(2025, 10, 31, 18));
    cases[i].mutate(t);
    auto r = directory_->CreateTask(t, "", Who());
    EXPECT_EQ(r.status().code(), cases[i].code) << i << " " << r.status();
    EXPECT_EQ(FirstField(r.status()), cases[i].field) << i << " " << r.status();
  }
  EXPECT_EQ(
      FirstField(
          directory_->CreateTask(MakeTask("t-new", LocalUs(2025, 10, 31)), "", Actor{}).status()),
      "actor.id");
  units_.set_unavailable(true);
  EXPECT_EQ(
      directory_->CreateTask(MakeTask("t-new", LocalUs(2025, 10, 31)), "", Who()).status().code(),
      Code::kUnavailable);
  units_.set_unavailable(false);
  EXPECT_EQ(Dump(), before);
}

TEST_F(PlanTaskTest, ChildDeadlinesRespectThePlanMargin) {
  CreatePlan("p1", /*margin=*/2);
  // Parent due Thu 2025-10-09 18:00, the first working day after National Day.
  CreateTask("parent", LocalUs(2025, 10, 9, 18));
  // 1 working day earlier is Tue 09-30 (the holiday does not count).
  Task ok = MakeTask("c1", LocalUs(2025, 9, 30, 18));
  ok.parent_task_id = "parent";
  auto c1 = directory_->CreateTask(ok, "", Who());
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_EQ(c1->depth, 1);
  // 2 working days: Mon 09-29.
  ok.id = "c2";
  ok.deadline = At(LocalUs(2025, 9, 29, 18));
  ASSERT_TRUE(directory_->CreateTask(ok, "", Who()).ok());
  // 3 working days (Sun 09-28 is a make-up working day): refused with the numbers.
  ok.id = "c3";
  ok.deadline = At(LocalUs(2025, 9, 28, 18));
  auto refused = directory_->CreateTask(ok, "", Who());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("3 working days before"), std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("allows 2"), std::string::npos);
  EXPECT_EQ(directory_->GetTask("parent")->child_count, 2);
  // Trees are at most 8 levels deep.
  std::string parent = "parent";
  for (int d = 1; d < 8; ++d) {
    Task c = MakeTask(absl::StrCat("d", d), LocalUs(2025, 10, 9, 18));
    c.parent_task_id = parent;
    ASSERT_TRUE(directory_->CreateTask(c, "", Who()).ok()) << d;
    parent = c.id;
  }
  Task too_deep = MakeTask("d8", LocalUs(2025, 10, 9, 18));
  too_deep.parent_task_id = parent;
  auto deep = directory_->CreateTask(too_deep, "", Who());
  EXPECT_EQ(deep.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(FirstField(deep.status()), "task.parent_task_id");
}

TEST_F(PlanTaskTest, CreateTaskReplayReturnsTheFirstResult) {
  CreatePlan();
  Task t = MakeTask("", LocalUs(2025, 10, 31, 18));
  auto a = directory_->CreateTask(t, "rid-1", Who());
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = directory_->CreateTask(t, "rid-1", Who());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->id, b->id);
  EXPECT_EQ(Outbox().size(), 1u);
  t.title = "different";
  EXPECT_EQ(FirstField(directory_->CreateTask(t, "rid-1", Who()).status()), "request_id");
}

TEST_F(PlanTaskTest, UpdateTaskDeadlineMovesOpenAssignments) {
  CreatePlan();
  Task t = CreateTask("t1", LocalUs(2025, 10, 31, 18), {"gd.zq.fin"});
  const std::string lead = t.assignments[0].assignment_id;
  const std::string coop = t.assignments[1].assignment_id;
  ASSERT_TRUE(Do(AssignmentAction::kAcknowledge, coop).ok());
  ASSERT_TRUE(Do(AssignmentAction::kSubmit, coop).ok());
  ASSERT_TRUE(Do(AssignmentAction::kApprove, coop).ok());  // DONE: keeps its deadline
  const size_t outbox_before = Outbox().size();
  Task patch;
  patch.id = "t1";
  patch.deadline = At(LocalUs(2025, 11, 14, 18));
  auto up =
      directory_->UpdateTask(patch, {"deadline"}, t.revision == 0 ? "" : "1", Who(), "延后两周");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->deadline_us, LocalUs(2025, 11, 14, 18));
  auto l = directory_->GetAssignment(lead);
  EXPECT_EQ(l->assignment.deadline_us, LocalUs(2025, 11, 14, 18));
  EXPECT_EQ(l->assignment.baseline_deadline_us, LocalUs(2025, 11, 14, 18));
  EXPECT_EQ(l->assignment.version, 2);
  auto c = directory_->GetAssignment(coop);
  EXPECT_EQ(c->assignment.deadline_us, LocalUs(2025, 10, 31, 18));
  auto outbox = Outbox();
  ASSERT_EQ(outbox.size(), outbox_before + 1);
  EXPECT_EQ(outbox.back().snapshot.assignment_id, lead);
  EXPECT_EQ(outbox.back().snapshot.deadline_us, LocalUs(2025, 11, 14, 18));
  auto events = Audit(lead);
  EXPECT_EQ(events.back().kind, AuditEventKind::kDeadlineChanged);
  EXPECT_EQ(events.back().old_deadline_us, LocalUs(2025, 10, 31, 18));
  EXPECT_EQ(events.back().note, "延后两周");
  // A stale etag changes nothing.
  const std::string before = Dump();
  patch.deadline = At(LocalUs(2025, 11, 20, 18));
  EXPECT_EQ(directory_->UpdateTask(patch, {"deadline"}, "1", Who(), "").status().code(),
            Code::kAborted);
  EXPECT_EQ(Dump(), before);
}

TEST_F(PlanTaskTest, UpdateTaskCooperatingLeadMilestonesAndPolicy) {
  CreatePlan();
  Task t = CreateTask("t1", LocalUs(2025, 10, 31, 18), {"gd.zq.fin", "gd.zq.dz"});
  Task patch;
  patch.id = "t1";
  patch.cooperating_unit_ids = {"gd.zq.dz", "gd.zq.dz.b1"};
  auto up = directory_->UpdateTask(patch, {"cooperating_unit_ids"}, "", Who(), "");
  ASSERT_TRUE(up.ok()) << up.status();
  // LEAD, then dz, b1 in the new order, then the canceled fin.
  ASSERT_EQ(up->assignments.size(), 4u);
  EXPECT_EQ(up->assignments[1].unit_id, "gd.zq.dz");
  EXPECT_EQ(up->assignments[2].unit_id, "gd.zq.dz.b1");
  EXPECT_EQ(up->assignments[3].unit_id, "gd.zq.fin");
  EXPECT_EQ(up->assignments[3].state, AssignmentState::kCanceled);
  // Lead change while the lead is only ASSIGNED: replaced.
  patch.lead_unit_id = "gd.zq.fin";
  up = directory_->UpdateTask(patch, {"lead_unit_id"}, "", Who(), "换牵头");
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->lead_unit_id, "gd.zq.fin");
  EXPECT_EQ(up->assignments[0].unit_id, "gd.zq.fin");
  EXPECT_EQ(up->assignments[0].state, AssignmentState::kAssigned);
  // Not once the lead is in progress.
  const std::string new_lead = up->assignments[0].assignment_id;
  ASSERT_TRUE(Do(AssignmentAction::kAcknowledge, new_lead).ok());
  ASSERT_TRUE(Do(AssignmentAction::kStart, new_lead).ok());
  patch.lead_unit_id = "gd.zq.edu";
  auto refused = directory_->UpdateTask(patch, {"lead_unit_id"}, "", Who(), "");
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("IN_PROGRESS"), std::string::npos);
  // The lead cannot also cooperate.
  patch.cooperating_unit_ids = {"gd.zq.fin"};
  EXPECT_EQ(
      FirstField(directory_->UpdateTask(patch, {"cooperating_unit_ids"}, "", Who(), "").status()),
      "task.cooperating_unit_ids[0]");
  // Milestones: ids kept by position and title; every open assignment is told.
  Milestone m1;
  m1.title = "一";
  m1.due = At(LocalUs(2025, 10, 10, 18));
  Milestone m2;
  m2.title = "二";
  m2.due = At(LocalUs(2025, 10, 20, 18));
  patch.milestones = {m1, m2};
  auto ms = directory_->UpdateTask(patch, {"milestones"}, "", Who(), "");
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(ms->milestones[1].id, "m2");
  m2.title = "二（改）";
  Milestone m3;
  m3.title = "三";
  m3.due = At(LocalUs(2025, 10, 25, 18));
  patch.milestones = {m1, m2, m3};
  const size_t before_outbox = Outbox().size();
  ms = directory_->UpdateTask(patch, {"milestones", "title"}, "", Who(), "");
  ASSERT_FALSE(ms.ok());  // title in the mask but empty in the patch
  EXPECT_EQ(FirstField(ms.status()), "task.title");
  patch.title = "新标题";
  ms = directory_->UpdateTask(patch, {"milestones", "title"}, "", Who(), "");
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(ms->milestones[0].id, "m1");
  EXPECT_EQ(ms->milestones[1].id, "m3");
  EXPECT_EQ(ms->milestones[2].id, "m4");
  // Open assignments: new lead, dz, b1 -> 3 outbox rows.
  EXPECT_EQ(Outbox().size(), before_outbox + 3);
  EXPECT_EQ(Outbox().back().snapshot.milestones.size(), 3u);
  // Deadline before a milestone is refused naming the deadline.
  patch.deadline = At(LocalUs(2025, 10, 15, 18));
  EXPECT_EQ(FirstField(directory_->UpdateTask(patch, {"deadline"}, "", Who(), "").status()),
            "task.deadline");
  // Bad masks.
  EXPECT_EQ(FirstField(directory_->UpdateTask(patch, {"plan_id"}, "", Who(), "").status()),
            "update_mask");
  EXPECT_EQ(FirstField(directory_->UpdateTask(patch, {"state"}, "", Who(), "").status()),
            "update_mask");
  EXPECT_EQ(FirstField(directory_->UpdateTask(patch, {}, "", Who(), "").status()), "update_mask");
  patch.reminder_policy_id = "missing";
  EXPECT_EQ(
      FirstField(directory_->UpdateTask(patch, {"reminder_policy_id"}, "", Who(), "").status()),
      "task.reminder_policy_id");
  patch.reminder_policy_id = "strict";
  auto pol = directory_->UpdateTask(patch, {"reminder_policy_id"}, "", Who(), "");
  ASSERT_TRUE(pol.ok()) << pol.status();
  EXPECT_EQ(Outbox().back().snapshot.policy_id, "strict");
  EXPECT_EQ(directory_->GetAssignment(new_lead)->effective_policy_id, "strict");
  patch.id = "nope";
  EXPECT_EQ(directory_->UpdateTask(patch, {"title"}, "", Who(), "").status().code(),
            Code::kNotFound);
}

TEST_F(PlanTaskTest, ChildDeadlineBlocksMovingTheParentEarlier) {
  CreatePlan("p1", 5);
  CreateTask("parent", LocalUs(2025, 10, 31, 18));
  CreateTask("child", LocalUs(2025, 10, 31, 18), {}, "gd.zq.fin", "parent");
  Task patch;
  patch.id = "parent";
  patch.deadline = At(LocalUs(2025, 10, 30, 18));
  auto r = directory_->UpdateTask(patch, {"deadline"}, "", Who(), "");
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(FirstField(r.status()), "task.deadline");
  patch.id = "child";
  patch.deadline = At(LocalUs(2025, 11, 3, 18));
  EXPECT_EQ(directory_->UpdateTask(patch, {"deadline"}, "", Who(), "").status().code(),
            Code::kFailedPrecondition);
}

TEST_F(PlanTaskTest, CancelTaskCancelsTheSubtree) {
  CreatePlan("p1", 5);
  Task parent = CreateTask("parent", LocalUs(2025, 10, 31, 18), {"gd.zq.fin"});
  Task open_child = CreateTask("c-open", LocalUs(2025, 10, 31, 18), {}, "gd.zq.dz", "parent");
  Task done_child = CreateTask("c-done", LocalUs(2025, 10, 31, 18), {}, "gd.zq.dz", "parent");
  Task grandchild = CreateTask("g", LocalUs(2025, 10, 31, 18), {}, "gd.zq.dz.b1", "c-open");
  const std::string done_id = done_child.assignments[0].assignment_id;
  ASSERT_TRUE(Do(AssignmentAction::kAcknowledge, done_id).ok());
  ASSERT_TRUE(Do(AssignmentAction::kSubmit, done_id).ok());
  ASSERT_TRUE(Do(AssignmentAction::kApprove, done_id).ok());
  EXPECT_EQ(directory_->GetTask("c-done")->state, TaskState::kClosed);

  CancelTaskInput in;
  in.id = "parent";
  in.actor = Who();
  const std::string before = Dump();
  EXPECT_EQ(FirstField(directory_->CancelTask(in).status()), "reason");
  EXPECT_EQ(Dump(), before);
  in.reason = "任务取消";
  auto out = directory_->CancelTask(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->state, TaskState::kCanceled);
  EXPECT_EQ(directory_->GetTask("c-open")->state, TaskState::kCanceled);
  EXPECT_EQ(directory_->GetTask("g")->state, TaskState::kCanceled);
  EXPECT_EQ(directory_->GetTask("c-done")->state, TaskState::kClosed);
  auto g = directory_->GetAssignment(grandchild.assignments[0].assignment_id);
  EXPECT_EQ(g->assignment.state, AssignmentState::kCanceled);
  auto events = Audit(g->assignment.id);
  EXPECT_EQ(events.back().note, "任务取消");
  EXPECT_EQ(events.back().actor.id, "user:1");
  auto again = directory_->CancelTask(in);
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
  in.id = "nope";
  EXPECT_EQ(directory_->CancelTask(in).status().code(), Code::kNotFound);
  // Canceling a child that is already canceled needs nothing more; creating under a
  // canceled parent is refused.
  Task child = MakeTask("late", LocalUs(2025, 10, 31, 18));
  child.parent_task_id = "parent";
  EXPECT_EQ(directory_->CreateTask(child, "", Who()).status().code(), Code::kFailedPrecondition);
}

TEST_F(PlanTaskTest, ListTasksOrdersByDeadlineAndFilters) {
  CreatePlan("p1", 10);
  CreateTask("a", LocalUs(2025, 10, 20, 18), {"gd.zq.dz.b1"});
  CreateTask("b", LocalUs(2025, 10, 10, 18), {}, "gd.zq.fin");
  CreateTask("c", LocalUs(2025, 10, 30, 18), {}, "gd.zq.dz");
  CreateTask("c1", LocalUs(2025, 10, 29, 18), {}, "gd.zq.dz.b2", "c");
  Task tagged = MakeTask("d", LocalUs(2025, 10, 15, 18));
  tagged.tags = {"宣传"};
  ASSERT_TRUE(directory_->CreateTask(tagged, "", Who()).ok());
  auto ids = [&](ListTasksQuery q) {
    std::vector<std::string> out;
    for (;;) {
      auto page = directory_->ListTasks(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return out;
      for (const auto& t : page->tasks) out.push_back(t.id);
      if (page->next_page_token.empty()) return out;
      q.page_token = page->next_page_token;
    }
  };
  ListTasksQuery q;
  q.plan_id = "p1";
  q.page_size = 2;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"b", "d", "a", "c1", "c"}));
  ListTasksQuery top = q;
  top.top_level_only = true;
  EXPECT_EQ(ids(top), (std::vector<std::string>{"b", "d", "a", "c"}));
  ListTasksQuery desc = q;
  desc.descendants_of = "c";
  EXPECT_EQ(ids(desc), (std::vector<std::string>{"c1"}));
  ListTasksQuery unit;
  unit.unit_id = "gd.zq.dz.b1";
  EXPECT_EQ(ids(unit), (std::vector<std::string>{"a"}));
  unit.role = AssignmentRole::kLead;
  EXPECT_TRUE(ids(unit).empty());
  ListTasksQuery subtree;
  subtree.unit_subtree_of = "gd.zq.dz";
  EXPECT_EQ(ids(subtree), (std::vector<std::string>{"a", "c1", "c"}));
  ListTasksQuery tag = q;
  tag.tag = "宣传";
  EXPECT_EQ(ids(tag), (std::vector<std::string>{"d"}));
  ListTasksQuery window = q;
  window.due_after_us = LocalUs(2025, 10, 15, 18);
  window.due_before_us = LocalUs(2025, 10, 29, 18);
  EXPECT_EQ(ids(window), (std::vector<std::string>{"d", "a"}));
  ListTasksQuery states = q;
  states.states = {TaskState::kClosed};
  EXPECT_TRUE(ids(states).empty());
  // Bad input.
  ListTasksQuery none;
  EXPECT_EQ(FirstField(directory_->ListTasks(none).status()), "plan_id");
  ListTasksQuery conflict = q;
  conflict.parent_task_id = "c";
  conflict.top_level_only = true;
  EXPECT_EQ(FirstField(directory_->ListTasks(conflict).status()), "top_level_only");
  ListTasksQuery role_only = q;
  role_only.role = AssignmentRole::kLead;
  EXPECT_EQ(FirstField(directory_->ListTasks(role_only).status()), "role");
  ListTasksQuery missing_root = q;
  missing_root.descendants_of = "nope";
  EXPECT_EQ(directory_->ListTasks(missing_root).status().code(), Code::kNotFound);
  ListTasksQuery missing_unit;
  missing_unit.unit_subtree_of = "gd.none";
  auto mu = directory_->ListTasks(missing_unit);
  EXPECT_EQ(mu.status().code(), Code::kNotFound);
  EXPECT_EQ(FirstField(mu.status()), "unit_subtree_of");
  ListTasksQuery bad_state = q;
  bad_state.states = {static_cast<TaskState>(7)};
  EXPECT_EQ(FirstField(directory_->ListTasks(bad_state).status()), "states[0]");
  ListTasksQuery token = q;
  auto first = directory_->ListTasks(q);
  token.plan_id = "p2";
  token.page_token = first->next_page_token;
  EXPECT_EQ(FirstField(directory_->ListTasks(token).status()), "page_token");
}

TEST_F(PlanTaskTest, ProvisionalDeadlinesAreReResolvedWhenTheYearIsPublished) {
  CreatePlan();
  Task t = MakeTask("t27", 0);
  t.deadline = WorkingDays(2, {2027, 1, 4});  // Mon: weekdays only -> Wed 01-06
  auto created = directory_->CreateTask(t, "", Who());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->deadline_provisional);
  EXPECT_EQ(created->deadline_us, LocalUs(2027, 1, 6, 18));
  // The first run records the calendar version; nothing to change with the same data.
  auto first = directory_->RefreshProvisionalDeadlines();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 0);
  const size_t outbox = Outbox().size();

  // A calendar that publishes 2027 with a holiday on Tue 01-05.
  nlohmann::json data = nlohmann::json::parse(calendar::EmbeddedCalendarJson());
  data["version"] = "cn-test.2";
  for (auto& y : data["years"]) {
    if (y["year"] == 2027) {
      y["published"] = true;
      y["holidays"] = nlohmann::json::array({{{"date", "2027-01-05"}, {"name", "测试"}}});
    }
  }
  auto published = calendar::WorkingCalendar::FromJson(data.dump());
  ASSERT_TRUE(published.ok()) << published.status();
  TaskDirectory after(*store_, units_, &policies_, *published, [this] { return now_; });
  auto refreshed = after.RefreshProvisionalDeadlines();
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_EQ(*refreshed, 1);
  auto task = after.GetTask("t27");
  EXPECT_FALSE(task->deadline_provisional);
  EXPECT_EQ(task->deadline_us, LocalUs(2027, 1, 7, 18));
  auto a = after.GetAssignment(task->assignments[0].assignment_id);
  EXPECT_EQ(a->assignment.baseline_deadline_us, LocalUs(2027, 1, 7, 18));
  EXPECT_FALSE(a->assignment.deadline_provisional);
  EXPECT_EQ(Audit(a->assignment.id).back().kind, AuditEventKind::kDeadlineChanged);
  ASSERT_EQ(Outbox().size(), outbox + 1);
  EXPECT_EQ(Outbox().back().snapshot.deadline_us, LocalUs(2027, 1, 7, 18));
  EXPECT_EQ(*after.RefreshProvisionalDeadlines(), 0);
}

// Concurrent writes share transactions (group commit): each still sees the others' changes as
// if serialised, and one that fails undoes only its own changes.
TEST_F(PlanTaskTest, ConcurrentWritesAreGroupedAndAFailureUndoesOnlyItsOwn) {
  constexpr int kWriters = 16;
  std::vector<absl::Status> results(kWriters);
  auto write = [&](int i) {
    results[i] = store_->Write([&, i](TaskWriter& tx) -> absl::Status {
      if (auto s = tx.InsertPlan(MakePlan(absl::StrCat("g", i))); !s.ok()) return s;
      // The first writer holds its transaction so that the others queue up into one group.
      if (i == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (i % 3 == 1) return absl::AbortedError(absl::StrCat("writer ", i, " gives up"));
      return absl::OkStatus();
    });
  };
  std::vector<std::thread> threads;
  threads.emplace_back(write, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int i = 1; i < kWriters; ++i) threads.emplace_back(write, i);
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_EQ(results[i].ok(), i % 3 != 1) << i << ": " << results[i];
    auto p = directory_->GetPlan(absl::StrCat("g", i));
    EXPECT_EQ(p.ok(), i % 3 != 1) << i << ": " << p.status();
  }
}

}  // namespace
}  // namespace duban::tasks::testing
