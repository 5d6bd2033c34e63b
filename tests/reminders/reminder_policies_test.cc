// Policies, plan defaults, previews and the calendar through the gRPC API, with the ledger and
// Redis re-planned when a policy or a plan default changes.
#include "reminders_fixture.h"

namespace duban::reminders {
namespace {

const absl::Time kDeadline = Sh(2025, 5, 30, 18);

class PoliciesTest : public RemindersTest {
 protected:
  grpc::Status Create(const pb::ReminderPolicy& p, const std::string& rid,
                      pb::ReminderPolicy* out) {
    grpc::ClientContext ctx;
    pb::CreatePolicyRequest req;
    *req.mutable_policy() = p;
    req.set_request_id(rid);
    return stub_->CreatePolicy(&ctx, req, out);
  }
  // Only a DUE reminder, on any day, 00:00-23:59.
  static pb::ReminderPolicy DueOnly(const std::string& id) {
    pb::ReminderPolicy p;
    p.set_id(id);
    p.set_name("只在截止时提醒");
    p.set_at_deadline(true);
    return p;
  }
  pb::PlanDefaultPolicy SetDefault(const std::string& plan, const std::string& policy,
                                   int64_t version,
                                   grpc::StatusCode expect = grpc::StatusCode::OK) {
    grpc::ClientContext ctx;
    pb::SetPlanDefaultPolicyRequest req;
    req.set_plan_id(plan);
    req.set_policy_id(policy);
    req.set_plan_version(version);
    pb::PlanDefaultPolicy out;
    auto st = stub_->SetPlanDefaultPolicy(&ctx, req, &out);
    EXPECT_EQ(st.error_code(), expect) << st.error_message();
    return out;
  }
};

TEST_F(PoliciesTest, BuiltInDefaultExistsFromFirstStart) {
  grpc::ClientContext ctx;
  pb::GetPolicyRequest req;
  req.set_id("default");
  pb::ReminderPolicy p;
  ASSERT_TRUE(stub_->GetPolicy(&ctx, req, &p).ok());
  EXPECT_TRUE(p.built_in());
  EXPECT_EQ(p.before_deadline_size(), 2);
  EXPECT_EQ(p.before_deadline(0).working_days(), 3);
  EXPECT_TRUE(p.at_deadline());
  EXPECT_EQ(p.overdue().max_repeats(), 5);
  EXPECT_EQ(p.escalation_size(), 3);
  EXPECT_EQ(p.send_window().start().hours(), 9);
  EXPECT_EQ(p.send_window().end().hours(), 18);
  EXPECT_EQ(p.catch_up().mode(), pb::CATCH_UP_MODE_DIGEST);
  EXPECT_EQ(p.catch_up().grace().seconds(), 3600);
  EXPECT_EQ(p.calendar(), "cn");
  grpc::ClientContext dctx;
  pb::DeletePolicyRequest del;
  del.set_id("default");
  pb::DeletePolicyResponse dresp;
  EXPECT_EQ(stub_->DeletePolicy(&dctx, del, &dresp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(PoliciesTest, CreateIsIdempotentByRequestId) {
  pb::ReminderPolicy a, b;
  ASSERT_TRUE(Create(DueOnly("p1"), "req-1", &a).ok());
  EXPECT_EQ(a.id(), "p1");
  EXPECT_FALSE(a.etag().empty());
  ASSERT_TRUE(Create(DueOnly("p1"), "req-1", &b).ok());
  EXPECT_EQ(b.etag(), a.etag());
  auto other = DueOnly("p2");
  other.set_name("别的");
  auto st = Create(other, "req-1", &b);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::ViolatedFields(st), ::testing::Contains("request_id"));
  st = Create(DueOnly("p1"), "", &b);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(testing::ViolatedFields(st), ::testing::Contains("policy.id"));
  // Generated id.
  auto anon = DueOnly("");
  ASSERT_TRUE(Create(anon, "", &b).ok());
  EXPECT_EQ(b.id().substr(0, 2), "p-");
  // Listed by id, paged.
  std::vector<std::string> ids;
  std::string token;
  do {
    grpc::ClientContext ctx;
    pb::ListPoliciesRequest req;
    req.set_page_size(1);
    req.set_page_token(token);
    pb::ListPoliciesResponse resp;
    ASSERT_TRUE(stub_->ListPolicies(&ctx, req, &resp).ok());
    for (const auto& p : resp.policies()) ids.push_back(p.id());
    token = resp.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST_F(PoliciesTest, UpdateReplansTheAssignmentsUsingIt) {
  pb::ReminderPolicy p;
  auto full = DueOnly("p1");
  full.add_before_deadline()->set_hours(24);
  full.add_before_deadline()->set_working_days(2);
  ASSERT_TRUE(Create(full, "", &p).ok());
  auto snap = Snapshot("a1", 1, kDeadline, Now());
  snap.set_policy_id("p1");
  auto v1 = ScheduleOk(snap);
  EXPECT_EQ(v1.policy_id(), "p1");
  ASSERT_EQ(v1.pending_size(), 3);
  ScheduleOk(Snapshot("a2", 1, kDeadline, Now()));  // the built-in: untouched
  auto a2_before = List("a2");

  pb::UpdatePolicyRequest req;
  *req.mutable_policy() = full;
  req.mutable_policy()->clear_before_deadline();
  req.mutable_policy()->add_before_deadline()->set_hours(2);
  req.mutable_update_mask()->add_paths("before_deadline");
  req.set_etag("999");
  {
    grpc::ClientContext ctx;
    pb::ReminderPolicy out;
    EXPECT_EQ(stub_->UpdatePolicy(&ctx, req, &out).error_code(), grpc::StatusCode::ABORTED);
  }
  req.set_etag(p.etag());
  pb::ReminderPolicy updated;
  {
    grpc::ClientContext ctx;
    auto st = stub_->UpdatePolicy(&ctx, req, &updated);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_NE(updated.etag(), p.etag());
  EXPECT_EQ(updated.before_deadline_size(), 1);
  auto pending = List("a1", {pb::REMINDER_STATE_SCHEDULED});
  ASSERT_EQ(pending.size(), 2u);  // 2 hours before, and due
  EXPECT_EQ(absl::FromUnixMicros(ProtoToMicros(pending[0].planned_time())),
            kDeadline - absl::Hours(2));
  ExpectInRedis(pending);
  auto canceled = List("a1", {pb::REMINDER_STATE_CANCELED});
  EXPECT_EQ(canceled.size(), 2u);
  ExpectNotInRedis(canceled);
  auto a2_after = List("a2");
  ASSERT_EQ(a2_after.size(), a2_before.size());
  for (size_t i = 0; i < a2_after.size(); ++i) {
    EXPECT_EQ(a2_after[i].version(), a2_before[i].version());
  }

  // In use: cannot be deleted until the assignment closes.
  grpc::ClientContext dctx;
  pb::DeletePolicyRequest del;
  del.set_id("p1");
  pb::DeletePolicyResponse dresp;
  EXPECT_EQ(stub_->DeletePolicy(&dctx, del, &dresp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  pb::CancelAssignmentResponse cr;
  ASSERT_TRUE(Cancel("a1", 2, pb::ASSIGNMENT_STATE_DONE, &cr).ok());
  grpc::ClientContext dctx2;
  EXPECT_TRUE(stub_->DeletePolicy(&dctx2, del, &dresp).ok());
  grpc::ClientContext gctx;
  pb::GetPolicyRequest get;
  get.set_id("p1");
  pb::ReminderPolicy gone;
  EXPECT_EQ(stub_->GetPolicy(&gctx, get, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PoliciesTest, PlanDefaultAppliesToAssignmentsWithoutTheirOwnPolicy) {
  pb::ReminderPolicy p;
  ASSERT_TRUE(Create(DueOnly("p1"), "", &p).ok());
  ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  auto own = Snapshot("a2", 1, kDeadline, Now());
  own.set_policy_id("default");
  ScheduleOk(own);
  ASSERT_EQ(List("a1", {pb::REMINDER_STATE_SCHEDULED}).size(), 11u);

  SetDefault("plan-1", "nope", 1, grpc::StatusCode::NOT_FOUND);
  auto d = SetDefault("plan-1", "p1", 3);
  EXPECT_EQ(d.policy_id(), "p1");
  EXPECT_EQ(d.plan_version(), 3);
  auto a1 = List("a1", {pb::REMINDER_STATE_SCHEDULED});
  ASSERT_EQ(a1.size(), 1u);
  EXPECT_EQ(a1[0].kind(), pb::REMINDER_KIND_DUE);
  EXPECT_EQ(a1[0].policy_id(), "p1");
  ExpectInRedis(a1);
  EXPECT_EQ(List("a2", {pb::REMINDER_STATE_SCHEDULED}).size(), 11u);
  // An older version changes nothing.
  auto old = SetDefault("plan-1", "", 2);
  EXPECT_EQ(old.policy_id(), "p1");
  EXPECT_EQ(old.plan_version(), 3);
  grpc::ClientContext ctx;
  pb::GetPlanDefaultPolicyRequest req;
  req.set_plan_id("plan-1");
  pb::PlanDefaultPolicy got;
  ASSERT_TRUE(stub_->GetPlanDefaultPolicy(&ctx, req, &got).ok());
  EXPECT_EQ(got.policy_id(), "p1");
  grpc::ClientContext ctx2;
  req.set_plan_id("plan-2");
  EXPECT_EQ(stub_->GetPlanDefaultPolicy(&ctx2, req, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // An unknown own policy falls back to the plan default and says so.
  auto unknown = Snapshot("a3", 1, kDeadline, Now());
  unknown.set_policy_id("gone");
  auto r = ScheduleOk(unknown);
  EXPECT_EQ(r.policy_id(), "p1");
  EXPECT_TRUE(r.policy_fallback());
}

TEST_F(PoliciesTest, RowsTheSendWindowSuppressedAreReplannedInPlace) {
  pb::ReminderPolicy p;
  auto two_hours = DueOnly("p2");
  two_hours.add_before_deadline()->set_hours(2);
  ASSERT_TRUE(Create(two_hours, "", &p).ok());
  auto v1 = Snapshot("a1", 1, Sh(2025, 5, 30, 8, 30), Now());
  v1.set_policy_id("p2");
  ScheduleOk(v1);  // 06:30 moves to 09:00, past the 08:30 deadline
  auto suppressed = List("a1", {pb::REMINDER_STATE_SUPPRESSED});
  ASSERT_EQ(suppressed.size(), 1u);
  EXPECT_EQ(suppressed[0].suppression_reason(), pb::SUPPRESSION_REASON_SEND_WINDOW);
  ExpectNotInRedis(suppressed);
  auto v2 = Snapshot("a1", 2, Sh(2025, 5, 30, 16), Now());
  v2.set_policy_id("p2");
  auto resp = ScheduleOk(v2);
  EXPECT_EQ(resp.added(), 0);
  auto pending = List("a1", {pb::REMINDER_STATE_SCHEDULED});
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id(), suppressed[0].id());
  EXPECT_EQ(pending[0].version(), suppressed[0].version() + 1);
  EXPECT_EQ(pending[0].suppression_reason(), pb::SUPPRESSION_REASON_UNSPECIFIED);
  ExpectInRedis(pending);
}

TEST_F(PoliciesTest, PreviewPlansWithoutWriting) {
  grpc::ClientContext ctx;
  pb::PreviewScheduleRequest req;
  req.set_policy_id("default");
  *req.mutable_assignment() = Snapshot("a1", 1, kDeadline, Now());
  *req.mutable_now() = ToProtoTimestamp(Now());
  pb::PreviewScheduleResponse resp;
  ASSERT_TRUE(stub_->PreviewSchedule(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.reminders_size(), 11);
  EXPECT_EQ(resp.timezone(), "Asia/Shanghai");
  EXPECT_FALSE(resp.provisional());
  EXPECT_TRUE(resp.reminders(0).id().empty());
  EXPECT_TRUE(List("a1").empty());
  EXPECT_EQ(StatsOk().scheduled(), 0);

  grpc::ClientContext ctx2;
  pb::PreviewScheduleRequest inline_req;
  *inline_req.mutable_policy() = DueOnly("");
  inline_req.mutable_policy()->clear_name();
  *inline_req.mutable_assignment() = Snapshot("", 0, Sh(2027, 3, 1, 18), Now());
  ASSERT_TRUE(stub_->PreviewSchedule(&ctx2, inline_req, &resp).ok());
  ASSERT_EQ(resp.reminders_size(), 1);
  EXPECT_EQ(resp.reminders(0).kind(), pb::REMINDER_KIND_DUE);
  EXPECT_TRUE(resp.provisional()) << "2027 has no published calendar data";
}

TEST_F(PoliciesTest, CalendarAnswersWithMakeUpDaysAndProvisionalYears) {
  auto date = [](int y, int m, int d) {
    pb::Date out;
    out.set_year(y);
    out.set_month(m);
    out.set_day(d);
    return out;
  };
  {
    grpc::ClientContext ctx;
    pb::IsWorkingDayRequest req;
    *req.mutable_date() = date(2025, 1, 26);  // a Sunday made a working day for 春节
    pb::CalendarDay day;
    ASSERT_TRUE(stub_->IsWorkingDay(&ctx, req, &day).ok());
    EXPECT_EQ(day.kind(), pb::DAY_KIND_MAKEUP_WORKDAY);
    EXPECT_TRUE(day.working());
    EXPECT_FALSE(day.provisional());
  }
  {
    grpc::ClientContext ctx;
    pb::IsWorkingDayRequest req;
    *req.mutable_date() = date(2025, 1, 29);
    pb::CalendarDay day;
    ASSERT_TRUE(stub_->IsWorkingDay(&ctx, req, &day).ok());
    EXPECT_EQ(day.kind(), pb::DAY_KIND_HOLIDAY);
    EXPECT_FALSE(day.working());
    EXPECT_FALSE(day.holiday_name().empty());
  }
  {
    grpc::ClientContext ctx;
    pb::AddWorkingDaysRequest req;
    *req.mutable_date() = date(2025, 1, 27);
    req.set_days(1);
    pb::AddWorkingDaysResponse resp;
    ASSERT_TRUE(stub_->AddWorkingDays(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.date().month(), 2);
    EXPECT_EQ(resp.date().day(), 5);
    grpc::ClientContext ctx2;
    req.set_days(0);
    *req.mutable_date() = date(2025, 2, 1);
    ASSERT_TRUE(stub_->AddWorkingDays(&ctx2, req, &resp).ok());
    EXPECT_EQ(resp.date().day(), 5);
  }
  {
    int exceptions = 0;
    std::string token;
    do {
      grpc::ClientContext ctx;
      pb::ListCalendarDaysRequest req;
      *req.mutable_start_date() = date(2025, 1, 1);
      *req.mutable_end_date() = date(2025, 12, 31);
      req.set_exceptions_only(true);
      req.set_page_size(10);
      req.set_page_token(token);
      pb::ListCalendarDaysResponse resp;
      ASSERT_TRUE(stub_->ListCalendarDays(&ctx, req, &resp).ok());
      for (const auto& d : resp.days()) {
        EXPECT_TRUE(d.kind() == pb::DAY_KIND_HOLIDAY || d.kind() == pb::DAY_KIND_MAKEUP_WORKDAY);
        ++exceptions;
      }
      token = resp.next_page_token();
    } while (!token.empty());
    EXPECT_GT(exceptions, 30);
    grpc::ClientContext ctx;
    pb::ListCalendarDaysRequest all;
    *all.mutable_start_date() = date(2025, 1, 1);
    *all.mutable_end_date() = date(2025, 12, 31);
    all.set_page_size(1000);
    pb::ListCalendarDaysResponse resp;
    ASSERT_TRUE(stub_->ListCalendarDays(&ctx, all, &resp).ok());
    EXPECT_EQ(resp.days_size(), 365);
    EXPECT_TRUE(resp.next_page_token().empty());
  }
  {
    grpc::ClientContext ctx;
    pb::CalendarInfo info;
    ASSERT_TRUE(stub_->GetCalendarInfo(&ctx, pb::GetCalendarInfoRequest(), &info).ok());
    EXPECT_EQ(info.timezone(), "Asia/Shanghai");
    EXPECT_FALSE(info.data_version().empty());
    bool saw2025 = false;
    for (const auto& y : info.years()) {
      if (y.year() == 2025) {
        saw2025 = true;
        EXPECT_FALSE(y.provisional());
        EXPECT_GT(y.holidays(), 20);
        EXPECT_GT(y.makeup_workdays(), 3);
      }
      if (y.year() == 2027) {
        EXPECT_TRUE(y.provisional());
      }
    }
    EXPECT_TRUE(saw2025);
  }
}

}  // namespace
}  // namespace duban::reminders
