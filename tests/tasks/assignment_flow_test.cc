// Assignments through TaskDirectory on a real SQLite file: the state machine end to end with
// its audit trail and outbox rows, progress reports, lights, reads and listings, extensions,
// and bad input (right code, field named, nothing written).
#include <gtest/gtest.h>

#include "task_fixture.h"

namespace duban::tasks::testing {
namespace {

using A = AssignmentAction;
using S = AssignmentState;
using Code = absl::StatusCode;

class AssignmentFlowTest : public TaskFixture {
 protected:
  void SetUp() override {
    TaskFixture::SetUp();
    CreatePlan();
    task_ = CreateTask("t1", LocalUs(2025, 10, 31, 18), {"gd.zq.fin"});
    lead_ = task_.assignments[0].assignment_id;
    coop_ = task_.assignments[1].assignment_id;
  }
  Task task_;
  std::string lead_;
  std::string coop_;
};

TEST_F(AssignmentFlowTest, FullLifecycleIsAuditedAndSentInOrder) {
  ASSERT_TRUE(Do(A::kAcknowledge, lead_, "收到").ok());
  now_ += absl::Hours(1);
  ASSERT_TRUE(Do(A::kStart, lead_).ok());
  auto r = Report(lead_, 40);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->assignment.assignment.last_percent, 40);
  ASSERT_TRUE(Do(A::kSubmit, lead_).ok());
  auto returned = Do(A::kReturn, lead_, "材料不全");
  ASSERT_TRUE(returned.ok());
  EXPECT_EQ(returned->assignment.return_count, 1);
  EXPECT_EQ(returned->assignment.return_reason, "材料不全");
  auto again = Report(lead_, 90);  // RETURNED -> IN_PROGRESS
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->assignment.assignment.state, S::kInProgress);
  ASSERT_TRUE(Do(A::kSubmit, lead_).ok());
  auto done = Do(A::kApprove, lead_, "办结");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->assignment.state, S::kDone);
  EXPECT_TRUE(done->assignment.done_on_time());
  EXPECT_EQ(done->light.light, TrafficLight::kGreen);
  ASSERT_TRUE(done->assignment.acknowledge_us);
  ASSERT_TRUE(done->assignment.done_us);

  std::vector<std::pair<S, S>> transitions;
  std::vector<AuditEventKind> kinds;
  for (const auto& e : Audit(lead_)) {
    kinds.push_back(e.kind);
    if (e.kind == AuditEventKind::kStateChanged) transitions.push_back({e.from_state, e.to_state});
  }
  EXPECT_EQ(transitions, (std::vector<std::pair<S, S>>{{S::kAssigned, S::kAcknowledged},
                                                       {S::kAcknowledged, S::kInProgress},
                                                       {S::kInProgress, S::kSubmitted},
                                                       {S::kSubmitted, S::kReturned},
                                                       {S::kReturned, S::kInProgress},
                                                       {S::kInProgress, S::kSubmitted},
                                                       {S::kSubmitted, S::kDone}}));
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), AuditEventKind::kProgressReported), 2);
  EXPECT_EQ(kinds.front(), AuditEventKind::kCreated);

  // One outbox row per change, versions increasing, the last a cancel (DONE).
  std::vector<OutboxMessage> mine;
  for (auto& m : Outbox()) {
    if (m.snapshot.assignment_id == lead_) mine.push_back(m);
  }
  ASSERT_EQ(mine.size(), 9u);  // create + ack, start, report, submit, return, report, submit,
                               // approve
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(mine[i].snapshot.version, int64_t(i + 1));
  EXPECT_EQ(mine.back().kind, OutboxKind::kCancelAssignment);
  EXPECT_EQ(mine.back().snapshot.state, S::kDone);
  EXPECT_TRUE(mine[1].snapshot.acknowledge_us.has_value());
  EXPECT_TRUE(mine[3].snapshot.last_report_us.has_value());
  // The task closes when its last open assignment closes.
  EXPECT_EQ(directory_->GetTask("t1")->state, TaskState::kOpen);
  ASSERT_TRUE(Do(A::kCancel, coop_, "不再需要").ok());
  EXPECT_EQ(directory_->GetTask("t1")->state, TaskState::kClosed);
}

