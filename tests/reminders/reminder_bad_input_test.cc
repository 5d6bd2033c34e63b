// Bad input on every implemented method: the right code, the bad field named in the
// google.rpc.BadRequest, and nothing changed in the ledger or in Redis.
#include <functional>

#include "reminders_fixture.h"

namespace duban::reminders {
namespace {

using ::testing::Contains;

struct Case {
  std::string name;
  std::function<grpc::Status(pb::ReminderService::Stub&)> call;
  grpc::StatusCode code;
  std::string field;
};

class BadInputTest : public RemindersTest {
 protected:
  // Everything a bad call could have touched.
  std::string Fingerprint() {
    std::string out;
    for (const auto& r : List("a1")) {
      absl::StrAppend(&out, r.id(), ":", r.version(), ":", r.state(), ":", r.attempts(), ";");
    }
    out += "|" + std::to_string(List("b1").size()) + "|";
    grpc::ClientContext ctx;
    pb::ListPoliciesRequest req;
    req.set_page_size(1000);
    pb::ListPoliciesResponse resp;
    EXPECT_TRUE(stub_->ListPolicies(&ctx, req, &resp).ok());
    for (const auto& p : resp.policies()) absl::StrAppend(&out, p.id(), "@", p.etag(), ";");
    auto s = StatsOk();
    absl::StrAppend(&out, "|", s.scheduled(), ",", s.ledger_scheduled(), ",", s.ledger_sent(), ",",
                    s.ledger_failed(), ",", s.ledger_dead(), ",", s.ledger_canceled(), ",",
                    s.ledger_suppressed());
    return out;
  }
};

template <typename Req, typename Resp>
std::function<grpc::Status(pb::ReminderService::Stub&)> Call(
    grpc::Status (pb::ReminderService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
    Req req) {
  return [method, req](pb::ReminderService::Stub& stub) {
    grpc::ClientContext ctx;
    Resp resp;
    return (stub.*method)(&ctx, req, &resp);
  };
}

using Stub = pb::ReminderService::Stub;
constexpr auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;

TEST_F(BadInputTest, EveryMethodNamesTheBadFieldAndChangesNothing) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, Sh(2025, 5, 30, 18), Now()));
  const std::string rid = v1.pending(0).id();
  const pb::AssignmentSnapshot good = Snapshot("b1", 1, Sh(2025, 5, 30, 18), Now());
  std::vector<Case> cases;

  auto schedule = [&](std::string name, std::function<void(pb::AssignmentSnapshot&)> edit,
                      std::string field) {
    pb::ScheduleAssignmentRequest req;
    *req.mutable_assignment() = good;
    edit(*req.mutable_assignment());
    cases.push_back(
        {"ScheduleAssignment " + name, Call(&Stub::ScheduleAssignment, req), kInvalid, field});
  };
  schedule(
      "no id", [](auto& s) { s.clear_assignment_id(); }, "assignment.assignment_id");
  schedule(
      "bad id", [](auto& s) { s.set_assignment_id("Bad Id"); }, "assignment.assignment_id");
  schedule(
      "version 0", [](auto& s) { s.set_version(0); }, "assignment.version");
  schedule(
      "no plan", [](auto& s) { s.clear_plan_id(); }, "assignment.plan_id");
  schedule(
      "no task", [](auto& s) { s.clear_task_id(); }, "assignment.task_id");
  schedule(
      "bad unit", [](auto& s) { s.set_unit_id("端州"); }, "assignment.unit_id");
  schedule(
      "no state", [](auto& s) { s.set_state(pb::ASSIGNMENT_STATE_UNSPECIFIED); },
      "assignment.state");
  schedule(
      "bad policy id", [](auto& s) { s.set_policy_id("-x-"); }, "assignment.policy_id");
  schedule(
      "no deadline", [](auto& s) { s.clear_deadline_time(); }, "assignment.deadline_time");
  schedule(
      "deadline out of range",
      [](auto& s) { s.mutable_deadline_time()->set_seconds(int64_t{1} << 40); },
      "assignment.deadline_time");
  schedule(
      "no change time", [](auto& s) { s.clear_change_time(); }, "assignment.change_time");
  schedule(
      "bad nanos", [](auto& s) { s.mutable_create_time()->set_nanos(-1); },
      "assignment.create_time");
  schedule(
      "duplicate milestone",
      [](auto& s) {
        for (int i = 0; i < 2; ++i) {
          auto* m = s.add_milestones();
          m->set_id("m1");
          *m->mutable_due_time() = s.deadline_time();
        }
      },
      "assignment.milestones[1].id");
  schedule(
      "milestone without due", [](auto& s) { s.add_milestones()->set_id("m1"); },
      "assignment.milestones[0].due_time");

