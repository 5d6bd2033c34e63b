// The burden budget: per unit (default per kind, then a global default) a maximum of reminder
// messages per working day; over it, reminders are SUPPRESSED (OVER_BUDGET) and merged into
// the unit's next digest — never dropped silently.
#include "reminders_fixture.h"

namespace duban::reminders {
namespace {

const absl::Time kDeadline = Sh(2025, 5, 30, 18);

class BudgetTest : public RemindersTest {
 protected:
  grpc::Status Set(const std::string& unit, pb::UnitKind kind, int max) {
    grpc::ClientContext ctx;
    pb::SetBurdenBudgetRequest req;
    req.mutable_budget()->set_unit_id(unit);
    req.mutable_budget()->set_unit_kind(kind);
    req.mutable_budget()->set_max_messages_per_working_day(max);
    pb::BurdenBudget out;
    return stub_->SetBurdenBudget(&ctx, req, &out);
  }
  pb::GetBurdenUsageResponse::Usage Usage(const std::string& unit, int y, int m, int d) {
    grpc::ClientContext ctx;
    pb::GetBurdenUsageRequest req;
    req.add_unit_ids(unit);
    req.mutable_date()->set_year(y);
    req.mutable_date()->set_month(m);
    req.mutable_date()->set_day(d);
    pb::GetBurdenUsageResponse resp;
    EXPECT_TRUE(stub_->GetBurdenUsage(&ctx, req, &resp).ok());
    return resp.usages_size() ? resp.usages(0) : pb::GetBurdenUsageResponse::Usage();
  }
};

TEST_F(BudgetTest, BudgetsAreSetListedAndDeletedByScope) {
  ASSERT_TRUE(Set("gd.zq.duanzhou", pb::UNIT_KIND_UNSPECIFIED, 3).ok());
  ASSERT_TRUE(Set("", pb::UNIT_KIND_PARTY_BRANCH, 2).ok());
  ASSERT_TRUE(Set("", pb::UNIT_KIND_UNSPECIFIED, 5).ok());
  ASSERT_TRUE(Set("", pb::UNIT_KIND_UNSPECIFIED, 6).ok());  // replaces
  std::vector<pb::BurdenBudget> all;
  std::string token;
  do {
    grpc::ClientContext ctx;
    pb::ListBurdenBudgetsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    pb::ListBurdenBudgetsResponse resp;
    ASSERT_TRUE(stub_->ListBurdenBudgets(&ctx, req, &resp).ok());
    all.insert(all.end(), resp.budgets().begin(), resp.budgets().end());
    token = resp.next_page_token();
  } while (!token.empty());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].max_messages_per_working_day(), 6);  // the default first
  EXPECT_EQ(all[1].unit_kind(), pb::UNIT_KIND_PARTY_BRANCH);
  EXPECT_EQ(all[2].unit_id(), "gd.zq.duanzhou");
  // The unit's own budget applies, then (deleted) its kind's (party branch in the fake).
  EXPECT_EQ(Usage("gd.zq.duanzhou", 2025, 5, 27).max_messages_per_working_day(), 3);
  grpc::ClientContext ctx;
  pb::DeleteBurdenBudgetRequest del;
  del.set_unit_id("gd.zq.duanzhou");
  pb::DeleteBurdenBudgetResponse resp;
  ASSERT_TRUE(stub_->DeleteBurdenBudget(&ctx, del, &resp).ok());
  EXPECT_EQ(Usage("gd.zq.duanzhou", 2025, 5, 27).max_messages_per_working_day(), 2);
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->DeleteBurdenBudget(&ctx2, del, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  // Unknown units: no budget can be set; usage reports zeros.
  auto st = Set("unknown.unit", pb::UNIT_KIND_UNSPECIFIED, 3);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::ViolatedFields(st), ::testing::Contains("budget.unit_id"));
  EXPECT_EQ(Usage("unknown.unit", 2025, 5, 27).max_messages_per_working_day(), 0);
}

TEST_F(BudgetTest, OverBudgetMergesIntoTheNextDigestNeverDropped) {
  ASSERT_TRUE(Set("gd.zq.duanzhou", pb::UNIT_KIND_UNSPECIFIED, 1).ok());
  auto a1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  EXPECT_EQ(a1.pending_size(), 11);  // one level-0 message a day: within the budget
  auto a2 = ScheduleOk(Snapshot("a2", 1, kDeadline, Now()));
  ScheduleOk(Snapshot("a3", 1, kDeadline, Now()));
  for (const std::string id : {"a2", "a3"}) {
    auto merged = List(id, {pb::REMINDER_STATE_SUPPRESSED});
    EXPECT_EQ(merged.size(), 8u) << id;  // 2 heads-ups, due, 5 overdue
    for (const auto& r : merged) {
      EXPECT_EQ(r.suppression_reason(), pb::SUPPRESSION_REASON_OVER_BUDGET);
      EXPECT_EQ(r.detail().rfind("over budget ", 0), 0u) << r.detail();
      EXPECT_NE(r.detail().find("/1 on 2025-"), std::string::npos) << r.detail();
      ASSERT_FALSE(r.digest_reminder_id().empty());
      grpc::ClientContext ctx;
      pb::GetReminderRequest g;
      g.set_id(r.digest_reminder_id());
      pb::Reminder digest;
      ASSERT_TRUE(stub_->GetReminder(&ctx, g, &digest).ok());
      EXPECT_EQ(digest.kind(), pb::REMINDER_KIND_DIGEST);
      EXPECT_EQ(digest.state(), pb::REMINDER_STATE_SCHEDULED);
      EXPECT_THAT(digest.merged_reminder_ids(), ::testing::Contains(r.id()));
      EXPECT_GT(ProtoToMicros(digest.planned_time()), ProtoToMicros(r.planned_time()));
      ExpectInRedis({digest});
    }
    // Escalations go to higher levels and are not budgeted.
    auto pending = List(id, {pb::REMINDER_STATE_SCHEDULED});
    EXPECT_EQ(pending.size(), 3u);
    for (const auto& r : pending) EXPECT_EQ(r.kind(), pb::REMINDER_KIND_ESCALATION);
  }
  auto usage = Usage("gd.zq.duanzhou", 2025, 5, 27);
  EXPECT_EQ(usage.max_messages_per_working_day(), 1);
  EXPECT_EQ(usage.counted(), 1);
  EXPECT_EQ(usage.merged(), 2);
  // A unit with a roomier (default) budget is untouched.
  ASSERT_TRUE(Set("", pb::UNIT_KIND_UNSPECIFIED, 10).ok());
  auto other = ScheduleOk(
      Snapshot("b1", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.gaoyao"));
  EXPECT_EQ(other.pending_size(), 11);
}

}  // namespace
}  // namespace duban::reminders