TEST_F(AssignmentFlowTest, IllegalTransitionsNameTheStateAndWriteNothing) {
  const std::string before = Dump();
  auto start = Do(A::kStart, lead_);
  EXPECT_EQ(start.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(start.status().message(),
            "assignment is ASSIGNED; Start needs ACKNOWLEDGED or RETURNED");
  auto report = Report(lead_, 10);
  EXPECT_EQ(report.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Do(A::kApprove, lead_).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Do(A::kReturn, lead_, "why").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Do(A::kSubmit, lead_).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Dump(), before);
  ASSERT_TRUE(Do(A::kCancel, lead_, "撤销").ok());
  const std::string after_cancel = Dump();
  for (A a : {A::kAcknowledge, A::kStart, A::kSubmit, A::kApprove, A::kCancel}) {
    auto r = Do(a, lead_, "x");
    EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << ActionName(a);
    EXPECT_NE(r.status().message().find("CANCELED"), std::string::npos);
  }
  EXPECT_EQ(Report(lead_, 10).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Dump(), after_cancel);
}

TEST_F(AssignmentFlowTest, TransitionBadInputAndEtag) {
  const std::string before = Dump();
  TransitionInput in;
  in.assignment_id = lead_;
  in.actor = Who();
  TransitionInput bad = in;
  bad.assignment_id = "";
  EXPECT_EQ(FirstField(directory_->Transition(A::kAcknowledge, bad).status()), "assignment_id");
  bad = in;
  bad.actor = {};
  EXPECT_EQ(FirstField(directory_->Transition(A::kAcknowledge, bad).status()), "actor.id");
  bad = in;
  bad.actor.name = std::string(65, 'n');
  EXPECT_EQ(FirstField(directory_->Transition(A::kAcknowledge, bad).status()), "actor.name");
  bad = in;
  bad.actor.unit_id = "gd.none";
  EXPECT_EQ(FirstField(directory_->Transition(A::kAcknowledge, bad).status()), "actor.unit_id");
  bad = in;
  bad.note = std::string(2001, 'n');
  EXPECT_EQ(FirstField(directory_->Transition(A::kAcknowledge, bad).status()), "note");
  bad = in;
  bad.note = "";
  EXPECT_EQ(FirstField(directory_->Transition(A::kCancel, bad).status()), "reason");
  EXPECT_EQ(FirstField(directory_->Transition(A::kReturn, bad).status()), "reason");
  bad = in;
  bad.request_id = std::string(129, 'r');
  EXPECT_EQ(FirstField(directory_->Transition(A::kAcknowledge, bad).status()), "request_id");
  bad = in;
  bad.assignment_id = "a-missing";
  EXPECT_EQ(directory_->Transition(A::kAcknowledge, bad).status().code(), Code::kNotFound);
  bad = in;
  bad.etag = "99";
  EXPECT_EQ(directory_->Transition(A::kAcknowledge, bad).status().code(), Code::kAborted);
  units_.set_unavailable(true);
  bad = in;
  bad.actor.unit_id = "gd.zq";
  EXPECT_EQ(directory_->Transition(A::kAcknowledge, bad).status().code(), Code::kUnavailable);
  units_.set_unavailable(false);
  EXPECT_EQ(Dump(), before);
  in.etag = "1";
  auto ok = directory_->Transition(A::kAcknowledge, in);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->assignment.revision, 2);
}

TEST_F(AssignmentFlowTest, RetriedTransitionWithRequestIdIsApplidOnce) {
  TransitionInput in;
  in.assignment_id = lead_;
  in.actor = Who();
  in.request_id = "ack-1";
  ASSERT_TRUE(directory_->Transition(A::kAcknowledge, in).ok());
  const size_t outbox = Outbox().size();
  auto retry = directory_->Transition(A::kAcknowledge, in);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->assignment.state, S::kAcknowledged);
  EXPECT_EQ(Outbox().size(), outbox);
  // Even after the assignment moved on, the retry is answered, not refused.
  ASSERT_TRUE(Do(A::kStart, lead_).ok());
  auto late = directory_->Transition(A::kAcknowledge, in);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->assignment.state, S::kInProgress);
  // The same request_id for another method is refused.
  EXPECT_EQ(FirstField(directory_->Transition(A::kSubmit, in).status()), "request_id");
  // ReportProgress replays the first report.
  ReportInput r;
  r.assignment_id = lead_;
  r.percent = 30;
  r.actor = Who();
  r.request_id = "rep-1";
  auto first = directory_->ReportProgress(r);
  ASSERT_TRUE(first.ok());
  auto second = directory_->ReportProgress(r);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->report.id, second->report.id);
  auto reports = directory_->ListProgressReports(lead_, 0, "");
  EXPECT_EQ(reports->reports.size(), 1u);
}

