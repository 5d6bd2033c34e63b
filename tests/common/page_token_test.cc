#include "duban/page_token.h"

#include <gtest/gtest.h>

#include "duban/status.h"

namespace duban {
namespace {

TEST(PageSize, DefaultsCapsAndRejectsNegative) {
  EXPECT_EQ(*EffectivePageSize(0), 50);
  EXPECT_EQ(*EffectivePageSize(7), 7);
  EXPECT_EQ(*EffectivePageSize(5000), 1000);
  auto bad = EffectivePageSize(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ViolationsOf(bad.status()).at(0).field, "page_size");
}

TEST(PageToken, RoundTripsAndIsBoundToTheFilter) {
  uint64_t fp = FilterFingerprint("units|p=gd");
  std::string token = EncodePageToken(fp, "/gd/gd.fs/");
  EXPECT_EQ(*DecodePageToken(token, fp), "/gd/gd.fs/");
  EXPECT_EQ(*DecodePageToken("", fp), "");
  auto other = DecodePageToken(token, FilterFingerprint("units|p=zj"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(ViolationsOf(other.status()).at(0).field, "page_token");
  EXPECT_FALSE(DecodePageToken("garbage!!", fp).ok());
  EXPECT_FALSE(DecodePageToken("cDEuMDAwMA", fp).ok());
}

TEST(FilterFingerprint, IsStableAcrossProcesses) {
  // FNV-1a of "": a fixed value, so tokens survive restarts.
  EXPECT_EQ(FilterFingerprint(""), 1469598103934665603ULL);
}

}  // namespace
}  // namespace duban
