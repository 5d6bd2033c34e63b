// The duban-tasks binary as an operator runs it, next to a real duban-units binary: flags,
// health, kill -9 durability of acknowledged writes, graceful SIGTERM.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <absl/strings/str_cat.h>
#include <fstream>
#include <map>
#include <utility>
#include <vector>
#include <thread>

#include "duban/grpc_server.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "fake_reminders.h"
#include "support/child_process.h"
#include "support/grpc_test_util.h"
#include "support/temp_dir.h"

namespace duban {
namespace {

namespace pb = ::duban::tasks::v1;
namespace upb = ::duban::units::v1;
using testing::BuiltBinary;
using testing::ChildProcess;
using testing::TempDir;

std::unique_ptr<ChildProcess> StartUnits(const TempDir& dir, std::string* address) {
  auto p = std::make_unique<ChildProcess>(
      std::vector<std::string>{BuiltBinary("services/units/duban-units"), "--data-dir",
                               dir.File("units"), "--log-level", "warn", "--listen", "127.0.0.1:0"},
      dir.File("units.log"));
  *address = p->WaitForLine("LISTENING ");
  return p;
}

std::unique_ptr<ChildProcess> StartTasks(const TempDir& dir, const std::string& units,
                                         std::string* address,
                                         std::map<std::string, std::string> env = {},
                                         const std::string& reminders = "") {
  std::vector<std::string> argv = {BuiltBinary("services/tasks/duban-tasks"),
                                   "--data-dir",
                                   dir.File("tasks"),
                                   "--units-addr",
                                   units,
                                   "--log-level",
                                   "warn"};
  if (!reminders.empty()) {
    argv.push_back("--reminders-addr");
    argv.push_back(reminders);
  }
  auto p = std::make_unique<ChildProcess>(argv, dir.File("tasks.log"), std::move(env));
  *address = p->WaitForLine("LISTENING ");
  return p;
}

void AddUnit(upb::UnitService::Stub& stub, const std::string& id, const std::string& parent) {
  grpc::ClientContext ctx;
  upb::CreateUnitRequest req;
  req.mutable_unit()->set_id(id);
  req.mutable_unit()->set_name("单位");
  req.mutable_unit()->set_kind(upb::UNIT_KIND_DEPARTMENT);
  req.mutable_unit()->set_parent_id(parent);
  upb::Unit resp;
  ASSERT_TRUE(stub.CreateUnit(&ctx, req, &resp).ok());
}

// Plan "p1", owned by "gd", for the whole of 2026-01-01.
void CreatePlan(pb::TaskService::Stub& stub) {
  grpc::ClientContext ctx;
  pb::CreatePlanRequest req;
  req.mutable_plan()->set_id("p1");
  req.mutable_plan()->set_title("方案");
  req.mutable_plan()->set_owner_unit_id("gd");
  req.mutable_plan()->mutable_start_date()->set_year(2026);
  req.mutable_plan()->mutable_start_date()->set_month(1);
  req.mutable_plan()->mutable_start_date()->set_day(1);
  *req.mutable_plan()->mutable_end_date() = req.plan().start_date();
  pb::Plan resp;
  ASSERT_TRUE(stub.CreatePlan(&ctx, req, &resp).ok());
}

// A task in plan "p1" led by `lead`, due 2031-01-01, by user:1.
pb::CreateTaskRequest TaskRequest(const std::string& lead) {
  pb::CreateTaskRequest req;
  req.mutable_task()->set_plan_id("p1");
  req.mutable_task()->set_title("任务");
  req.mutable_task()->set_lead_unit_id(lead);
  req.mutable_task()->mutable_deadline()->mutable_absolute_time()->set_seconds(1924963200);
  req.mutable_actor()->set_id("user:1");
  return req;
}

TEST(TasksProcess, AcknowledgedWritesSurviveKillMinus9) {
  TempDir dir;
  std::string units_addr;
  auto units = StartUnits(dir, &units_addr);
  ASSERT_FALSE(units_addr.empty());
  auto units_stub = upb::UnitService::NewStub(MakeChannel(units_addr));
  ASSERT_TRUE(testing::WaitForServing(MakeChannel(units_addr), ""));
  AddUnit(*units_stub, "gd", "");
  AddUnit(*units_stub, "gd.a", "gd");
  AddUnit(*units_stub, "gd.b", "gd");

  std::string address;
  auto tasks = StartTasks(dir, units_addr, &address, {{"DUBAN_LISTEN", "127.0.0.1:0"}});
  ASSERT_FALSE(address.empty());
  auto channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, "duban.tasks.v1.TaskService"));
  auto stub = pb::TaskService::NewStub(channel);
  CreatePlan(*stub);
  std::vector<std::string> acknowledged;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    pb::CreateTaskRequest req = TaskRequest("gd.a");
    req.mutable_task()->set_id(absl::StrCat("t", i));
    req.mutable_task()->add_cooperating_unit_ids("gd.b");
    pb::Task resp;
    ASSERT_TRUE(stub->CreateTask(&ctx, req, &resp).ok());
    grpc::ClientContext actx;
    pb::TransitionRequest ack;
    ack.set_assignment_id(resp.assignments(0).assignment_id());
    ack.mutable_actor()->set_id("user:1");
    pb::Assignment a;
    ASSERT_TRUE(stub->AcknowledgeAssignment(&actx, ack, &a).ok());
    acknowledged.push_back(a.id());
  }
  int status = tasks->Signal(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status));

  tasks = StartTasks(dir, units_addr, &address);
  ASSERT_FALSE(address.empty());
  channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, ""));
  stub = pb::TaskService::NewStub(channel);
  grpc::ClientContext ctx;
  pb::BatchGetAssignmentsRequest req;
  for (const auto& id : acknowledged) req.add_ids(id);
  pb::BatchGetAssignmentsResponse resp;
  ASSERT_TRUE(stub->BatchGetAssignments(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.assignments_size(), 20);
  for (const auto& a : resp.assignments()) {
    EXPECT_EQ(a.state(), pb::ASSIGNMENT_STATE_ACKNOWLEDGED);
  }
  grpc::ClientContext lctx;
  pb::ListTasksRequest lreq;
  lreq.set_plan_id("p1");
  lreq.set_page_size(100);
  pb::ListTasksResponse lresp;
  ASSERT_TRUE(stub->ListTasks(&lctx, lreq, &lresp).ok());
  EXPECT_EQ(lresp.tasks_size(), 20);
}