  auto cancel = [&](std::string name, std::function<void(pb::CancelAssignmentRequest&)> edit,
                    std::string field) {
    pb::CancelAssignmentRequest req;
    req.set_assignment_id("a1");
    req.set_version(5);
    req.set_final_state(pb::ASSIGNMENT_STATE_DONE);
    *req.mutable_change_time() = ToProtoTimestamp(Now());
    edit(req);
    cases.push_back(
        {"CancelAssignment " + name, Call(&Stub::CancelAssignment, req), kInvalid, field});
  };
  cancel(
      "bad id", [](auto& r) { r.set_assignment_id(""); }, "assignment_id");
  cancel(
      "version 0", [](auto& r) { r.set_version(-1); }, "version");
  cancel(
      "open state", [](auto& r) { r.set_final_state(pb::ASSIGNMENT_STATE_IN_PROGRESS); },
      "final_state");
  cancel(
      "no change time", [](auto& r) { r.clear_change_time(); }, "change_time");

  {
    pb::BatchScheduleAssignmentsRequest req;
    cases.push_back(
        {"Batch empty", Call(&Stub::BatchScheduleAssignments, req), kInvalid, "changes"});
    *req.add_changes()->mutable_schedule()->mutable_assignment() = good;
    req.add_changes();  // neither schedule nor cancel
    cases.push_back(
        {"Batch unset change", Call(&Stub::BatchScheduleAssignments, req), kInvalid, "changes[1]"});
    pb::BatchScheduleAssignmentsRequest req2;
    *req2.add_changes()->mutable_schedule()->mutable_assignment() = good;
    auto* bad = req2.add_changes()->mutable_schedule()->mutable_assignment();
    *bad = good;
    bad->set_version(0);
    cases.push_back({"Batch bad second", Call(&Stub::BatchScheduleAssignments, req2), kInvalid,
                     "changes[1].schedule.assignment.version"});
    pb::BatchScheduleAssignmentsRequest req3;
    *req3.add_changes()->mutable_schedule()->mutable_assignment() = good;
    auto* c = req3.add_changes()->mutable_cancel();
    c->set_assignment_id("a1");
    c->set_version(9);
    c->set_final_state(pb::ASSIGNMENT_STATE_SUBMITTED);
    *c->mutable_change_time() = ToProtoTimestamp(Now());
    cases.push_back({"Batch bad cancel", Call(&Stub::BatchScheduleAssignments, req3), kInvalid,
                     "changes[1].cancel.final_state"});
  }

