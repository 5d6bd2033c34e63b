// The reminders outbox end to end: TaskDirectory writes rows in the change's transaction,
// OutboxDispatcher delivers them through GrpcReminderSink to an in-process ReminderService
// fake that fails and then recovers. Nothing is lost, order is kept per assignment, a row the
// reminders service rejects for good is isolated and kept aside.
#include <gtest/gtest.h>

#include <absl/strings/str_cat.h>

#include <map>
#include <thread>

#include "duban/grpc_server.h"
#include "fake_reminders.h"
#include "grpc_clients.h"
#include "outbox_dispatcher.h"
#include "task_fixture.h"

namespace duban::tasks::testing {
namespace {

using A = AssignmentAction;

class OutboxTest : public TaskFixture {
 protected:
  void SetUp() override {
    TaskFixture::SetUp();
    StartReminders("127.0.0.1:0");
    address_ = server_->address();
    sink_ = std::make_unique<GrpcReminderSink>(
        MakeDependencyChannel(address_, std::chrono::milliseconds(100)), std::chrono::seconds(5));
    OutboxOptions o;
    o.batch_size = 500;
    o.initial_backoff = std::chrono::milliseconds(10);
    o.max_backoff = std::chrono::milliseconds(100);
    o.idle_poll = std::chrono::milliseconds(200);
    dispatcher_ = std::make_unique<OutboxDispatcher>(*store_, *sink_, o);
    directory_->SetOutboxListener([this] { dispatcher_->Notify(); });
  }

  void TearDown() override {
    dispatcher_->Stop();
    if (server_) server_->Shutdown();
  }