// The outbox survives kill -9: changes made while the reminders service was down reach it
// after duban-tasks restarts, every version of every assignment, in order.
TEST(TasksProcess, OutboxSurvivesKillMinus9AndDeliversAfterRestart) {
  TempDir dir;
  std::string units_addr;
  auto units = StartUnits(dir, &units_addr);
  ASSERT_FALSE(units_addr.empty());
  auto units_stub = upb::UnitService::NewStub(MakeChannel(units_addr));
  ASSERT_TRUE(testing::WaitForServing(MakeChannel(units_addr), ""));
  AddUnit(*units_stub, "gd", "");
  AddUnit(*units_stub, "gd.a", "gd");

  tasks::testing::FakeReminders fake;
  fake.SetDown(true);
  ServerOptions so;
  // gRPC's sync server refuses (RESOURCE_EXHAUSTED) rather than queues a call when no
  // handler is free, counting its own pollers; 2 threads flaked with two dispatchers sending.
  so.handler_threads = 8;
  so.shutdown_grace = std::chrono::milliseconds(100);
  so.log_rpcs = false;
  auto reminders = GrpcServer::Start(so, {&fake});
  ASSERT_TRUE(reminders.ok());

  std::string address;
  auto tasks = StartTasks(dir, units_addr, &address, {{"DUBAN_LISTEN", "127.0.0.1:0"}},
                          (*reminders)->address());
  ASSERT_FALSE(address.empty());
  auto channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, ""));
  auto stub = pb::TaskService::NewStub(channel);
  CreatePlan(*stub);
  std::map<std::string, std::vector<int64_t>> expected;
  for (int i = 0; i < 10; ++i) {
    grpc::ClientContext ctx;
    pb::CreateTaskRequest req = TaskRequest("gd.a");
    pb::Task resp;
    ASSERT_TRUE(stub->CreateTask(&ctx, req, &resp).ok());
    grpc::ClientContext actx;
    pb::TransitionRequest ack;
    ack.set_assignment_id(resp.assignments(0).assignment_id());
    ack.mutable_actor()->set_id("user:1");
    pb::Assignment a;
    ASSERT_TRUE(stub->AcknowledgeAssignment(&actx, ack, &a).ok());
    expected[a.id()] = {1, 2};
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(fake.received().empty());
  ASSERT_TRUE(WIFSIGNALED(tasks->Signal(SIGKILL)));

  fake.SetDown(false);
  tasks = StartTasks(dir, units_addr, &address, {{"DUBAN_LISTEN", "127.0.0.1:0"}},
                     (*reminders)->address());
  ASSERT_FALSE(address.empty());
  std::map<std::string, std::vector<int64_t>> got;
  for (int i = 0; i < 500 && got != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    got.clear();
    for (const auto& r : fake.received()) got[r.key].push_back(r.version);
  }
  EXPECT_EQ(got, expected);
  (*reminders)->Shutdown();
}

