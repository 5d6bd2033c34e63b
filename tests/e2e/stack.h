#pragma once
// The whole duban stack for end-to-end tests, as an operator runs it: a private redis-server
// started from deploy/redis.conf (unix socket in a temp directory, AOF), duban-units,
// duban-tasks, duban-reminders and duban-worker (grpc source, webhook channel) on free
// 127.0.0.1 ports, each with its SQLite file in one data directory. Every process is a child of
// the test and is stopped (SIGTERM, then SIGKILL if needed) when the Stack is destroyed.
// DUBAN_E2E_KEEP_DIR=DIR keeps a copy of the logs and data directory for debugging.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <absl/time/time.h>
#include <grpcpp/grpcpp.h>

#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace duban::e2e {

namespace rv1 = ::duban::reminders::v1;
namespace tv1 = ::duban::tasks::v1;
namespace uv1 = ::duban::units::v1;

// Polls `pred` every 20 ms until it holds or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(20));

// A port that was free a moment ago (bound to 127.0.0.1:0, then closed). Used for the one
// service a test restarts, so that its clients keep their address.
int FreePort();

// An IANA zone ("Etc/GMT-5", ...) whose local time is now within an hour of noon, so a test's
// reminders never straddle the end of a send window at local midnight.
std::string ZoneNearNoon();

class Stack {
 public:
  struct Options {
    std::string webhook_secret = "e2e-secret-never-logged";
    // Worker settings: short leases so that a killed worker's entries come back quickly.
    int worker_lease_ms = 1000;
    int worker_consumers = 2;
  };

  explicit Stack(Options options);
  ~Stack();  // Stop()
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Starts redis, units, reminders, tasks and the worker, each waited for (PING, health
  // SERVING, READY). Failures are reported as test failures; check with ok().
  void Start();
  bool ok() const { return ok_; }
  // Stops everything in reverse order with SIGTERM and checks that each exits 0.
  void Stop();

  // Single processes.
  void StartRedis();
  void CrashRedis();  // SIGKILL
  void StartReminders();
  int StopReminders();  // SIGTERM; returns the wait status
  void StartWorker(const std::string& name);
  int KillWorker();  // SIGKILL; returns the wait status

  uv1::UnitService::Stub& units() { return *units_stub_; }
  tv1::TaskService::Stub& tasks() { return *tasks_stub_; }
  rv1::ReminderService::Stub& reminders() { return *reminders_stub_; }

  // "127.0.0.1:PORT" of each service, for clients other than the stubs above.
  const std::string& units_addr() const { return units_addr_; }
  const std::string& tasks_addr() const { return tasks_addr_; }
  const std::string& reminders_addr() const { return reminders_addr_; }
  const std::string& redis_url() const { return redis_url_; }
  const testing::TempDir& dir() const { return dir_; }
  // The end of a process's log (for failure messages).
  std::string LogTail(const std::string& name, size_t bytes = 3000) const;

 private:
  std::unique_ptr<testing::ChildProcess> StartService(
      const std::string& name, const std::string& binary, std::vector<std::string> args,
      const std::string& listen, const std::string& health_service, std::string* address);
  void Fail(const std::string& what);

  Options options_;
  testing::TempDir dir_;
  std::string data_dir_;
  std::string redis_url_;
  std::string units_addr_, tasks_addr_, reminders_addr_;
  int reminders_port_ = 0;
  bool ok_ = true;

  std::unique_ptr<testing::ChildProcess> redis_, units_, tasks_, reminders_, worker_;
  std::unique_ptr<uv1::UnitService::Stub> units_stub_;
  std::unique_ptr<tv1::TaskService::Stub> tasks_stub_;
  std::unique_ptr<rv1::ReminderService::Stub> reminders_stub_;
};

}  // namespace duban::e2e