TEST_F(AssignmentFlowTest, ProgressReportsAndTheirListing) {
  ASSERT_TRUE(Do(A::kAcknowledge, lead_).ok());
  for (int i = 1; i <= 5; ++i) {
    now_ += absl::Minutes(1);
    ASSERT_TRUE(Report(lead_, i * 10).ok());
  }
  std::vector<int> percents;
  std::string token;
  do {
    auto page = directory_->ListProgressReports(lead_, 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& r : page->reports) percents.push_back(r.percent);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(percents, (std::vector<int>{50, 40, 30, 20, 10}));
  auto view = directory_->GetAssignment(lead_);
  ASSERT_TRUE(view->last_report);
  EXPECT_EQ(view->last_report->percent, 50);
  EXPECT_EQ(view->last_report->text, "进展");
  const std::string before = Dump();
  ReportInput bad;
  bad.assignment_id = lead_;
  bad.actor = Who();
  bad.percent = 101;
  EXPECT_EQ(FirstField(directory_->ReportProgress(bad).status()), "percent");
  bad.percent = -1;
  EXPECT_EQ(FirstField(directory_->ReportProgress(bad).status()), "percent");
  bad.percent = 10;
  bad.text = std::string(4001, 't');
  EXPECT_EQ(FirstField(directory_->ReportProgress(bad).status()), "text");
  EXPECT_EQ(FirstField(directory_->ListProgressReports(lead_, -1, "").status()), "page_size");
  EXPECT_EQ(FirstField(directory_->ListProgressReports("", 0, "").status()), "assignment_id");
  EXPECT_EQ(directory_->ListProgressReports("a-missing", 0, "").status().code(), Code::kNotFound);
  EXPECT_EQ(FirstField(directory_->ListProgressReports(lead_, 0, "garbage").status()),
            "page_token");
  EXPECT_EQ(Dump(), before);
}

TEST_F(AssignmentFlowTest, LightsFollowTimeAndProgress) {
  // Created 2025-09-26 10:00, due 2025-10-31 18:00 (about 35.3 days).
  ASSERT_TRUE(Do(A::kAcknowledge, lead_).ok());
  ASSERT_TRUE(Report(lead_, 10).ok());
  auto green = directory_->GetAssignment(lead_);
  EXPECT_EQ(green->light.light, TrafficLight::kGreen) << green->light.reason;
  now_ = absl::FromUnixMicros(LocalUs(2025, 10, 16, 10));  // ~57% elapsed
  auto red = directory_->GetAssignment(lead_);
  EXPECT_EQ(red->light.light, TrafficLight::kRed) << red->light.reason;
  EXPECT_NE(red->light.reason.find("points behind"), std::string::npos);
  ASSERT_TRUE(Report(lead_, 40).ok());
  auto yellow = directory_->GetAssignment(lead_);
  EXPECT_EQ(yellow->light.light, TrafficLight::kYellow) << yellow->light.reason;
  // Overdue: counted in working days in the unit's zone.
  now_ = absl::FromUnixMicros(LocalUs(2025, 11, 4, 10));  // Mon 11-03, Tue 11-04 after Fri
  auto late = directory_->GetAssignment(lead_);
  EXPECT_TRUE(late->overdue);
  EXPECT_EQ(late->light.light, TrafficLight::kRed);
  EXPECT_EQ(late->light.reason, "overdue by 2 working days");
  ASSERT_TRUE(Do(A::kSubmit, lead_).ok());
  auto submitted = directory_->GetAssignment(lead_);
  EXPECT_FALSE(submitted->overdue);
  EXPECT_EQ(submitted->light.light, TrafficLight::kGreen);
  ASSERT_TRUE(Do(A::kApprove, lead_).ok());
  EXPECT_FALSE(directory_->GetAssignment(lead_)->assignment.done_on_time());
}

TEST_F(AssignmentFlowTest, BatchGetKeepsOrderAndReportsMissing) {
  auto r = directory_->BatchGetAssignments({coop_, "a-missing", lead_, coop_}, true, true);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->assignments.size(), 2u);
  EXPECT_EQ(r->assignments[0].assignment.id, coop_);
  EXPECT_EQ(r->assignments[1].assignment.id, lead_);
  EXPECT_EQ(r->missing_ids, (std::vector<std::string>{"a-missing"}));
  ASSERT_EQ(r->tasks.size(), 1u);
  EXPECT_EQ(r->tasks[0].assignments.size(), 2u);
  ASSERT_EQ(r->plans.size(), 1u);
  EXPECT_EQ(FirstField(directory_->BatchGetAssignments({}, false, false).status()), "ids");
  std::vector<std::string> many(1001, lead_);
  EXPECT_EQ(FirstField(directory_->BatchGetAssignments(many, false, false).status()), "ids");
  EXPECT_EQ(FirstField(directory_->BatchGetAssignments({lead_, "BAD ID"}, false, false).status()),
            "ids[1]");
  EXPECT_EQ(directory_->GetAssignment("a-missing").status().code(), Code::kNotFound);
  EXPECT_EQ(FirstField(directory_->GetAssignment("").status()), "id");
}