// Through the real binaries, with duban-tasks' unit cache on (the default) and off: a unit
// archived in duban-units is refused by the very next CreateTask naming it, although the
// tasks before it were checked from memory.
TEST(TasksProcess, TheNextCreateTaskAfterArchiveUnitRefusesTheUnit) {
  for (const char* cache : {"true", "false"}) {
    SCOPED_TRACE(std::string("DUBAN_UNIT_CACHE=") + cache);
    TempDir dir;
    std::string units_addr;
    auto units = StartUnits(dir, &units_addr);
    auto units_stub = upb::UnitService::NewStub(MakeChannel(units_addr));
    ASSERT_TRUE(testing::WaitForServing(MakeChannel(units_addr), ""));
    AddUnit(*units_stub, "gd", "");
    AddUnit(*units_stub, "gd.a", "gd");
    std::string address;
    auto tasks = StartTasks(dir, units_addr, &address,
                            {{"DUBAN_LISTEN", "127.0.0.1:0"}, {"DUBAN_UNIT_CACHE", cache}});
    auto channel = MakeChannel(address);
    ASSERT_TRUE(testing::WaitForServing(channel, ""));
    auto stub = pb::TaskService::NewStub(channel);
    CreatePlan(*stub);
    auto create = [&](int i) {
      grpc::ClientContext ctx;
      pb::CreateTaskRequest req = TaskRequest("gd.a");
      req.mutable_task()->set_id(absl::StrCat("t", i));
      pb::Task resp;
      return stub->CreateTask(&ctx, req, &resp);
    };
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(create(i).ok()) << i;
    {
      grpc::ClientContext ctx;
      upb::ArchiveUnitRequest req;
      req.set_id("gd.a");
      upb::Unit resp;
      ASSERT_TRUE(units_stub->ArchiveUnit(&ctx, req, &resp).ok());
    }
    grpc::Status refused = create(5);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refused.error_message();
    EXPECT_NE(refused.error_message().find("is archived"), std::string::npos)
        << refused.error_message();
    EXPECT_EQ(testing::ViolatedFields(refused), std::vector<std::string>{"task.lead_unit_id"});
  }
}

TEST(TasksProcess, SigtermShutsDownGracefully) {
  TempDir dir;
  std::string units_addr = "127.0.0.1:1";  // not needed to start
  std::string address;
  auto tasks = StartTasks(dir, units_addr, &address,
                          {{"DUBAN_LISTEN", "127.0.0.1:0"}, {"DUBAN_SHUTDOWN_GRACE_MS", "2000"}});
  ASSERT_FALSE(address.empty());
  ASSERT_TRUE(testing::WaitForServing(MakeChannel(address), ""));
  tasks->Signal(SIGTERM, /*wait=*/false);
  int status = tasks->Wait(std::chrono::seconds(5));
  ASSERT_NE(status, -1) << "did not exit within 5 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(TasksProcess, BadFlagsExitTwoNamingTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "--units-addr"},  // missing
      {{"--units-addr", "127.0.0.1:1", "--unit-cache=maybe"}, "--unit-cache"},
  };
  for (const auto& [extra, flag] : cases) {
    TempDir dir;
    std::string err = dir.File("err.log");
    std::vector<std::string> argv = {BuiltBinary("services/tasks/duban-tasks"), "--data-dir",
                                     dir.File("d")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ChildProcess p(argv, err);
    int status = p.Wait(std::chrono::seconds(10));
    ASSERT_NE(status, -1) << flag;
    EXPECT_TRUE(WIFEXITED(status)) << flag;
    EXPECT_EQ(WEXITSTATUS(status), 2) << flag;
    std::ifstream in(err);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(flag), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace duban
