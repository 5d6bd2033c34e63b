// ListReminders by plan or task (a walk of the time index with a row budget per call: short
// pages with a token) and the ledger's counts by state (counters kept with the rows, not an
// index), through the gRPC API.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "reminders_fixture.h"

namespace duban::reminders {
namespace {

const absl::Time kDeadline = Sh(2025, 5, 30, 18);

class ReminderListTest : public RemindersTest {
 protected:
  struct Walk {
    std::vector<pb::Reminder> rows;
    int calls = 0;
    int short_pages = 0;  // fewer rows than page_size, yet a token
  };

  // Every page of `req` (page_size set by the caller), following the tokens.
  Walk ListAll(pb::ListRemindersRequest req) {
    Walk w;
    for (;;) {
      grpc::ClientContext ctx;
      pb::ListRemindersResponse resp;
      auto st = stub_->ListReminders(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok() || ++w.calls > 1000) return w;
      w.rows.insert(w.rows.end(), resp.reminders().begin(), resp.reminders().end());
      if (resp.next_page_token().empty()) return w;
      if (resp.reminders_size() < req.page_size()) ++w.short_pages;
      req.set_page_token(resp.next_page_token());
    }
  }

  // The rows of the assignments in `ids` that `keep` accepts, in (planned_time, id) order.
  std::vector<pb::Reminder> Expected(const std::vector<std::string>& ids,
                                     const std::function<bool(const pb::Reminder&)>& keep) {
    std::vector<pb::Reminder> out;
    for (const auto& id : ids) {
      for (const auto& r : List(id)) {
        if (keep(r)) out.push_back(r);
      }
    }
    std::sort(out.begin(), out.end(), [](const pb::Reminder& x, const pb::Reminder& y) {
      return std::make_tuple(ProtoToMicros(x.planned_time()), x.id()) <
             std::make_tuple(ProtoToMicros(y.planned_time()), y.id());
    });
    return out;
  }

  static std::vector<std::string> Ids(const std::vector<pb::Reminder>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id());
    return out;
  }

  // Three assignments, 11 rows each: a1 and a2 in plan-1 (tasks task-1 and task-3), b1 in
  // plan-2 / task-2, with deadlines a day apart so that the plans' rows interleave in time.
  void ScheduleThree() {
    ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
    auto b1 = Snapshot("b1", 1, kDeadline + absl::Hours(24), Now());
    b1.set_plan_id("plan-2");
    b1.set_task_id("task-2");
    ScheduleOk(b1);
    auto a2 = Snapshot("a2", 1, kDeadline + absl::Hours(48), Now(), pb::ASSIGNMENT_STATE_ASSIGNED,
                       "gd.zq.gaoyao");
    a2.set_task_id("task-3");
    ScheduleOk(a2);
  }

