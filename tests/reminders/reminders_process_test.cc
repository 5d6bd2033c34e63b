// The duban-reminders binary as an operator runs it, with a real duban-units and a private
// redis-server: kill -9 durability of the ledger, start-up Reconcile, flags, SIGTERM, and a
// roll-call round over the subtree the real UnitService returns.
#include <signal.h>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fstream>

#include "duban/grpc_server.h"
#include "duban/queue/job_queue.h"
#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/time_util.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "redis_server.h"
#include "support/child_process.h"
#include "support/grpc_test_util.h"
#include "support/temp_dir.h"

namespace duban {
namespace {

namespace pb = ::duban::reminders::v1;
namespace upb = ::duban::units::v1;
using testing::BuiltBinary;
using testing::ChildProcess;
using testing::TempDir;

class RemindersProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    units_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{BuiltBinary("services/units/duban-units"), "--listen",
                                 "127.0.0.1:0", "--data-dir", dir_.File("units"), "--log-level",
                                 "warn"},
        dir_.File("units.log"));
    units_addr_ = units_->WaitForLine("LISTENING ");
    ASSERT_FALSE(units_addr_.empty());
    auto channel = MakeChannel(units_addr_);
    ASSERT_TRUE(testing::WaitForServing(channel, ""));
    auto stub = upb::UnitService::NewStub(channel);
    grpc::ClientContext ctx;
    upb::CreateUnitRequest req;
    req.mutable_unit()->set_id("gd.zq.duanzhou");
    req.mutable_unit()->set_name("端州区");
    req.mutable_unit()->set_kind(upb::UNIT_KIND_DISTRICT);
    upb::Unit unit;
    ASSERT_TRUE(stub->CreateUnit(&ctx, req, &unit).ok());
  }

  std::unique_ptr<ChildProcess> StartReminders(std::string* address) {
    auto p = std::make_unique<ChildProcess>(
        std::vector<std::string>{BuiltBinary("services/reminders/duban-reminders"), "--listen",
                                 "127.0.0.1:0", "--data-dir", dir_.File("reminders"), "--redis",
                                 redis_.url(), "--units-addr", units_addr_, "--log-level", "warn"},
        dir_.File("reminders.log"));
    *address = p->WaitForLine("LISTENING ");
    return p;
  }

  static pb::ScheduleAssignmentRequest Request(int64_t version, absl::Time deadline) {
    pb::ScheduleAssignmentRequest req;
    auto* s = req.mutable_assignment();
    s->set_assignment_id("a1");
    s->set_version(version);
    s->set_plan_id("plan-1");
    s->set_task_id("task-1");
    s->set_unit_id("gd.zq.duanzhou");
    s->set_state(pb::ASSIGNMENT_STATE_ASSIGNED);
    *s->mutable_create_time() = ToProtoTimestamp(absl::Now());
    *s->mutable_deadline_time() = ToProtoTimestamp(deadline);
    *s->mutable_change_time() = ToProtoTimestamp(absl::Now());
    return req;
  }

  int JobsInRedis(const pb::ScheduleAssignmentResponse& resp) {
    auto q = queue::JobQueue::Create(redis_.url(), queue::QueueOptions());
    EXPECT_TRUE(q.ok());
    int n = 0;
    for (const auto& r : resp.pending()) {
      auto job = (*q)->GetJob(r.id());
      if (job.ok() && job->has_value() && (*job)->version == r.version()) ++n;
    }
    return n;
  }

  TempDir dir_;
  testing::RedisServer redis_;
  std::unique_ptr<ChildProcess> units_;
  std::string units_addr_;
};

