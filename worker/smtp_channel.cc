#include "smtp_channel.h"

#include <algorithm>
#include <cstring>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "address_validation.h"
#include "curl_handle.h"
#include "templates.h"

namespace duban::worker {
namespace {

std::string Base64Lines(const std::string& data) {
  std::string b64 = absl::Base64Escape(data);
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 76) absl::StrAppend(&out, b64.substr(i, 76), "\r\n");
  return out;
}

struct Upload {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t nitems, void* user) {
  auto* u = static_cast<Upload*>(user);
  size_t n = std::min(size * nitems, u->data->size() - u->offset);
  std::memcpy(buffer, u->data->data() + u->offset, n);
  u->offset += n;
  return n;
}

class SmtpChannel : public Channel {
 public:
  explicit SmtpChannel(const SmtpOptions& options) : options_(options) {}
  const char* name() const override { return "smtp"; }

  SendResult Send(const OutboundMessage& m) override {
    const std::string& to = m.recipient.address;
    if (absl::Status s = ValidateEmailAddress(to); !s.ok()) {
      return SendResult::Permanent(std::string(s.message()));
    }
    if (curl_ == nullptr) {
      curl_.reset(curl_easy_init());
      if (curl_ == nullptr) return SendResult::Retry("curl_easy_init failed");
    }
    CURL* c = curl_.get();
    curl_easy_reset(c);
    RenderedText text = Render(m.fields, m.recipient);
    const std::string message =
        BuildRfc5322Message(options_.from, to, m.delivery_id, text.subject, text.body, absl::Now());
    Upload upload{&message};
    CurlSlistPtr rcpt;
    const std::string rcpt_addr = absl::StrCat("<", to, ">");
    if (!CurlSlistAppend(rcpt, rcpt_addr.c_str())) return SendResult::Retry("out of memory");
    const std::string from = absl::StrCat("<", options_.from, ">");
    curl_easy_setopt(c, CURLOPT_URL, options_.relay_url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadUpload);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    if (options_.require_tls)
      curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!options_.username.empty()) {
      curl_easy_setopt(c, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) return SendResult::Sent();
    if (code >= 500 && code < 600) return SendResult::Permanent(absl::StrCat("smtp ", code));
    return SendResult::Retry(absl::StrCat("smtp: ", curl_easy_strerror(rc),
                                          code > 0 ? absl::StrCat(" (", code, ")") : ""));
  }

 private:
  const SmtpOptions& options_;
  CurlEasyPtr curl_;
};

}  // namespace

std::string EncodeHeaderUtf8(const std::string& text) {
  bool ascii = std::all_of(text.begin(), text.end(), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return u >= 0x20 && u < 0x7f;
  });
  if (ascii) return text;
  // RFC 2047 encoded words of at most 75 characters: split the text on UTF-8 character
  // boundaries into chunks of <= 45 bytes (60 base64 characters).
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::min(text.size(), i + 45);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    absl::StrAppend(&out, "=?UTF-8?B?", absl::Base64Escape(text.substr(i, end - i)), "?=");
    i = end;
  }
  return out;
}

std::string BuildRfc5322Message(const std::string& from, const std::string& to,
                                const std::string& delivery_id, const std::string& subject,
                                const std::string& body, absl::Time date) {
  std::string out;
  absl::StrAppend(
      &out, "Date: ", absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", date, absl::UTCTimeZone()),
      "\r\n");
  absl::StrAppend(&out, "From: <", from, ">\r\n");
  absl::StrAppend(&out, "To: <", to, ">\r\n");
  absl::StrAppend(&out, "Subject: ", EncodeHeaderUtf8(subject), "\r\n");
  absl::StrAppend(&out, "Message-ID: <", delivery_id, "@duban>\r\n");
  absl::StrAppend(&out, "X-Duban-Delivery-Id: ", delivery_id, "\r\n");
  absl::StrAppend(&out, "MIME-Version: 1.0\r\n");
  absl::StrAppend(&out, "Content-Type: text/plain; charset=UTF-8\r\n");
  absl::StrAppend(&out, "Content-Transfer-Encoding: base64\r\n\r\n");
  absl::StrAppend(&out, Base64Lines(body));
  return out;
}

SmtpChannelFactory::SmtpChannelFactory(SmtpOptions options) : options_(std::move(options)) {
  CurlGlobalInit();
}

std::unique_ptr<Channel> SmtpChannelFactory::NewChannel() {
  return std::make_unique<SmtpChannel>(options_);
}

absl::Status SmtpChannelFactory::ValidateAddress(const std::string& address) const {
  return ValidateEmailAddress(address);
}

}  // namespace duban::worker
