// Redis restarts with AOF (nothing scheduled, promoted or in flight is lost, and the queue
// reconnects and reloads its scripts by itself) and the memory cost of a scheduled job.
#include <cstdio>

#include "queue_fixture.h"

namespace duban::queue {
namespace {

// Each test here owns its redis-server (AOF settings differ); the suite server is unused.
class QueueDurabilityTest : public QueueTest {
 protected:
  static void SetUpTestSuite() {}
  static void TearDownTestSuite() {}
  void SetUp() override {}
};

template <typename F>
auto Eventually(F f) {
  auto r = f();
  for (int i = 0; i < 100 && !r.ok() && absl::IsUnavailable(r.status()); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    r = f();
  }
  return r;
}

// Every key of queue "t" except send claims (they expire with the lease, by design, so a
// restart slower than the lease legitimately drops them).
std::vector<std::string> DurableKeys(testing::RedisServer& server) {
  auto r = server.Cmd({"KEYS", "duban:{t}:*"});
  std::vector<std::string> out;
  for (size_t i = 0; r != nullptr && i < r->elements; ++i) {
    std::string key(r->element[i]->str, r->element[i]->len);
    if (key.find(":i:") != std::string::npos && server.Str({"GET", key}).rfind("p", 0) == 0) {
      continue;
    }
    out.push_back(key);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void CheckNothingLostAcrossRestart(const std::string& appendfsync, bool graceful) {
  testing::RedisServer::Options so;
  so.appendonly = true;
  so.appendfsync = appendfsync;
  testing::RedisServer server(so);
  QueueOptions o;
  o.name = "t";
  o.lease = absl::Milliseconds(200);
  auto q = *JobQueue::Create(server.url(), o);
  ReadyReader reader(server.endpoint(), "t", "c1");

  int64_t now = *q->ServerTimeMs();
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 1000; ++i) {
    ScheduleRequest r;
    r.job_id = "rem-" + std::to_string(i);
    r.version = 1 + i % 3;
    r.due = absl::FromUnixMillis(i < 300 ? now - 1000 + i : now + 3'600'000 + i);
    r.deadline = absl::FromUnixMillis(now + 7'200'000);
    jobs.push_back(r);
  }
  ASSERT_TRUE(q->Schedule(jobs).ok());
  ASSERT_EQ(q->PromoteDue(300)->promoted, 300);
  auto in_flight = reader.Read(100, absl::ZeroDuration());
  ASSERT_TRUE(in_flight.ok() && in_flight->size() == 100);
  auto claims = q->ClaimForSend("c1", *in_flight);
  ASSERT_TRUE(claims.ok());
  // 10 sent and acked, 5 retried, 5 dead-lettered; 80 still in flight.
  std::vector<Outcome> outcomes;
  for (int i = 0; i < 10; ++i) outcomes.push_back(Outcome::Sent((*in_flight)[i]));
  for (int i = 10; i < 15; ++i) {
    outcomes.push_back(Outcome::Retry((*in_flight)[i], absl::Minutes(5), "503", 10));
  }
  for (int i = 15; i < 20; ++i)
    outcomes.push_back(Outcome::Dead((*in_flight)[i], "permanent", "404"));
  ASSERT_TRUE(q->Settle(outcomes).ok());
  auto before = q->Stats();
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->due, 705);
  ASSERT_EQ(before->ready, 280);
  ASSERT_EQ(before->pending, 80);
  ASSERT_EQ(before->dead, 5);
  auto keys_before = DurableKeys(server);
  // 985 job hashes (1000 less 10 sent, 5 dead), 10 sent markers ('s'), 5 retry markers
  // ('r1'), 5 dead markers ('x'), due/ready/dead.
  ASSERT_EQ(keys_before.size(), 985u + 10 + 5 + 5 + 3);

  server.Restart(graceful);

  // The same queue object carries on: it reconnects and reloads its scripts (NOSCRIPT).
  auto after = Eventually([&] { return q->Stats(); });
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->due, before->due);
  EXPECT_EQ(after->ready, before->ready);
  EXPECT_EQ(after->pending, before->pending);
  EXPECT_EQ(after->dead, before->dead);
  EXPECT_EQ(DurableKeys(server), keys_before);
  auto job = q->GetJob("rem-12");  // retried before the restart
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->attempt, 1);
  EXPECT_EQ((*job)->deadline_ms, now + 7'200'000);
  // Sent markers survived: a replay of a sent delivery is still recognised.
  EXPECT_EQ((*q->ClaimForSend("c2", {(*in_flight)[0]}))[0].status, ClaimStatus::kAlreadySent);