TEST_F(AssignmentFlowTest, ListAssignmentsOrdersFiltersAndPages) {
  CreateTask("t2", LocalUs(2025, 10, 10, 18), {"gd.zq.dz.b1", "gd.zq.dz.b2"}, "gd.zq.dz");
  CreateTask("t3", LocalUs(2025, 11, 10, 18), {}, "gd.zq.dz.b1");
  auto list = [&](ListAssignmentsQuery q) {
    std::vector<std::string> units;
    for (;;) {
      auto page = directory_->ListAssignments(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return units;
      for (const auto& a : page->assignments) {
        units.push_back(a.assignment.unit_id);
        EXPECT_EQ(a.light.evaluate_us, page->evaluate_us);
      }
      if (page->next_page_token.empty()) return units;
      q.page_token = page->next_page_token;
    }
  };
  ListAssignmentsQuery q;
  q.plan_id = "p1";
  q.page_size = 2;
  auto all = list(q);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back(), "gd.zq.dz.b1");  // t3, the latest deadline
  ListAssignmentsQuery unit;
  unit.unit_id = "gd.zq.dz.b1";
  EXPECT_EQ(list(unit), (std::vector<std::string>{"gd.zq.dz.b1", "gd.zq.dz.b1"}));
  unit.role = AssignmentRole::kLead;
  EXPECT_EQ(list(unit).size(), 1u);
  ListAssignmentsQuery subtree;
  subtree.unit_subtree_of = "gd.zq.dz";
  EXPECT_EQ(list(subtree).size(), 4u);
  ListAssignmentsQuery task;
  task.task_id = "t2";
  EXPECT_EQ(list(task).size(), 3u);
  ListAssignmentsQuery window = q;
  window.due_before_us = LocalUs(2025, 10, 31, 0);
  EXPECT_EQ(list(window).size(), 3u);
  // States and open_only.
  ASSERT_TRUE(Do(A::kCancel, coop_, "x").ok());
  ListAssignmentsQuery open = q;
  open.open_only = true;
  EXPECT_EQ(list(open).size(), 5u);
  ListAssignmentsQuery canceled = q;
  canceled.states = {S::kCanceled};
  EXPECT_EQ(list(canceled), (std::vector<std::string>{"gd.zq.fin"}));
  // Overdue and lights at a later instant.
  now_ = absl::FromUnixMicros(LocalUs(2025, 10, 20, 10));
  ListAssignmentsQuery overdue = q;
  overdue.overdue_only = true;
  EXPECT_EQ(list(overdue).size(), 3u);  // t2's three
  ListAssignmentsQuery red = q;
  red.lights = {TrafficLight::kRed};
  red.page_size = 1;
  auto reds = list(red);
  EXPECT_GE(reds.size(), 3u);
  ListAssignmentsQuery green = q;
  green.lights = {TrafficLight::kGreen};
  for (const auto& u : list(green)) EXPECT_NE(u, "gd.zq.dz.b2");
  // Bad input.
  ListAssignmentsQuery none;
  EXPECT_EQ(FirstField(directory_->ListAssignments(none).status()), "plan_id");
  ListAssignmentsQuery bad = q;
  bad.states = {static_cast<S>(9)};
  EXPECT_EQ(FirstField(directory_->ListAssignments(bad).status()), "states[0]");
  bad = q;
  bad.lights = {TrafficLight::kUnspecified};
  EXPECT_EQ(FirstField(directory_->ListAssignments(bad).status()), "lights[0]");
  bad = q;
  bad.page_size = -5;
  EXPECT_EQ(FirstField(directory_->ListAssignments(bad).status()), "page_size");
  bad = q;
  bad.due_after_us = 10;
  bad.due_before_us = 5;
  EXPECT_EQ(FirstField(directory_->ListAssignments(bad).status()), "due_before");
  bad = q;
  bad.tasks_under = "nope";
  EXPECT_EQ(directory_->ListAssignments(bad).status().code(), Code::kNotFound);
  auto first = directory_->ListAssignments(q);
  bad = q;
  bad.open_only = true;
  bad.page_token = first->next_page_token;
  EXPECT_EQ(FirstField(directory_->ListAssignments(bad).status()), "page_token");
}

