#include "stack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <gtest/gtest.h>

#include "duban/grpc_server.h"
#include "duban/queue/redis_client.h"
#include "support/grpc_test_util.h"

namespace duban::e2e {

using testing::ChildProcess;

bool WaitUntil(const std::function<bool()>& pred, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string ZoneNearNoon() {
  const int hour = absl::ToCivilHour(absl::Now(), absl::UTCTimeZone()).hour();
  const int offset = 12 - hour;  // -11 .. +12; POSIX-style Etc names have the sign inverted
  if (offset == 0) return "Etc/UTC";
  return offset > 0 ? absl::StrCat("Etc/GMT-", offset) : absl::StrCat("Etc/GMT+", -offset);
}

namespace {

std::string RedisServerBinary() {
  const char* env = std::getenv("DUBAN_REDIS_SERVER");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/redis-server";
}

// Sends SIGTERM and waits up to `grace` for the exit; SIGKILL after that. Returns the status.
int Terminate(std::unique_ptr<ChildProcess>& p, std::chrono::milliseconds grace) {
  if (p == nullptr || !p->running()) {
    p.reset();
    return 0;
  }
  p->Signal(SIGTERM, /*wait=*/false);
  int status = p->Wait(grace);
  if (status == -1) status = p->Signal(SIGKILL);
  p.reset();
  return status;
}

bool ExitedZero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

}  // namespace

Stack::Stack(Options options) : options_(std::move(options)) {
  data_dir_ = dir_.File("data");
  std::filesystem::create_directories(data_dir_);
  std::filesystem::create_directories(dir_.File("redis"));
  redis_url_ = "unix://" + dir_.File("redis/redis.sock");
  reminders_port_ = FreePort();
  reminders_addr_ = absl::StrCat("127.0.0.1:", reminders_port_);
  std::ofstream(dir_.File("webhook.secret")) << options_.webhook_secret << "\n";
}

Stack::~Stack() { Stop(); }

void Stack::Fail(const std::string& what) {
  ok_ = false;
  ADD_FAILURE() << what;
}

std::string Stack::LogTail(const std::string& name, size_t bytes) const {
  std::ifstream in(dir_.File(name + ".log"));
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

void Stack::Start() {
  StartRedis();
  if (!ok_) return;
  units_ = StartService("units", DUBAN_UNITS_BINARY, {}, "127.0.0.1:0",
                        "duban.units.v1.UnitService", &units_addr_);
  if (!ok_) return;
  units_stub_ = uv1::UnitService::NewStub(MakeChannel(units_addr_));
  StartReminders();
  if (!ok_) return;
  tasks_ = StartService("tasks", DUBAN_TASKS_BINARY,
                        {"--units-addr", units_addr_, "--reminders-addr", reminders_addr_},
                        "127.0.0.1:0", "duban.tasks.v1.TaskService", &tasks_addr_);
  if (!ok_) return;
  tasks_stub_ = tv1::TaskService::NewStub(MakeChannel(tasks_addr_));
  StartWorker("w1");
}

void Stack::Stop() {
  // Our client channels first: a server's graceful shutdown waits its whole grace while a
  // client still holds an open channel to it.
  units_stub_.reset();
  tasks_stub_.reset();
  reminders_stub_.reset();
  // Then the processes in reverse order of start, each waited for.
  const auto grace = std::chrono::seconds(15);
  if (int s = Terminate(worker_, grace); !ExitedZero(s)) Fail(absl::StrCat("worker exit ", s));
  if (int s = Terminate(tasks_, grace); !ExitedZero(s)) Fail(absl::StrCat("tasks exit ", s));
  if (int s = Terminate(reminders_, grace); !ExitedZero(s)) {
    Fail(absl::StrCat("reminders exit ", s));
  }
  if (int s = Terminate(units_, grace); !ExitedZero(s)) Fail(absl::StrCat("units exit ", s));
  if (int s = Terminate(redis_, grace); !ExitedZero(s)) Fail(absl::StrCat("redis exit ", s));
  // DUBAN_E2E_KEEP_DIR=DIR keeps a copy of the logs and data (the temp directory goes).
  if (const char* keep = std::getenv("DUBAN_E2E_KEEP_DIR"); keep != nullptr && *keep != '\0') {
    std::error_code ec;
    std::filesystem::copy(dir_.path(), keep, std::filesystem::copy_options::recursive, ec);
  }
}

void Stack::StartRedis() {
  // The deployed configuration, with this test's socket and directory instead of port 6379 and
  // /var/lib/redis. fsync always: the test crashes Redis with SIGKILL and expects every
  // acknowledged write back (deploy's everysec may lose up to a second of writes on a crash;
  // the reminders service's Reconcile repairs that from the ledger).
  const std::string dir = dir_.File("redis");
  // Without the file's "dir /var/lib/redis": Redis applies it while reading the file (failing
  // without access to it), before any command-line override.
  const std::string conf = dir + "/redis.conf";
  if (!std::filesystem::exists(conf)) {
    std::ifstream in(DUBAN_REDIS_CONF);
    if (!in) return Fail("cannot read " DUBAN_REDIS_CONF);
    std::ofstream out(conf);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("dir ", 0) != 0) out << line << "\n";
    }
  }
  redis_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      RedisServerBinary(), conf, "--port", "0", "--unixsocket", dir + "/redis.sock",
      "--unixsocketperm", "700", "--dir", dir, "--logfile", dir + "/redis.log", "--daemonize", "no",
      "--appendfsync", "always", "--maxmemory", "64mb"});
  queue::RedisEndpoint ep;
  ep.unix_path = dir + "/redis.sock";
  queue::RedisConnection conn(ep, queue::RedisConnectionOptions());
  if (!WaitUntil([&] { return conn.Command({"PING"}).ok() || !redis_->running(); }) ||
      !conn.Command({"PING"}).ok()) {
    Fail("redis-server did not start; see " + dir + "/redis.log");
  }
}

