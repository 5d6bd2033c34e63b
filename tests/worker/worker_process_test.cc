// duban-worker end to end: the real binary against a real redis-server (one per test, unix
// socket in a temp dir) and, for webhooks, a local HTTP sink. Direct source mode: the job's ref
// is the target (a URL for webhook, anything for the log channel).
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "duban/queue/delivery_id.h"
#include "duban/queue/job_queue.h"
#include "redis_server.h"
#include "support/child_process.h"
#include "support/temp_dir.h"
#include "webhook_sink.h"

namespace duban::worker {
namespace {

using testing::ChildProcess;
using testing::RedisServer;
using testing::WebhookSink;

constexpr char kQueue[] = "wt";
constexpr char kSecret[] = "test-secret-not-logged";

bool WaitUntil(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(30)) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { redis_ = std::make_unique<RedisServer>(RedisOptions()); }
  virtual RedisServer::Options RedisOptions() { return {}; }

  std::unique_ptr<queue::JobQueue> Queue() {
    queue::QueueOptions o;
    o.name = kQueue;
    auto q = queue::JobQueue::Create(redis_->url(), o);
    EXPECT_TRUE(q.ok()) << q.status();
    return *std::move(q);
  }

  // Schedules jobs "<prefix>0".."<prefix>N-1", due spread over [from, from + spread).
  void Schedule(queue::JobQueue& q, const std::string& prefix, int n, const std::string& ref,
                absl::Duration from = absl::ZeroDuration(),
                absl::Duration spread = absl::ZeroDuration()) {
    auto now = q.ServerTimeMs();
    ASSERT_TRUE(now.ok()) << now.status();
    std::vector<queue::ScheduleRequest> reqs;
    for (int i = 0; i < n; ++i) {
      queue::ScheduleRequest r;
      r.job_id = absl::StrCat(prefix, i);
      r.version = 1;
      r.due = absl::FromUnixMillis(*now) + from + spread * i / std::max(n, 1);
      r.ref = ref;
      reqs.push_back(std::move(r));
    }
    auto res = q.Schedule(reqs);
    ASSERT_TRUE(res.ok()) << res.status();
  }

  std::unique_ptr<ChildProcess> StartWorker(std::vector<std::string> extra,
                                            const std::string& name = "w1") {
    std::vector<std::string> argv = {
        DUBAN_WORKER_BINARY, "--redis", redis_->url(), "--queue", kQueue, "--worker-id", name};
    // Test defaults: short leases and retries. `extra` overrides any of them.
    const std::vector<std::pair<std::string, std::string>> defaults = {
        {"--log-level", "info"},   {"--lease-ms", "1000"},         {"--promoter-lease-ms", "600"},
        {"--retry-base-ms", "50"}, {"--retry-cap-ms", "200"},      {"--consumers", "2"},
        {"--batch", "20"},         {"--shutdown-grace-ms", "2000"}};
    for (const auto& [flag, value] : defaults) {
      if (std::find(extra.begin(), extra.end(), flag) == extra.end()) {
        argv.push_back(flag);
        argv.push_back(value);
      }
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<ChildProcess>(argv, dir_.File(name + ".stderr"));
    std::string ready = p->WaitForLine("READY ");
    EXPECT_EQ(ready, name) << "worker did not start; see " << dir_.File(name + ".stderr");
    return p;
  }

  std::vector<std::string> LogArgs(const std::string& file) {
    return {"--channel", "log", "--log-file", dir_.File(file)};
  }
  std::vector<std::string> WebhookArgs() {
    std::ofstream(dir_.File("secret")) << kSecret << "\n";
    return {"--channel",
            "webhook",
            "--webhook-secret-file",
            dir_.File("secret"),
            "--webhook-timeout-ms",
            "3000"};
  }

  std::vector<nlohmann::json> ReadLog(const std::string& file) {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_.File(file));
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }

  queue::QueueStats Stats(queue::JobQueue& q) {
    auto s = q.Stats();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : queue::QueueStats{};
  }

  bool Drained(queue::JobQueue& q) {
    auto s = q.Stats();
    return s.ok() && s->due == 0 && s->ready == 0;
  }