  // Small row budget: listing a plan takes several calls, some pages short.
  void ReopenWithScanBudget(int rows) {
    CloseStack();
    ledger_options_.list_scan_rows = rows;
    OpenStack();
  }
};

TEST_F(ReminderListTest, PlanFilterWithinBudgetIsOnePage) {
  ScheduleThree();
  pb::ListRemindersRequest req;
  req.set_plan_id("plan-1");
  req.set_page_size(1000);
  auto w = ListAll(req);
  EXPECT_EQ(w.calls, 1);
  EXPECT_EQ(Ids(w.rows), Ids(Expected({"a1", "a2"}, [](const auto&) { return true; })));
  EXPECT_EQ(w.rows.size(), 22u);
}

TEST_F(ReminderListTest, PlanFilterPagesAreBoundedAndComplete) {
  ScheduleThree();
  ReopenWithScanBudget(5);
  pb::ListRemindersRequest req;
  req.set_plan_id("plan-1");
  req.set_page_size(4);
  auto w = ListAll(req);
  // 33 rows examined at most 5 per call: at least 7 calls, some of them short pages.
  EXPECT_GE(w.calls, 7);
  EXPECT_GT(w.short_pages, 0);
  EXPECT_EQ(Ids(w.rows), Ids(Expected({"a1", "a2"}, [](const auto&) { return true; })));

  pb::ListRemindersRequest other;
  other.set_plan_id("plan-2");
  other.set_page_size(1000);
  auto w2 = ListAll(other);
  EXPECT_EQ(Ids(w2.rows), Ids(Expected({"b1"}, [](const auto&) { return true; })));
  EXPECT_GE(w2.calls, 7);
}

TEST_F(ReminderListTest, TaskFilterWithStatesKindsAndTimeWindow) {
  ScheduleThree();
  ReopenWithScanBudget(3);
  const int64_t after = absl::ToUnixMicros(kDeadline);
  const int64_t before = absl::ToUnixMicros(kDeadline + absl::Hours(24 * 10));
  pb::ListRemindersRequest req;
  req.set_task_id("task-3");
  req.add_states(pb::REMINDER_STATE_SCHEDULED);
  req.add_kinds(pb::REMINDER_KIND_OVERDUE);
  req.add_kinds(pb::REMINDER_KIND_ESCALATION);
  *req.mutable_planned_after() = ToProtoTimestamp(absl::FromUnixMicros(after));
  *req.mutable_planned_before() = ToProtoTimestamp(absl::FromUnixMicros(before));
  req.set_page_size(2);
  auto w = ListAll(req);
  auto expected = Expected({"a2"}, [&](const pb::Reminder& r) {
    const int64_t t = ProtoToMicros(r.planned_time());
    return r.state() == pb::REMINDER_STATE_SCHEDULED &&
           (r.kind() == pb::REMINDER_KIND_OVERDUE || r.kind() == pb::REMINDER_KIND_ESCALATION) &&
           t >= after && t < before;
  });
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(Ids(w.rows), Ids(expected));
  // Both filters: plan-1 and task-1 is a1 alone.
  pb::ListRemindersRequest both;
  both.set_plan_id("plan-1");
  both.set_task_id("task-1");
  both.set_page_size(3);
  EXPECT_EQ(Ids(ListAll(both).rows), Ids(Expected({"a1"}, [](const auto&) { return true; })));
  // Nothing matches: empty pages with tokens, then the end.
  pb::ListRemindersRequest none;
  none.set_plan_id("plan-9");
  none.set_page_size(10);
  auto empty = ListAll(none);
  EXPECT_TRUE(empty.rows.empty());
  EXPECT_GE(empty.calls, 11);  // 33 rows, 3 a call
}

TEST_F(ReminderListTest, RowsAddedBetweenPagesAfterTheCursorAreListed) {
  ScheduleThree();
  ReopenWithScanBudget(4);
  pb::ListRemindersRequest req;
  req.set_plan_id("plan-1");
  req.set_page_size(2);
  grpc::ClientContext ctx;
  pb::ListRemindersResponse first;
  ASSERT_TRUE(stub_->ListReminders(&ctx, req, &first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  // A later assignment of plan-1: its rows are all after the first page.
  ScheduleOk(Snapshot("a3", 1, kDeadline + absl::Hours(24 * 7), Now()));
  req.set_page_token(first.next_page_token());
  auto rest = ListAll(req);
  std::vector<pb::Reminder> all(first.reminders().begin(), first.reminders().end());
  all.insert(all.end(), rest.rows.begin(), rest.rows.end());
  EXPECT_EQ(Ids(all), Ids(Expected({"a1", "a2", "a3"}, [](const auto&) { return true; })));
}

// The counts QueueStats reports, against the rows themselves.
class StateCountTest : public ReminderListTest {
 protected:
  void ExpectCountsMatchRows(const std::vector<std::string>& assignment_ids) {
    std::map<int, int64_t> rows;
    for (const auto& id : assignment_ids) {
      for (const auto& r : List(id)) ++rows[r.state()];
    }
    // Digests belong to no assignment: counted through their unit.
    pb::ListRemindersRequest req;
    req.set_unit_id("gd.zq.duanzhou");
    req.add_kinds(pb::REMINDER_KIND_DIGEST);
    req.set_page_size(1000);
    for (const auto& r : ListAll(req).rows) ++rows[r.state()];
    auto stats = StatsOk();
    EXPECT_EQ(stats.ledger_scheduled(), rows[pb::REMINDER_STATE_SCHEDULED]);
    EXPECT_EQ(stats.ledger_sent(), rows[pb::REMINDER_STATE_SENT]);
    EXPECT_EQ(stats.ledger_failed(), rows[pb::REMINDER_STATE_FAILED]);
    EXPECT_EQ(stats.ledger_dead(), rows[pb::REMINDER_STATE_DEAD]);
    EXPECT_EQ(stats.ledger_canceled(), rows[pb::REMINDER_STATE_CANCELED]);
    EXPECT_EQ(stats.ledger_suppressed(), rows[pb::REMINDER_STATE_SUPPRESSED]);
  }
};

TEST_F(StateCountTest, CountsFollowInsertsUpdatesAndRestart) {
  ScheduleThree();
  ExpectCountsMatchRows({"a1", "a2", "b1"});
  auto first = StatsOk();
  EXPECT_EQ(first.ledger_scheduled() + first.ledger_suppressed(), 33);  // some outside the window

  // Outcomes move rows between states.
  auto pending = List("a1", {pb::REMINDER_STATE_SCHEDULED});
  ASSERT_GE(pending.size(), 3u);
  pb::RecordDeliveriesRequest req;
  const pb::DeliveryOutcomeKind kinds[] = {pb::DELIVERY_OUTCOME_KIND_SENT,
                                           pb::DELIVERY_OUTCOME_KIND_RETRY,
                                           pb::DELIVERY_OUTCOME_KIND_DEAD};
  for (int i = 0; i < 3; ++i) {
    auto* o = req.add_outcomes();
    o->set_reminder_id(pending[i].id());
    o->set_version(pending[i].version());
    o->set_outcome(kinds[i]);
    o->set_attempt(1);
    o->set_channel(pb::CHANNEL_WEBHOOK);
    if (kinds[i] == pb::DELIVERY_OUTCOME_KIND_SENT) {
      *o->mutable_sent_time() = ToProtoTimestamp(Now());
    } else {
      o->set_error("webhook 503");
      if (kinds[i] == pb::DELIVERY_OUTCOME_KIND_RETRY) {
        *o->mutable_next_attempt_time() = ToProtoTimestamp(Now() + absl::Minutes(2));
      }
    }
  }
  {
    grpc::ClientContext ctx;
    pb::RecordDeliveriesResponse resp;
    ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
  }
  // A re-plan (rows updated in place), a close (rows canceled), and a schedule and close of one
  // assignment in one batch (rows inserted and canceled in the same transaction).
  ScheduleOk(Snapshot("b1", 2, kDeadline + absl::Hours(72), Now()));
  pb::CancelAssignmentResponse canceled;
  ASSERT_TRUE(Cancel("a2", 2, pb::ASSIGNMENT_STATE_DONE, &canceled).ok());
  {
    grpc::ClientContext ctx;
    pb::BatchScheduleAssignmentsRequest batch;
    *batch.add_changes()->mutable_schedule()->mutable_assignment() =
        Snapshot("c1", 1, kDeadline, Now());
    auto* close = batch.add_changes()->mutable_cancel();
    close->set_assignment_id("c1");
    close->set_version(2);
    close->set_final_state(pb::ASSIGNMENT_STATE_CANCELED);
    *close->mutable_change_time() = ToProtoTimestamp(Now());
    pb::BatchScheduleAssignmentsResponse resp;
    auto st = stub_->BatchScheduleAssignments(&ctx, batch, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  const std::vector<std::string> all = {"a1", "a2", "b1", "c1"};
  ExpectCountsMatchRows(all);
  auto stats = StatsOk();
  EXPECT_EQ(stats.ledger_sent(), 1);
  EXPECT_EQ(stats.ledger_failed(), 1);
  EXPECT_EQ(stats.ledger_dead(), 1);
  EXPECT_GT(stats.ledger_canceled(), first.ledger_canceled());

  CloseStack();
  OpenStack();
  ExpectCountsMatchRows(all);
}

}  // namespace
}  // namespace duban::reminders
