// Channels, templates, signatures and address checks without Redis: the webhook channel
// against a local HTTP sink (success, 5xx, 429 + Retry-After, permanent 4xx, timeout,
// unreachable), message rendering in Chinese and English, RFC 5322 building.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "address_validation.h"
#include "hmac_signature.h"
#include "log_channel.h"
#include "message_json.h"
#include "smtp_channel.h"
#include "support/temp_dir.h"
#include "templates.h"
#include "webhook_channel.h"
#include "webhook_sink.h"

namespace duban::worker {
namespace {

OutboundMessage Msg(const std::string& url, const std::string& locale = "") {
  OutboundMessage m;
  m.job_id = "rem-1";
  m.version = 3;
  m.delivery_id = "0123456789abcdef0123456789abcdef";
  m.attempt = 1;
  m.due_ms = 1764000000000;
  m.fields.task_title = "学习教育工作方案";
  m.fields.deadline = absl::FromUnixSeconds(1764000000);
  m.recipient.contact_id = "c-1";
  m.recipient.unit_id = "u-1";
  m.recipient.address = url;
  m.recipient.locale = locale;
  return m;
}

TEST(HmacTest, Rfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(WebhookSignature("Jefe", 12, "body"), HmacSha256Hex("Jefe", "12.body"));
}

TEST(AddressTest, WebhookUrls) {
  EXPECT_TRUE(ValidateWebhookUrl("https://example.com/hook").ok());
  EXPECT_TRUE(ValidateWebhookUrl("http://127.0.0.1:8080/x?y=1").ok());
  EXPECT_FALSE(ValidateWebhookUrl("").ok());
  EXPECT_FALSE(ValidateWebhookUrl("ftp://example.com/").ok());
  EXPECT_FALSE(ValidateWebhookUrl("file:///etc/passwd").ok());
  EXPECT_FALSE(ValidateWebhookUrl("https://exa mple.com/").ok());
  EXPECT_FALSE(ValidateWebhookUrl("https:///path").ok());
  EXPECT_FALSE(ValidateWebhookUrl("https://user:pw@example.com/").ok());
  EXPECT_FALSE(ValidateWebhookUrl("https://example.com/\r\nX: y").ok());
}

TEST(AddressTest, EmailAddresses) {
  EXPECT_TRUE(ValidateEmailAddress("liaison@example.gov.cn").ok());
  EXPECT_TRUE(ValidateEmailAddress("a.b+c@mail-1.example.com").ok());
  EXPECT_FALSE(ValidateEmailAddress("no-at-sign").ok());
  EXPECT_FALSE(ValidateEmailAddress("@example.com").ok());
  EXPECT_FALSE(ValidateEmailAddress("a@localhost").ok());
  EXPECT_FALSE(ValidateEmailAddress("a b@example.com").ok());
  EXPECT_FALSE(ValidateEmailAddress("a@example.com>\r\nRCPT TO:<x@y.z").ok());
  EXPECT_FALSE(ValidateEmailAddress("a@exa_mple.com").ok());
  EXPECT_FALSE(ValidateEmailAddress("a@-example.com").ok());
}

TEST(TemplateTest, ChineseByDefaultEnglishForEn) {
  MessageFields f;
  f.kind = "overdue";
  f.task_title = "T";
  f.deadline = absl::FromUnixSeconds(0);  // 1970-01-01 08:00 in Asia/Shanghai
  Recipient zh;
  RenderedText a = Render(f, zh);
  EXPECT_EQ(a.locale, "zh");
  EXPECT_NE(a.subject.find("逾期"), std::string::npos);
  EXPECT_NE(a.body.find("办理时限：1970-01-01 08:00"), std::string::npos);
  Recipient en;
  en.locale = "en-GB";
  RenderedText b = Render(f, en);
  EXPECT_EQ(b.locale, "en");
  EXPECT_NE(b.subject.find("overdue"), std::string::npos);
  EXPECT_NE(b.body.find("Deadline: 1970-01-01 08:00"), std::string::npos);
  EXPECT_FALSE(WantsEnglish("zh-CN"));
  EXPECT_TRUE(WantsEnglish("EN"));
}

TEST(TemplateTest, DigestsAndRollCallsListTheirTasks) {
  MessageFields f;
  f.kind = "rollcall";
  f.listed = {{"整改台账", absl::FromUnixSeconds(0)}, {"学习计划", std::nullopt}};
  f.listed_total = 2;
  Recipient zh;
  RenderedText a = Render(f, zh);
  EXPECT_NE(a.body.find("\n1. 整改台账（办理时限：1970-01-01 08:00）\n2. 学习计划"),
            std::string::npos)
      << a.body;
  EXPECT_EQ(a.body.find("共"), std::string::npos);
  // Cut after kMaxListed, with the total.
  f.listed_total = 25;
  EXPECT_NE(Render(f, zh).body.find("……共25项"), std::string::npos);
  Recipient en;
  en.locale = "en";
  RenderedText b = Render(f, en);
  EXPECT_NE(b.body.find("\n1. 整改台账 (deadline 1970-01-01 08:00)"), std::string::npos) << b.body;
  EXPECT_NE(b.body.find("... 25 in all"), std::string::npos);
}

TEST(MessageJsonTest, CarriesIdsAndText) {
  OutboundMessage m = Msg("");
  nlohmann::json j = nlohmann::json::parse(MessageJson(m, Render(m.fields, m.recipient)));
  EXPECT_EQ(j["delivery_id"], m.delivery_id);
  EXPECT_EQ(j["reminder_id"], "rem-1");
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["due_time"], "2025-11-24T16:00:00.000Z");
  EXPECT_EQ(j["recipient"]["contact_id"], "c-1");
  EXPECT_EQ(j["locale"], "zh");
}

TEST(SmtpTest, Rfc5322MessageWithEncodedSubject) {
  std::string msg = BuildRfc5322Message("duban@example.com", "to@example.com", "abc",
                                        "【督办提醒】任务已逾期", "正文", absl::FromUnixSeconds(0));
  EXPECT_NE(msg.find("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(msg.find("Message-ID: <abc@duban>\r\n"), std::string::npos);
  EXPECT_NE(msg.find("X-Duban-Delivery-Id: abc\r\n"), std::string::npos);
  EXPECT_NE(msg.find("Content-Type: text/plain; charset=UTF-8\r\n"), std::string::npos);
  EXPECT_EQ(msg.find("督办"), std::string::npos);  // no raw UTF-8 anywhere
  EXPECT_EQ(EncodeHeaderUtf8("plain"), "plain");
  // Long subjects fold into several encoded words, each within the 75-character limit.
  std::string folded =
      EncodeHeaderUtf8(std::string(40, 'x') + "督办督办督办督办督办督办督办督办督办督办");
  for (absl::string_view word : absl::StrSplit(folded, "\r\n ")) EXPECT_LE(word.size(), 75u);
}

TEST(SmtpTest, BadAddressIsPermanentAndUnreachableRelayRetries) {
  SmtpOptions o;
  o.relay_url = "smtp://127.0.0.1:1";
  o.from = "duban@example.com";
  o.connect_timeout = absl::Milliseconds(500);
  SmtpChannelFactory f(o);
  auto ch = f.NewChannel();
  EXPECT_EQ(ch->Send(Msg("not an address")).kind, SendResult::Kind::kPermanent);
  EXPECT_EQ(ch->Send(Msg("to@example.com")).kind, SendResult::Kind::kRetry);
}

TEST(LogChannelTest, WritesOneJsonLinePerMessage) {
  testing::TempDir dir;
  auto f = LogChannelFactory::Open(dir.File("out.jsonl"));
  ASSERT_TRUE(f.ok()) << f.status();
  auto ch = (*f)->NewChannel();
  EXPECT_EQ(ch->Send(Msg("")).kind, SendResult::Kind::kSent);
  EXPECT_EQ(ch->Send(Msg("", "en")).kind, SendResult::Kind::kSent);
  std::ifstream in(dir.File("out.jsonl"));
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(nlohmann::json::parse(line, nullptr, false).is_object());
    ++lines;
  }
  EXPECT_EQ(lines, 2);
}

class WebhookChannelTest : public ::testing::Test {
 protected:
  WebhookChannelTest() : sink_("s3cret") {
    WebhookOptions o;
    o.secret = "s3cret";
    o.connect_timeout = absl::Milliseconds(500);
    o.total_timeout = absl::Milliseconds(500);
    factory_ = std::make_unique<WebhookChannelFactory>(o);
    channel_ = factory_->NewChannel();
  }
  testing::WebhookSink sink_;
  std::unique_ptr<WebhookChannelFactory> factory_;
  std::unique_ptr<Channel> channel_;
};

TEST_F(WebhookChannelTest, SignedPostWithDeliveryId) {
  SendResult r = channel_->Send(Msg(sink_.Url("/ok/a")));
  EXPECT_EQ(r.kind, SendResult::Kind::kSent) << r.error;
  ASSERT_EQ(sink_.Count(), 1u);
  auto req = sink_.Requests()[0];
  EXPECT_TRUE(req.signature_ok);
  EXPECT_EQ(req.delivery_id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(req.body["delivery_id"], req.delivery_id);
  EXPECT_EQ(req.body["text"].get<std::string>().find("任务：学习教育工作方案") != std::string::npos,
            true);
  // A second send reuses the handle (keep-alive) and still signs correctly.
  EXPECT_EQ(channel_->Send(Msg(sink_.Url("/ok/b"), "en")).kind, SendResult::Kind::kSent);
  EXPECT_TRUE(sink_.Requests()[1].signature_ok);
  EXPECT_EQ(sink_.Requests()[1].body["locale"], "en");
}

TEST_F(WebhookChannelTest, ServerErrorsRetryAndRecover) {
  std::string url = sink_.Url("/fail/2/a");
  EXPECT_EQ(channel_->Send(Msg(url)).kind, SendResult::Kind::kRetry);
  SendResult second = channel_->Send(Msg(url));
  EXPECT_EQ(second.kind, SendResult::Kind::kRetry);
  EXPECT_EQ(second.error, "http 500");
  EXPECT_EQ(channel_->Send(Msg(url)).kind, SendResult::Kind::kSent);
}

TEST_F(WebhookChannelTest, RateLimitHonoursRetryAfter) {
  SendResult r = channel_->Send(Msg(sink_.Url("/limit/1/a")));
  EXPECT_EQ(r.kind, SendResult::Kind::kRetry);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, absl::Seconds(1));
  EXPECT_EQ(channel_->Send(Msg(sink_.Url("/limit/1/a"))).kind, SendResult::Kind::kSent);
}

TEST_F(WebhookChannelTest, ClientErrorIsPermanent) {
  SendResult r = channel_->Send(Msg(sink_.Url("/bad/a")));
  EXPECT_EQ(r.kind, SendResult::Kind::kPermanent);
  EXPECT_EQ(r.error, "http 400");
  EXPECT_EQ(channel_->Send(Msg("ftp://x/")).kind, SendResult::Kind::kPermanent);
}

TEST_F(WebhookChannelTest, TimeoutAndRefusedRetry) {
  SendResult slow = channel_->Send(Msg(sink_.Url("/slow/1500/a")));
  EXPECT_EQ(slow.kind, SendResult::Kind::kRetry);
  EXPECT_NE(slow.error.find("curl"), std::string::npos);
  EXPECT_EQ(channel_->Send(Msg("http://127.0.0.1:1/x")).kind, SendResult::Kind::kRetry);
}

}  // namespace
}  // namespace duban::worker