  {
    pb::GetReminderRequest req;
    cases.push_back({"GetReminder empty", Call(&Stub::GetReminder, req), kInvalid, "id"});
    req.set_id("r-unknown");
    cases.push_back(
        {"GetReminder unknown", Call(&Stub::GetReminder, req), grpc::StatusCode::NOT_FOUND, "id"});
  }
  {
    pb::BatchGetRemindersRequest req;
    cases.push_back(
        {"BatchGetReminders empty", Call(&Stub::BatchGetReminders, req), kInvalid, "refs"});
    req.add_refs()->set_id(rid);
    cases.push_back({"BatchGetReminders version 0", Call(&Stub::BatchGetReminders, req), kInvalid,
                     "refs[0].version"});
  }
  {
    pb::ListRemindersRequest req;
    cases.push_back(
        {"ListReminders no filter", Call(&Stub::ListReminders, req), kInvalid, "assignment_id"});
    req.set_assignment_id("a1");
    req.set_page_size(-1);
    cases.push_back(
        {"ListReminders page_size", Call(&Stub::ListReminders, req), kInvalid, "page_size"});
    req.set_page_size(1);
    req.set_page_token("forged");
    cases.push_back(
        {"ListReminders forged token", Call(&Stub::ListReminders, req), kInvalid, "page_token"});
    // A token of another filter.
    grpc::ClientContext ctx;
    pb::ListRemindersRequest first;
    first.set_assignment_id("a1");
    first.set_page_size(1);
    pb::ListRemindersResponse page;
    ASSERT_TRUE(stub_->ListReminders(&ctx, first, &page).ok());
    ASSERT_FALSE(page.next_page_token().empty());
    pb::ListRemindersRequest other;
    other.set_unit_id("gd.zq.duanzhou");
    other.set_page_token(page.next_page_token());
    cases.push_back({"ListReminders token of other filter", Call(&Stub::ListReminders, other),
                     kInvalid, "page_token"});
    pb::ListRemindersRequest st;
    st.set_assignment_id("a1");
    st.add_states(pb::REMINDER_STATE_SENT);
    st.add_states(static_cast<pb::ReminderState>(99));
    cases.push_back(
        {"ListReminders bad state", Call(&Stub::ListReminders, st), kInvalid, "states[1]"});
    pb::ListRemindersRequest ts;
    ts.set_assignment_id("a1");
    ts.mutable_planned_after()->set_nanos(2000000000);
    cases.push_back(
        {"ListReminders bad time", Call(&Stub::ListReminders, ts), kInvalid, "planned_after"});
  }
  {
    pb::ListDeadLettersRequest req;
    req.set_page_size(-5);
    cases.push_back(
        {"ListDeadLetters page_size", Call(&Stub::ListDeadLetters, req), kInvalid, "page_size"});
    pb::ListDeadLettersRequest k;
    k.add_kinds(static_cast<pb::ReminderKind>(42));
    cases.push_back(
        {"ListDeadLetters kind", Call(&Stub::ListDeadLetters, k), kInvalid, "kinds[0]"});
  }
  {
    pb::RetryDeadLettersRequest req;
    req.add_reminder_ids(rid);
    cases.push_back(
        {"RetryDeadLetters no actor", Call(&Stub::RetryDeadLetters, req), kInvalid, "actor"});
    req.set_actor("ops");
    req.mutable_filter()->set_unit_id("gd.zq.duanzhou");
    cases.push_back({"RetryDeadLetters ids and filter", Call(&Stub::RetryDeadLetters, req),
                     kInvalid, "reminder_ids"});
    pb::RetryDeadLettersRequest bad;
    bad.set_actor("ops");
    bad.add_reminder_ids("NOT VALID");
    cases.push_back({"RetryDeadLetters bad id", Call(&Stub::RetryDeadLetters, bad), kInvalid,
                     "reminder_ids[0]"});
  }
  {
    auto outcome = [&](std::function<void(pb::DeliveryOutcome&)> edit) {
      pb::RecordDeliveriesRequest req;
      auto* ok = req.add_outcomes();  // a valid one first: it must not be recorded either
      ok->set_reminder_id(rid);
      ok->set_version(1);
      ok->set_outcome(pb::DELIVERY_OUTCOME_KIND_SENT);
      ok->set_attempt(1);
      auto* o = req.add_outcomes();
      *o = *ok;
      edit(*o);
      return req;
    };
    cases.push_back({"RecordDeliveries empty",
                     Call(&Stub::RecordDeliveries, pb::RecordDeliveriesRequest()), kInvalid,
                     "outcomes"});
    cases.push_back({"RecordDeliveries no outcome",
                     Call(&Stub::RecordDeliveries, outcome([](auto& o) {
                       o.set_outcome(pb::DELIVERY_OUTCOME_KIND_UNSPECIFIED);
                     })),
                     kInvalid, "outcomes[1].outcome"});
    cases.push_back({"RecordDeliveries attempt 0",
                     Call(&Stub::RecordDeliveries, outcome([](auto& o) { o.set_attempt(0); })),
                     kInvalid, "outcomes[1].attempt"});
    cases.push_back({"RecordDeliveries version 0",
                     Call(&Stub::RecordDeliveries, outcome([](auto& o) { o.set_version(0); })),
                     kInvalid, "outcomes[1].version"});
    cases.push_back({"RecordDeliveries suppressed without reason",
                     Call(&Stub::RecordDeliveries, outcome([](auto& o) {
                       o.set_outcome(pb::DELIVERY_OUTCOME_KIND_SUPPRESSED);
                     })),
                     kInvalid, "outcomes[1].suppression_reason"});
    cases.push_back({"RecordDeliveries long error",
                     Call(&Stub::RecordDeliveries,
                          outcome([](auto& o) { o.set_error(std::string(1001, 'x')); })),
                     kInvalid, "outcomes[1].error"});
    cases.push_back({"RecordDeliveries bad sent_time",
                     Call(&Stub::RecordDeliveries,
                          outcome([](auto& o) { o.mutable_sent_time()->set_seconds(-1LL << 42); })),
                     kInvalid, "outcomes[1].sent_time"});
  }
  {
    pb::GetQueueStatsRequest req;
    req.mutable_window()->set_seconds(10);
    cases.push_back(
        {"GetQueueStats short window", Call(&Stub::GetQueueStats, req), kInvalid, "window"});
    req.mutable_window()->set_seconds(48 * 3600);
    cases.push_back(
        {"GetQueueStats long window", Call(&Stub::GetQueueStats, req), kInvalid, "window"});
  }
  {
    pb::IsWorkingDayRequest req;
    cases.push_back({"IsWorkingDay no date", Call(&Stub::IsWorkingDay, req), kInvalid, "date"});
    req.mutable_date()->set_year(2025);
    req.mutable_date()->set_month(2);
    req.mutable_date()->set_day(30);
    cases.push_back({"IsWorkingDay Feb 30", Call(&Stub::IsWorkingDay, req), kInvalid, "date"});
    req.mutable_date()->set_day(3);
    req.set_calendar("us");
    cases.push_back({"IsWorkingDay unknown calendar", Call(&Stub::IsWorkingDay, req),
                     grpc::StatusCode::NOT_FOUND, "calendar"});
    pb::AddWorkingDaysRequest add;
    add.mutable_date()->set_year(2025);
    add.mutable_date()->set_month(1);
    add.mutable_date()->set_day(1);
    add.set_days(5000);
    cases.push_back({"AddWorkingDays days", Call(&Stub::AddWorkingDays, add), kInvalid, "days"});
    pb::ListCalendarDaysRequest list;
    *list.mutable_start_date() = add.date();
    list.mutable_end_date()->set_year(2026);
    list.mutable_end_date()->set_month(6);
    list.mutable_end_date()->set_day(1);
    cases.push_back(
        {"ListCalendarDays too long", Call(&Stub::ListCalendarDays, list), kInvalid, "end_date"});
    list.clear_start_date();
    cases.push_back(
        {"ListCalendarDays no start", Call(&Stub::ListCalendarDays, list), kInvalid, "start_date"});
  }