  // The 80 in-flight entries of the consumer that died with Redis are reclaimed and finish.
  absl::SleepFor(absl::Milliseconds(250));
  auto reclaimed = Eventually([&] { return q->ReclaimExpired("c2", 1000); });
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.status();
  EXPECT_EQ(reclaimed->deliveries.size(), 80u);
  auto rest = reader.Read(1000, absl::ZeroDuration());
  if (!rest.ok()) rest = reader.Read(1000, absl::ZeroDuration());  // stale connection
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->size(), 200u);
  std::vector<Delivery> all = reclaimed->deliveries;
  all.insert(all.end(), rest->begin(), rest->end());
  auto c2 = q->ClaimForSend("c2", all);
  ASSERT_TRUE(c2.ok());
  std::vector<Outcome> done;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ((*c2)[i].status, ClaimStatus::kClaimed) << all[i].job_id;
    done.push_back(Outcome::Sent(all[i]));
  }
  ASSERT_TRUE(q->Settle(done).ok());
  auto end = q->Stats();
  EXPECT_EQ(end->ready, 0);
  EXPECT_EQ(end->pending, 0);
  EXPECT_EQ(end->due, 705);
}

TEST_F(QueueDurabilityTest, AofAlwaysSurvivesKill9) {
  CheckNothingLostAcrossRestart("always", false);
}

TEST_F(QueueDurabilityTest, AofEverysecSurvivesGracefulRestart) {
  CheckNothingLostAcrossRestart("everysec", true);
}

TEST_F(QueueDurabilityTest, AofEverysecSurvivesKill9AfterTheFsyncSecond) {
  // everysec may lose the last second on a crash; after it, everything is on disk.
  testing::RedisServer::Options so;
  so.appendonly = true;
  so.appendfsync = "everysec";
  testing::RedisServer server(so);
  QueueOptions o;
  o.name = "t";
  auto q = *JobQueue::Create(server.url(), o);
  int64_t now = *q->ServerTimeMs();
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 500; ++i) {
    ScheduleRequest r;
    r.job_id = "rem-" + std::to_string(i);
    r.due = absl::FromUnixMillis(now + 60000 + i);
    jobs.push_back(r);
  }
  ASSERT_TRUE(q->Schedule(jobs).ok());
  absl::SleepFor(absl::Milliseconds(1500));
  server.Restart(/*graceful=*/false);
  auto after = Eventually([&] { return q->Stats(); });
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->due, 500);
}

TEST_F(QueueDurabilityTest, ScheduledJobCostsAtMost400BytesOfRedisMemory) {
  testing::RedisServer server;
  QueueOptions o;
  o.name = "reminders";
  auto q = *JobQueue::Create(server.url(), o);
  int64_t now = *q->ServerTimeMs();
  // Warm up: load the script and create the due set, so only per-job memory is measured.
  ScheduleRequest warm;
  warm.job_id = "warm-up";
  warm.due = absl::FromUnixMillis(now + 1);
  ASSERT_TRUE(q->Schedule(warm).ok());
  int64_t base = server.UsedMemory();
  constexpr int kJobs = 100000;
  std::vector<ScheduleRequest> batch;
  for (int i = 0; i < kJobs; ++i) {
    ScheduleRequest r;
    char id[32];
    std::snprintf(id, sizeof(id), "rem-%020x", i * 2654435761u);  // like duban::NewId("rem")
    r.job_id = id;
    r.version = 1 + i % 5;
    r.due = absl::FromUnixMillis(now + 3'600'000 + int64_t{i} * 37);  // spread over ~1 h
    r.deadline = r.due + absl::Hours(24);
    batch.push_back(std::move(r));
    if (batch.size() == 500) {
      ASSERT_TRUE(q->Schedule(batch).ok());
      batch.clear();
    }
  }
  int64_t used = server.UsedMemory() - base;
  double per_job = static_cast<double>(used) / kJobs;
  std::cout << "redis used_memory per scheduled job: " << per_job << " bytes (" << kJobs
            << " jobs, job id 24 bytes, version + deadline fields)\n";
  RecordProperty("bytes_per_job", std::to_string(per_job));
  EXPECT_EQ(server.Int({"ZCARD", q->keys().due()}), kJobs + 1);
  EXPECT_EQ(server.Str({"OBJECT", "ENCODING", q->keys().job("rem-00000000000000000000")}),
            "listpack");
  EXPECT_LE(per_job, 400.0);
}

}  // namespace
}  // namespace duban::queue
