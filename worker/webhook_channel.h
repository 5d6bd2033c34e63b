#pragma once
// The webhook channel: POSTs the message JSON (message_json.h) with
//   X-Duban-Delivery-Id: <delivery id, the same on every attempt of a version>
//   X-Duban-Timestamp:   <Unix seconds>
//   X-Duban-Signature:   <hex HMAC-SHA256 of "<timestamp>.<body>" under the shared secret>
// 2xx = sent; 429/503 = retry no sooner than Retry-After; other 4xx = permanent; 5xx, timeouts
// and connection errors = retry. One curl handle per channel (per thread): keep-alive.
#include <memory>
#include <string>

#include <absl/time/time.h>

#include "channel.h"

namespace duban::worker {

struct WebhookOptions {
  std::string default_url;  // used when the recipient has no address
  std::string secret;       // never logged
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration total_timeout = absl::Seconds(10);
};

class WebhookChannelFactory : public ChannelFactory {
 public:
  explicit WebhookChannelFactory(WebhookOptions options);
  std::unique_ptr<Channel> NewChannel() override;
  absl::Status ValidateAddress(const std::string& address) const override;

 private:
  WebhookOptions options_;
};

}  // namespace duban::worker