  {
    auto policy = [&](std::string name, std::function<void(pb::ReminderPolicy&)> edit,
                      std::string field, grpc::StatusCode code = kInvalid) {
      pb::CreatePolicyRequest req;
      req.mutable_policy()->set_name("政策");
      req.mutable_policy()->set_at_deadline(true);
      edit(*req.mutable_policy());
      cases.push_back({"CreatePolicy " + name, Call(&Stub::CreatePolicy, req), code, field});
    };
    policy(
        "no name", [](auto& p) { p.clear_name(); }, "policy.name");
    policy(
        "bad id", [](auto& p) { p.set_id("X"); }, "policy.id");
    policy(
        "taken id", [](auto& p) { p.set_id("default"); }, "policy.id",
        grpc::StatusCode::ALREADY_EXISTS);
    policy(
        "hours 0", [](auto& p) { p.add_before_deadline()->set_hours(0); },
        "policy.before_deadline[0].hours");
    policy(
        "unset offset", [](auto& p) { p.add_before_milestones(); }, "policy.before_milestones[0]");
    policy(
        "level 0",
        [](auto& p) {
          auto* e = p.add_escalation();
          e->set_trigger(pb::ESCALATION_TRIGGER_OVERDUE);
          e->set_after_working_days(1);
        },
        "policy.escalation[0].level");
    policy(
        "window reversed",
        [](auto& p) {
          p.mutable_send_window()->mutable_start()->set_hours(18);
          p.mutable_send_window()->mutable_end()->set_hours(9);
        },
        "policy.send_window");
    policy(
        "bad minute", [](auto& p) { p.mutable_send_window()->mutable_start()->set_minutes(75); },
        "policy.send_window.start");
    policy(
        "grace", [](auto& p) { p.mutable_catch_up()->mutable_grace()->set_seconds(5); },
        "policy.catch_up.grace");
    policy(
        "calendar", [](auto& p) { p.set_calendar("us"); }, "policy.calendar");
    pb::CreatePolicyRequest rid;
    rid.mutable_policy()->set_name("x");
    rid.set_request_id(std::string(200, 'r'));
    cases.push_back(
        {"CreatePolicy request_id", Call(&Stub::CreatePolicy, rid), kInvalid, "request_id"});

    pb::GetPolicyRequest get;
    get.set_id("nope");
    cases.push_back(
        {"GetPolicy unknown", Call(&Stub::GetPolicy, get), grpc::StatusCode::NOT_FOUND, "id"});
    pb::ListPoliciesRequest list;
    list.set_page_token("garbage");
    cases.push_back(
        {"ListPolicies token", Call(&Stub::ListPolicies, list), kInvalid, "page_token"});
    pb::UpdatePolicyRequest upd;
    upd.mutable_policy()->set_id("default");
    cases.push_back(
        {"UpdatePolicy no mask", Call(&Stub::UpdatePolicy, upd), kInvalid, "update_mask"});
    upd.mutable_update_mask()->add_paths("id");
    cases.push_back(
        {"UpdatePolicy immutable path", Call(&Stub::UpdatePolicy, upd), kInvalid, "update_mask"});
    pb::UpdatePolicyRequest upd2;
    upd2.mutable_policy()->set_id("default");
    upd2.mutable_update_mask()->add_paths("name");
    cases.push_back(
        {"UpdatePolicy empty name", Call(&Stub::UpdatePolicy, upd2), kInvalid, "policy.name"});
    upd2.mutable_policy()->set_id("nope");
    upd2.mutable_policy()->set_name("x");
    cases.push_back({"UpdatePolicy unknown", Call(&Stub::UpdatePolicy, upd2),
                     grpc::StatusCode::NOT_FOUND, "policy.id"});
    pb::DeletePolicyRequest del;
    del.set_id("default");
    cases.push_back({"DeletePolicy built-in", Call(&Stub::DeletePolicy, del),
                     grpc::StatusCode::FAILED_PRECONDITION, "id"});
    pb::SetPlanDefaultPolicyRequest spd;
    spd.set_plan_id("plan-1");
    cases.push_back({"SetPlanDefaultPolicy version", Call(&Stub::SetPlanDefaultPolicy, spd),
                     kInvalid, "plan_version"});
    spd.set_plan_version(1);
    spd.set_policy_id("nope");
    cases.push_back({"SetPlanDefaultPolicy unknown policy", Call(&Stub::SetPlanDefaultPolicy, spd),
                     grpc::StatusCode::NOT_FOUND, "policy_id"});
    pb::GetPlanDefaultPolicyRequest gpd;
    gpd.set_plan_id("plan-9");
    cases.push_back({"GetPlanDefaultPolicy unknown", Call(&Stub::GetPlanDefaultPolicy, gpd),
                     grpc::StatusCode::NOT_FOUND, "plan_id"});
    pb::PreviewScheduleRequest pre;
    *pre.mutable_assignment() = good;
    cases.push_back(
        {"PreviewSchedule no policy", Call(&Stub::PreviewSchedule, pre), kInvalid, "policy_id"});
    pre.set_policy_id("default");
    pre.mutable_assignment()->clear_deadline_time();
    cases.push_back({"PreviewSchedule no deadline", Call(&Stub::PreviewSchedule, pre), kInvalid,
                     "assignment.deadline_time"});
  }

