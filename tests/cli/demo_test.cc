// scripts/demo.sh, end to end: the seed's campaign loaded through dubanctl into a real stack,
// a cascade to Zhaoqing's party branches due in seconds, and the reminders arriving at the
// liaisons' webhooks, signed — what a new user sees, checked.
#include <gtest/gtest.h>

#include <set>

#include "cli_runner.h"
#include "webhook_sink.h"

namespace duban::cli_test {
namespace {

TEST(DemoTest, LoadsTheCampaignAndRemindersArrive) {
  e2e::Stack::Options options;
  testing::WebhookSink sink(options.webhook_secret);
  e2e::Stack stack(options);
  stack.Start();
  ASSERT_TRUE(stack.ok());

  const CliResult r = RunProcess(
      {"/bin/bash", DUBAN_DEMO_SCRIPT}, "",
      {"DUBANCTL=" DUBAN_CTL_BINARY, "DUBAN_UNITS_ADDR=" + stack.units_addr(),
       "DUBAN_TASKS_ADDR=" + stack.tasks_addr(), "DUBAN_REMINDERS_ADDR=" + stack.reminders_addr(),
       "DUBAN_DEMO_DEADLINE=+20s", "DUBAN_DEMO_WAIT=120",
       "DUBAN_DEMO_WEBHOOK_BASE=" + sink.Url("/ok/"), "DUBAN_DATA_DIR=" + stack.dir().path()},
      /*timeout_s=*/240);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("reminders sent"), std::string::npos) << Describe(r);

  // Every open branch's liaison was reminded once the deadline passed, every request signed;
  // the four closed branches of 端州区 城东街道 got nothing (their reminders were canceled).
  std::set<std::string> paths;
  for (const auto& req : sink.Requests()) {
    EXPECT_TRUE(req.signature_ok) << req.path;
    paths.insert(req.path);
  }
  // Paths are /ok/zq/<district>/<branch>.
  size_t branches = 0, closed = 0;
  for (const std::string& p : paths) {
    if (p.rfind("/ok/zq/", 0) == 0 && p.find(".b") != std::string::npos) ++branches;
    if (p.rfind("/ok/zq/dz/gd.zq.dz.t1.", 0) == 0) ++closed;
  }
  EXPECT_EQ(branches, 36u) << "40 branches minus the 4 closed ones";
  EXPECT_EQ(closed, 0u) << "a closed branch was reminded";
  EXPECT_TRUE(paths.count("/ok/zq/swzzb")) << "the parent task's lead unit";
  stack.Stop();
}

}  // namespace
}  // namespace duban::cli_test
