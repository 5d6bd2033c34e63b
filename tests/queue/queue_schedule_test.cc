// Scheduling side and promoter against a real redis-server: upsert with versions, cancel,
// races, promote order and batch bounds, wake-ups, the promoter lease, statistics.
#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "queue_fixture.h"

namespace duban::queue {
namespace {

using ::testing::ElementsAre;

TEST_F(QueueTest, UpsertCreatesThenIgnoresSameAndOlderVersions) {
  auto q = NewQueue();
  int64_t now = Now(*q);
  auto r = q->Schedule(Job("rem-1", 2, now + 60000, "ref-9"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, ScheduleResult::kCreated);
  EXPECT_EQ(*q->Schedule(Job("rem-1", 2, now + 1000)), ScheduleResult::kSameVersion);
  EXPECT_EQ(*q->Schedule(Job("rem-1", 1, now + 1000)), ScheduleResult::kStaleVersion);

  auto job = q->GetJob("rem-1");
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(job->has_value());
  EXPECT_EQ((*job)->version, 2);
  EXPECT_EQ((*job)->ref, "ref-9");
  EXPECT_EQ((*job)->due_ms, now + 60000);  // the ignored requests changed nothing
  EXPECT_FALSE((*job)->deadline_ms.has_value());
  EXPECT_EQ((*job)->attempt, 0);
}

TEST_F(QueueTest, RescheduleReplacesDueTimeRefAndDeadlineAtomically) {
  auto q = NewQueue();
  int64_t now = Now(*q);
  ASSERT_EQ(*q->Schedule(Job("rem-1", 1, now + 60000, "a", absl::FromUnixMillis(now + 90000))),
            ScheduleResult::kCreated);
  ASSERT_EQ(*q->Schedule(Job("rem-1", 5, now + 1000)), ScheduleResult::kRescheduled);
  auto job = q->GetJob("rem-1");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->version, 5);
  EXPECT_EQ((*job)->due_ms, now + 1000);
  EXPECT_EQ((*job)->ref, "");
  EXPECT_FALSE((*job)->deadline_ms.has_value());
  EXPECT_EQ(server_->Int({"ZCARD", q->keys().due()}), 1);
}

TEST_F(QueueTest, CancelHonoursVersions) {
  auto q = NewQueue();
  int64_t now = Now(*q);
  ASSERT_EQ(*q->Schedule(Job("rem-1", 3, now + 60000)), ScheduleResult::kCreated);
  EXPECT_EQ(*q->Cancel(CancelRequest{"rem-1", 2}), CancelResult::kStaleVersion);
  EXPECT_TRUE(q->GetJob("rem-1")->has_value());
  EXPECT_EQ(*q->Cancel(CancelRequest{"rem-1", 3}), CancelResult::kCanceled);
  EXPECT_FALSE(q->GetJob("rem-1")->has_value());
  EXPECT_EQ(*q->Cancel(CancelRequest{"rem-1", 3}), CancelResult::kNotFound);
  EXPECT_TRUE(QueueKeysPresent().empty()) << "cancel leaves nothing behind";
}

TEST_F(QueueTest, BatchScheduleReportsPerRequestAndRejectsBadInput) {
  auto q = NewQueue();
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> batch = {Job("a", 1, now + 10), Job("b", 1, now + 20),
                                        Job("a", 2, now + 30), Job("a", 1, now + 40)};
  auto r = q->Schedule(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(*r, ElementsAre(ScheduleResult::kCreated, ScheduleResult::kCreated,
                              ScheduleResult::kRescheduled, ScheduleResult::kStaleVersion));
  EXPECT_TRUE(absl::IsInvalidArgument(q->Schedule(Job("bad id", 1, now)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(q->Schedule(Job("x", 0, now)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      q->Schedule(Job("x", 1, now, "", absl::FromUnixMillis(now - 1))).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(JobQueue::Create("unix://x", Options()).status()));
  QueueOptions bad = Options("a{b}");
  EXPECT_TRUE(absl::IsInvalidArgument(JobQueue::Create(server_->url(), bad).status()));
}

TEST_F(QueueTest, LargeBatchesAreSplitAcrossScriptCalls) {
  QueueOptions o = Options();
  o.max_script_batch = 7;
  auto q = NewQueue(o);
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(Job("j" + std::to_string(i), 1, now + i));
  auto r = q->Schedule(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 50u);
  EXPECT_EQ(server_->Int({"ZCARD", q->keys().due()}), 50);
  std::vector<CancelRequest> cancels;
  for (int i = 0; i < 50; ++i) cancels.push_back({"j" + std::to_string(i), 1});
  auto c = q->Cancel(cancels);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(std::count(c->begin(), c->end(), CancelResult::kCanceled), 50);
}

// Many writers race upserts of the same jobs with distinct versions: whatever the order, the
// highest version wins with its own due time, and every request gets an honest report.
TEST_F(QueueTest, ConcurrentUpsertsKeepTheHighestVersion) {
  constexpr int kJobs = 20, kVersions = 120, kThreads = 4;
  auto probe = NewQueue();
  const int64_t base = Now(*probe) + 3'600'000;
  std::vector<std::pair<int, int>> work;  // (job, version)
  for (int j = 0; j < kJobs; ++j) {
    for (int v = 1; v <= kVersions; ++v) work.emplace_back(j, v);
  }
  std::shuffle(work.begin(), work.end(), std::mt19937(1));
  std::atomic<int> created{0}, rescheduled{0}, stale{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto q = NewQueue();
      for (size_t i = t; i < work.size(); i += kThreads) {
        auto [j, v] = work[i];
        auto r = q->Schedule(Job("job-" + std::to_string(j), v, base + j * 1000 + v));
        if (!r.ok()) {
          ++other;
          continue;
        }
        switch (*r) {
          case ScheduleResult::kCreated:
            ++created;
            break;
          case ScheduleResult::kRescheduled:
            ++rescheduled;
            break;
          case ScheduleResult::kStaleVersion:
            ++stale;
            break;
          default:
            ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), kJobs);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(created + rescheduled + stale, kJobs * kVersions);
  for (int j = 0; j < kJobs; ++j) {
    auto job = probe->GetJob("job-" + std::to_string(j));
    ASSERT_TRUE(job.ok() && job->has_value());
    EXPECT_EQ((*job)->version, kVersions);
    EXPECT_EQ((*job)->due_ms, base + j * 1000 + kVersions);
  }
  EXPECT_EQ(server_->Int({"ZCARD", probe->keys().due()}), kJobs);
}

// Reschedules race the promoter: a job promoted at version 1 and then rescheduled leaves a
// stale entry behind; consumers must end up claiming every job exactly once, at version 2.
TEST_F(QueueTest, RescheduleRacingPromotionClaimsEachJobOnceAtLatestVersion) {
  constexpr int kJobs = 300;
  auto q = NewQueue();
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> v1;
  for (int i = 0; i < kJobs; ++i) v1.push_back(Job("job-" + std::to_string(i), 1, now - 1000));
  ASSERT_TRUE(q->Schedule(v1).ok());

  std::atomic<bool> rescheduling_done{false};
  std::thread promoter([&] {
    auto pq = NewQueue();
    for (;;) {
      bool done = rescheduling_done.load();
      auto p = pq->PromoteDue(25);
      ASSERT_TRUE(p.ok()) << p.status();
      if (done && p->taken == 0) break;
    }
  });
  {
    auto rq = NewQueue();
    for (int i = 0; i < kJobs; ++i) {
      auto r = rq->Schedule(Job("job-" + std::to_string(i), 2, now - 500));
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(*r == ScheduleResult::kRescheduled) << i;
    }
  }
  rescheduling_done = true;
  promoter.join();

  auto reader = NewReader("c1");
  std::map<std::string, int> claimed;
  int stale = 0;
  for (;;) {
    auto batch = reader->Read(100, absl::ZeroDuration());
    ASSERT_TRUE(batch.ok()) << batch.status();
    if (batch->empty()) break;
    auto claims = q->ClaimForSend("c1", *batch);
    ASSERT_TRUE(claims.ok()) << claims.status();
    std::vector<Outcome> outcomes;
    for (size_t i = 0; i < batch->size(); ++i) {
      const Delivery& d = (*batch)[i];
      if ((*claims)[i].status == ClaimStatus::kClaimed) {
        EXPECT_EQ(d.version, 2);
        ++claimed[d.job_id];
        outcomes.push_back(Outcome::Sent(d));
      } else {
        EXPECT_EQ((*claims)[i].status, ClaimStatus::kStale);
        EXPECT_EQ(d.version, 1);
        ++stale;
        outcomes.push_back(Outcome::Skip(d));
      }
    }
    ASSERT_TRUE(q->Settle(outcomes).ok());
  }
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : claimed) EXPECT_EQ(n, 1) << id;
  auto stats = q->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->due, 0);
  EXPECT_EQ(stats->ready, 0);
  EXPECT_EQ(stats->pending, 0);
  std::cout << "stale entries skipped: " << stale << "\n";
}

TEST_F(QueueTest, PromotesInDueOrderInBoundedBatchesAndReportsNextDue) {
  auto q = NewQueue();
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 450; ++i) {
    jobs.push_back(Job("job-" + std::to_string(i), 1, now - 100000 + i * 10));
  }
  jobs.push_back(Job("tie-b", 1, now - 100000 + 5));
  jobs.push_back(Job("tie-a", 1, now - 100000 + 5));
  jobs.push_back(Job("future", 1, now + 600000));
  std::shuffle(jobs.begin(), jobs.end(), std::mt19937(3));
  ASSERT_TRUE(q->Schedule(jobs).ok());

  auto p1 = q->PromoteDue(200);
  ASSERT_TRUE(p1.ok()) << p1.status();
  EXPECT_EQ(p1->taken, 200);
  EXPECT_EQ(p1->promoted, 200);
  EXPECT_TRUE(p1->batch_full);
  auto p2 = q->PromoteDue(200);
  EXPECT_EQ(p2->taken, 200);
  auto p3 = q->PromoteDue(200);
  EXPECT_EQ(p3->taken, 52);
  EXPECT_FALSE(p3->batch_full);
  ASSERT_TRUE(p3->next_due_ms.has_value());
  EXPECT_EQ(*p3->next_due_ms, now + 600000);
  auto until = p3->until_next_due();
  ASSERT_TRUE(until.has_value());
  EXPECT_GT(*until, absl::Seconds(590));
  EXPECT_LE(*until, absl::Seconds(600));
  auto p4 = q->PromoteDue(200);
  EXPECT_EQ(p4->taken, 0);

  auto reader = NewReader("c1");
  auto all = reader->Read(1000, absl::ZeroDuration());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 452u);
  EXPECT_EQ((*all)[0].job_id, "job-0");
  EXPECT_EQ((*all)[1].job_id, "tie-a");  // equal due times: by job id
  EXPECT_EQ((*all)[2].job_id, "tie-b");
  for (size_t i = 1; i < all->size(); ++i) {
    EXPECT_LE((*all)[i - 1].due_ms, (*all)[i].due_ms) << i;
  }
  EXPECT_EQ((*all)[0].due_ms, now - 100000);
  EXPECT_EQ((*all)[0].version, 1);
  EXPECT_FALSE((*all)[0].reclaimed);
}

TEST_F(QueueTest, PromoteWithNothingDueReportsEmptyOrNextDue) {
  auto q = NewQueue();
  auto empty = q->PromoteDue();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->taken, 0);
  EXPECT_FALSE(empty->next_due_ms.has_value());
  EXPECT_FALSE(empty->until_next_due().has_value());
  int64_t now = Now(*q);
  ASSERT_TRUE(q->Schedule(Job("later", 1, now + 250)).ok());
  auto p = q->PromoteDue();
  EXPECT_EQ(p->taken, 0);
  EXPECT_EQ(p->next_due_ms, now + 250);
  absl::SleepFor(*p->until_next_due() + absl::Milliseconds(5));
  auto p2 = q->PromoteDue();
  EXPECT_EQ(p2->promoted, 1);
  EXPECT_FALSE(p2->next_due_ms.has_value());
}

TEST_F(QueueTest, ReaderWaitsForPromotionWithoutDelay) {
  auto q = NewQueue();
  ASSERT_TRUE(q->EnsureGroup().ok());
  ASSERT_TRUE(q->EnsureGroup().ok());  // idempotent
  auto reader = NewReader("c1");
  std::thread promoter([&] {
    absl::SleepFor(absl::Milliseconds(100));
    auto pq = NewQueue();
    ASSERT_TRUE(pq->Schedule(Job("j", 1, Now(*pq) - 1)).ok());
    ASSERT_TRUE(pq->PromoteDue().ok());
  });
  absl::Time start = absl::Now();
  auto got = reader->Read(10, absl::Seconds(5));
  absl::Duration waited = absl::Now() - start;
  promoter.join();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_LT(waited, absl::Seconds(2));
  auto none = reader->Read(10, absl::Milliseconds(50));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_F(QueueTest, ReaderCreatesTheGroupWhenMissing) {
  auto reader = NewReader("c1", "fresh");
  auto got = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty());
  EXPECT_EQ(server_->Int({"EXISTS", "duban:{fresh}:r"}), 1);
}

TEST_F(QueueTest, EarlierScheduleWakesTheSubscriber) {
  auto q = NewQueue();
  WakeSubscriber sub(server_->endpoint(), "t");
  ASSERT_TRUE(sub.Subscribe().ok());
  int64_t now = Now(*q);

  ASSERT_TRUE(q->Schedule(Job("a", 1, now + 3000)).ok());  // first job: earliest
  auto w = sub.Wait(absl::Seconds(2));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, WakeReason::kPublished);
  EXPECT_EQ(sub.latest_due_ms(), now + 3000);

  ASSERT_TRUE(q->Schedule(Job("b", 1, now + 4000)).ok());  // later: no wake
  w = sub.Wait(absl::Milliseconds(150));
  EXPECT_EQ(*w, WakeReason::kTimeout);

  ASSERT_TRUE(q->Schedule(Job("a", 2, now + 3500)).ok());  // head moved later: no wake
  w = sub.Wait(absl::Milliseconds(150));
  EXPECT_EQ(*w, WakeReason::kTimeout);

  ASSERT_TRUE(q->Schedule(Job("c", 1, now + 1000)).ok());  // earlier: wake
  absl::Time start = absl::Now();
  w = sub.Wait(absl::Seconds(2));
  EXPECT_EQ(*w, WakeReason::kPublished);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(sub.latest_due_ms(), now + 1000);

  // Beyond the horizon (the promoter looks by then anyway): no wake.
  auto far_queue = NewQueue(Options("far"));
  WakeSubscriber far_sub(server_->endpoint(), "far");
  ASSERT_TRUE(far_sub.Subscribe().ok());
  ASSERT_TRUE(far_queue->Schedule(Job("x", 1, now + 60000)).ok());
  EXPECT_EQ(*far_sub.Wait(absl::Milliseconds(150)), WakeReason::kTimeout);

  std::thread stopper([&] {
    absl::SleepFor(absl::Milliseconds(50));
    sub.Interrupt();
  });
  EXPECT_EQ(*sub.Wait(absl::Seconds(5)), WakeReason::kInterrupted);
  stopper.join();
}

TEST_F(QueueTest, WakeSubscriberResubscribesAfterConnectionLoss) {
  auto q = NewQueue();
  WakeSubscriber sub(server_->endpoint(), "t");
  ASSERT_TRUE(sub.Subscribe().ok());
  EXPECT_EQ(*sub.Wait(absl::Milliseconds(10)), WakeReason::kTimeout);
  server_->Cmd({"CLIENT", "KILL", "TYPE", "pubsub"});
  auto w = sub.Wait(absl::Seconds(1));
  EXPECT_TRUE(absl::IsUnavailable(w.status())) << w.status();
  w = sub.Wait(absl::Seconds(1));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(*w, WakeReason::kResubscribed);
  ASSERT_TRUE(q->Schedule(Job("a", 1, Now(*q) + 100)).ok());
  EXPECT_EQ(*sub.Wait(absl::Seconds(2)), WakeReason::kPublished);
}

TEST_F(QueueTest, OnePromoterHoldsTheLease) {
  auto a = NewQueue();
  auto b = NewQueue();
  // TTL 600 ms renewed every 100 ms: generous so a loaded machine does not lapse it.
  const absl::Duration ttl = absl::Milliseconds(600);
  auto la = a->AcquirePromoterLease("worker-a", ttl);
  ASSERT_TRUE(la.ok()) << la.status();
  EXPECT_TRUE(la->held);
  auto lb = b->AcquirePromoterLease("worker-b", ttl);
  ASSERT_TRUE(lb.ok());
  EXPECT_FALSE(lb->held);
  EXPECT_GT(lb->remaining, absl::ZeroDuration());
  EXPECT_LE(lb->remaining, ttl);
  EXPECT_FALSE(*b->ReleasePromoterLease("worker-b"));  // not the owner
  for (int i = 0; i < 8; ++i) {                        // renewals keep it past its first TTL
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_TRUE(a->AcquirePromoterLease("worker-a", ttl)->held);
    EXPECT_FALSE(b->AcquirePromoterLease("worker-b", ttl)->held);
  }
  absl::SleepFor(ttl + absl::Milliseconds(100));  // a stops renewing (crashed): it lapses
  EXPECT_TRUE(b->AcquirePromoterLease("worker-b", ttl)->held);
  EXPECT_FALSE(a->AcquirePromoterLease("worker-a", ttl)->held);
  EXPECT_TRUE(*b->ReleasePromoterLease("worker-b"));
  EXPECT_TRUE(a->AcquirePromoterLease("worker-a", ttl)->held);
}

TEST_F(QueueTest, StatsReportCountsAndLateness) {
  auto q = NewQueue();
  int64_t now = Now(*q);
  ASSERT_TRUE(
      q->Schedule({Job("a", 1, now - 5000), Job("b", 1, now - 3000), Job("c", 1, now + 60000)})
          .ok());
  auto s = q->Stats();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->due, 3);
  EXPECT_EQ(s->ready, 0);
  EXPECT_EQ(s->pending, 0);
  EXPECT_EQ(s->dead, 0);
  EXPECT_GE(s->oldest_due_lateness_ms, 5000);
  EXPECT_LT(s->oldest_due_lateness_ms, 6000);
  EXPECT_EQ(s->next_due_ms, now - 5000);
  EXPECT_FALSE(s->oldest_ready_age_ms.has_value());

  ASSERT_EQ(q->PromoteDue(1)->promoted, 1);  // a
  ASSERT_EQ(q->PromoteDue(1)->promoted, 1);  // b
  auto reader = NewReader("c1");
  auto got = reader->Read(1, absl::ZeroDuration());  // a delivered, b waiting
  ASSERT_TRUE(got.ok() && got->size() == 1);
  s = q->Stats();
  EXPECT_EQ(s->due, 1);
  EXPECT_EQ(s->ready, 2);
  EXPECT_EQ(s->pending, 1);
  EXPECT_EQ(s->oldest_due_lateness_ms, 0);  // c is not due yet
  EXPECT_EQ(s->next_due_ms, now + 60000);
  ASSERT_TRUE(s->oldest_ready_age_ms.has_value());
  EXPECT_GE(*s->oldest_ready_age_ms, 0);

  ASSERT_TRUE(q->Settle({Outcome::Dead(got->front(), "permanent", "404")}).ok());
  s = q->Stats();
  EXPECT_EQ(s->ready, 1);
  EXPECT_EQ(s->pending, 0);
  EXPECT_EQ(s->dead, 1);
}

}  // namespace
}  // namespace duban::queue