TEST_F(AssignmentFlowTest, EvaluateTimeIsFixedAcrossPages) {
  ListAssignmentsQuery q;
  q.plan_id = "p1";
  q.page_size = 1;
  auto first = directory_->ListAssignments(q);
  ASSERT_TRUE(first.ok());
  now_ += absl::Hours(24 * 60);
  q.page_token = first->next_page_token;
  auto second = directory_->ListAssignments(q);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->evaluate_us, first->evaluate_us);
  EXPECT_FALSE(second->assignments[0].overdue);
}

TEST_F(AssignmentFlowTest, AuditTrailQueries) {
  ASSERT_TRUE(Do(A::kAcknowledge, lead_).ok());
  now_ += absl::Hours(2);
  ASSERT_TRUE(Do(A::kAcknowledge, coop_).ok());
  ListAuditQuery q;
  q.filter.task_id = "t1";
  auto task_events = directory_->ListAuditEvents(q);
  ASSERT_TRUE(task_events.ok());
  EXPECT_EQ(task_events->events.size(), 4u);  // 2 created + 2 acknowledged
  for (size_t i = 1; i < task_events->events.size(); ++i) {
    EXPECT_LT(task_events->events[i - 1].sequence, task_events->events[i].sequence);
  }
  q.filter.kinds = {AuditEventKind::kStateChanged};
  q.page_size = 1;
  auto page1 = directory_->ListAuditEvents(q);
  ASSERT_EQ(page1->events.size(), 1u);
  q.page_token = page1->next_page_token;
  auto page2 = directory_->ListAuditEvents(q);
  ASSERT_EQ(page2->events.size(), 1u);
  EXPECT_EQ(page2->events[0].assignment_id, coop_);
  EXPECT_TRUE(page2->next_page_token.empty());
  ListAuditQuery since;
  since.filter.plan_id = "p1";
  since.filter.since_us = ToMicros(now_);
  EXPECT_EQ(directory_->ListAuditEvents(since)->events.size(), 1u);
  ListAuditQuery none;
  EXPECT_EQ(directory_->ListAuditEvents(none).status().code(), Code::kInvalidArgument);
  ListAuditQuery two;
  two.filter.task_id = "t1";
  two.filter.plan_id = "p1";
  EXPECT_EQ(FirstField(directory_->ListAuditEvents(two).status()), "plan_id");
  ListAuditQuery kinds;
  kinds.filter.plan_id = "p1";
  kinds.filter.kinds = {static_cast<AuditEventKind>(99)};
  EXPECT_EQ(FirstField(directory_->ListAuditEvents(kinds).status()), "kinds[0]");
  ListAuditQuery missing;
  missing.filter.assignment_id = "a-missing";
  EXPECT_EQ(directory_->ListAuditEvents(missing).status().code(), Code::kNotFound);
}

