#pragma once
// How long to wait before the next attempt of a failed send: capped exponential backoff with
// full jitter (delay uniform in [0, min(cap, base * 2^(attempt-1))]), which spreads retries of
// many failing jobs instead of synchronising them. The randomness is injected so tests are
// deterministic. The queue, not this class, refuses a retry past the job's useful life.
#include <absl/random/bit_gen_ref.h>
#include <absl/status/status.h>
#include <absl/time/time.h>

namespace duban::queue {

struct RetryPolicy {
  absl::Duration base = absl::Seconds(1);
  absl::Duration cap = absl::Minutes(10);
  // Failed attempts after which the job is dead-lettered ("max_attempts"); 0 = unlimited
  // (only the useful life bounds it).
  int max_attempts = 20;

  absl::Status Validate() const;

  // The upper bound of the delay before retry number `attempt` (1 = first retry).
  absl::Duration Ceiling(int attempt) const;
  // A delay uniformly drawn from [0, Ceiling(attempt)], whole milliseconds.
  absl::Duration Backoff(int attempt, absl::BitGenRef gen) const;
};

}  // namespace duban::queue
