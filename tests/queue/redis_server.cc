#include "redis_server.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>
#include <gtest/gtest.h>

namespace duban::testing {

std::string RedisServerBinary() {
  const char* env = std::getenv("DUBAN_REDIS_SERVER");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/redis-server";
}

RedisServer::RedisServer(Options options) : options_(std::move(options)) { Start(); }

RedisServer::~RedisServer() {
  inspect_.reset();
  if (process_ != nullptr) Stop(/*graceful=*/false);
}

queue::RedisEndpoint RedisServer::endpoint() const {
  queue::RedisEndpoint ep;
  ep.unix_path = socket_path();
  return ep;
}

std::unique_ptr<queue::RedisConnection> RedisServer::Connect() const {
  return std::make_unique<queue::RedisConnection>(endpoint(), queue::RedisConnectionOptions());
}

void RedisServer::Start() {
  std::vector<std::string> argv = {RedisServerBinary(),
                                   "--port",
                                   "0",
                                   "--unixsocket",
                                   socket_path(),
                                   "--unixsocketperm",
                                   "700",
                                   "--dir",
                                   dir_.path(),
                                   "--logfile",
                                   dir_.File("redis.log"),
                                   "--save",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--maxmemory-policy",
                                   "noeviction",
                                   "--appendonly",
                                   options_.appendonly ? "yes" : "no",
                                   "--appendfsync",
                                   options_.appendfsync};
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv);
  auto conn = Connect();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto pong = conn->Command({"PING"});
    if (pong.ok()) {
      inspect_ = Connect();
      return;
    }
    if (process_->Wait(std::chrono::milliseconds(1)) != -1) break;  // exited
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("redis-server did not start; see " + dir_.File("redis.log"));
}

void RedisServer::Stop(bool graceful) {
  inspect_.reset();
  if (process_ == nullptr) return;
  if (graceful) {
    process_->Signal(SIGTERM, /*wait=*/false);
    if (process_->Wait(std::chrono::seconds(20)) == -1) process_->Signal(SIGKILL);
  } else {
    process_->Signal(SIGKILL);
  }
  process_.reset();
}

queue::RedisReplyPtr RedisServer::Cmd(const std::vector<std::string>& argv) {
  if (inspect_ == nullptr) inspect_ = Connect();
  auto r = inspect_->Command(argv);
  EXPECT_TRUE(r.ok()) << argv[0] << ": " << r.status();
  if (!r.ok()) return nullptr;
  return *std::move(r);
}

int64_t RedisServer::Int(const std::vector<std::string>& argv) {
  auto r = Cmd(argv);
  if (r == nullptr) return -1;
  auto v = queue::ReplyInteger(r.get());
  EXPECT_TRUE(v.ok()) << argv[0] << ": " << v.status();
  return v.ok() ? *v : -1;
}

std::string RedisServer::Str(const std::vector<std::string>& argv) {
  auto r = Cmd(argv);
  if (r == nullptr) return "";
  auto v = queue::ReplyString(r.get());
  return v.ok() ? *v : "";
}

void RedisServer::FlushAll() { Cmd({"FLUSHALL"}); }

int64_t RedisServer::UsedMemory() {
  std::string info = Str({"INFO", "memory"});
  for (absl::string_view line : absl::StrSplit(info, "\r\n")) {
    if (absl::ConsumePrefix(&line, "used_memory:")) {
      int64_t v = 0;
      if (absl::SimpleAtoi(line, &v)) return v;
    }
  }
  ADD_FAILURE() << "no used_memory in INFO";
  return 0;
}

}  // namespace duban::testing
