#pragma once
// A delivery channel: log (JSON lines), webhook (HTTP POST, signed) or smtp. One Channel object
// per thread (channels keep per-thread connections, e.g. curl handles for keep-alive); make
// them through a ChannelFactory. Send never throws and never logs message text.
#include <memory>
#include <optional>
#include <string>

#include <absl/status/status.h>
#include <absl/time/time.h>

#include "message.h"

namespace duban::worker {

struct SendResult {
  enum class Kind {
    kSent,       // accepted (2xx, relay accepted, written)
    kRetry,      // transient (5xx, timeout, connection refused, 429/503)
    kPermanent,  // never going to work as is (other 4xx, bad address): dead-letter
  };
  Kind kind = Kind::kSent;
  std::string error;                          // short, no personal data
  std::optional<absl::Duration> retry_after;  // from a 429/503 Retry-After header

  static SendResult Sent() { return {}; }
  static SendResult Retry(std::string error, std::optional<absl::Duration> after = {}) {
    return {Kind::kRetry, std::move(error), after};
  }
  static SendResult Permanent(std::string error) {
    return {Kind::kPermanent, std::move(error), std::nullopt};
  }
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual SendResult Send(const OutboundMessage& message) = 0;
  // The proto Channel name for outcome records: "log", "webhook", "smtp", "noop".
  virtual const char* name() const = 0;
};

class ChannelFactory {
 public:
  virtual ~ChannelFactory() = default;
  // A channel for the calling thread.
  virtual std::unique_ptr<Channel> NewChannel() = 0;
  // Checks a recipient address before anything is sent (bad address → permanent failure).
  virtual absl::Status ValidateAddress(const std::string& address) const = 0;
};

}  // namespace duban::worker