TEST_F(RemindersProcess, LedgerSurvivesKillMinus9AndStartupReconcileRestoresRedis) {
  std::string address;
  auto server = StartReminders(&address);
  ASSERT_FALSE(address.empty());
  auto channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, "duban.reminders.v1.ReminderService"));
  auto stub = pb::ReminderService::NewStub(channel);
  const absl::Time deadline = absl::Now() + absl::Hours(24 * 20);
  pb::ScheduleAssignmentResponse first;
  {
    grpc::ClientContext ctx;
    auto st = stub->ScheduleAssignment(&ctx, Request(1, deadline), &first);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_GT(first.pending_size(), 5);
  EXPECT_EQ(JobsInRedis(first), first.pending_size());

  int status = server->Signal(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status));
  redis_.FlushAll();  // lose the schedule too

  server = StartReminders(&address);
  ASSERT_FALSE(address.empty());
  channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, ""));
  stub = pb::ReminderService::NewStub(channel);
  // The start-up Reconcile rebuilds the schedule from the ledger.
  for (int i = 0; i < 100 && JobsInRedis(first) < first.pending_size(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(JobsInRedis(first), first.pending_size());
  {
    grpc::ClientContext ctx;
    pb::ScheduleAssignmentResponse again;
    ASSERT_TRUE(stub->ScheduleAssignment(&ctx, Request(1, deadline), &again).ok());
    EXPECT_EQ(again.outcome(), pb::APPLY_OUTCOME_DUPLICATE);
    EXPECT_EQ(again.pending_size(), first.pending_size());
  }
  {
    grpc::ClientContext ctx;
    pb::GetReminderRequest req;
    req.set_id(first.pending(0).id());
    pb::Reminder r;
    ASSERT_TRUE(stub->GetReminder(&ctx, req, &r).ok());
    EXPECT_EQ(r.version(), first.pending(0).version());
  }
  // The unit service going away delays scheduling (UNAVAILABLE: the outbox retries).
  units_->Signal(SIGKILL);
  {
    grpc::ClientContext ctx;
    pb::ScheduleAssignmentResponse resp;
    auto st = stub->ScheduleAssignment(&ctx, Request(2, deadline + absl::Hours(48)), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_F(RemindersProcess, RollCallRoundCallsTheSubtreeReadFromTheUnitService) {
  // The real UnitService: gd.zq.duanzhou (from SetUp) → gd.zq.duanzhou.a; gd.sz is elsewhere.
  {
    auto units = upb::UnitService::NewStub(MakeChannel(units_addr_));
    for (auto [id, parent] :
         {std::pair<std::string, std::string>{"gd.zq.duanzhou.a", "gd.zq.duanzhou"},
          {"gd.sz", ""}}) {
      grpc::ClientContext ctx;
      upb::CreateUnitRequest req;
      req.mutable_unit()->set_id(id);
      req.mutable_unit()->set_name("单位");
      req.mutable_unit()->set_kind(upb::UNIT_KIND_TOWN);
      req.mutable_unit()->set_parent_id(parent);
      upb::Unit unit;
      auto st = units->CreateUnit(&ctx, req, &unit);
      ASSERT_TRUE(st.ok()) << st.error_message();
    }
  }
  std::string address;
  auto server = StartReminders(&address);
  ASSERT_FALSE(address.empty());
  auto channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, "duban.reminders.v1.ReminderService"));
  auto stub = pb::ReminderService::NewStub(channel);
  const absl::Time deadline = absl::Now() + absl::Hours(24 * 20);
  for (auto [id, unit] : {std::pair<std::string, std::string>{"a1", "gd.zq.duanzhou"},
                          {"a2", "gd.zq.duanzhou.a"},
                          {"a3", "gd.sz"}}) {
    auto req = Request(1, deadline);
    req.mutable_assignment()->set_assignment_id(id);
    req.mutable_assignment()->set_unit_id(unit);
    grpc::ClientContext ctx;
    pb::ScheduleAssignmentResponse resp;
    auto st = stub->ScheduleAssignment(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    pb::CreateRollCallRequest req;
    auto* rc = req.mutable_roll_call();
    rc->set_id("rc-1");
    rc->set_name("每周一调度");
    rc->set_plan_id("plan-1");
    rc->set_root_unit_id("gd.zq.duanzhou");
    rc->mutable_weekly()->add_days(pb::WEEKDAY_MONDAY);
    rc->mutable_weekly()->mutable_time()->set_hours(9);
    pb::RollCall out;
    auto st = stub->CreateRollCall(&ctx, req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(out.has_next_round_time());
  }
  {
    grpc::ClientContext ctx;
    pb::CreateRollCallRequest req;
    req.mutable_roll_call()->set_name("x");
    req.mutable_roll_call()->set_plan_id("plan-1");
    req.mutable_roll_call()->set_root_unit_id("gd.nowhere");
    req.mutable_roll_call()->mutable_weekly()->add_days(pb::WEEKDAY_MONDAY);
    req.mutable_roll_call()->mutable_weekly()->mutable_time()->set_hours(9);
    pb::RollCall out;
    auto st = stub->CreateRollCall(&ctx, req, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(testing::ViolatedFields(st), ::testing::Contains("roll_call.root_unit_id"));
  }
  pb::RollCallRound round;
  {
    grpc::ClientContext ctx;
    pb::StartRollCallRoundRequest req;
    req.set_id("rc-1");
    auto st = stub->StartRollCallRound(&ctx, req, &round);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(round.units_called(), 2);  // the root and its child, not gd.sz
  pb::ListRemindersResponse rows;
  {
    grpc::ClientContext ctx;
    pb::ListRemindersRequest req;
    req.set_roll_call_id("rc-1");
    ASSERT_TRUE(stub->ListReminders(&ctx, req, &rows).ok());
  }
  ASSERT_EQ(rows.reminders_size(), 2);
  auto q = queue::JobQueue::Create(redis_.url(), queue::QueueOptions());
  ASSERT_TRUE(q.ok());
  for (const auto& r : rows.reminders()) {
    EXPECT_EQ(r.kind(), pb::REMINDER_KIND_ROLLCALL);
    EXPECT_NE(r.unit_id(), "gd.sz");
    auto job = (*q)->GetJob(r.id());
    ASSERT_TRUE(job.ok());
    EXPECT_TRUE(job->has_value()) << r.id();
  }
}

TEST_F(RemindersProcess, SigtermShutsDownGracefully) {
  std::string address;
  auto server = StartReminders(&address);
  ASSERT_FALSE(address.empty());
  ASSERT_TRUE(testing::WaitForServing(MakeChannel(address), ""));
  server->Signal(SIGTERM, /*wait=*/false);
  int status = server->Wait(std::chrono::seconds(15));
  ASSERT_NE(status, -1) << "did not exit within 15 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(RemindersProcess, MissingRedisFlagExitsNamingIt) {
  std::string err = dir_.File("err.log");
  ChildProcess p({BuiltBinary("services/reminders/duban-reminders"), "--data-dir", dir_.File("r2"),
                  "--units-addr", units_addr_},
                 err);
  int status = p.Wait(std::chrono::seconds(10));
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("--redis"), std::string::npos) << text;
}

}  // namespace
}  // namespace duban
