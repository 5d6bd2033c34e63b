#pragma once
// The smtp channel: one RFC 5322 message per recipient through a configured relay with libcurl
// (smtp:// or smtps://; STARTTLS when the relay URL is smtp:// and use_tls is set). Subject in
// RFC 2047 UTF-8 base64, body text/plain UTF-8 base64, Message-ID and X-Duban-Delivery-Id from
// the delivery id. Relay 5xx = permanent, 4xx and connection errors = retry.
#include <memory>
#include <string>

#include <absl/time/time.h>

#include "channel.h"

namespace duban::worker {

struct SmtpOptions {
  std::string relay_url;  // smtp://host:port or smtps://host:port
  std::string from;       // envelope and header sender address
  std::string username;   // optional AUTH
  std::string password;   // never logged
  bool require_tls = false;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(30);
};

// Builds the message (exposed for tests).
std::string BuildRfc5322Message(const std::string& from, const std::string& to,
                                const std::string& delivery_id, const std::string& subject,
                                const std::string& body, absl::Time date);
std::string EncodeHeaderUtf8(const std::string& text);

class SmtpChannelFactory : public ChannelFactory {
 public:
  explicit SmtpChannelFactory(SmtpOptions options);
  std::unique_ptr<Channel> NewChannel() override;
  absl::Status ValidateAddress(const std::string& address) const override;

 private:
  SmtpOptions options_;
};

}  // namespace duban::worker
