#pragma once
// RollCallTicker: the time-driven half of roll-calls. A background thread that asks the ledger
// every `interval` to start due rounds and send due chases. All the safety lives in
// ReminderLedger::RunDueRollCalls (each round and chase is claimed in the transaction that
// moves the schedule on), so a restart, a slow tick or a second replica never sends twice.
#include <condition_variable>
#include <mutex>
#include <thread>

#include <absl/time/time.h>

#include "reminder_ledger.h"

namespace duban::reminders {

class RollCallTicker {
 public:
  // Rounds are minute-precision business events; a few seconds of lateness is fine.
  explicit RollCallTicker(ReminderLedger& ledger, absl::Duration interval = absl::Seconds(5))
      : ledger_(ledger), interval_(interval) {}
  ~RollCallTicker() { Stop(); }
  RollCallTicker(const RollCallTicker&) = delete;
  RollCallTicker& operator=(const RollCallTicker&) = delete;

  // Runs one tick at once (catching up rounds due while the process was down), then one per
  // interval until Stop().
  void Start();
  void Stop();

 private:
  void Loop();

  ReminderLedger& ledger_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace duban::reminders
