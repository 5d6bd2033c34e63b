#pragma once
// A private redis-server for one test suite: unix socket in a fresh temp directory, no TCP
// port, no RDB snapshots; optional AOF. Never port 6379, never a shared instance.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "duban/queue/redis_client.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace duban::testing {

class RedisServer {
 public:
  struct Options {
    bool appendonly = false;
    std::string appendfsync = "everysec";  // with appendonly: always | everysec | no
    std::vector<std::string> extra_args;
  };

  RedisServer() : RedisServer(Options()) {}
  explicit RedisServer(Options options);
  ~RedisServer();

  // Starts redis-server and waits until it answers PING (throws on failure).
  void Start();
  // Graceful (SIGTERM: Redis flushes the AOF) or crash (SIGKILL).
  void Stop(bool graceful);
  void Restart(bool graceful) {
    Stop(graceful);
    Start();
  }

  std::string url() const { return "unix://" + socket_path(); }
  std::string socket_path() const { return dir_.File("redis.sock"); }
  const std::string& dir() const { return dir_.path(); }
  queue::RedisEndpoint endpoint() const;

  // A fresh connection for inspecting the server from a test.
  std::unique_ptr<queue::RedisConnection> Connect() const;
  // Runs a command on a shared inspection connection; fails the test on an error.
  queue::RedisReplyPtr Cmd(const std::vector<std::string>& argv);
  int64_t Int(const std::vector<std::string>& argv);
  std::string Str(const std::vector<std::string>& argv);
  void FlushAll();
  int64_t UsedMemory();

 private:
  Options options_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<queue::RedisConnection> inspect_;
};

// Path of redis-server ($DUBAN_REDIS_SERVER or /usr/bin/redis-server).
std::string RedisServerBinary();

}  // namespace duban::testing
