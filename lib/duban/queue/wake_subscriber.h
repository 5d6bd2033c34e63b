#pragma once
// The promoter's wake-up line: a pub/sub subscription (its own connection) to the queue's wake
// channel, on which Schedule and Settle publish when a job becomes the earliest due one. The
// promoter sleeps on its own timer (Wait's timeout) and never on a Redis blocking timeout;
// a publish cuts the sleep short. Wait is for one thread; Interrupt may come from any thread.
#include <atomic>
#include <optional>
#include <string>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "duban/queue/queue_keys.h"
#include "duban/queue/redis_client.h"

namespace duban::queue {

enum class WakeReason {
  kTimeout,       // the timer ran out
  kPublished,     // an earlier job was scheduled (latest_due_ms() says when it is due)
  kInterrupted,   // Interrupt() was called (e.g. shutdown)
  kResubscribed,  // the subscription was re-established: a wake-up may have been missed
};

class WakeSubscriber {
 public:
  WakeSubscriber(RedisEndpoint endpoint, std::string queue,
                 RedisConnectionOptions connection = RedisConnectionOptions());
  ~WakeSubscriber();
  WakeSubscriber(const WakeSubscriber&) = delete;
  WakeSubscriber& operator=(const WakeSubscriber&) = delete;

  // Connects and subscribes (Wait does it too). Subscribe before the first PromoteDue so no
  // publish between the two is missed.
  absl::Status Subscribe();
  // Sleeps up to `timeout` for a wake-up. UNAVAILABLE when the connection broke (the next call
  // resubscribes and returns kResubscribed).
  absl::StatusOr<WakeReason> Wait(absl::Duration timeout);
  // Makes the current or next Wait return kInterrupted. Thread-safe, async-signal-safe.
  void Interrupt();
  // The due time carried by the last publish seen (server clock, Unix ms).
  std::optional<int64_t> latest_due_ms() const { return latest_due_ms_; }

 private:
  // Consumes parsed messages already buffered; true if any was a wake-up.
  absl::StatusOr<bool> DrainBuffered();

  QueueKeys keys_;
  RedisConnection conn_;
  int event_fd_ = -1;
  bool subscribed_ = false;
  bool ever_subscribed_ = false;
  std::optional<int64_t> latest_due_ms_;
};

}  // namespace duban::queue
