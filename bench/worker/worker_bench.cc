// duban-worker-bench: the worker pipeline (DeliveryWorker) in process against a real Redis.
// clang-format off
//   duban-worker-bench --redis URL throughput N      promote + deliver + ack, noop channel
//   duban-worker-bench --redis URL lateness N SECS   N due uniformly over SECS: lateness p50/p99/max
//   duban-worker-bench --redis URL promote N         N due at one instant: promotion rate, max call
//   duban-worker-bench --redis URL memory N          Redis bytes per scheduled job
//   duban-worker-bench --redis URL webhook N         webhook channel to a loopback HTTP sink
// clang-format on
// Each run flushes the bench queue's keys first (queue "bench"). Never point it at a shared Redis.
#include <httplib.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "delivery_worker.h"
#include "duban/queue/job_queue.h"
#include "log_channel.h"
#include "outcome_sink.h"
#include "reminder_source.h"
#include "webhook_channel.h"

namespace dw = duban::worker;
namespace dq = duban::queue;

namespace {

// Records send time − due time of every message (the lateness the histogram measures).
class LatenessChannelFactory : public dw::ChannelFactory {
 public:
  class Ch : public dw::Channel {
   public:
    explicit Ch(LatenessChannelFactory* f) : f_(f) {}
    dw::SendResult Send(const dw::OutboundMessage& m) override {
      int64_t late = absl::ToUnixMicros(absl::Now()) - m.due_ms * 1000;
      std::lock_guard<std::mutex> lock(f_->mu);
      f_->lateness_us.push_back(late);
      return dw::SendResult::Sent();
    }
    const char* name() const override { return "noop"; }

