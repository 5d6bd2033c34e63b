#pragma once
// A real duban-reminders stack in one process: the SQLite ledger in a temp directory, a private
// redis-server (one per test suite, flushed per test), the gRPC adapter on 127.0.0.1:0, and a
// fake UnitService client whose availability the test controls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "duban/calendar/working_calendar.h"
#include "duban/grpc_server.h"
#include "duban/queue/job_queue.h"
#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/time_util.h"
#include "redis_server.h"
#include "reminder_grpc_service.h"
#include "reminder_ledger.h"
#include "sqlite_reminder_store.h"
#include "support/grpc_test_util.h"
#include "support/temp_dir.h"

namespace duban::reminders {

namespace pb = ::duban::reminders::v1;

class FakeUnits : public UnitClient {
 public:
  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(
      const std::vector<std::string>& ids) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls;
    if (!available) return absl::UnavailableError("unit service is unavailable; try again later");
    std::vector<UnitInfo> out;
    for (const auto& id : ids) {
      if (id.rfind("unknown", 0) == 0) continue;  // not in the unit service
      auto it = zones.find(id);
      out.push_back({id, it == zones.end() ? "Asia/Shanghai" : it->second, 8});
    }
    return out;
  }
  // The subtree of a root: every unit registered under it with AddUnit (and the root).
  absl::StatusOr<std::vector<UnitInfo>> ListSubtree(const std::string& root_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls;
    if (!available) return absl::UnavailableError("unit service is unavailable; try again later");
    if (root_id.rfind("unknown", 0) == 0) return absl::NotFoundError("no such unit");
    std::vector<UnitInfo> out = {{root_id, "Asia/Shanghai", 2}};
    for (const auto& [id, parent] : parents) {
      for (std::string p = parent; !p.empty();) {
        if (p == root_id) {
          out.push_back({id, "Asia/Shanghai", 8});
          break;
        }
        auto it = parents.find(p);
        p = it == parents.end() ? "" : it->second;
      }
    }
    return out;
  }
  void AddUnit(const std::string& id, const std::string& parent) {
    std::lock_guard<std::mutex> lock(mu_);
    parents[id] = parent;
  }
  std::map<std::string, std::string> parents;  // unit -> parent
  std::mutex mu_;
  bool available = true;
  int calls = 0;
  std::map<std::string, std::string> zones;
};

// Local Shanghai time as an absl::Time.
inline absl::Time Sh(int y, int mo, int d, int h = 0, int mi = 0) {
  absl::TimeZone tz;
  absl::LoadTimeZone("Asia/Shanghai", &tz);
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), tz);
}

class RemindersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = new testing::RedisServer(); }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }

  void SetUp() override {
    redis_->FlushAll();
    now_ = Sh(2025, 5, 26, 8);  // a Monday morning
    auto cal = calendar::WorkingCalendar::Default();
    ASSERT_TRUE(cal.ok()) << cal.status();
    calendar_ = std::make_unique<calendar::WorkingCalendar>(std::move(*cal));
    OpenStack();
  }
  void TearDown() override { CloseStack(); }

  void OpenStack() {
    sqlite::Options o;
    o.path = dir_.File("reminders.db");
    auto store = SqliteReminderStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto q = queue::JobQueue::Create(redis_->url(), queue::QueueOptions());
    ASSERT_TRUE(q.ok()) << q.status();
    queue_ = std::move(*q);
    LedgerOptions lo = ledger_options_;
    lo.resync_interval = absl::Milliseconds(100);
    ledger_ = std::make_unique<ReminderLedger>(*store_, *calendar_, *queue_, units_, lo,
                                               [this] { return Now(); });
    ASSERT_TRUE(ledger_->Initialize().ok());
    service_ = std::make_unique<ReminderGrpcService>(*ledger_, *calendar_);
    ServerOptions so;
    // Room for the tests' concurrent calls: gRPC's sync server refuses a call (UNAVAILABLE or
    // RESOURCE_EXHAUSTED) when its thread quota, pollers included, is used up.
    so.handler_threads = 16;
    so.log_rpcs = false;
    auto server = GrpcServer::Start(so, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = pb::ReminderService::NewStub(MakeChannel(server_->address()));
  }
  void CloseStack() {
    if (server_) server_->Shutdown();
    server_.reset();
    stub_.reset();
    service_.reset();
    ledger_.reset();
    queue_.reset();
    store_.reset();
  }

  absl::Time Now() {
    std::lock_guard<std::mutex> lock(clock_mu_);
    return now_;
  }
  void SetNow(absl::Time t) {
    std::lock_guard<std::mutex> lock(clock_mu_);
    now_ = t;
  }

  // A snapshot with only a deadline, as the tasks service sends for a new assignment.
  static pb::AssignmentSnapshot Snapshot(const std::string& id, int64_t version,
                                         absl::Time deadline, absl::Time change,
                                         pb::AssignmentState state = pb::ASSIGNMENT_STATE_ASSIGNED,
                                         const std::string& unit = "gd.zq.duanzhou") {
    pb::AssignmentSnapshot s;
    s.set_assignment_id(id);
    s.set_version(version);
    s.set_plan_id("plan-1");
    s.set_task_id("task-1");
    s.set_unit_id(unit);
    s.set_role(pb::ASSIGNMENT_ROLE_LEAD);
    s.set_state(state);
    *s.mutable_create_time() = ToProtoTimestamp(change);
    *s.mutable_deadline_time() = ToProtoTimestamp(deadline);
    *s.mutable_change_time() = ToProtoTimestamp(change);
    return s;
  }

  grpc::Status Schedule(const pb::AssignmentSnapshot& s, pb::ScheduleAssignmentResponse* resp) {
    grpc::ClientContext ctx;
    pb::ScheduleAssignmentRequest req;
    *req.mutable_assignment() = s;
    return stub_->ScheduleAssignment(&ctx, req, resp);
  }
  pb::ScheduleAssignmentResponse ScheduleOk(const pb::AssignmentSnapshot& s) {
    pb::ScheduleAssignmentResponse resp;
    auto st = Schedule(s, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }
  grpc::Status Cancel(const std::string& id, int64_t version, pb::AssignmentState state,
                      pb::CancelAssignmentResponse* resp) {
    grpc::ClientContext ctx;
    pb::CancelAssignmentRequest req;
    req.set_assignment_id(id);
    req.set_version(version);
    req.set_final_state(state);
    *req.mutable_change_time() = ToProtoTimestamp(Now());
    return stub_->CancelAssignment(&ctx, req, resp);
  }

  std::vector<pb::Reminder> List(const std::string& assignment_id,
                                 std::vector<pb::ReminderState> states = {}) {
    std::vector<pb::Reminder> out;
    std::string token;
    do {
      grpc::ClientContext ctx;
      pb::ListRemindersRequest req;
      req.set_assignment_id(assignment_id);
      for (auto s : states) req.add_states(s);
      req.set_page_token(token);
      req.set_page_size(7);
      pb::ListRemindersResponse resp;
      auto st = stub_->ListReminders(&ctx, req, &resp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (!st.ok()) break;
      for (const auto& r : resp.reminders()) out.push_back(r);
      token = resp.next_page_token();
    } while (!token.empty());
    return out;
  }

  pb::ReconcileResponse ReconcileOk(bool dry_run) {
    grpc::ClientContext ctx;
    pb::ReconcileRequest req;
    req.set_dry_run(dry_run);
    pb::ReconcileResponse resp;
    auto st = stub_->Reconcile(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  pb::QueueStats StatsOk() {
    grpc::ClientContext ctx;
    pb::QueueStats resp;
    auto st = stub_->GetQueueStats(&ctx, pb::GetQueueStatsRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Expects every pending reminder to be in Redis at its version and due time.
  void ExpectInRedis(const std::vector<pb::Reminder>& pending) {
    for (const auto& r : pending) {
      auto job = queue_->GetJob(r.id());
      ASSERT_TRUE(job.ok()) << job.status();
      ASSERT_TRUE(job->has_value()) << "missing in redis: " << r.id();
      EXPECT_EQ((*job)->version, r.version()) << r.id();
      int64_t due_us = r.state() == pb::REMINDER_STATE_FAILED && r.has_next_attempt_time()
                           ? ProtoToMicros(r.next_attempt_time())
                           : ProtoToMicros(r.planned_time());
      ASSERT_TRUE((*job)->due_ms.has_value());
      EXPECT_EQ(*(*job)->due_ms, due_us / 1000) << r.id();
    }
  }
  void ExpectNotInRedis(const std::vector<pb::Reminder>& rows) {
    for (const auto& r : rows) {
      auto job = queue_->GetJob(r.id());
      ASSERT_TRUE(job.ok()) << job.status();
      EXPECT_FALSE(job->has_value()) << "still in redis: " << r.id();
    }
  }

  static testing::RedisServer* redis_;
  testing::TempDir dir_;
  std::mutex clock_mu_;
  absl::Time now_;
  FakeUnits units_;
  // What OpenStack gives the ledger (a test may change it and reopen the stack).
  LedgerOptions ledger_options_;
  std::unique_ptr<calendar::WorkingCalendar> calendar_;
  std::unique_ptr<SqliteReminderStore> store_;
  std::unique_ptr<queue::JobQueue> queue_;
  std::unique_ptr<ReminderLedger> ledger_;
  std::unique_ptr<ReminderGrpcService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<pb::ReminderService::Stub> stub_;
};

inline testing::RedisServer* RemindersTest::redis_ = nullptr;

}  // namespace duban::reminders