  {
    pb::SetBurdenBudgetRequest req;
    req.mutable_budget()->set_max_messages_per_working_day(0);
    cases.push_back({"SetBurdenBudget max 0", Call(&Stub::SetBurdenBudget, req), kInvalid,
                     "budget.max_messages_per_working_day"});
    req.mutable_budget()->set_max_messages_per_working_day(5);
    req.mutable_budget()->set_unit_id("gd.zq.duanzhou");
    req.mutable_budget()->set_unit_kind(pb::UNIT_KIND_TOWN);
    cases.push_back({"SetBurdenBudget two scopes", Call(&Stub::SetBurdenBudget, req), kInvalid,
                     "budget.unit_kind"});
    req.mutable_budget()->set_unit_kind(pb::UNIT_KIND_UNSPECIFIED);
    req.mutable_budget()->set_unit_id("unknown.x");
    cases.push_back({"SetBurdenBudget unknown unit", Call(&Stub::SetBurdenBudget, req), kInvalid,
                     "budget.unit_id"});
    pb::ListBurdenBudgetsRequest list;
    list.set_page_size(-1);
    cases.push_back({"ListBurdenBudgets page_size", Call(&Stub::ListBurdenBudgets, list), kInvalid,
                     "page_size"});
    pb::DeleteBurdenBudgetRequest del;
    del.set_unit_kind(pb::UNIT_KIND_TOWN);
    cases.push_back({"DeleteBurdenBudget none", Call(&Stub::DeleteBurdenBudget, del),
                     grpc::StatusCode::NOT_FOUND, "unit_kind"});
    pb::GetBurdenUsageRequest usage;
    cases.push_back(
        {"GetBurdenUsage no units", Call(&Stub::GetBurdenUsage, usage), kInvalid, "unit_ids"});
    usage.add_unit_ids("BAD");
    cases.push_back(
        {"GetBurdenUsage bad id", Call(&Stub::GetBurdenUsage, usage), kInvalid, "unit_ids[0]"});
  }

  const std::string before = Fingerprint();
  for (const Case& c : cases) {
    grpc::Status st = c.call(*stub_);
    EXPECT_EQ(st.error_code(), c.code) << c.name << ": " << st.error_message();
    EXPECT_THAT(testing::ViolatedFields(st), Contains(c.field)) << c.name;
    EXPECT_EQ(Fingerprint(), before) << c.name << " changed something";
  }
}

TEST_F(BadInputTest, ReconcileWhileOneRunsIsAborted) {
  // Two concurrent reconciles: at most one runs, the other is ABORTED (never both at once).
  for (int i = 0; i < 30; ++i) {
    ScheduleOk(Snapshot("x" + std::to_string(i), 1, Sh(2025, 5, 30, 18), Now()));
  }
  std::atomic<int> aborted{0}, ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      grpc::ClientContext ctx;
      pb::ReconcileResponse resp;
      auto st = stub_->Reconcile(&ctx, pb::ReconcileRequest(), &resp);
      if (st.ok()) ++ok;
      if (st.error_code() == grpc::StatusCode::ABORTED) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(ok.load() + aborted.load(), 4);
}

}  // namespace
}  // namespace duban::reminders