   private:
    LatenessChannelFactory* f_;
  };
  std::unique_ptr<dw::Channel> NewChannel() override { return std::make_unique<Ch>(this); }
  absl::Status ValidateAddress(const std::string&) const override { return absl::OkStatus(); }
  std::mutex mu;
  std::vector<int64_t> lateness_us;
};

void Die(const absl::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  std::exit(1);
}

// Jobs per ready-stream entry: duban-worker's default (--jobs-per-entry) unless
// BENCH_JOBS_PER_ENTRY says otherwise (1 = the layout before multi-job entries).
int JobsPerEntry() {
  return std::atoi(std::getenv("BENCH_JOBS_PER_ENTRY") ? std::getenv("BENCH_JOBS_PER_ENTRY")
                                                       : "50");
}

std::unique_ptr<dq::JobQueue> Queue(const std::string& url) {
  dq::QueueOptions o;
  o.name = "bench";
  o.jobs_per_entry = JobsPerEntry();
  auto q = dq::JobQueue::Create(url, o);
  if (!q.ok()) Die(q.status());
  return *std::move(q);
}

void FlushQueue(const std::string& url) {
  auto ep = dq::RedisEndpoint::Parse(url);
  if (!ep.ok()) Die(ep.status());
  dq::RedisConnection c(*ep, dq::RedisConnectionOptions());
  auto keys = c.Command({"KEYS", "duban:{bench}:*"});
  if (!keys.ok()) Die(keys.status());
  // 1,000 keys per UNLINK: a run leaves one sent marker per job, and one call per key would
  // take longer than the run itself.
  std::vector<std::string> argv{"UNLINK"};
  for (size_t i = 0; i < (*keys)->elements; ++i) {
    argv.emplace_back((*keys)->element[i]->str, (*keys)->element[i]->len);
    if (argv.size() == 1001 || i + 1 == (*keys)->elements) {
      if (auto r = c.Command(argv); !r.ok()) Die(r.status());
      argv.resize(1);
    }
  }
}

// One section of Redis's INFO, as text.
std::string RedisInfo(const std::string& url, const char* section) {
  auto ep = dq::RedisEndpoint::Parse(url);
  dq::RedisConnection c(*ep, dq::RedisConnectionOptions());
  auto r = c.Command({"INFO", section});
  if (!r.ok()) Die(r.status());
  return std::string((*r)->str, (*r)->len);
}

// The number after "<field>:" in INFO text (0 when absent).
double InfoNumber(const std::string& info, const std::string& field) {
  size_t p = info.find(field + ":");
  return p == std::string::npos ? 0 : std::atof(info.c_str() + p + field.size() + 1);
}

// Redis's CPU time (user + system) in seconds, from INFO cpu.
double RedisCpuSeconds(const std::string& url) {
  const std::string info = RedisInfo(url, "cpu");
  return InfoNumber(info, "used_cpu_sys") + InfoNumber(info, "used_cpu_user");
}

// This process's CPU time (user + system) in seconds.
double OwnCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int64_t UsedMemory(const std::string& url) {
  return static_cast<int64_t>(InfoNumber(RedisInfo(url, "memory"), "used_memory"));
}

// Schedules N jobs; due(i) gives the due time. Returns the scheduling rate.
double ScheduleJobs(dq::JobQueue& q, int n, const std::function<absl::Time(int)>& due,
                    const std::string& ref) {
  absl::Time t0 = absl::Now();
  std::vector<dq::ScheduleRequest> reqs;
  for (int i = 0; i < n; ++i) {
    dq::ScheduleRequest r;
    r.job_id = absl::StrCat("r", i);
    r.version = 1;
    r.due = due(i);
    r.ref = ref;
    reqs.push_back(std::move(r));
    if (reqs.size() == 5000 || i == n - 1) {
      auto s = q.Schedule(reqs);
      if (!s.ok()) Die(s.status());
      reqs.clear();
    }
  }
  return n / absl::ToDoubleSeconds(absl::Now() - t0);
}

dw::WorkerOptions Options(const std::string& url) {
  dw::WorkerOptions o;
  o.redis_url = url;
  o.worker_id = "bench";
  o.queue.name = "bench";
  o.queue.jobs_per_entry = JobsPerEntry();
  o.consumers = std::atoi(std::getenv("BENCH_CONSUMERS") ? std::getenv("BENCH_CONSUMERS") : "2");
  o.batch = std::atoi(std::getenv("BENCH_BATCH") ? std::getenv("BENCH_BATCH") : "200");
  o.queue.promote_batch =
      std::atoi(std::getenv("BENCH_PROMOTE_BATCH") ? std::getenv("BENCH_PROMOTE_BATCH") : "200");
  return o;
}

void WaitDrained(dq::JobQueue& q, int64_t expected_sent, const std::function<int64_t()>& sent) {
  while (true) {
    absl::SleepFor(absl::Milliseconds(2));
    if (sent() < expected_sent) continue;
    auto s = q.Stats();
    if (s.ok() && s->due == 0 && s->ready == 0) return;
  }
}

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return static_cast<double>(v[i]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::string(argv[1]) != "--redis") {
    std::fprintf(stderr,
                 "usage: %s --redis URL throughput|lateness|promote|memory|webhook N [SECS]\n",
                 argv[0]);
    return 2;
  }
  const std::string url = argv[2];
  const std::string mode = argv[3];
  const int n = std::atoi(argv[4]);
  FlushQueue(url);
  auto q = Queue(url);
  if (auto s = q->EnsureGroup(); !s.ok()) Die(s);
  dw::DirectReminderSource source;
  dw::LogOutcomeSink sink;

