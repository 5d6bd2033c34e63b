#include "webhook_channel.h"

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "address_validation.h"
#include "curl_handle.h"
#include "hmac_signature.h"
#include "message_json.h"
#include "templates.h"

namespace duban::worker {
namespace {

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

class WebhookChannel : public Channel {
 public:
  explicit WebhookChannel(const WebhookOptions& options) : options_(options) {}

  const char* name() const override { return "webhook"; }

  SendResult Send(const OutboundMessage& m) override {
    const std::string& url =
        m.recipient.address.empty() ? options_.default_url : m.recipient.address;
    if (absl::Status s = ValidateWebhookUrl(url); !s.ok()) {
      return SendResult::Permanent(std::string(s.message()));
    }
    if (curl_ == nullptr) {
      curl_.reset(curl_easy_init());
      if (curl_ == nullptr) return SendResult::Retry("curl_easy_init failed");
    }
    CURL* c = curl_.get();
    curl_easy_reset(c);  // keeps the connection cache: keep-alive survives

    const std::string body = MessageJson(m, Render(m.fields, m.recipient));
    const int64_t ts = absl::ToUnixSeconds(absl::Now());
    CurlSlistPtr headers;
    const std::string h_id = absl::StrCat("X-Duban-Delivery-Id: ", m.delivery_id);
    const std::string h_ts = absl::StrCat("X-Duban-Timestamp: ", ts);
    const std::string h_sig =
        absl::StrCat("X-Duban-Signature: ", WebhookSignature(options_.secret, ts, body));
    if (!CurlSlistAppend(headers, "Content-Type: application/json; charset=utf-8") ||
        !CurlSlistAppend(headers, h_id.c_str()) || !CurlSlistAppend(headers, h_ts.c_str()) ||
        !CurlSlistAppend(headers, h_sig.c_str()) || !CurlSlistAppend(headers, "Expect:")) {
      return SendResult::Retry("out of memory");
    }
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_USERAGENT, "duban-worker/0.1");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &DiscardBody);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      // Timeouts and refused connections: the receiver may come back.
      return SendResult::Retry(absl::StrCat("curl: ", curl_easy_strerror(rc)));
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) return SendResult::Sent();
    if (code == 429 || code == 503) {
      curl_off_t after = -1;
      std::optional<absl::Duration> retry_after;
      if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0) {
        retry_after = absl::Seconds(after);
      }
      return SendResult::Retry(absl::StrCat("http ", code), retry_after);
    }
    if (code >= 400 && code < 500) return SendResult::Permanent(absl::StrCat("http ", code));
    return SendResult::Retry(absl::StrCat("http ", code));
  }

 private:
  const WebhookOptions& options_;
  CurlEasyPtr curl_;
};

}  // namespace

WebhookChannelFactory::WebhookChannelFactory(WebhookOptions options)
    : options_(std::move(options)) {
  CurlGlobalInit();
}

std::unique_ptr<Channel> WebhookChannelFactory::NewChannel() {
  return std::make_unique<WebhookChannel>(options_);
}

absl::Status WebhookChannelFactory::ValidateAddress(const std::string& address) const {
  return ValidateWebhookUrl(address.empty() ? options_.default_url : address);
}

}  // namespace duban::worker