// ------------------------------------------------------------------------------ extensions

TEST_F(AssignmentFlowTest, ApprovedExtensionMovesTheWorkingDeadlineOnly) {
  ASSERT_TRUE(Do(A::kAcknowledge, lead_).ok());
  ExtensionInput in;
  in.assignment_id = lead_;
  in.requested_deadline = At(LocalUs(2025, 11, 14, 18));
  in.reason = "需要补充调研";
  in.actor = Who();
  auto req = directory_->RequestExtension(in);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->state, ExtensionState::kPending);
  EXPECT_EQ(req->previous_deadline_us, LocalUs(2025, 10, 31, 18));
  EXPECT_EQ(directory_->GetAssignment(lead_)->assignment.pending_extension_id, req->id);
  auto second = directory_->RequestExtension(in);
  EXPECT_EQ(second.status().code(), Code::kFailedPrecondition);
  const size_t outbox = Outbox().size();

  DecideExtensionInput d;
  d.id = req->id;
  d.actor = Actor{"user:2", "王主任", "gd.zq"};
  d.granted_deadline = At(LocalUs(2025, 11, 20, 18));  // later than requested
  EXPECT_EQ(FirstField(directory_->ApproveExtension(d).status()), "granted_deadline");
  d.granted_deadline = At(LocalUs(2025, 11, 7, 18));
  auto approved = directory_->ApproveExtension(d);
  ASSERT_TRUE(approved.ok()) << approved.status();
  EXPECT_EQ(approved->state, ExtensionState::kApproved);
  EXPECT_EQ(approved->granted_deadline_us, LocalUs(2025, 11, 7, 18));
  auto a = directory_->GetAssignment(lead_);
  EXPECT_EQ(a->assignment.deadline_us, LocalUs(2025, 11, 7, 18));
  EXPECT_EQ(a->assignment.baseline_deadline_us, LocalUs(2025, 10, 31, 18));
  EXPECT_TRUE(a->assignment.pending_extension_id.empty());
  ASSERT_EQ(Outbox().size(), outbox + 1);
  EXPECT_EQ(Outbox().back().snapshot.deadline_us, LocalUs(2025, 11, 7, 18));
  auto events = Audit(lead_);
  EXPECT_EQ(events.back().kind, AuditEventKind::kExtensionApproved);
  EXPECT_EQ(events.back().new_deadline_us, LocalUs(2025, 11, 7, 18));
  // Deciding twice names the state.
  auto twice = directory_->RejectExtension(DecideExtensionInput{req->id, Who(), "no", {}, "", ""});
  EXPECT_EQ(twice.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(twice.status().message().find("APPROVED"), std::string::npos);
  // A task deadline change keeps the later of the new baseline and the extension.
  Task patch;
  patch.id = "t1";
  patch.deadline = At(LocalUs(2025, 11, 3, 18));
  ASSERT_TRUE(directory_->UpdateTask(patch, {"deadline"}, "", Who(), "").ok());
  a = directory_->GetAssignment(lead_);
  EXPECT_EQ(a->assignment.baseline_deadline_us, LocalUs(2025, 11, 3, 18));
  EXPECT_EQ(a->assignment.deadline_us, LocalUs(2025, 11, 7, 18));
  // Submitted after the baseline but before the working deadline: done, not on time.
  now_ = absl::FromUnixMicros(LocalUs(2025, 11, 5, 10));
  EXPECT_FALSE(directory_->GetAssignment(lead_)->overdue);
  ASSERT_TRUE(Do(A::kSubmit, lead_).ok());
  ASSERT_TRUE(Do(A::kApprove, lead_).ok());
  EXPECT_FALSE(directory_->GetAssignment(lead_)->assignment.done_on_time());
}