  if (mode == "throughput") {
    auto now = absl::FromUnixMillis(*q->ServerTimeMs());
    double sched = ScheduleJobs(
        *q, n, [&](int) { return now - absl::Seconds(1); }, "x");
    LatenessChannelFactory channels;
    dw::WorkerMetrics metrics;
    dw::DeliveryWorker w(Options(url), &source, &channels, &sink, &metrics);
    double redis_cpu0 = RedisCpuSeconds(url), own_cpu0 = OwnCpuSeconds();
    absl::Time t0 = absl::Now();
    if (auto s = w.Start(); !s.ok()) Die(s);
    WaitDrained(*q, n, [&] {
      std::lock_guard<std::mutex> lock(channels.mu);
      return static_cast<int64_t>(channels.lateness_us.size());
    });
    double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    // CPU per reminder does not depend on what else the machine runs, unlike the rate.
    double redis_us = (RedisCpuSeconds(url) - redis_cpu0) * 1e6 / n;
    double own_us = (OwnCpuSeconds() - own_cpu0) * 1e6 / n;
    w.Stop();
    std::printf(
        "throughput: %d reminders promoted+delivered+acked in %.2f s = %.0f/s "
        "(scheduling %.0f/s; consumers %d, batch %d, %d jobs per entry); CPU per reminder: "
        "redis %.1f us, worker %.1f us\n",
        n, secs, n / secs, sched, Options(url).consumers, Options(url).batch, JobsPerEntry(),
        redis_us, own_us);
  } else if (mode == "lateness") {
    double span = argc > 5 ? std::atof(argv[5]) : 10.0;
    absl::Time start = absl::FromUnixMillis(*q->ServerTimeMs()) + absl::Seconds(3);
    LatenessChannelFactory channels;
    dw::WorkerMetrics metrics;
    dw::DeliveryWorker w(Options(url), &source, &channels, &sink, &metrics);
    if (auto s = w.Start(); !s.ok()) Die(s);
    // Scheduled while the worker runs, like production (the promoter is asleep on its timer).
    ScheduleJobs(
        *q, n, [&](int i) { return start + absl::Seconds(span) * i / n; }, "x");
    WaitDrained(*q, n, [&] {
      std::lock_guard<std::mutex> lock(channels.mu);
      return static_cast<int64_t>(channels.lateness_us.size());
    });
    w.Stop();
    auto& v = channels.lateness_us;
    double p50 = Percentile(v, 0.5), p99 = Percentile(v, 0.99), p999 = Percentile(v, 0.999);
    std::printf(
        "lateness: %d reminders due over %.0f s: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
        "max %.2f ms, min %.2f ms\n",
        n, span, p50, p99, p999, static_cast<double>(v.back()) / 1000.0,
        static_cast<double>(v.front()) / 1000.0);
  } else if (mode == "promote" || mode == "memory") {
    int64_t before = UsedMemory(url);
    auto now = absl::FromUnixMillis(*q->ServerTimeMs());
    double sched = ScheduleJobs(
        *q, n, [&](int) { return now + absl::Seconds(2); }, "");
    int64_t after = UsedMemory(url);
    std::printf("memory: %d scheduled, %.0f bytes/job (used_memory delta), scheduling %.0f/s\n", n,
                static_cast<double>(after - before) / n, sched);
    if (mode == "memory") return 0;
    absl::SleepFor(now + absl::Seconds(2) + absl::Milliseconds(50) - absl::Now());
    int64_t total = 0;
    absl::Duration max_call;
    int calls = 0;
    double redis_cpu0 = RedisCpuSeconds(url);
    absl::Time t0 = absl::Now();
    while (true) {
      absl::Time c0 = absl::Now();
      auto r = q->PromoteDue();
      absl::Duration d = absl::Now() - c0;
      if (!r.ok()) Die(r.status());
      max_call = std::max(max_call, d);
      ++calls;
      total += r->promoted;
      if (!r->batch_full) break;
    }
    double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    double redis_us = (RedisCpuSeconds(url) - redis_cpu0) * 1e6 / static_cast<double>(total);
    std::printf(
        "promote: %lld due at one instant promoted in %.2f s = %.0f/s, %d calls of %d, "
        "max call %.2f ms (client-side, incl. round trip); Redis CPU %.1f us per job, %.2f ms "
        "per call\n",
        static_cast<long long>(total), secs, static_cast<double>(total) / secs, calls,
        q->options().promote_batch, absl::ToDoubleMilliseconds(max_call), redis_us,
        redis_us * q->options().promote_batch / 1000.0);
  } else if (mode == "webhook") {
    httplib::Server server;
    // Without TCP_NODELAY the sink's split response writes meet the client's delayed ACK (40 ms).
    server.set_tcp_nodelay(true);
    std::atomic<int64_t> received{0};
    server.Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
      received.fetch_add(1);
      res.set_content("{}", "application/json");
    });
    int port = server.bind_to_any_port("127.0.0.1");
    std::thread t([&] { server.listen_after_bind(); });
    auto now = absl::FromUnixMillis(*q->ServerTimeMs());
    ScheduleJobs(
        *q, n, [&](int) { return now - absl::Seconds(1); },
        absl::StrCat("http://127.0.0.1:", port, "/hook"));
    dw::WebhookOptions wo;
    wo.secret = "bench-secret";
    dw::WebhookChannelFactory channels(wo);
    dw::WorkerMetrics metrics;
    dw::WorkerOptions o = Options(url);
    dw::DeliveryWorker w(o, &source, &channels, &sink, &metrics);
    absl::Time t0 = absl::Now();
    if (auto s = w.Start(); !s.ok()) Die(s);
    WaitDrained(*q, n, [&] { return received.load(); });
    double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    w.Stop();
    server.stop();
    t.join();
    std::printf("webhook: %d signed POSTs to a loopback sink in %.2f s = %.0f/s (consumers %d)\n",
                n, secs, n / secs, o.consumers);
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  return 0;
}
