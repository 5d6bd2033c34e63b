#include "duban/validation.h"

#include <gtest/gtest.h>

namespace duban {
namespace {

TEST(ValidateId, AcceptsStableDottedIds) {
  EXPECT_TRUE(ValidateId("gd.zq.duanzhou").ok());
  EXPECT_TRUE(ValidateId("0a-b_c").ok());
  EXPECT_TRUE(ValidateId(std::string(64, 'a')).ok());
}

TEST(ValidateId, RejectsMalformedIds) {
  EXPECT_FALSE(ValidateId("").ok());
  EXPECT_FALSE(ValidateId(std::string(65, 'a')).ok());
  EXPECT_FALSE(ValidateId("Gd.zq").ok());
  EXPECT_FALSE(ValidateId(".gd").ok());
  EXPECT_FALSE(ValidateId("gd/zq").ok());
  EXPECT_FALSE(ValidateId("端州").ok());
  EXPECT_FALSE(ValidateId("gd zq").ok());
}

TEST(Utf8Length, CountsCodePointsAndRejectsInvalidSequences) {
  EXPECT_EQ(Utf8Length("端州区"), 3);
  EXPECT_EQ(Utf8Length("abc"), 3);
  EXPECT_EQ(Utf8Length("\xF0\x9F\x98\x80"), 1);  // emoji, 4 bytes
  EXPECT_EQ(Utf8Length("\xC3"), -1);             // truncated
  EXPECT_EQ(Utf8Length("\xC0\xAF"), -1);         // overlong '/'
  EXPECT_EQ(Utf8Length("\xED\xA0\x80"), -1);     // surrogate
  EXPECT_EQ(Utf8Length("\xFF"), -1);
}

TEST(ValidateText, EnforcesLengthInCharactersNotBytes) {
  EXPECT_TRUE(ValidateText(std::string("端") + "州区", 1, 3).ok());
  EXPECT_FALSE(ValidateText("端州区镇", 1, 3).ok());
  EXPECT_FALSE(ValidateText("", 1, 3).ok());
  EXPECT_FALSE(ValidateText("a\x01", 1, 10).ok());
  EXPECT_FALSE(ValidateText(" padded", 1, 10).ok());
  EXPECT_FALSE(ValidateText("line\nbreak", 1, 20).ok());
  EXPECT_TRUE(ValidateText("line\nbreak", 1, 20, /*allow_newlines=*/true).ok());
}

TEST(ValidateEmail, AcceptsAddrSpecsAndRejectsJunk) {
  EXPECT_TRUE(ValidateEmail("li.wei@example.gov.cn").ok());
  EXPECT_TRUE(ValidateEmail("a+b@x-y.org").ok());
  for (const char* bad : {"", "no-at", "@x.org", "a@", "a@localhost", "a..b@x.org", "a@-x.org",
                          "a b@x.org", "a@x..org", "a@x.org\n"}) {
    EXPECT_FALSE(ValidateEmail(bad).ok()) << bad;
  }
}

TEST(ValidateHttpUrl, AcceptsHttpAndHttpsOnly) {
  EXPECT_TRUE(ValidateHttpUrl("https://im.example.gov.cn/hook?x=1").ok());
  EXPECT_TRUE(ValidateHttpUrl("http://127.0.0.1:8080/h").ok());
  EXPECT_TRUE(ValidateHttpUrl("http://[::1]:8080/h").ok());
  for (const char* bad : {"", "ftp://x.org/", "https://", "https://user:pw@x.org/",
                          "https://x.org/a b", "https://x.org/#frag", "https://x.org:0/",
                          "https://x.org:99999/", "javascript:alert(1)", "https://x.org:ab/"}) {
    EXPECT_FALSE(ValidateHttpUrl(bad).ok()) << bad;
  }
}

TEST(ValidateMobile, DigitsWithOptionalPlus) {
  EXPECT_TRUE(ValidateMobile("+8613800000000").ok());
  EXPECT_TRUE(ValidateMobile("13800000000").ok());
  EXPECT_FALSE(ValidateMobile("138-0000").ok());
  EXPECT_FALSE(ValidateMobile("+").ok());
  EXPECT_FALSE(ValidateMobile("12345").ok());
}

TEST(ValidateTimezone, UsesSystemZoneinfo) {
  EXPECT_TRUE(ValidateTimezone("Asia/Shanghai").ok());
  EXPECT_TRUE(ValidateTimezone("Asia/Urumqi").ok());
  EXPECT_FALSE(ValidateTimezone("Mars/Olympus").ok());
  EXPECT_FALSE(ValidateTimezone("").ok());
}

TEST(ValidateLocaleAndRequestId, Basics) {
  EXPECT_TRUE(ValidateLocale("zh-CN").ok());
  EXPECT_TRUE(ValidateLocale("en").ok());
  EXPECT_FALSE(ValidateLocale("fr").ok());
  EXPECT_TRUE(ValidateRequestId("8c1e-42").ok());
  EXPECT_FALSE(ValidateRequestId("").ok());
  EXPECT_FALSE(ValidateRequestId(std::string(129, 'x')).ok());
  EXPECT_FALSE(ValidateRequestId("has space").ok());
}

}  // namespace
}  // namespace duban
