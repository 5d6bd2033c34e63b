// Roll-calls (点名调度) end to end through the gRPC adapter, the SQLite ledger and a private
// redis-server: the resource methods, rounds that send one ROLLCALL digest per unit with open
// assignments, chases that go only to units that have not reported since the round began,
// the burden budget, the ticker and bad input on every roll-call method.
#include <functional>

#include "reminders_fixture.h"
#include "rollcall_ticker.h"

namespace duban::reminders {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

const absl::Time kDeadline = Sh(2025, 6, 30, 18);

class RollCallTest : public RemindersTest {
 protected:
  void SetUp() override {
    RemindersTest::SetUp();
    // gd.zq (root) → gd.zq.a, gd.zq.b, gd.zq.c; gd.sz.x is outside the subtree.
    units_.AddUnit("gd.zq.a", "gd.zq");
    units_.AddUnit("gd.zq.b", "gd.zq");
    units_.AddUnit("gd.zq.c", "gd.zq");
    units_.AddUnit("gd.sz.x", "gd.sz");
  }

  // An open assignment of plan-1 (or `plan`) held by `unit`.
  void Assign(const std::string& id, const std::string& unit, const std::string& plan = "plan-1",
              pb::AssignmentState state = pb::ASSIGNMENT_STATE_ASSIGNED) {
    auto s = Snapshot(id, 1, kDeadline, Now(), state, unit);
    s.set_plan_id(plan);
    ScheduleOk(s);
  }
  // The tasks service reports progress on an assignment (a new snapshot version).
  void Report(const std::string& id, const std::string& unit, int64_t version, absl::Time at) {
    auto s = Snapshot(id, version, kDeadline, at, pb::ASSIGNMENT_STATE_IN_PROGRESS, unit);
    *s.mutable_last_report_time() = ToProtoTimestamp(at);
    ScheduleOk(s);
  }

  static pb::RollCall Weekly(const std::string& id, std::vector<pb::Weekday> days, int hour = 9) {
    pb::RollCall rc;
    rc.set_id(id);
    rc.set_name("每周一调度");
    rc.set_plan_id("plan-1");
    rc.set_root_unit_id("gd.zq");
    for (auto d : days) rc.mutable_weekly()->add_days(d);
    rc.mutable_weekly()->mutable_time()->set_hours(hour);
    return rc;
  }