  void StartReminders(const std::string& listen) {
    ServerOptions so;
    so.listen = listen;
    // gRPC's sync server refuses (RESOURCE_EXHAUSTED) rather than queues a call when no
    // handler is free, counting its own pollers; 2 threads flaked with two dispatchers sending.
    so.handler_threads = 8;
    so.shutdown_grace = std::chrono::milliseconds(100);
    so.log_rpcs = false;
    auto server = GrpcServer::Start(so, {&fake_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  int64_t Pending() {
    int64_t n = -1;
    EXPECT_TRUE(store_
                    ->Read([&](TaskReader& tx) -> absl::Status {
                      auto c = tx.CountOutbox();
                      if (!c.ok()) return c.status();
                      n = *c;
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  int64_t Dead() {
    int64_t n = -1;
    EXPECT_TRUE(store_
                    ->Read([&](TaskReader& tx) -> absl::Status {
                      auto c = tx.CountDeadOutbox();
                      if (!c.ok()) return c.status();
                      n = *c;
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  }

  bool WaitDrained(std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (Pending() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Every change for the reminders service that TaskDirectory wrote, by key, in order.
  std::map<std::string, std::vector<int64_t>> Expected(const std::vector<OutboxMessage>& rows) {
    std::map<std::string, std::vector<int64_t>> out;
    for (const auto& m : rows) {
      if (m.kind == OutboxKind::kPlanDefaultPolicy) {
        out["plan:" + m.plan_id].push_back(m.plan_version);
      } else {
        out[m.snapshot.assignment_id].push_back(m.snapshot.version);
      }
    }
    return out;
  }

  std::map<std::string, std::vector<int64_t>> Delivered() {
    std::map<std::string, std::vector<int64_t>> out;
    for (const auto& r : fake_.received()) out[r.key].push_back(r.version);
    return out;
  }

  // Some traffic: a plan with a default policy, tasks, transitions, a deadline change.
  void MakeTraffic(int tasks) {
    Plan p = MakePlan("p1");
    p.default_reminder_policy_id = "strict";
    ASSERT_TRUE(directory_->CreatePlan(p, "", Who()).ok());
    for (int i = 0; i < tasks; ++i) {
      Task t = CreateTask(absl::StrCat("t", i), LocalUs(2025, 10, 31, 18), {"gd.zq.fin"});
      const std::string lead = t.assignments[0].assignment_id;
      ASSERT_TRUE(Do(A::kAcknowledge, lead).ok());
      ASSERT_TRUE(Report(lead, 20).ok());
      if (i % 2) {
        ASSERT_TRUE(Do(A::kSubmit, lead).ok());
        ASSERT_TRUE(Do(A::kApprove, lead).ok());
      }
      Task patch;
      patch.id = t.id;
      patch.deadline = At(LocalUs(2025, 11, 7, 18));
      ASSERT_TRUE(directory_->UpdateTask(patch, {"deadline"}, "", Who(), "").ok());
    }
  }

  FakeReminders fake_;
  std::unique_ptr<GrpcServer> server_;
  std::string address_;
  std::unique_ptr<GrpcReminderSink> sink_;
  std::unique_ptr<OutboxDispatcher> dispatcher_;
};

TEST_F(OutboxTest, OutageDelaysButLosesNothingAndKeepsOrder) {
  fake_.SetDown(true);
  dispatcher_->Start();
  MakeTraffic(30);  // every change succeeds while reminders is down
  const auto expected = Expected(Outbox());
  ASSERT_GT(expected.size(), 60u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(fake_.failures(), 2);
  EXPECT_TRUE(fake_.received().empty());
  EXPECT_GT(Pending(), 0);
  fake_.SetDown(false);
  ASSERT_TRUE(WaitDrained());
  EXPECT_EQ(Delivered(), expected);  // every version of every assignment, in order
  EXPECT_EQ(Dead(), 0);
  // The last change of an approved lead is a cancel with the final state.
  bool saw_done_cancel = false;
  for (const auto& r : fake_.received()) {
    saw_done_cancel |= r.cancel && r.state == static_cast<int>(AssignmentState::kDone);
  }
  EXPECT_TRUE(saw_done_cancel);
}

TEST_F(OutboxTest, FlakyServiceIsRetriedWithoutDuplicatesOrGaps) {
  MakeTraffic(10);
  const auto expected = Expected(Outbox());
  fake_.FailNext(4);
  dispatcher_->Start();
  ASSERT_TRUE(WaitDrained());
  EXPECT_EQ(Delivered(), expected);
  EXPECT_GE(dispatcher_->stats().failed_passes, 4);
  // New changes are delivered promptly after a notification.
  const size_t before = fake_.received().size();
  ASSERT_TRUE(Do(A::kCancel, AssignmentOf(*directory_->GetTask("t0"), "gd.zq.fin"), "x").ok());
  ASSERT_TRUE(WaitDrained(std::chrono::seconds(2)));
  EXPECT_EQ(fake_.received().size(), before + 1);
}

TEST_F(OutboxTest, RemindersProcessGoneAndBackOnTheSameAddress) {
  server_->Shutdown();
  server_.reset();
  dispatcher_->Start();
  MakeTraffic(5);
  const auto expected = Expected(Outbox());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(Pending(), 0);
  EXPECT_GT(dispatcher_->stats().failed_passes, 0);
  StartReminders(address_);
  ASSERT_TRUE(WaitDrained());
  EXPECT_EQ(Delivered(), expected);
}

TEST_F(OutboxTest, ARejectedChangeIsIsolatedAndKeptAside) {
  CreatePlan();
  Task a = CreateTask("ta", LocalUs(2025, 10, 31, 18));
  Task b = CreateTask("tb", LocalUs(2025, 10, 31, 18));
  Task c = CreateTask("tc", LocalUs(2025, 10, 31, 18));
  const std::string bad = b.assignments[0].assignment_id;
  fake_.Reject(bad);
  // A plan whose policy the reminders service does not know (NOT_FOUND): kept aside too.
  policies_.known.insert("poison");
  Plan p = MakePlan("p2");
  p.default_reminder_policy_id = "poison";
  ASSERT_TRUE(directory_->CreatePlan(p, "", Who()).ok());
  ASSERT_TRUE(Do(A::kAcknowledge, c.assignments[0].assignment_id).ok());
  dispatcher_->Start();
  ASSERT_TRUE(WaitDrained());
  EXPECT_EQ(Dead(), 2);
  EXPECT_EQ(dispatcher_->stats().buried, 2);
  auto got = Delivered();
  EXPECT_EQ(got.count(bad), 0u);
  EXPECT_EQ(got[a.assignments[0].assignment_id], (std::vector<int64_t>{1}));
  EXPECT_EQ(got[c.assignments[0].assignment_id], (std::vector<int64_t>{1, 2}));
}

TEST_F(OutboxTest, LargeBacklogGoesOutInBoundedBatches) {
  CreatePlan();
  std::vector<std::string> coop;
  Task t = CreateTask("big", LocalUs(2025, 10, 31, 18));
  for (int i = 0; i < 60; ++i) {
    Task patch;
    patch.id = "big";
    patch.deadline = At(LocalUs(2025, 10, 31, 18) + (i + 1) * 60'000'000LL);
    ASSERT_TRUE(directory_->UpdateTask(patch, {"deadline"}, "", Who(), "").ok());
  }
  // 61 rows for one assignment; a small batch size forces several passes.
  OutboxOptions o;
  o.batch_size = 7;
  o.initial_backoff = std::chrono::milliseconds(10);
  OutboxDispatcher small(*store_, *sink_, o);
  int passes = 0;
  while (Pending() > 0 && passes < 100) {
    auto n = small.RunOnce();
    ASSERT_TRUE(n.ok()) << n.status();
    ++passes;
  }
  EXPECT_EQ(passes, 9);
  EXPECT_LE(fake_.largest_batch(), 7u);
  auto versions = Delivered()[t.assignments[0].assignment_id];
  ASSERT_EQ(versions.size(), 61u);
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], int64_t(i + 1));
  EXPECT_EQ(fake_.received().back().deadline_seconds,
            (LocalUs(2025, 10, 31, 18) + 60 * 60'000'000LL) / 1'000'000);
}

TEST(OutboxMessages, SnapshotsMapToTheRemindersApi) {
  OutboxMessage m;
  m.kind = OutboxKind::kScheduleAssignment;
  m.snapshot.assignment_id = "a-1";
  m.snapshot.version = 3;
  m.snapshot.plan_id = "p1";
  m.snapshot.task_id = "t1";
  m.snapshot.unit_id = "gd";
  m.snapshot.role = AssignmentRole::kLead;
  m.snapshot.state = AssignmentState::kInProgress;
  m.snapshot.policy_id = "strict";
  m.snapshot.create_us = 1'000'000;
  m.snapshot.deadline_us = 9'000'000;
  m.snapshot.milestones = {{"m1", "一", 5'000'000}};
  m.snapshot.last_report_us = 2'000'000;
  m.snapshot.change_us = 3'000'000;
  auto change = ToAssignmentChange(m);
  ASSERT_TRUE(change.has_schedule());
  const auto& a = change.schedule().assignment();
  EXPECT_EQ(a.version(), 3);
  EXPECT_EQ(a.state(), rpb::ASSIGNMENT_STATE_IN_PROGRESS);
  EXPECT_EQ(a.deadline_time().seconds(), 9);
  EXPECT_EQ(a.milestones(0).due_time().seconds(), 5);
  EXPECT_EQ(a.last_report_time().seconds(), 2);
  EXPECT_FALSE(a.has_acknowledge_time());
  EXPECT_EQ(a.change_time().seconds(), 3);
  m.kind = OutboxKind::kCancelAssignment;
  m.snapshot.state = AssignmentState::kCanceled;
  change = ToAssignmentChange(m);
  ASSERT_TRUE(change.has_cancel());
  EXPECT_EQ(change.cancel().final_state(), rpb::ASSIGNMENT_STATE_CANCELED);
  EXPECT_EQ(change.cancel().version(), 3);
}

}  // namespace
}  // namespace duban::tasks::testing