  std::string StderrOf(const std::string& name) {
    std::ifstream in(dir_.File(name + ".stderr"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  testing::TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(WorkerProcessTest, DirectModeLogChannelDeliversEachOnceOnTime) {
  auto q = Queue();
  Schedule(*q, "now-", 100, "contact-a");
  Schedule(*q, "later-", 100, "contact-b|en", absl::Milliseconds(300), absl::Milliseconds(700));
  auto w = StartWorker(LogArgs("out.jsonl"));
  ASSERT_TRUE(WaitUntil([&] { return ReadLog("out.jsonl").size() >= 200; }));
  ASSERT_TRUE(WaitUntil([&] { return Drained(*q); }));
  auto lines = ReadLog("out.jsonl");
  ASSERT_EQ(lines.size(), 200u);
  std::set<std::string> ids;
  for (const auto& j : lines) {
    std::string id = j["reminder_id"];
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
    EXPECT_EQ(j["delivery_id"], queue::DeliveryId(kQueue, id, 1));
    EXPECT_EQ(j["locale"], id.rfind("later-", 0) == 0 ? "en" : "zh");
  }
  // Nothing left anywhere: no due jobs, no unsettled entries, nothing dead.
  queue::QueueStats s = Stats(*q);
  EXPECT_EQ(s.due, 0);
  EXPECT_EQ(s.ready, 0);
  EXPECT_EQ(s.dead, 0);
  EXPECT_EQ(w->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, PromoterWakesForAJobScheduledWhileItSleeps) {
  auto q = Queue();
  Schedule(*q, "far-", 1, "x", absl::Hours(1));  // the promoter sleeps its full second
  auto w = StartWorker(LogArgs("out.jsonl"));
  absl::SleepFor(absl::Milliseconds(300));
  Schedule(*q, "soon-", 1, "x", absl::Milliseconds(50));
  ASSERT_TRUE(WaitUntil([&] { return ReadLog("out.jsonl").size() == 1; }, absl::Seconds(5)));
  EXPECT_EQ(ReadLog("out.jsonl")[0]["reminder_id"], "soon-0");
  EXPECT_EQ(w->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, TwoWorkersShareTheQueueWithoutDuplicates) {
  auto q = Queue();
  auto w1 = StartWorker(LogArgs("w1.jsonl"), "w1");
  auto w2 = StartWorker(LogArgs("w2.jsonl"), "w2");
  Schedule(*q, "j-", 500, "x", absl::ZeroDuration(), absl::Seconds(1));
  ASSERT_TRUE(
      WaitUntil([&] { return ReadLog("w1.jsonl").size() + ReadLog("w2.jsonl").size() >= 500; }));
  ASSERT_TRUE(WaitUntil([&] { return Drained(*q); }));
  std::multiset<std::string> all;
  for (const auto* f : {"w1.jsonl", "w2.jsonl"}) {
    for (const auto& j : ReadLog(f)) all.insert(j["reminder_id"].get<std::string>());
  }
  EXPECT_EQ(all.size(), 500u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 500u);
  // Exactly one of them holds the promoter lease.
  std::string holder = redis_->Str({"GET", q->keys().promoter_lease()});
  EXPECT_THAT(holder, ::testing::AnyOf("w1", "w2"));
  EXPECT_EQ(w1->Signal(SIGTERM), 0);
  EXPECT_EQ(w2->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, WebhookFailuresRateLimitsAndRecoveryWithSignatures) {
  WebhookSink sink(kSecret);
  auto q = Queue();
  Schedule(*q, "ok-", 20, sink.Url("/ok/x"));
  Schedule(*q, "fail-", 5, sink.Url("/fail/2/x"));    // two 500s, then 200
  Schedule(*q, "limit-", 5, sink.Url("/limit/1/x"));  // one 429 Retry-After: 1, then 200
  Schedule(*q, "bad-", 3, sink.Url("/bad/x"));        // 400: permanent
  Schedule(*q, "badurl-", 2, "ftp://example.com/");   // invalid address: permanent
  auto w = StartWorker(WebhookArgs());
  ASSERT_TRUE(WaitUntil([&] { return Drained(*q) && Stats(*q).dead == 5; }));

  std::multiset<std::string> delivered = sink.Delivered();
  EXPECT_EQ(delivered.size(), 30u);
  for (const std::string& id : delivered) EXPECT_EQ(delivered.count(id), 1u) << id;
  int fails = 0, limits = 0;
  for (const auto& r : sink.Requests()) {
    EXPECT_TRUE(r.signature_ok) << r.path;
    EXPECT_EQ(r.delivery_id, queue::DeliveryId(kQueue, r.reminder_id, 1));
    if (r.status == 500) ++fails;
    if (r.status == 429) ++limits;
  }
  EXPECT_EQ(fails, 10);
  EXPECT_EQ(limits, 5);
  // A 429 is retried no sooner than its Retry-After (1 s), although the retry backoff is
  // capped at 200 ms here.
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> limit_times;
  for (const auto& r : sink.Requests()) {
    if (r.reminder_id.rfind("limit-", 0) == 0) limit_times[r.reminder_id].push_back(r.at);
  }
  ASSERT_EQ(limit_times.size(), 5u);
  for (const auto& [id, times] : limit_times) {
    ASSERT_EQ(times.size(), 2u) << id;
    EXPECT_GE(times[1] - times[0], std::chrono::milliseconds(950)) << id;
  }
  auto dead = q->ListDead(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 5u);
  for (const auto& d : *dead) {
    EXPECT_EQ(d.reason, "permanent") << d.job_id;
    if (d.job_id.rfind("bad-", 0) == 0) {
      EXPECT_EQ(d.error, "http 400");
    } else {
      EXPECT_THAT(d.error, ::testing::HasSubstr("scheme"));
    }
  }
  // The secret never reaches the process log.
  EXPECT_EQ(StderrOf("w1").find(kSecret), std::string::npos);
  EXPECT_EQ(w->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, RetriesStopAtMaxAttempts) {
  WebhookSink sink(kSecret);
  auto q = Queue();
  Schedule(*q, "down-", 2, sink.Url("/fail/100/x"));
  std::vector<std::string> args = WebhookArgs();
  args.insert(args.end(), {"--max-attempts", "3"});
  auto w = StartWorker(args);
  ASSERT_TRUE(WaitUntil([&] { return Stats(*q).dead == 2 && Drained(*q); }));
  EXPECT_EQ(sink.Count(), 6u);  // 3 attempts each
  auto dead = q->ListDead(10);
  ASSERT_TRUE(dead.ok());
  for (const auto& d : *dead) EXPECT_EQ(d.reason, "max_attempts");
  EXPECT_EQ(w->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, KilledWorkerMidBatchLosesNothing) {
  WebhookSink sink(kSecret);
  auto q = Queue();
  Schedule(*q, "k-", 100, sink.Url("/slow/20/x"));
  std::vector<std::string> args = WebhookArgs();
  auto w1 = StartWorker(args, "w1");
  ASSERT_TRUE(WaitUntil([&] { return sink.Count() >= 15; }));
  w1->Signal(SIGKILL);  // mid-batch: sends done, outcomes not settled
  size_t before = sink.Count();
  auto w2 = StartWorker(args, "w2");
  ASSERT_TRUE(WaitUntil([&] { return Drained(*q); }));
  std::multiset<std::string> delivered = sink.Delivered();
  std::set<std::string> unique(delivered.begin(), delivered.end());
  EXPECT_EQ(unique.size(), 100u);  // nothing lost
  size_t duplicates = delivered.size() - unique.size();
  // Duplicates only where w1 sent but died before settling: at most its unsettled batches
  // (2 consumers x 20) and never more than what it had sent.
  EXPECT_LE(duplicates, std::min<size_t>(before, 40));
  std::map<std::string, std::set<std::string>> delivery_ids;
  for (const auto& r : sink.Requests()) delivery_ids[r.reminder_id].insert(r.delivery_id);
  for (const auto& [id, ids] : delivery_ids) EXPECT_EQ(ids.size(), 1u) << id;
  EXPECT_EQ(Stats(*q).dead, 0);
  std::cerr << "kill -9 after " << before << " sends: " << duplicates << " duplicates\n";
  EXPECT_EQ(w2->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, SigtermFinishesInFlightWithinGraceAndLeavesTheRest) {
  WebhookSink sink(kSecret);
  auto q = Queue();
  Schedule(*q, "g-", 20, sink.Url("/slow/150/x"));
  std::vector<std::string> args = WebhookArgs();
  args.insert(args.end(), {"--consumers", "1", "--shutdown-grace-ms", "500"});
  auto w1 = StartWorker(args, "w1");
  ASSERT_TRUE(WaitUntil([&] { return sink.Count() >= 1; }));
  absl::Time t0 = absl::Now();
  int status = w1->Signal(SIGTERM);
  absl::Duration took = absl::Now() - t0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(took, absl::Seconds(2));
  size_t sent_by_w1 = sink.Count();
  EXPECT_LT(sent_by_w1, 20u);
  // What w1 did not finish comes back through another worker's janitor after the lease.
  auto w2 = StartWorker(args, "w2");
  ASSERT_TRUE(WaitUntil([&] { return Drained(*q); }));
  std::multiset<std::string> delivered = sink.Delivered();
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()).size(), 20u);
  EXPECT_EQ(delivered.size(), 20u) << "a graceful stop settles what it sent";
  EXPECT_EQ(w2->Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, MetricsEndpoint) {
  auto q = Queue();
  Schedule(*q, "m-", 10, "x");
  std::vector<std::string> args = LogArgs("out.jsonl");
  args.insert(args.end(), {"--metrics-listen", "127.0.0.1:0"});
  std::vector<std::string> argv = {DUBAN_WORKER_BINARY, "--redis", redis_->url(), "--queue", kQueue,
                                   "--worker-id",       "m1"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess w(argv, dir_.File("m1.stderr"));
  std::string addr = w.WaitForLine("METRICS ");
  ASSERT_FALSE(addr.empty());
  ASSERT_EQ(w.WaitForLine("READY "), "m1");
  ASSERT_TRUE(WaitUntil([&] { return ReadLog("out.jsonl").size() == 10; }));
  size_t colon = addr.rfind(':');
  httplib::Client client(addr.substr(0, colon), std::stoi(addr.substr(colon + 1)));
  std::string body;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto res = client.Get("/metrics");
        if (!res || res->status != 200) return false;
        body = res->body;
        return body.find("duban_worker_deliveries_total{outcome=\"sent\"} 10") != std::string::npos;
      },
      absl::Seconds(5)))
      << body;
  for (const char* name :
       {"duban_worker_lateness_seconds_bucket{le=\"0.001\"}", "duban_worker_promote_batch_seconds",
        "duban_queue_due_jobs", "duban_queue_ready_lag", "duban_worker_in_flight",
        "duban_queue_due_backlog_seconds", "duban_worker_deliveries_total{outcome=\"retried\"}",
        "duban_worker_deliveries_total{outcome=\"dead\"}"}) {
    EXPECT_NE(body.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(w.Signal(SIGTERM), 0);
}

TEST_F(WorkerProcessTest, BadFlagsExitWithUsageError) {
  for (std::vector<std::string> extra :
       {std::vector<std::string>{"--channel", "pigeon"},
        std::vector<std::string>{"--channel", "webhook"},  // no secret file
        std::vector<std::string>{"--source", "grpc"},      // no service addresses
        std::vector<std::string>{"--channel", "smtp", "--smtp-relay", "http://x"},
        std::vector<std::string>{"--jobs-per-entry", "0"},
        std::vector<std::string>{"--jobs-per-entry", "1001"}}) {
    std::vector<std::string> argv = {DUBAN_WORKER_BINARY, "--redis", redis_->url()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ChildProcess p(argv, dir_.File("bad.stderr"));
    int status = p.Wait(std::chrono::seconds(10));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2)
        << extra[1] << " status " << status << " " << argv[0] << ": " << StderrOf("bad");
    if (extra[0] == "--jobs-per-entry") {
      EXPECT_NE(StderrOf("bad").find("--jobs-per-entry"), std::string::npos) << StderrOf("bad");
    }
  }
}

class WorkerAofTest : public WorkerProcessTest {
 protected:
  RedisServer::Options RedisOptions() override {
    RedisServer::Options o;
    o.appendonly = true;
    o.appendfsync = "always";
    return o;
  }
};

TEST_F(WorkerAofTest, RedisCrashAndRestartWithAofLosesNothing) {
  auto q = Queue();
  Schedule(*q, "a-", 300, "x", absl::ZeroDuration(), absl::Seconds(3));
  auto w = StartWorker(LogArgs("out.jsonl"));
  ASSERT_TRUE(WaitUntil([&] { return ReadLog("out.jsonl").size() >= 50; }));
  redis_->Restart(/*graceful=*/false);  // kill -9 of Redis; AOF fsync always
  ASSERT_TRUE(WaitUntil([&] { return Drained(*q); }, absl::Seconds(40)));
  std::multiset<std::string> ids;
  for (const auto& j : ReadLog("out.jsonl")) ids.insert(j["reminder_id"].get<std::string>());
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), 300u);
  std::cerr << "Redis restart: " << ids.size() - unique.size() << " duplicates\n";
  EXPECT_EQ(Stats(*q).dead, 0);
  EXPECT_EQ(w->Signal(SIGTERM), 0);
}

}  // namespace
}  // namespace duban::worker