  grpc::Status Create(const pb::RollCall& rc, pb::RollCall* out, const std::string& rid = "") {
    grpc::ClientContext ctx;
    pb::CreateRollCallRequest req;
    *req.mutable_roll_call() = rc;
    req.set_request_id(rid);
    return stub_->CreateRollCall(&ctx, req, out);
  }
  pb::RollCall CreateOk(const pb::RollCall& rc, const std::string& rid = "") {
    pb::RollCall out;
    auto st = Create(rc, &out, rid);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  grpc::Status Get(const std::string& id, pb::RollCall* out) {
    grpc::ClientContext ctx;
    pb::GetRollCallRequest req;
    req.set_id(id);
    return stub_->GetRollCall(&ctx, req, out);
  }
  std::vector<std::string> ListIds(const std::string& plan, bool include_paused) {
    std::vector<std::string> out;
    std::string token;
    do {
      grpc::ClientContext ctx;
      pb::ListRollCallsRequest req;
      req.set_plan_id(plan);
      req.set_include_paused(include_paused);
      req.set_page_size(1);
      req.set_page_token(token);
      pb::ListRollCallsResponse resp;
      auto st = stub_->ListRollCalls(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      for (const auto& rc : resp.roll_calls()) out.push_back(rc.id());
      token = resp.next_page_token();
    } while (!token.empty());
    return out;
  }
  grpc::Status Pause(const std::string& id, pb::RollCall* out, const std::string& etag = "") {
    grpc::ClientContext ctx;
    pb::PauseRollCallRequest req;
    req.set_id(id);
    req.set_etag(etag);
    return stub_->PauseRollCall(&ctx, req, out);
  }
  grpc::Status Resume(const std::string& id, pb::RollCall* out, const std::string& etag = "") {
    grpc::ClientContext ctx;
    pb::ResumeRollCallRequest req;
    req.set_id(id);
    req.set_etag(etag);
    return stub_->ResumeRollCall(&ctx, req, out);
  }
  grpc::Status Start(const std::string& id, pb::RollCallRound* out, const std::string& rid = "") {
    grpc::ClientContext ctx;
    pb::StartRollCallRoundRequest req;
    req.set_id(id);
    req.set_request_id(rid);
    return stub_->StartRollCallRound(&ctx, req, out);
  }
  std::vector<pb::RollCallRound> Rounds(const std::string& id) {
    std::vector<pb::RollCallRound> out;
    std::string token;
    do {
      grpc::ClientContext ctx;
      pb::ListRollCallRoundsRequest req;
      req.set_roll_call_id(id);
      req.set_page_size(1);
      req.set_page_token(token);
      pb::ListRollCallRoundsResponse resp;
      auto st = stub_->ListRollCallRounds(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      for (const auto& r : resp.rounds()) out.push_back(r);
      token = resp.next_page_token();
    } while (!token.empty());
    return out;
  }
  std::vector<pb::RollCallRoundUnit> RoundUnits(const std::string& round_id,
                                                bool not_reported_only) {
    std::vector<pb::RollCallRoundUnit> out;
    std::string token;
    do {
      grpc::ClientContext ctx;
      pb::ListRollCallRoundUnitsRequest req;
      req.set_round_id(round_id);
      req.set_not_reported_only(not_reported_only);
      req.set_page_size(1);
      req.set_page_token(token);
      pb::ListRollCallRoundUnitsResponse resp;
      auto st = stub_->ListRollCallRoundUnits(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      for (const auto& u : resp.units()) out.push_back(u);
      token = resp.next_page_token();
    } while (!token.empty());
    return out;
  }
  // Every ROLLCALL row of a roll-call, in planned order.
  std::vector<pb::Reminder> RollCallRows(const std::string& roll_call_id,
                                         std::vector<pb::ReminderState> states = {}) {
    std::vector<pb::Reminder> out;
    std::string token;
    do {
      grpc::ClientContext ctx;
      pb::ListRemindersRequest req;
      req.set_roll_call_id(roll_call_id);
      req.add_kinds(pb::REMINDER_KIND_ROLLCALL);
      for (auto s : states) req.add_states(s);
      req.set_page_size(3);
      req.set_page_token(token);
      pb::ListRemindersResponse resp;
      auto st = stub_->ListReminders(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      for (const auto& r : resp.reminders()) out.push_back(r);
      token = resp.next_page_token();
    } while (!token.empty());
    return out;
  }
  RollCallTickReport Tick() {
    auto r = ledger_->RunDueRollCalls();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RollCallTickReport();
  }
  static std::vector<std::string> Ids(const pb::Reminder& r) {
    return {r.assignment_ids().begin(), r.assignment_ids().end()};
  }
};

TEST_F(RollCallTest, CreateGetListUpdatePauseResumeDelete) {
  auto rc = CreateOk(Weekly("rc-1", {pb::WEEKDAY_MONDAY}), "req-1");
  EXPECT_EQ(rc.id(), "rc-1");
  EXPECT_FALSE(rc.paused());
  EXPECT_EQ(FromProtoTimestamp(rc.next_round_time()), Sh(2025, 5, 26, 9));
  EXPECT_FALSE(rc.etag().empty());
  // A retried create answers with the first result; a taken id is ALREADY_EXISTS.
  EXPECT_EQ(CreateOk(Weekly("rc-1", {pb::WEEKDAY_MONDAY}), "req-1").create_time().seconds(),
            rc.create_time().seconds());
  pb::RollCall ignored;
  EXPECT_EQ(Create(Weekly("rc-1", {pb::WEEKDAY_MONDAY}), &ignored).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // A generated id.
  auto other = Weekly("", {pb::WEEKDAY_FRIDAY});
  other.set_plan_id("plan-2");
  auto generated = CreateOk(other);
  EXPECT_FALSE(generated.id().empty());

  pb::RollCall got;
  ASSERT_TRUE(Get("rc-1", &got).ok());
  EXPECT_EQ(got.name(), "每周一调度");
  EXPECT_EQ(got.weekly().days(0), pb::WEEKDAY_MONDAY);
  EXPECT_THAT(ListIds("", false), UnorderedElementsAre("rc-1", generated.id()));
  EXPECT_THAT(ListIds("plan-2", false), ElementsAre(generated.id()));

  // Update: schedule and chases, mask + etag; the next round is re-computed.
  pb::UpdateRollCallRequest up;
  up.mutable_roll_call()->set_id("rc-1");
  up.mutable_roll_call()->set_name("每5个工作日调度");
  auto* every = up.mutable_roll_call()->mutable_every_working_days();
  every->set_every_working_days(5);
  every->mutable_start_date()->set_year(2025);
  every->mutable_start_date()->set_month(4);
  every->mutable_start_date()->set_day(24);
  every->mutable_time()->set_hours(10);
  up.mutable_roll_call()->set_chase_after_working_days(2);
  up.mutable_roll_call()->set_max_chases(3);
  for (const char* p : {"name", "every_working_days", "chase_after_working_days", "max_chases"}) {
    up.mutable_update_mask()->add_paths(p);
  }
  up.set_etag(rc.etag());
  pb::RollCall updated;
  {
    grpc::ClientContext ctx;
    auto st = stub_->UpdateRollCall(&ctx, up, &updated);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(updated.name(), "每5个工作日调度");
  EXPECT_TRUE(updated.has_every_working_days());
  EXPECT_FALSE(updated.has_weekly());
  EXPECT_EQ(updated.max_chases(), 3);
  EXPECT_NE(updated.etag(), rc.etag());
  // 4-24, 4-30, 5-12, 5-19, 5-26 (10:00 > now 08:00).
  EXPECT_EQ(FromProtoTimestamp(updated.next_round_time()), Sh(2025, 5, 26, 10));
  {
    grpc::ClientContext ctx;
    pb::RollCall out;
    EXPECT_EQ(stub_->UpdateRollCall(&ctx, up, &out).error_code(), grpc::StatusCode::ABORTED);
  }

  // Pause: no next round, hidden from the default listing; twice is FAILED_PRECONDITION.
  pb::RollCall paused;
  EXPECT_EQ(Pause("rc-1", &paused, rc.etag()).error_code(), grpc::StatusCode::ABORTED);
  ASSERT_TRUE(Pause("rc-1", &paused, updated.etag()).ok());
  EXPECT_TRUE(paused.paused());
  EXPECT_FALSE(paused.has_next_round_time());
  EXPECT_EQ(Pause("rc-1", &ignored).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(ListIds("", false), ElementsAre(generated.id()));
  EXPECT_THAT(ListIds("", true), UnorderedElementsAre("rc-1", generated.id()));
  pb::RollCallRound round;
  EXPECT_EQ(Start("rc-1", &round).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Resume: the next slot after now.
  SetNow(Sh(2025, 5, 27, 12));
  pb::RollCall resumed;
  ASSERT_TRUE(Resume("rc-1", &resumed).ok());
  EXPECT_FALSE(resumed.paused());
  EXPECT_EQ(FromProtoTimestamp(resumed.next_round_time()), Sh(2025, 6, 3, 10));  // 5-26 + 5 wd
  EXPECT_EQ(Resume("rc-1", &ignored).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // Delete: gone for Get, but its rounds stay listable.
  Assign("a1", "gd.zq.a");
  ASSERT_TRUE(Start("rc-1", &round).ok());
  {
    grpc::ClientContext ctx;
    pb::DeleteRollCallRequest del;
    del.set_id("rc-1");
    pb::DeleteRollCallResponse resp;
    ASSERT_TRUE(stub_->DeleteRollCall(&ctx, del, &resp).ok());
  }
  EXPECT_EQ(Get("rc-1", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(ListIds("", true), ElementsAre(generated.id()));
  auto rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].state(), pb::ROUND_STATE_CLOSED);
  // Its pending digest was canceled, the row stays listable by roll_call_id.
  auto rows = RollCallRows("rc-1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state(), pb::REMINDER_STATE_CANCELED);
  ExpectNotInRedis(rows);
  EXPECT_EQ(Create(Weekly("rc-1", {pb::WEEKDAY_MONDAY}), &ignored).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(RollCallTest, RoundSendsOneDigestPerUnitAndChasesOnlyNonReporters) {
  Assign("a1", "gd.zq.a");
  Assign("a2", "gd.zq.a");
  Assign("b1", "gd.zq.b");
  Assign("c1", "gd.zq.c", "plan-1", pb::ASSIGNMENT_STATE_DONE);  // closed: nothing to call
  Assign("x1", "gd.sz.x");                                       // outside the subtree
  Assign("p1", "gd.zq.b", "plan-2");                             // another plan
  auto rc = Weekly("rc-1", {pb::WEEKDAY_MONDAY});
  rc.set_chase_after_working_days(1);
  rc.set_max_chases(2);
  CreateOk(rc);

  // Nothing is due before nine.
  EXPECT_EQ(Tick().rounds_started, 0);
  SetNow(Sh(2025, 5, 26, 9));
  EXPECT_EQ(Tick().rounds_started, 1);
  EXPECT_EQ(Tick().rounds_started, 0);  // idempotent

  auto digests = RollCallRows("rc-1");
  ASSERT_EQ(digests.size(), 2u);
  std::map<std::string, pb::Reminder> by_unit;
  for (const auto& r : digests) by_unit[r.unit_id()] = r;
  ASSERT_EQ(by_unit.count("gd.zq.a"), 1u);
  ASSERT_EQ(by_unit.count("gd.zq.b"), 1u);
  EXPECT_THAT(Ids(by_unit["gd.zq.a"]), UnorderedElementsAre("a1", "a2"));
  EXPECT_THAT(Ids(by_unit["gd.zq.b"]), ElementsAre("b1"));
  for (const auto& r : digests) {
    EXPECT_EQ(r.kind(), pb::REMINDER_KIND_ROLLCALL);
    EXPECT_EQ(r.state(), pb::REMINDER_STATE_SCHEDULED);
    EXPECT_EQ(r.chase(), 0);
    EXPECT_TRUE(r.assignment_id().empty());
    EXPECT_EQ(FromProtoTimestamp(r.planned_time()), Sh(2025, 5, 26, 9));
  }
  ExpectInRedis(digests);

  auto rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 1u);
  const std::string round_id = rounds[0].id();
  EXPECT_EQ(rounds[0].number(), 1);
  EXPECT_EQ(rounds[0].state(), pb::ROUND_STATE_OPEN);
  EXPECT_EQ(rounds[0].units_called(), 2);
  EXPECT_EQ(rounds[0].units_reported(), 0);
  EXPECT_EQ(FromProtoTimestamp(rounds[0].next_chase_time()), Sh(2025, 5, 27, 9));
  EXPECT_EQ(digests[0].round_id(), round_id);
  pb::RollCall got;
  ASSERT_TRUE(Get("rc-1", &got).ok());
  EXPECT_EQ(got.last_round_id(), round_id);
  EXPECT_EQ(FromProtoTimestamp(got.next_round_time()), Sh(2025, 6, 3, 9));  // 6-2 is 端午

  // A restart of the whole stack at the same instant sends nothing twice.
  CloseStack();
  OpenStack();
  EXPECT_EQ(Tick().rounds_started, 0);
  EXPECT_EQ(RollCallRows("rc-1").size(), 2u);

  // Unit b reports on its only assignment; unit a on one of two. A report from before the
  // round does not count.
  Report("b1", "gd.zq.b", 2, Sh(2025, 5, 26, 15));
  Report("a1", "gd.zq.a", 2, Sh(2025, 5, 26, 16));
  Report("a2", "gd.zq.a", 2, Sh(2025, 5, 26, 8, 30));
  EXPECT_THAT(RoundUnits(round_id, true),
              ElementsAre(::testing::Property(&pb::RollCallRoundUnit::unit_id, "gd.zq.a")));
  auto all_units = RoundUnits(round_id, false);
  ASSERT_EQ(all_units.size(), 2u);
  EXPECT_EQ(all_units[0].unit_id(), "gd.zq.a");
  EXPECT_EQ(all_units[0].assignments_called(), 2);
  EXPECT_EQ(all_units[0].assignments_reported(), 1);
  EXPECT_FALSE(all_units[0].reported());
  EXPECT_EQ(all_units[0].reminder_id(), by_unit["gd.zq.a"].id());
  EXPECT_TRUE(all_units[1].reported());

  // Chase 1 (one working day later): only unit a, listing only a2.
  SetNow(Sh(2025, 5, 27, 9));
  auto tick = Tick();
  EXPECT_EQ(tick.chase_waves, 1);
  EXPECT_EQ(tick.chases_sent, 1);
  auto chases = RollCallRows("rc-1");
  ASSERT_EQ(chases.size(), 3u);
  const pb::Reminder& chase1 = chases.back();
  EXPECT_EQ(chase1.unit_id(), "gd.zq.a");
  EXPECT_EQ(chase1.chase(), 1);
  EXPECT_THAT(Ids(chase1), ElementsAre("a2"));
  ExpectInRedis({chase1});
  EXPECT_EQ(Tick().chase_waves, 0);  // idempotent

  // Chase 2, then max_chases is reached: no third chase.
  SetNow(Sh(2025, 5, 28, 9));
  EXPECT_EQ(Tick().chases_sent, 1);
  SetNow(Sh(2025, 5, 29, 9));
  EXPECT_EQ(Tick().chase_waves, 0);
  SetNow(Sh(2025, 5, 30, 9));
  EXPECT_EQ(Tick().chase_waves, 0);
  chases = RollCallRows("rc-1");
  ASSERT_EQ(chases.size(), 4u);
  for (const auto& r : chases) {
    if (r.chase() > 0) {
      EXPECT_EQ(r.unit_id(), "gd.zq.a");
    }
  }
  EXPECT_EQ(chases.back().chase(), 2);

  rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].state(), pb::ROUND_STATE_CLOSED);
  EXPECT_EQ(rounds[0].units_reported(), 1);
  EXPECT_EQ(rounds[0].units_chased(), 1);
  EXPECT_EQ(rounds[0].chases_sent(), 2);
  EXPECT_FALSE(rounds[0].has_next_chase_time());
  all_units = RoundUnits(round_id, false);
  EXPECT_EQ(all_units[0].chase_reminder_ids_size(), 2);
  EXPECT_EQ(all_units[1].chase_reminder_ids_size(), 0);
}

TEST_F(RollCallTest, NoChaseOnceEveryoneReportedAndTaskFilterNarrowsTheCall) {
  Assign("a1", "gd.zq.a");
  auto other_task = Snapshot("a9", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.a");
  other_task.set_task_id("task-9");
  ScheduleOk(other_task);
  auto rc = Weekly("rc-1", {pb::WEEKDAY_MONDAY});
  rc.set_task_id("task-1");
  rc.set_chase_after_working_days(2);
  rc.set_max_chases(5);
  CreateOk(rc);
  SetNow(Sh(2025, 5, 26, 9));
  ASSERT_EQ(Tick().rounds_started, 1);
  auto rows = RollCallRows("rc-1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(Ids(rows[0]), ElementsAre("a1"));  // not a9 (another task)
  Report("a1", "gd.zq.a", 2, Sh(2025, 5, 26, 10));
  SetNow(Sh(2025, 5, 28, 9));
  auto tick = Tick();
  EXPECT_EQ(tick.chase_waves, 1);
  EXPECT_EQ(tick.chases_sent, 0);
  EXPECT_EQ(RollCallRows("rc-1").size(), 1u);
  auto rounds = Rounds("rc-1");
  EXPECT_EQ(rounds[0].state(), pb::ROUND_STATE_CLOSED);
  EXPECT_EQ(rounds[0].units_reported(), 1);
}

// A roll-call of a key task also calls the units of the tasks cascaded from it (task_path).
TEST_F(RollCallTest, TaskFilterIncludesTheTasksCascadedFromIt) {
  Assign("a1", "gd.zq.a");  // task-1 itself
  auto child = Snapshot("a2", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.a");
  child.set_task_id("task-1.b07");
  child.set_task_path("/task-1/task-1.b07/");
  ScheduleOk(child);
  auto other = Snapshot("a9", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.a");
  other.set_task_id("task-10");
  other.set_task_path("/task-10/");
  ScheduleOk(other);
  // A path that does not end with the task's own id is refused, naming the field.
  auto bad = Snapshot("a3", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.a");
  bad.set_task_path("/task-1/other/");
  pb::ScheduleAssignmentResponse resp;
  auto st = Schedule(bad, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::ViolatedFields(st), Contains("assignment.task_path"));

  auto rc = Weekly("rc-1", {pb::WEEKDAY_MONDAY});
  rc.set_task_id("task-1");
  CreateOk(rc);
  SetNow(Sh(2025, 5, 26, 9));
  ASSERT_EQ(Tick().rounds_started, 1);
  auto rows = RollCallRows("rc-1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(Ids(rows[0]), UnorderedElementsAre("a1", "a2"));  // not a9 (task-10)
}

TEST_F(RollCallTest, AfterAnOutageOneRoundAndOneChaseGoOutNotABurst) {
  Assign("a1", "gd.zq.a");
  auto rc = Weekly("rc-1", {pb::WEEKDAY_MONDAY});
  rc.set_chase_after_working_days(1);
  rc.set_max_chases(5);
  CreateOk(rc);
  SetNow(Sh(2025, 5, 26, 9));
  ASSERT_EQ(Tick().rounds_started, 1);
  // Down from Monday 09:00 to Thursday noon: the chases due Tuesday, Wednesday and Thursday
  // morning are not sent as a burst; one goes out and the next keeps the rhythm.
  SetNow(Sh(2025, 5, 29, 12));
  auto tick = Tick();
  EXPECT_EQ(tick.chase_waves, 1);
  EXPECT_EQ(tick.chases_sent, 1);
  auto rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0].chases_sent(), 1);
  EXPECT_EQ(FromProtoTimestamp(rounds[0].next_chase_time()), Sh(2025, 5, 30, 9));
  // Down again past two Monday slots (6-2 is 端午, so 6-3, then 6-9): one round starts, it
  // closes the first, and the schedule moves to the next slot after now.
  SetNow(Sh(2025, 6, 10, 12));
  tick = Tick();
  EXPECT_EQ(tick.rounds_started, 1);
  EXPECT_EQ(tick.chase_waves, 0);
  rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[1].state(), pb::ROUND_STATE_CLOSED);
  pb::RollCall got;
  ASSERT_TRUE(Get("rc-1", &got).ok());
  EXPECT_EQ(FromProtoTimestamp(got.next_round_time()), Sh(2025, 6, 16, 9));
}

TEST_F(RollCallTest, ManualRoundsAreIdempotentAndClosePreviousOnes) {
  Assign("a1", "gd.zq.a");
  auto rc = Weekly("rc-1", {pb::WEEKDAY_FRIDAY});
  rc.set_chase_after_working_days(1);
  rc.set_max_chases(1);
  CreateOk(rc);
  pb::RollCallRound first, again, second;
  ASSERT_TRUE(Start("rc-1", &first, "meeting-1").ok());
  ASSERT_TRUE(Start("rc-1", &again, "meeting-1").ok());
  EXPECT_EQ(first.id(), again.id());
  EXPECT_EQ(first.number(), 1);
  EXPECT_EQ(first.units_called(), 1);
  EXPECT_EQ(RollCallRows("rc-1").size(), 1u);
  pb::RollCall got;
  ASSERT_TRUE(Get("rc-1", &got).ok());
  EXPECT_EQ(FromProtoTimestamp(got.next_round_time()), Sh(2025, 5, 30, 9));  // unaffected

  SetNow(Sh(2025, 5, 26, 10));
  ASSERT_TRUE(Start("rc-1", &second).ok());
  EXPECT_EQ(second.number(), 2);
  auto rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[0].id(), second.id());  // newest first
  EXPECT_EQ(rounds[1].state(), pb::ROUND_STATE_CLOSED);
  EXPECT_EQ(RollCallRows("rc-1", {pb::REMINDER_STATE_SCHEDULED}).size(), 1u);

  // Pausing cancels the open round's pending messages and closes it.
  SetNow(Sh(2025, 5, 27, 10));
  EXPECT_EQ(Tick().chases_sent, 1);
  auto pending = RollCallRows("rc-1", {pb::REMINDER_STATE_SCHEDULED});
  ASSERT_EQ(pending.size(), 2u);  // round 2's digest and its chase
  pb::RollCall paused;
  ASSERT_TRUE(Pause("rc-1", &paused).ok());
  EXPECT_TRUE(RollCallRows("rc-1", {pb::REMINDER_STATE_SCHEDULED}).empty());
  ExpectNotInRedis(pending);
  EXPECT_EQ(Rounds("rc-1")[0].state(), pb::ROUND_STATE_CLOSED);
}

TEST_F(RollCallTest, RoundsCountAgainstTheBudgetButAreNeverMerged) {
  auto set_budget = [&](const std::string& unit, int max) {
    grpc::ClientContext ctx;
    pb::SetBurdenBudgetRequest req;
    req.mutable_budget()->set_unit_id(unit);
    req.mutable_budget()->set_max_messages_per_working_day(max);
    pb::BurdenBudget out;
    ASSERT_TRUE(stub_->SetBurdenBudget(&ctx, req, &out).ok());
  };
  auto usage = [&](const std::string& unit) {
    grpc::ClientContext ctx;
    pb::GetBurdenUsageRequest req;
    req.add_unit_ids(unit);
    req.mutable_date()->set_year(2025);
    req.mutable_date()->set_month(5);
    req.mutable_date()->set_day(26);
    pb::GetBurdenUsageResponse resp;
    EXPECT_TRUE(stub_->GetBurdenUsage(&ctx, req, &resp).ok());
    return resp.usages(0);
  };
  // Unit b is already at its budget when the round goes out: the roll-call still goes.
  ScheduleOk(
      Snapshot("b1", 1, Sh(2025, 5, 26, 12), Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.b"));
  const int b_before = usage("gd.zq.b").counted();
  ASSERT_GE(b_before, 1);
  set_budget("gd.zq.b", b_before);
  set_budget("gd.zq.a", 1);
  Assign("a1", "gd.zq.a");
  CreateOk(Weekly("rc-1", {pb::WEEKDAY_MONDAY}));
  SetNow(Sh(2025, 5, 26, 9));
  ASSERT_EQ(Tick().rounds_started, 1);
  auto rows = RollCallRows("rc-1");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& r : rows) EXPECT_EQ(r.state(), pb::REMINDER_STATE_SCHEDULED) << r.unit_id();
  EXPECT_EQ(usage("gd.zq.b").counted(), b_before + 1);
  EXPECT_EQ(usage("gd.zq.a").counted(), 1);
  // The roll-call used unit a's one message of the day: a reminder due later that day is
  // merged into the next digest.
  ScheduleOk(
      Snapshot("a2", 1, Sh(2025, 5, 26, 17), Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.a"));
  auto a2 = List("a2");
  bool merged = false;
  for (const auto& r : a2) {
    if (r.suppression_reason() == pb::SUPPRESSION_REASON_OVER_BUDGET) merged = true;
  }
  EXPECT_TRUE(merged);
  EXPECT_EQ(usage("gd.zq.a").counted(), 1);
  EXPECT_GE(usage("gd.zq.a").merged(), 1);
}

TEST_F(RollCallTest, TickerStartsDueRoundsInTheBackground) {
  Assign("a1", "gd.zq.a");
  CreateOk(Weekly("rc-1", {pb::WEEKDAY_MONDAY}));
  SetNow(Sh(2025, 5, 26, 9, 1));
  RollCallTicker ticker(*ledger_, absl::Milliseconds(20));
  ticker.Start();
  for (int i = 0; i < 200 && Rounds("rc-1").empty(); ++i) absl::SleepFor(absl::Milliseconds(10));
  ticker.Stop();
  auto rounds = Rounds("rc-1");
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(RollCallRows("rc-1").size(), 1u);
}

// ---------------------------------------------------------------- bad input

struct Case {
  std::string name;
  std::function<grpc::Status(pb::ReminderService::Stub&)> call;
  grpc::StatusCode code;
  std::string field;
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

TEST_F(RollCallTest, BadInputOnEveryRollCallMethodNamesTheFieldAndChangesNothing) {
  Assign("a1", "gd.zq.a");
  const pb::RollCall good = Weekly("rc-1", {pb::WEEKDAY_MONDAY});
  const pb::RollCall rc = CreateOk(good, "req-1");
  auto paused_rc = Weekly("rc-paused", {pb::WEEKDAY_MONDAY});
  pb::RollCall paused;
  CreateOk(paused_rc);
  ASSERT_TRUE(Pause("rc-paused", &paused).ok());
  pb::RollCallRound round;
  ASSERT_TRUE(Start("rc-1", &round).ok());

  auto fingerprint = [&] {
    std::string out;
    for (const char* id : {"rc-1", "rc-paused"}) {
      pb::RollCall got;
      auto st = Get(id, &got);
      absl::StrAppend(&out, id, ":", st.error_code(), ":", got.etag(), ":", got.paused(), ";");
      for (const auto& r : Rounds(id)) absl::StrAppend(&out, r.id(), "/", r.state(), ";");
      for (const auto& r : RollCallRows(id)) absl::StrAppend(&out, r.id(), "/", r.state(), ";");
    }
    for (const auto& id : ListIds("", true)) absl::StrAppend(&out, id, ",");
    auto s = StatsOk();
    absl::StrAppend(&out, "|", s.scheduled(), ",", s.ledger_scheduled(), ",", s.ledger_canceled());
    return out;
  };

  std::vector<Case> cases;
  auto create = [&](std::string name, std::function<void(pb::CreateRollCallRequest&)> edit,
                    std::string field, grpc::StatusCode code = kInvalid) {
    pb::CreateRollCallRequest req;
    *req.mutable_roll_call() = good;
    req.mutable_roll_call()->set_id("rc-new");
    edit(req);
    cases.push_back({"CreateRollCall " + name, Call(&Stub::CreateRollCall, req), code, field});
  };
  create(
      "bad id", [](auto& r) { r.mutable_roll_call()->set_id("Bad Id"); }, "roll_call.id");
  create(
      "taken id", [](auto& r) { r.mutable_roll_call()->set_id("rc-1"); }, "roll_call.id",
      grpc::StatusCode::ALREADY_EXISTS);
  create(
      "no name", [](auto& r) { r.mutable_roll_call()->clear_name(); }, "roll_call.name");
  create(
      "long name", [](auto& r) { r.mutable_roll_call()->set_name(std::string(101, 'x')); },
      "roll_call.name");
  create(
      "no plan", [](auto& r) { r.mutable_roll_call()->clear_plan_id(); }, "roll_call.plan_id");
  create(
      "no root", [](auto& r) { r.mutable_roll_call()->clear_root_unit_id(); },
      "roll_call.root_unit_id");
  create(
      "unknown root", [](auto& r) { r.mutable_roll_call()->set_root_unit_id("unknown.zq"); },
      "roll_call.root_unit_id");
  create(
      "bad task", [](auto& r) { r.mutable_roll_call()->set_task_id("任务"); }, "roll_call.task_id");
  create(
      "no schedule", [](auto& r) { r.mutable_roll_call()->clear_weekly(); }, "roll_call.schedule");
  create(
      "no days", [](auto& r) { r.mutable_roll_call()->mutable_weekly()->clear_days(); },
      "roll_call.weekly.days");
  create(
      "unknown day",
      [](auto& r) { r.mutable_roll_call()->mutable_weekly()->set_days(0, pb::Weekday(9)); },
      "roll_call.weekly.days[0]");
  create(
      "duplicate day",
      [](auto& r) { r.mutable_roll_call()->mutable_weekly()->add_days(pb::WEEKDAY_MONDAY); },
      "roll_call.weekly.days[1]");
  create(
      "no time", [](auto& r) { r.mutable_roll_call()->mutable_weekly()->clear_time(); },
      "roll_call.weekly.time");
  create(
      "bad time",
      [](auto& r) { r.mutable_roll_call()->mutable_weekly()->mutable_time()->set_hours(24); },
      "roll_call.weekly.time");
  auto every = [](int n) {
    return [n](pb::CreateRollCallRequest& r) {
      auto* e = r.mutable_roll_call()->mutable_every_working_days();
      e->set_every_working_days(n);
      e->mutable_time()->set_hours(9);
    };
  };
  create("every 0", every(0), "roll_call.every_working_days.every_working_days");
  create("every 61", every(61), "roll_call.every_working_days.every_working_days");
  create(
      "bad start date",
      [&](auto& r) {
        every(5)(r);
        auto* d = r.mutable_roll_call()->mutable_every_working_days()->mutable_start_date();
        d->set_year(2025);
        d->set_month(2);
        d->set_day(30);
      },
      "roll_call.every_working_days.start_date");
  create(
      "every without time",
      [&](auto& r) {
        every(5)(r);
        r.mutable_roll_call()->mutable_every_working_days()->clear_time();
      },
      "roll_call.every_working_days.time");
  create(
      "chase 11", [](auto& r) { r.mutable_roll_call()->set_chase_after_working_days(11); },
      "roll_call.chase_after_working_days");
  create(
      "max chases 6", [](auto& r) { r.mutable_roll_call()->set_max_chases(6); },
      "roll_call.max_chases");
  create(
      "chase without max", [](auto& r) { r.mutable_roll_call()->set_chase_after_working_days(2); },
      "roll_call.max_chases");
  create(
      "bad request id", [](auto& r) { r.set_request_id(std::string(129, 'r')); }, "request_id");
  create(
      "request id reused", [](auto& r) { r.set_request_id("req-1"); }, "request_id");

  {
    pb::GetRollCallRequest req;
    req.set_id("Bad");
    cases.push_back({"GetRollCall bad id", Call(&Stub::GetRollCall, req), kInvalid, "id"});
    req.set_id("rc-none");
    cases.push_back(
        {"GetRollCall unknown", Call(&Stub::GetRollCall, req), grpc::StatusCode::NOT_FOUND, "id"});
  }
  {
    pb::ListRollCallsRequest req;
    req.set_page_size(-1);
    cases.push_back(
        {"ListRollCalls negative size", Call(&Stub::ListRollCalls, req), kInvalid, "page_size"});
    req.set_page_size(1);
    req.set_page_token("garbage");
    cases.push_back(
        {"ListRollCalls bad token", Call(&Stub::ListRollCalls, req), kInvalid, "page_token"});
    req.clear_page_token();
    req.set_plan_id("Bad Plan");
    cases.push_back(
        {"ListRollCalls bad plan", Call(&Stub::ListRollCalls, req), kInvalid, "plan_id"});
    // A token issued for another filter.
    pb::ListRollCallsRequest first;
    first.set_page_size(1);
    first.set_include_paused(true);
    grpc::ClientContext ctx;
    pb::ListRollCallsResponse resp;
    ASSERT_TRUE(stub_->ListRollCalls(&ctx, first, &resp).ok());
    ASSERT_FALSE(resp.next_page_token().empty());
    pb::ListRollCallsRequest other;
    other.set_page_token(resp.next_page_token());
    cases.push_back(
        {"ListRollCalls foreign token", Call(&Stub::ListRollCalls, other), kInvalid, "page_token"});
  }
  auto update = [&](std::string name, std::function<void(pb::UpdateRollCallRequest&)> edit,
                    std::string field, grpc::StatusCode code = kInvalid) {
    pb::UpdateRollCallRequest req;
    *req.mutable_roll_call() = good;
    req.mutable_update_mask()->add_paths("name");
    req.set_etag(rc.etag());
    edit(req);
    cases.push_back({"UpdateRollCall " + name, Call(&Stub::UpdateRollCall, req), code, field});
  };
  update(
      "no mask", [](auto& r) { r.clear_update_mask(); }, "update_mask");
  update(
      "immutable path", [](auto& r) { r.mutable_update_mask()->add_paths("plan_id"); },
      "update_mask");
  update(
      "bad id", [](auto& r) { r.mutable_roll_call()->set_id("Bad"); }, "roll_call.id");
  update(
      "unknown id", [](auto& r) { r.mutable_roll_call()->set_id("rc-none"); }, "roll_call.id",
      grpc::StatusCode::NOT_FOUND);
  update(
      "stale etag", [](auto& r) { r.set_etag("999"); }, "etag", grpc::StatusCode::ABORTED);
  update(
      "empty name", [](auto& r) { r.mutable_roll_call()->clear_name(); }, "roll_call.name");
  update(
      "weekly missing",
      [](auto& r) {
        r.mutable_roll_call()->clear_weekly();
        r.mutable_update_mask()->add_paths("weekly");
      },
      "roll_call.weekly");
  update(
      "bad weekly time",
      [](auto& r) {
        r.mutable_roll_call()->mutable_weekly()->mutable_time()->set_minutes(60);
        r.mutable_update_mask()->add_paths("weekly");
      },
      "roll_call.weekly.time");
  update(
      "max chases 9",
      [](auto& r) {
        r.mutable_roll_call()->set_max_chases(9);
        r.mutable_update_mask()->add_paths("max_chases");
      },
      "roll_call.max_chases");
  update(
      "chase without max",
      [](auto& r) {
        r.mutable_roll_call()->set_chase_after_working_days(3);
        r.mutable_update_mask()->add_paths("chase_after_working_days");
      },
      "roll_call.max_chases");
  {
    pb::PauseRollCallRequest req;
    req.set_id("Bad");
    cases.push_back({"PauseRollCall bad id", Call(&Stub::PauseRollCall, req), kInvalid, "id"});
    req.set_id("rc-none");
    cases.push_back({"PauseRollCall unknown", Call(&Stub::PauseRollCall, req),
                     grpc::StatusCode::NOT_FOUND, "id"});
    req.set_id("rc-1");
    req.set_etag("999");
    cases.push_back({"PauseRollCall stale etag", Call(&Stub::PauseRollCall, req),
                     grpc::StatusCode::ABORTED, "etag"});
    req.set_id("rc-paused");
    req.clear_etag();
    cases.push_back({"PauseRollCall already paused", Call(&Stub::PauseRollCall, req),
                     grpc::StatusCode::FAILED_PRECONDITION, "id"});
  }
  {
    pb::ResumeRollCallRequest req;
    req.set_id("Bad");
    cases.push_back({"ResumeRollCall bad id", Call(&Stub::ResumeRollCall, req), kInvalid, "id"});
    req.set_id("rc-1");
    cases.push_back({"ResumeRollCall not paused", Call(&Stub::ResumeRollCall, req),
                     grpc::StatusCode::FAILED_PRECONDITION, "id"});
    req.set_id("rc-paused");
    req.set_etag("999");
    cases.push_back({"ResumeRollCall stale etag", Call(&Stub::ResumeRollCall, req),
                     grpc::StatusCode::ABORTED, "etag"});
  }
  {
    pb::DeleteRollCallRequest req;
    req.set_id("Bad");
    cases.push_back({"DeleteRollCall bad id", Call(&Stub::DeleteRollCall, req), kInvalid, "id"});
    req.set_id("rc-none");
    cases.push_back({"DeleteRollCall unknown", Call(&Stub::DeleteRollCall, req),
                     grpc::StatusCode::NOT_FOUND, "id"});
    req.set_id("rc-1");
    req.set_etag("999");
    cases.push_back({"DeleteRollCall stale etag", Call(&Stub::DeleteRollCall, req),
                     grpc::StatusCode::ABORTED, "etag"});
  }
  {
    pb::StartRollCallRoundRequest req;
    req.set_id("Bad");
    cases.push_back(
        {"StartRollCallRound bad id", Call(&Stub::StartRollCallRound, req), kInvalid, "id"});
    req.set_id("rc-none");
    cases.push_back({"StartRollCallRound unknown", Call(&Stub::StartRollCallRound, req),
                     grpc::StatusCode::NOT_FOUND, "id"});
    req.set_id("rc-paused");
    cases.push_back({"StartRollCallRound paused", Call(&Stub::StartRollCallRound, req),
                     grpc::StatusCode::FAILED_PRECONDITION, "id"});
    req.set_id("rc-1");
    req.set_request_id("\x01");
    cases.push_back({"StartRollCallRound bad request id", Call(&Stub::StartRollCallRound, req),
                     kInvalid, "request_id"});
  }
  {
    pb::ListRollCallRoundsRequest req;
    cases.push_back({"ListRollCallRounds no id", Call(&Stub::ListRollCallRounds, req), kInvalid,
                     "roll_call_id"});
    req.set_roll_call_id("rc-none");
    cases.push_back({"ListRollCallRounds unknown", Call(&Stub::ListRollCallRounds, req),
                     grpc::StatusCode::NOT_FOUND, "roll_call_id"});
    req.set_roll_call_id("rc-1");
    req.set_page_size(-3);
    cases.push_back({"ListRollCallRounds negative size", Call(&Stub::ListRollCallRounds, req),
                     kInvalid, "page_size"});
    req.set_page_size(1);
    req.set_page_token("xx");
    cases.push_back({"ListRollCallRounds bad token", Call(&Stub::ListRollCallRounds, req), kInvalid,
                     "page_token"});
  }
  {
    pb::ListRollCallRoundUnitsRequest req;
    cases.push_back({"ListRollCallRoundUnits no id", Call(&Stub::ListRollCallRoundUnits, req),
                     kInvalid, "round_id"});
    req.set_round_id("rnd-none");
    cases.push_back({"ListRollCallRoundUnits unknown", Call(&Stub::ListRollCallRoundUnits, req),
                     grpc::StatusCode::NOT_FOUND, "round_id"});
    req.set_round_id(round.id());
    req.set_page_size(-1);
    cases.push_back({"ListRollCallRoundUnits negative size",
                     Call(&Stub::ListRollCallRoundUnits, req), kInvalid, "page_size"});
    req.set_page_size(1);
    req.set_page_token("xx");
    cases.push_back({"ListRollCallRoundUnits bad token", Call(&Stub::ListRollCallRoundUnits, req),
                     kInvalid, "page_token"});
  }

  const std::string before = fingerprint();
  for (const Case& c : cases) {
    grpc::Status st = c.call(*stub_);
    EXPECT_EQ(st.error_code(), c.code) << c.name << ": " << st.error_message();
    EXPECT_THAT(testing::ViolatedFields(st), Contains(c.field)) << c.name;
    EXPECT_EQ(fingerprint(), before) << c.name << " changed something";
  }

  // The unit service down: UNAVAILABLE, nothing written.
  units_.available = false;
  pb::RollCall out;
  auto fresh = good;
  fresh.set_id("rc-new");
  EXPECT_EQ(Create(fresh, &out).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Start("rc-1", &round).error_code(), grpc::StatusCode::UNAVAILABLE);
  units_.available = true;
  EXPECT_EQ(fingerprint(), before);
}

}  // namespace
}  // namespace duban::reminders
