#include "outbox_dispatcher.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "duban/time_util.h"

namespace duban::tasks {

bool IsPermanentDeliveryError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return true;
    default:
      return false;
  }
}

OutboxDispatcher::OutboxDispatcher(TaskStore& store, ReminderSink& sink, OutboxOptions options)
    : store_(store), sink_(sink), options_(options) {}

OutboxDispatcher::~OutboxDispatcher() { Stop(); }

void OutboxDispatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  notified_ = true;  // deliver what a previous process left behind
  thread_ = std::thread([this] { Loop(); });
}

void OutboxDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

void OutboxDispatcher::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notified_ = true;
  }
  cv_.notify_all();
}

OutboxDispatcher::Stats OutboxDispatcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

absl::Status OutboxDispatcher::Forget(const std::vector<OutboxMessage>& batch, size_t from,
                                      size_t n) {
  if (n == 0) return absl::OkStatus();
  std::vector<int64_t> seqs;
  for (size_t i = from; i < from + n; ++i) seqs.push_back(batch[i].sequence);
  absl::Status s = store_.Write([&](TaskWriter& tx) { return tx.DeleteOutbox(seqs); });
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.delivered += static_cast<int64_t>(n);
  }
  return s;
}

absl::StatusOr<int> OutboxDispatcher::RunOnce() {
  std::vector<OutboxMessage> batch;
  absl::Status read = store_.Read([&](TaskReader& tx) -> absl::Status {
    auto rows = tx.ReadOutbox(options_.batch_size);
    if (!rows.ok()) return rows.status();
    batch = std::move(*rows);
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  if (batch.empty()) return 0;

  ReminderSink::Result r = sink_.Deliver(batch);
  r.delivered = std::min(r.delivered, batch.size());
  if (auto s = Forget(batch, 0, r.delivered); !s.ok()) return s;
  int done = static_cast<int>(r.delivered);
  if (r.error.ok()) return done;

  if (IsPermanentDeliveryError(r.error)) {
    // Isolate the bad row: one by one, in order, until a transient error or the end.
    for (size_t i = r.delivered; i < batch.size(); ++i) {
      ReminderSink::Result one = sink_.Deliver({batch[i]});
      if (one.error.ok()) {
        if (auto s = Forget(batch, i, 1); !s.ok()) return s;
        ++done;
        continue;
      }
      if (!IsPermanentDeliveryError(one.error)) {
        r.error = one.error;
        r.delivered = i;
        break;
      }
      spdlog::error(
          "outbox row {} (kind {}) rejected by the reminders service, moved to "
          "outbox_dead: {}",
          batch[i].sequence, static_cast<int>(batch[i].kind), std::string(one.error.message()));
      const int64_t now = ToMicros(absl::Now());
      const std::string why(one.error.ToString());
      if (auto s = store_.Write(
              [&](TaskWriter& tx) { return tx.BuryOutbox(batch[i].sequence, why, now); });
          !s.ok()) {
        return s;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.buried += 1;
      }
      ++done;
      if (i + 1 == batch.size()) return done;
    }
    if (IsPermanentDeliveryError(r.error)) return done;
  }
  // Transient: remember the attempt on the first undelivered row and let the caller back off.
  const int64_t seq = batch[r.delivered].sequence;
  const std::string why(r.error.ToString());
  (void)store_.Write([&](TaskWriter& tx) { return tx.RecordOutboxAttempt(seq, why); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.failed_passes += 1;
  }
  return r.error;
}

void OutboxDispatcher::Loop() {
  std::mt19937_64 rng(std::random_device{}());
  auto backoff = options_.initial_backoff;
  int failures = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      notified_ = false;
    }
    auto result = RunOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) return;
    if (result.ok()) {
      if (failures > 0) spdlog::info("outbox: reminders service reachable again");
      failures = 0;
      backoff = options_.initial_backoff;
      if (*result > 0) continue;  // there may be more
      cv_.wait_for(lock, options_.idle_poll, [this] { return stop_ || notified_; });
      continue;
    }
    if (failures++ == 0 || failures % 20 == 0) {
      spdlog::warn("outbox: delivery failed ({} in a row), retrying: {}", failures,
                   std::string(result.status().message()));
    }
    // Jitter: sleep uniformly in [backoff/2, backoff], then double up to the cap.
    std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
    auto sleep = std::chrono::milliseconds(jitter(rng));
    cv_.wait_for(lock, sleep, [this] { return stop_; });
    backoff = std::min(options_.max_backoff, backoff * 2);
  }
}

}  // namespace duban::tasks
