// Logic-level tests without Redis: retry backoff, delivery ids, names and endpoints.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "duban/queue/delivery_id.h"
#include "duban/queue/queue_keys.h"
#include "duban/queue/redis_client.h"
#include "duban/queue/retry_policy.h"

namespace duban::queue {
namespace {

TEST(RetryPolicyTest, CeilingDoublesFromBaseUpToCap) {
  RetryPolicy p{absl::Milliseconds(100), absl::Seconds(5), 10};
  ASSERT_TRUE(p.Validate().ok());
  EXPECT_EQ(p.Ceiling(1), absl::Milliseconds(100));
  EXPECT_EQ(p.Ceiling(2), absl::Milliseconds(200));
  EXPECT_EQ(p.Ceiling(3), absl::Milliseconds(400));
  EXPECT_EQ(p.Ceiling(6), absl::Milliseconds(3200));
  EXPECT_EQ(p.Ceiling(7), absl::Seconds(5));
  EXPECT_EQ(p.Ceiling(1000000), absl::Seconds(5));  // no overflow
  EXPECT_EQ(p.Ceiling(0), absl::Milliseconds(100));
}

TEST(RetryPolicyTest, FullJitterStaysWithinBoundsAndSpreads) {
  RetryPolicy p{absl::Milliseconds(100), absl::Seconds(5), 10};
  std::mt19937_64 gen(42);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
    for (int i = 0; i < 2000; ++i) {
      absl::Duration d = p.Backoff(attempt, gen);
      ASSERT_GE(d, absl::ZeroDuration());
      ASSERT_LE(d, p.Ceiling(attempt));
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: draws cover (nearly) the whole [0, ceiling] range.
    EXPECT_LT(lo, p.Ceiling(attempt) / 10) << attempt;
    EXPECT_GT(hi, p.Ceiling(attempt) * 9 / 10) << attempt;
  }
}

TEST(RetryPolicyTest, InjectedGeneratorMakesItDeterministic) {
  RetryPolicy p;
  std::mt19937_64 a(7), b(7);
  for (int attempt = 1; attempt < 20; ++attempt) {
    EXPECT_EQ(p.Backoff(attempt, a), p.Backoff(attempt, b));
  }
}

TEST(RetryPolicyTest, RejectsBadSettings) {
  EXPECT_FALSE((RetryPolicy{absl::ZeroDuration(), absl::Seconds(1), 1}).Validate().ok());
  EXPECT_FALSE((RetryPolicy{absl::Seconds(2), absl::Seconds(1), 1}).Validate().ok());
  EXPECT_FALSE((RetryPolicy{absl::Seconds(1), absl::Seconds(1), -1}).Validate().ok());
}

TEST(DeliveryIdTest, StablePerJobVersionAndDistinctOtherwise) {
  std::string id = DeliveryId("reminders", "rem-1", 3);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(id, DeliveryId("reminders", "rem-1", 3));
  std::set<std::string> seen{id};
  EXPECT_TRUE(seen.insert(DeliveryId("reminders", "rem-1", 4)).second);
  EXPECT_TRUE(seen.insert(DeliveryId("reminders", "rem-2", 3)).second);
  EXPECT_TRUE(seen.insert(DeliveryId("other", "rem-1", 3)).second);
  EXPECT_TRUE(seen.insert(DeliveryId("reminders", "rem-13", 1)).second);
  EXPECT_TRUE(seen.insert(DeliveryId("reminders", "rem-1", 31)).second);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(seen.insert(DeliveryId("q", "job-" + std::to_string(i), i % 7 + 1)).second);
  }
}

TEST(QueueKeysTest, EveryKeySharesTheHashTag) {
  QueueKeys k("reminders");
  for (const std::string& key : {k.due(), k.ready(), k.dead(), k.promoter_lease(), k.wake_channel(),
                                 k.job("rem-1"), k.idempotency("rem-1", 2)}) {
    EXPECT_EQ(key.rfind("duban:{reminders}:", 0), 0u) << key;
  }
  EXPECT_EQ(k.job("rem-1"), "duban:{reminders}:j:rem-1");
  EXPECT_EQ(k.idempotency("rem-1", 2), "duban:{reminders}:i:rem-1:2");
}

TEST(QueueKeysTest, ValidatesNames) {
  EXPECT_TRUE(ValidateQueueName("reminders-1.a_b").ok());
  EXPECT_FALSE(ValidateQueueName("").ok());
  EXPECT_FALSE(ValidateQueueName("a}b").ok());
  EXPECT_FALSE(ValidateQueueName(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateJobId("rem-0123456789abcdef0123").ok());
  EXPECT_TRUE(ValidateJobId("asg:42/DUE@2024-05-01").ok());
  EXPECT_FALSE(ValidateJobId("").ok());
  EXPECT_FALSE(ValidateJobId("has space").ok());
  EXPECT_FALSE(ValidateJobId("中文").ok());
  EXPECT_FALSE(ValidateJobId(std::string(201, 'x')).ok());
}

TEST(RedisEndpointTest, ParsesTcpAndUnix) {
  auto tcp = RedisEndpoint::Parse("redis://127.0.0.1:6380");
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_EQ(tcp->host, "127.0.0.1");
  EXPECT_EQ(tcp->port, 6380);
  EXPECT_EQ(tcp->ToString(), "redis://127.0.0.1:6380");
  auto v6 = RedisEndpoint::Parse("redis://[::1]:7000");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "redis://[::1]:7000");
  auto unix_ep = RedisEndpoint::Parse("unix:///run/redis/redis.sock");
  ASSERT_TRUE(unix_ep.ok()) << unix_ep.status();
  EXPECT_EQ(unix_ep->unix_path, "/run/redis/redis.sock");
  EXPECT_FALSE(RedisEndpoint::Parse("http://x:1").ok());
  EXPECT_FALSE(RedisEndpoint::Parse("redis://host:0").ok());
  EXPECT_FALSE(RedisEndpoint::Parse("unix://relative").ok());
}

TEST(RedisClientTest, UnreachableRedisIsUnavailable) {
  RedisEndpoint ep;
  ep.unix_path = "/nonexistent/duban-test.sock";
  RedisConnection conn(ep, RedisConnectionOptions());
  auto r = conn.Command({"PING"});
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

TEST(RedisClientTest, MapsRedisErrors) {
  EXPECT_TRUE(absl::IsResourceExhausted(StatusFromRedisError("OOM command not allowed")));
  EXPECT_TRUE(absl::IsUnavailable(StatusFromRedisError("LOADING Redis is loading")));
  EXPECT_TRUE(absl::IsNotFound(StatusFromRedisError("NOSCRIPT No matching script")));
  EXPECT_TRUE(absl::IsFailedPrecondition(StatusFromRedisError("NOGROUP No such key")));
  EXPECT_TRUE(absl::IsInternal(StatusFromRedisError("ERR syntax error")));
}

}  // namespace
}  // namespace duban::queue
