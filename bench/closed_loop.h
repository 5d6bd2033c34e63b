#pragma once
// Closed-loop load for one unary method: `concurrency` calls are always in flight (each slot
// starts its next call as soon as the previous one completes), driven by the async
// CompletionQueue API so that a few client threads can keep many calls in flight without
// taking CPU from the server on a small machine.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace duban::bench {

using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM: running loads stop launching calls and drain.
extern std::atomic<bool> g_stop_requested;

struct LoadOptions {
  int concurrency = 16;
  int client_threads = 1;
  // Calls completing during the warm-up are not counted (connections, caches, allocators).
  std::chrono::milliseconds warmup{1000};
  // Measurement window. A call-count bounded load (see Fill) ends earlier when work runs out.
  std::chrono::milliseconds duration{5000};
  // Per call; keeps a stuck server from hanging the benchmark.
  std::chrono::milliseconds call_deadline{10000};
  uint64_t seed = 1;
};

struct LoadResult {
  int64_t ok = 0;
  int64_t errors = 0;
  // Every completed call, warm-up and tail included: the denominator for CPU per call.
  int64_t completed_total = 0;
  std::string first_error;
  double seconds = 0;               // measured window actually used
  std::vector<int64_t> latency_ns;  // successful calls in the window
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  // q in [0, 1], nearest rank; sorts latency_ns.
  double QuantileMs(double q);
};

template <typename Request, typename Response>
struct UnaryMethod {
  // Starts a call (a stub's PrepareAsync<Method>); the runner calls StartCall and Finish.
  std::function<std::unique_ptr<grpc::ClientAsyncResponseReader<Response>>(
      grpc::ClientContext*, const Request&, grpc::CompletionQueue*)>
      prepare;
  // Fills the next request; returning false means there is no more work (count-bounded load).
  // Called from client threads: it must be thread-safe (each thread has its own rng).
  std::function<bool(std::mt19937_64&, Request&)> fill;
  // Optional check of a successful response; an error string counts the call as failed.
  std::function<std::string(const Request&, const Response&)> check;
};

namespace internal {

template <typename Request, typename Response>
struct Slot {
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
  Request request;
  Response response;
  grpc::Status status;
  Clock::time_point started;
};

struct ThreadResult {
  int64_t ok = 0;
  int64_t errors = 0;
  int64_t completed_total = 0;
  std::string first_error;
  Clock::time_point last_completion{};
  std::vector<int64_t> latency_ns;
};

}  // namespace internal

template <typename Request, typename Response>
LoadResult RunClosedLoop(const UnaryMethod<Request, Response>& method, const LoadOptions& opt) {
  using SlotT = internal::Slot<Request, Response>;
  const Clock::time_point start = Clock::now();
  const Clock::time_point window_start = start + opt.warmup;
  const Clock::time_point window_end = window_start + opt.duration;
  const int threads = std::max(1, std::min(opt.client_threads, opt.concurrency));
  std::vector<internal::ThreadResult> results(threads);

  auto worker = [&](int t) {
    internal::ThreadResult& r = results[t];
    std::mt19937_64 rng(opt.seed * 7919 + t);
    grpc::CompletionQueue cq;
    // Spread the slots over the threads; the first threads take the remainder.
    const int slots = opt.concurrency / threads + (t < opt.concurrency % threads ? 1 : 0);
    std::vector<SlotT> slot(slots);
    auto launch = [&](SlotT& s) -> bool {
      if (g_stop_requested.load(std::memory_order_relaxed)) return false;
      s.request.Clear();
      if (!method.fill(rng, s.request)) return false;
      s.response.Clear();
      s.context = std::make_unique<grpc::ClientContext>();
      s.started = Clock::now();
      s.context->set_deadline(std::chrono::system_clock::now() + opt.call_deadline);
      s.reader = method.prepare(s.context.get(), s.request, &cq);
      s.reader->StartCall();
      s.reader->Finish(&s.response, &s.status, &s);
      return true;
    };
    int in_flight = 0;
    for (auto& s : slot) in_flight += launch(s) ? 1 : 0;
    void* tag = nullptr;
    bool ok = false;
    while (in_flight > 0 && cq.Next(&tag, &ok)) {
      auto& s = *static_cast<SlotT*>(tag);
      const Clock::time_point now = Clock::now();
      ++r.completed_total;
      if (now >= window_start && now < window_end) {
        std::string error;
        if (!s.status.ok()) {
          error = "code " + std::to_string(static_cast<int>(s.status.error_code())) + ": " +
                  s.status.error_message();
        } else if (method.check) {
          error = method.check(s.request, s.response);
        }
        if (error.empty()) {
          ++r.ok;
          r.latency_ns.push_back(
              std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.started).count());
          r.last_completion = now;
        } else {
          if (r.errors++ == 0) r.first_error = error;
        }
      }
      if (now >= window_end || !launch(s)) --in_flight;
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  };

  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& th : pool) th.join();

  LoadResult out;
  Clock::time_point last = window_start;
  for (auto& r : results) {
    out.ok += r.ok;
    out.errors += r.errors;
    out.completed_total += r.completed_total;
    if (out.first_error.empty()) out.first_error = r.first_error;
    last = std::max(last, r.last_completion);
    out.latency_ns.insert(out.latency_ns.end(), r.latency_ns.begin(), r.latency_ns.end());
  }
  // A count-bounded load ends when its last call does, usually before window_end.
  out.seconds = std::chrono::duration<double>(std::min(last, window_end) - window_start).count();
  return out;
}

}  // namespace duban::bench