TEST_F(AssignmentFlowTest, RejectWithdrawAndBadExtensionInput) {
  ExtensionInput in;
  in.assignment_id = lead_;
  in.requested_deadline = At(LocalUs(2025, 11, 14, 18));
  in.reason = "理由";
  in.actor = Who();
  const std::string before = Dump();
  ExtensionInput bad = in;
  bad.requested_deadline = {};
  EXPECT_EQ(FirstField(directory_->RequestExtension(bad).status()), "requested_deadline");
  bad = in;
  bad.requested_deadline = At(LocalUs(2025, 10, 30, 18));
  EXPECT_EQ(FirstField(directory_->RequestExtension(bad).status()), "requested_deadline");
  bad = in;
  bad.reason = "";
  EXPECT_EQ(FirstField(directory_->RequestExtension(bad).status()), "reason");
  bad = in;
  bad.actor = {};
  EXPECT_EQ(FirstField(directory_->RequestExtension(bad).status()), "actor.id");
  bad = in;
  bad.assignment_id = "a-missing";
  EXPECT_EQ(directory_->RequestExtension(bad).status().code(), Code::kNotFound);
  EXPECT_EQ(Dump(), before);

  auto req = directory_->RequestExtension(in);
  ASSERT_TRUE(req.ok()) << req.status();
  DecideExtensionInput d;
  d.id = req->id;
  d.actor = Who();
  EXPECT_EQ(FirstField(directory_->RejectExtension(d).status()), "note");
  d.note = "不同意";
  d.granted_deadline = At(LocalUs(2025, 11, 14, 18));
  EXPECT_EQ(FirstField(directory_->RejectExtension(d).status()), "granted_deadline");
  d.granted_deadline = {};
  d.etag = "7";
  EXPECT_EQ(directory_->RejectExtension(d).status().code(), Code::kAborted);
  d.etag = "";
  auto rejected = directory_->RejectExtension(d);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->state, ExtensionState::kRejected);
  EXPECT_EQ(directory_->GetAssignment(lead_)->assignment.deadline_us, LocalUs(2025, 10, 31, 18));
  EXPECT_EQ(Audit(lead_).back().kind, AuditEventKind::kExtensionRejected);

  // A pending request is withdrawn when the assignment is submitted.
  ASSERT_TRUE(Do(A::kAcknowledge, lead_).ok());
  now_ += absl::Minutes(5);
  auto again = directory_->RequestExtension(in);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(Do(A::kSubmit, lead_).ok());
  auto withdrawn = directory_->GetExtensionRequest(again->id);
  EXPECT_EQ(withdrawn->state, ExtensionState::kWithdrawn);
  EXPECT_EQ(directory_->RequestExtension(in).status().code(), Code::kFailedPrecondition);
  d.id = again->id;
  EXPECT_EQ(directory_->ApproveExtension(d).status().code(), Code::kFailedPrecondition);

  ListExtensionsQuery lq;
  lq.filter.assignment_id = lead_;
  auto list = directory_->ListExtensionRequests(lq);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->requests.size(), 2u);
  EXPECT_EQ(list->requests[0].id, again->id);  // newest first
  lq.filter.states = {ExtensionState::kRejected};
  EXPECT_EQ(directory_->ListExtensionRequests(lq)->requests.size(), 1u);
  ListExtensionsQuery none;
  EXPECT_EQ(FirstField(directory_->ListExtensionRequests(none).status()), "plan_id");
  EXPECT_EQ(directory_->GetExtensionRequest("x-missing").status().code(), Code::kNotFound);
  EXPECT_EQ(FirstField(directory_->GetExtensionRequest("").status()), "id");
}

TEST_F(AssignmentFlowTest, ExtensionRequestIdIsIdempotent) {
  ExtensionInput in;
  in.assignment_id = lead_;
  in.requested_deadline = WorkingDays(5, {2025, 10, 31});
  in.reason = "理由";
  in.actor = Who();
  in.request_id = "ext-1";
  auto a = directory_->RequestExtension(in);
  ASSERT_TRUE(a.ok()) << a.status();
  // 5 working days after Fri 10-31: 11-03..11-07.
  EXPECT_EQ(a->requested_deadline_us, LocalUs(2025, 11, 7, 18));
  auto b = directory_->RequestExtension(in);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->id, b->id);
}

}  // namespace
}  // namespace duban::tasks::testing
