#include "duban/config.h"

#include <gtest/gtest.h>

namespace duban {
namespace {

ProcessConfig Good() {
  ProcessConfig c;
  c.listen = "127.0.0.1:0";
  c.data_dir = "/tmp";
  c.log_level = "info";
  c.handler_threads = 4;
  c.idle_handler_threads = 2;
  c.shutdown_grace_ms = 1000;
  c.sqlite_synchronous = "FULL";
  return c;
}

TEST(ProcessConfig, AcceptsTheDocumentedForms) {
  ProcessSpec spec;
  EXPECT_TRUE(ValidateProcessConfig(spec, Good()).ok());
  auto c = Good();
  c.listen = "unix:/tmp/duban.sock";
  c.redis = "unix:///tmp/redis.sock";
  c.units_addr = "[::1]:7101";
  c.metrics_listen = "0.0.0.0:9100";
  EXPECT_TRUE(ValidateProcessConfig(spec, c).ok());
}

TEST(ProcessConfig, ErrorsNameTheFlag) {
  ProcessSpec spec;
  spec.require_redis = true;
  auto expect_flag = [&](ProcessConfig c, const std::string& flag) {
    auto s = ValidateProcessConfig(spec, c);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(std::string(s.message()).find("--" + flag), std::string::npos) << s;
  };
  auto c = Good();
  expect_flag(c, "redis");  // required, missing
  c.redis = "redis://h:6379x";
  expect_flag(c, "redis");
  c = Good();
  c.redis = "redis://127.0.0.1:7000";
  auto d = c;
  d.listen = "nohost";
  expect_flag(d, "listen");
  d = c;
  d.log_level = "loud";
  expect_flag(d, "log-level");
  d = c;
  d.handler_threads = 0;
  expect_flag(d, "handler-threads");
  d = c;
  d.idle_handler_threads = 0;
  expect_flag(d, "idle-handler-threads");
  d = c;
  d.idle_handler_threads = d.handler_threads + 1;  // more idle threads than the pool holds
  expect_flag(d, "idle-handler-threads");
  d = c;
  d.units_addr = "x:70000";
  expect_flag(d, "units-addr");
  d = c;
  d.sqlite_synchronous = "OFF";
  expect_flag(d, "sqlite-synchronous");
}

}  // namespace
}  // namespace duban
