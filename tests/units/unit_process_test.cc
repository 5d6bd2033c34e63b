// The duban-units binary as an operator runs it: flags and environment, health, kill -9
// durability, graceful SIGTERM.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <fstream>

#include "duban/grpc_server.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "support/child_process.h"
#include "support/grpc_test_util.h"
#include "support/temp_dir.h"

namespace duban {
namespace {

namespace pb = ::duban::units::v1;
using testing::BuiltBinary;
using testing::ChildProcess;
using testing::TempDir;

std::unique_ptr<ChildProcess> StartUnits(const TempDir& dir, std::string* address,
                                         std::map<std::string, std::string> env = {}) {
  // A free port unless the test sets one: the default 127.0.0.1:7101 would be shared with any
  // other test's server started at the same time (gRPC binds with SO_REUSEPORT, so both bind
  // and connections go to either), which once sent this file's restarted server's calls to
  // another test's empty one.
  env.emplace("DUBAN_LISTEN", "127.0.0.1:0");
  auto p = std::make_unique<ChildProcess>(
      std::vector<std::string>{BuiltBinary("services/units/duban-units"), "--data-dir",
                               dir.File("data"), "--log-level", "warn"},
      dir.File("stderr.log"), std::move(env));
  *address = p->WaitForLine("LISTENING ");
  return p;
}

TEST(UnitsProcess, AcknowledgedWritesSurviveKillMinus9) {
  TempDir dir;
  std::string address;
  auto server = StartUnits(dir, &address, {{"DUBAN_LISTEN", "127.0.0.1:0"}});
  ASSERT_FALSE(address.empty());
  auto channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, "duban.units.v1.UnitService"));
  auto stub = pb::UnitService::NewStub(channel);
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext ctx;
    pb::CreateUnitRequest req;
    req.mutable_unit()->set_id("u" + std::to_string(i));
    req.mutable_unit()->set_name("单位");
    req.mutable_unit()->set_kind(pb::UNIT_KIND_VILLAGE);
    pb::Unit resp;
    ASSERT_TRUE(stub->CreateUnit(&ctx, req, &resp).ok());
  }
  std::string contact_id;
  {
    grpc::ClientContext ctx;
    pb::AddContactRequest req;
    req.mutable_contact()->set_unit_id("u49");
    req.mutable_contact()->set_role(pb::CONTACT_ROLE_LIAISON);
    req.mutable_contact()->set_person_name("联络员");
    req.mutable_contact()->set_mobile("13800000000");
    pb::Contact resp;
    ASSERT_TRUE(stub->AddContact(&ctx, req, &resp).ok());
    contact_id = resp.id();
  }
  int status = server->Signal(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status));

  server = StartUnits(dir, &address);
  ASSERT_FALSE(address.empty());
  channel = MakeChannel(address);
  ASSERT_TRUE(testing::WaitForServing(channel, ""));
  stub = pb::UnitService::NewStub(channel);
  grpc::ClientContext ctx;
  pb::ListUnitsRequest req;
  req.set_page_size(1000);
  pb::ListUnitsResponse resp;
  ASSERT_TRUE(stub->ListUnits(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.units_size(), 50);
  grpc::ClientContext cctx;
  pb::GetContactRequest creq;
  creq.set_id(contact_id);
  pb::Contact contact;
  EXPECT_TRUE(stub->GetContact(&cctx, creq, &contact).ok());
  EXPECT_EQ(contact.unit_id(), "u49");
}

TEST(UnitsProcess, SigtermShutsDownGracefully) {
  TempDir dir;
  std::string address;
  auto server = StartUnits(dir, &address, {{"DUBAN_SHUTDOWN_GRACE_MS", "2000"}});
  ASSERT_FALSE(address.empty());
  ASSERT_TRUE(testing::WaitForServing(MakeChannel(address), ""));
  server->Signal(SIGTERM, /*wait=*/false);
  int status = server->Wait(std::chrono::seconds(5));
  ASSERT_NE(status, -1) << "did not exit within 5 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(UnitsProcess, BadFlagsExitNonZeroNamingTheFlag) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{"--listen", "nowhere"}, {}, "--listen"},
      {{"--log-level", "chatty"}, {}, "--log-level"},
      {{}, {{"DUBAN_REDIS", "http://x"}}, "--redis"},
      {{"--handler-threads", "0"}, {}, "--handler-threads"},
      {{"--data-dir", "/proc/forbidden"}, {}, "--data-dir"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {BuiltBinary("services/units/duban-units")};
    if (std::find(c.args.begin(), c.args.end(), "--data-dir") == c.args.end()) {
      argv.push_back("--data-dir");
      argv.push_back(dir.File("data"));
    }
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::string err = dir.File("err.log");
    std::remove(err.c_str());
    ChildProcess p(argv, err, c.env);
    int status = p.Wait(std::chrono::seconds(10));
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << c.expect;
    std::ifstream in(err);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(c.expect), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace duban