void Stack::CrashRedis() {
  if (redis_ != nullptr) redis_->Signal(SIGKILL);
  redis_.reset();
}

std::unique_ptr<ChildProcess> Stack::StartService(
    const std::string& name, const std::string& binary, std::vector<std::string> args,
    const std::string& listen, const std::string& health_service, std::string* address) {
  std::vector<std::string> argv = {
      binary, "--listen",          listen, "--data-dir",          data_dir_, "--log-level",
      "info", "--handler-threads", "8",    "--shutdown-grace-ms", "1000"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<ChildProcess>(argv, dir_.File(name + ".log"));
  *address = p->WaitForLine("LISTENING ");
  if (address->empty()) {
    Fail(absl::StrCat(name, " did not start:\n", LogTail(name)));
    return p;
  }
  if (!testing::WaitForServing(MakeChannel(*address), health_service)) {
    Fail(absl::StrCat(name, " is not SERVING:\n", LogTail(name)));
  }
  return p;
}

void Stack::StartReminders() {
  std::string address;
  reminders_ = StartService("reminders", DUBAN_REMINDERS_BINARY,
                            {"--units-addr", units_addr_, "--redis", redis_url_}, reminders_addr_,
                            "duban.reminders.v1.ReminderService", &address);
  if (reminders_stub_ == nullptr) {
    reminders_stub_ = rv1::ReminderService::NewStub(MakeChannel(reminders_addr_));
  }
}

int Stack::StopReminders() { return Terminate(reminders_, std::chrono::seconds(15)); }

void Stack::StartWorker(const std::string& name) {
  std::vector<std::string> argv = {DUBAN_WORKER_BINARY,
                                   "--redis",
                                   redis_url_,
                                   "--source",
                                   "grpc",
                                   "--units-addr",
                                   units_addr_,
                                   "--tasks-addr",
                                   tasks_addr_,
                                   "--reminders-addr",
                                   reminders_addr_,
                                   "--channel",
                                   "webhook",
                                   "--webhook-secret-file",
                                   dir_.File("webhook.secret"),
                                   "--webhook-timeout-ms",
                                   "5000",
                                   "--worker-id",
                                   name,
                                   "--log-level",
                                   "info",
                                   "--lease-ms",
                                   std::to_string(options_.worker_lease_ms),
                                   "--promoter-lease-ms",
                                   "600",
                                   "--retry-base-ms",
                                   "100",
                                   "--retry-cap-ms",
                                   "500",
                                   "--consumers",
                                   std::to_string(options_.worker_consumers),
                                   "--batch",
                                   "20",
                                   "--shutdown-grace-ms",
                                   "3000"};
  worker_ = std::make_unique<ChildProcess>(argv, dir_.File("worker.log"));
  if (worker_->WaitForLine("READY ") != name) {
    Fail("worker did not start:\n" + LogTail("worker"));
  }
}

int Stack::KillWorker() {
  int status = worker_ != nullptr ? worker_->Signal(SIGKILL) : -1;
  worker_.reset();
  return status;
}

}  // namespace duban::e2e
