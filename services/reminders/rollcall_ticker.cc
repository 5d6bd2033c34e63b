#include "rollcall_ticker.h"

#include <spdlog/spdlog.h>

namespace duban::reminders {

void RollCallTicker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void RollCallTicker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RollCallTicker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto report = ledger_.RunDueRollCalls();
    if (!report.ok()) {
      spdlog::warn("roll-call tick failed: {}; retrying", std::string(report.status().message()));
    } else if (report->rounds_started > 0 || report->chase_waves > 0) {
      spdlog::info("roll-calls: {} round(s) started, {} chase wave(s), {} chase(s) sent",
                   report->rounds_started, report->chase_waves, report->chases_sent);
    }
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stop_; });
  }
}

}  // namespace duban::reminders
