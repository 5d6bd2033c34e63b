// Consumer side against a real redis-server: send claims and idempotency, leases, reclaim of
// a dead consumer's entries, acks, retries with backoff, the dead set.
#include <random>

#include "duban/queue/delivery_id.h"
#include "duban/queue/retry_policy.h"
#include "queue_fixture.h"

namespace duban::queue {
namespace {

SendClaim ClaimOne(JobQueue& q, const std::string& consumer, const Delivery& d) {
  auto c = q.ClaimForSend(consumer, {d});
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok() || c->size() != 1) return SendClaim{};
  return c->front();
}

SettleReport SettleOne(JobQueue& q, const Outcome& o) {
  auto r = q.Settle({o});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->size() != 1) return SettleReport{};
  return r->front();
}

TEST_F(QueueTest, SendClaimIsExclusiveAndDeliveryIdStable) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1", 4, absl::InfiniteFuture(), "asg-7");

  SendClaim first = ClaimOne(*q, "c1", d);
  EXPECT_EQ(first.status, ClaimStatus::kClaimed);
  EXPECT_EQ(first.delivery_id, DeliveryId("t", "rem-1", 4));
  EXPECT_EQ(first.ref, "asg-7");
  EXPECT_EQ(first.attempt, 0);
  EXPECT_EQ(ClaimOne(*q, "c2", d).status, ClaimStatus::kInFlight);  // second claim fails
  SendClaim again = ClaimOne(*q, "c1", d);  // the same consumer retrying its call
  EXPECT_EQ(again.status, ClaimStatus::kClaimed);
  EXPECT_EQ(again.delivery_id, first.delivery_id);

  EXPECT_EQ(SettleOne(*q, Outcome::Sent(d)).result, SettleResult::kDone);
  SendClaim after = ClaimOne(*q, "c2", d);  // a late duplicate of a sent delivery
  EXPECT_EQ(after.status, ClaimStatus::kAlreadySent);
  EXPECT_EQ(after.delivery_id, first.delivery_id);
  // A replayed schedule of the version already sent does not bring it back.
  EXPECT_EQ(*q->Schedule(Job("rem-1", 4, Now(*q))), ScheduleResult::kAlreadySent);
  // A new version is a new reminder with a new delivery id.
  EXPECT_EQ(*q->Schedule(Job("rem-1", 5, Now(*q) + 60000)), ScheduleResult::kCreated);
  EXPECT_NE(DeliveryId("t", "rem-1", 5), first.delivery_id);
}

TEST_F(QueueTest, SentAckRemovesEverythingButTheSentMarker) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1", 1, absl::FromUnixMillis(Now(*q) + 60000), "r");
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  EXPECT_EQ(SettleOne(*q, Outcome::Sent(d)).result, SettleResult::kDone);

  EXPECT_FALSE(q->GetJob("rem-1")->has_value());
  EXPECT_EQ(server_->Int({"XLEN", q->keys().ready()}), 0);
  auto pending = server_->Cmd({"XPENDING", q->keys().ready(), "w"});
  ASSERT_NE(pending, nullptr);
  EXPECT_EQ(pending->element[0]->integer, 0);
  const std::string marker = q->keys().idempotency("rem-1", 1);
  EXPECT_EQ(QueueKeysPresent(), (std::vector<std::string>{marker, q->keys().ready()}));
  EXPECT_EQ(server_->Str({"GET", marker}), "s");
  int64_t ttl = server_->Int({"PTTL", marker});
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, absl::ToInt64Milliseconds(q->options().sent_ttl));
  // Settling the same delivery twice is harmless.
  EXPECT_EQ(SettleOne(*q, Outcome::Sent(d)).result, SettleResult::kIgnored);
}

TEST_F(QueueTest, StaleAckLeavesTheNewerScheduleAlone) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1", 1);
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  int64_t later = Now(*q) + 60000;
  ASSERT_EQ(*q->Schedule(Job("rem-1", 2, later)), ScheduleResult::kRescheduled);  // mid-send

  EXPECT_EQ(SettleOne(*q, Outcome::Sent(d)).result, SettleResult::kIgnored);
  auto job = q->GetJob("rem-1");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->version, 2);
  EXPECT_EQ((*job)->due_ms, later);
  EXPECT_EQ(server_->Int({"XLEN", q->keys().ready()}), 0);  // the old entry is gone
  // Retry and dead-letter of the old version are ignored too.
  Delivery old = d;
  EXPECT_EQ(SettleOne(*q, Outcome::Retry(old, absl::Seconds(1), "e", 0)).result,
            SettleResult::kIgnored);
  EXPECT_EQ(SettleOne(*q, Outcome::Dead(old, "permanent", "e")).result, SettleResult::kIgnored);
  EXPECT_EQ((*q->GetJob("rem-1"))->version, 2);
  EXPECT_EQ((*q->GetJob("rem-1"))->attempt, 0);
}

TEST_F(QueueTest, ClaimReportsStaleCanceledAndExpired) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  int64_t now = Now(*q);
  ASSERT_TRUE(q->Schedule({Job("stale", 1, now - 10), Job("gone", 1, now - 10),
                           Job("old", 1, now - 1000, "", absl::FromUnixMillis(now - 500)),
                           Job("ok", 1, now - 10)})
                  .ok());
  ASSERT_EQ(q->PromoteDue()->promoted, 4);
  ASSERT_EQ(*q->Schedule(Job("stale", 2, now + 60000)), ScheduleResult::kRescheduled);
  ASSERT_EQ(*q->Cancel(CancelRequest{"gone", 1}), CancelResult::kCanceled);
  auto batch = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(batch.ok() && batch->size() == 4);
  auto claims = q->ClaimForSend("c1", *batch);
  ASSERT_TRUE(claims.ok()) << claims.status();
  std::map<std::string, ClaimStatus> by_job;
  for (size_t i = 0; i < batch->size(); ++i) by_job[(*batch)[i].job_id] = (*claims)[i].status;
  EXPECT_EQ(by_job["old"], ClaimStatus::kExpired);
  EXPECT_EQ(by_job["gone"], ClaimStatus::kCanceled);
  EXPECT_EQ(by_job["stale"], ClaimStatus::kStale);
  EXPECT_EQ(by_job["ok"], ClaimStatus::kClaimed);
}

TEST_F(QueueTest, SkippingACurrentJobDoesNotOrphanIt) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_EQ(ClaimOne(*q, "other", d).status, ClaimStatus::kClaimed);
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kInFlight);
  int64_t now = Now(*q);
  EXPECT_EQ(SettleOne(*q, Outcome::Skip(d)).result, SettleResult::kDone);
  auto job = q->GetJob("rem-1");
  ASSERT_TRUE(job.ok() && job->has_value());
  ASSERT_TRUE((*job)->due_ms.has_value());
  EXPECT_GE(*(*job)->due_ms, now + 200);  // back after one lease
  EXPECT_EQ((*job)->attempt, 0);
}

// A suppression leaves no job and no sent marker; its marker says 'u' (for the sent TTL), so a
// late duplicate entry of that version is canceled, not sent, while a new schedule of the
// same version is accepted.
TEST_F(QueueTest, SuppressedFinishesWithoutSentMarker) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  EXPECT_EQ(SettleOne(*q, Outcome::Suppressed(d)).result, SettleResult::kDone);
  const std::string marker = q->keys().idempotency("rem-1", 1);
  EXPECT_EQ(QueueKeysPresent(), (std::vector<std::string>{marker, q->keys().ready()}));
  EXPECT_EQ(server_->Str({"GET", marker}), "u");
  EXPECT_GT(server_->Int({"PTTL", marker}), 0);
  EXPECT_EQ(ClaimOne(*q, "c2", d).status, ClaimStatus::kCanceled);
  EXPECT_EQ(*q->Schedule(Job("rem-1", 1, Now(*q) + 60000)), ScheduleResult::kCreated);
  EXPECT_EQ(server_->Int({"EXISTS", marker}), 0);
}

// The crash path: a consumer reads and claims, then dies. After the lease another consumer
// takes the entry over, as a redelivery (not a failed attempt), and may send (the outcome of
// the first attempt is unknown) with the same delivery id.
TEST_F(QueueTest, ExpiredLeaseIsReclaimedAsRedeliveryNotAttempt) {
  auto q = NewQueue();  // lease 200 ms
  auto dead_reader = NewReader("dying");
  absl::Time read_at = absl::Now();
  Delivery d = DeliverOne(*q, *dead_reader, "rem-1");
  SendClaim first = ClaimOne(*q, "dying", d);
  ASSERT_EQ(first.status, ClaimStatus::kClaimed);

  auto early = q->ReclaimExpired("janitor", 100);
  ASSERT_TRUE(early.ok()) << early.status();
  if (absl::Now() - read_at < q->options().lease) {  // (unless this machine stalled us)
    EXPECT_TRUE(early->deliveries.empty()) << "lease still running";
  }

  absl::SleepFor(absl::Milliseconds(260));
  auto taken = q->ReclaimExpired("janitor", 100);
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_EQ(taken->deliveries.size(), 1u);
  const Delivery& r = taken->deliveries[0];
  EXPECT_EQ(r.entry_id, d.entry_id);
  EXPECT_EQ(r.job_id, "rem-1");
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.due_ms, d.due_ms);
  EXPECT_TRUE(r.reclaimed);
  EXPECT_EQ(r.redeliveries, 1);

  SendClaim second = ClaimOne(*q, "janitor", r);
  EXPECT_EQ(second.status, ClaimStatus::kClaimed);
  EXPECT_EQ(second.delivery_id, first.delivery_id);
  EXPECT_EQ(second.attempt, 0) << "a redelivery is not a failed attempt";
  EXPECT_EQ(second.redeliveries, 1);
  auto job = q->GetJob("rem-1");
  EXPECT_EQ((*job)->attempt, 0);
  EXPECT_EQ((*job)->redeliveries, 1);

  EXPECT_EQ(SettleOne(*q, Outcome::Sent(r)).result, SettleResult::kDone);
  // The first consumer wakes up late and settles: nothing breaks, nothing comes back.
  EXPECT_EQ(SettleOne(*q, Outcome::Sent(d)).result, SettleResult::kIgnored);
  auto s = q->Stats();
  EXPECT_EQ(s->due + s->ready + s->pending + s->dead, 0);
}

TEST_F(QueueTest, ReclaimAfterASuccessfulSendDoesNotSendAgain) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  // Sent, and the "sent" marker written, but the consumer died before acking the entry:
  // simulate by writing the marker the Sent settle would have written, without the ack.
  server_->Cmd({"SET", q->keys().idempotency("rem-1", 1), "s", "PX", "60000"});
  absl::SleepFor(absl::Milliseconds(260));
  auto taken = q->ReclaimExpired("c2", 100);
  ASSERT_TRUE(taken.ok() && taken->deliveries.size() == 1);
  EXPECT_EQ(ClaimOne(*q, "c2", taken->deliveries[0]).status, ClaimStatus::kAlreadySent);
  EXPECT_EQ(SettleOne(*q, Outcome::Sent(taken->deliveries[0])).result, SettleResult::kDone);
  EXPECT_FALSE(q->GetJob("rem-1")->has_value());
}

TEST_F(QueueTest, RenewingKeepsTheLeaseAndLosingItIsReported) {
  auto q = NewQueue();  // lease 200 ms
  auto reader = NewReader("slow");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_EQ(ClaimOne(*q, "slow", d).status, ClaimStatus::kClaimed);
  for (int i = 0; i < 6; ++i) {  // a 600 ms send, renewing every 100 ms
    absl::SleepFor(absl::Milliseconds(100));
    auto renewed = q->RenewLeases("slow", {d});
    ASSERT_TRUE(renewed.ok()) << renewed.status();
    EXPECT_TRUE(renewed->front());
    auto stolen = q->ReclaimExpired("other", 10);
    ASSERT_TRUE(stolen.ok());
    EXPECT_TRUE(stolen->deliveries.empty()) << "renewed lease was taken at " << i;
    EXPECT_EQ(ClaimOne(*q, "other", d).status, ClaimStatus::kInFlight);
  }
  EXPECT_EQ(server_->Int({"PTTL", q->keys().idempotency("rem-1", 1)}) > 0, true);
  absl::SleepFor(absl::Milliseconds(260));  // stops renewing
  auto stolen = q->ReclaimExpired("other", 10);
  ASSERT_TRUE(stolen.ok() && stolen->deliveries.size() == 1);
  auto renewed = q->RenewLeases("slow", {d});
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(renewed->front()) << "the lease moved to another consumer";
  // XCLAIM JUSTID renewals did not count as deliveries; only the takeover did.
  auto pending = server_->Cmd({"XPENDING", q->keys().ready(), "w", "-", "+", "10"});
  ASSERT_NE(pending, nullptr);
  ASSERT_EQ(pending->elements, 1u);
  EXPECT_EQ(std::string(pending->element[0]->element[1]->str), "other");
  EXPECT_EQ(pending->element[0]->element[3]->integer, 2);
}

TEST_F(QueueTest, PoisonJobIsDeadLetteredAfterTooManyRedeliveries) {
  QueueOptions o = Options();
  o.lease = absl::Milliseconds(50);
  o.max_redeliveries = 2;
  auto q = NewQueue(o);
  auto reader = NewReader("w0");
  Delivery d = DeliverOne(*q, *reader, "poison", 1, absl::InfiniteFuture(), "ref-p");
  for (int takeover = 1; takeover <= 3; ++takeover) {
    absl::SleepFor(absl::Milliseconds(80));  // the consumer "crashed" again
    auto r = q->ReclaimExpired("w" + std::to_string(takeover), 10);
    ASSERT_TRUE(r.ok()) << r.status();
    if (takeover <= 2) {
      ASSERT_EQ(r->deliveries.size(), 1u) << takeover;
      EXPECT_EQ(r->deliveries[0].redeliveries, takeover);
      EXPECT_EQ(r->dead_lettered, 0);
    } else {
      EXPECT_TRUE(r->deliveries.empty());
      EXPECT_EQ(r->dead_lettered, 1);
    }
  }
  auto dead = q->ListDead(10);
  ASSERT_TRUE(dead.ok() && dead->size() == 1);
  EXPECT_EQ(dead->front().reason, "redeliveries");
  EXPECT_EQ(dead->front().ref, "ref-p");
  EXPECT_EQ(dead->front().attempts, 0);
  auto s = q->Stats();
  EXPECT_EQ(s->ready, 0);
  EXPECT_EQ(s->pending, 0);
  EXPECT_EQ(s->dead, 1);
  EXPECT_FALSE(q->GetJob("poison")->has_value());
}

TEST_F(QueueTest, ReclaimPagesThroughManyExpiredEntries) {
  auto q = NewQueue();
  auto reader = NewReader("dying");
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 120; ++i) jobs.push_back(Job("j" + std::to_string(i), 1, now - 10));
  ASSERT_TRUE(q->Schedule(jobs).ok());
  ASSERT_EQ(q->PromoteDue(500)->promoted, 120);
  ASSERT_EQ(reader->Read(500, absl::ZeroDuration())->size(), 120u);
  absl::SleepFor(absl::Milliseconds(260));
  size_t total = 0;
  std::string cursor = "0-0";
  for (int round = 0; round < 10; ++round) {
    auto r = q->ReclaimExpired("janitor", 50, cursor);
    ASSERT_TRUE(r.ok()) << r.status();
    total += r->deliveries.size();
    cursor = r->next_cursor;
    if (cursor == "0-0") break;
  }
  EXPECT_EQ(total, 120u);
}

TEST_F(QueueTest, RetryBacksOffWithinTheUsefulLife) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  RetryPolicy policy{absl::Milliseconds(500), absl::Seconds(30), 10};
  std::mt19937_64 gen(5);
  int64_t now = Now(*q);
  Delivery d = DeliverOne(*q, *reader, "rem-1", 1, absl::FromUnixMillis(now + 20000), "r1");
  SendClaim c = ClaimOne(*q, "c1", d);
  ASSERT_EQ(c.status, ClaimStatus::kClaimed);
  ASSERT_EQ(c.deadline_ms, now + 20000);

  absl::Duration delay = policy.Backoff(c.attempt + 1, gen);
  ASSERT_LE(delay, policy.Ceiling(1));
  int64_t before = Now(*q);
  SettleReport rep = SettleOne(*q, Outcome::Retry(d, delay, "HTTP 503", policy.max_attempts));
  ASSERT_EQ(rep.result, SettleResult::kRetryScheduled);
  int64_t after = Now(*q);
  EXPECT_GE(rep.retry_due_ms, before + absl::ToInt64Milliseconds(delay));
  EXPECT_LE(rep.retry_due_ms, after + absl::ToInt64Milliseconds(delay));
  auto job = q->GetJob("rem-1");
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ((*job)->attempt, 1);
  EXPECT_EQ((*job)->due_ms, rep.retry_due_ms);
  EXPECT_EQ((*job)->ref, "r1");
  EXPECT_EQ(server_->Int({"XLEN", q->keys().ready()}), 0);
  // The send claim was released for the retry's own delivery (attempt 1) only: an older entry
  // of the job cannot send it before its backoff.
  EXPECT_EQ(server_->Str({"GET", q->keys().idempotency("rem-1", 1)}), "r1");
  EXPECT_EQ(ClaimOne(*q, "c2", d).status, ClaimStatus::kStale);

  // A retry that would land past the useful life dead-letters instead.
  server_->Cmd({"ZADD", q->keys().due(), std::to_string(now - 1), "rem-1"});
  ASSERT_EQ(q->PromoteDue()->promoted, 1);
  auto again = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(again.ok() && again->size() == 1);
  SendClaim retried = ClaimOne(*q, "c1", again->front());
  EXPECT_EQ(retried.status, ClaimStatus::kClaimed);
  EXPECT_EQ(retried.attempt, 1);
  rep = SettleOne(*q, Outcome::Retry(again->front(), absl::Seconds(25), "timeout", 10));
  EXPECT_EQ(rep.result, SettleResult::kDeadLettered);
  EXPECT_EQ(rep.dead_reason, "expired");
  EXPECT_FALSE(q->GetJob("rem-1")->has_value());
  auto dead = q->ListDead(10);
  ASSERT_TRUE(dead.ok() && dead->size() == 1);
  EXPECT_EQ(dead->front().job_id, "rem-1");
  EXPECT_EQ(dead->front().reason, "expired");
  EXPECT_EQ(dead->front().error, "timeout");
  EXPECT_EQ(dead->front().attempts, 2);
  EXPECT_EQ(dead->front().ref, "r1");
}

TEST_F(QueueTest, RetryDeadLettersWhenAttemptsRunOut) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  SettleReport rep = SettleOne(*q, Outcome::Retry(d, absl::ZeroDuration(), "e1", 3));
  ASSERT_EQ(rep.result, SettleResult::kRetryScheduled);
  for (int attempt = 2; attempt <= 3; ++attempt) {
    ASSERT_EQ(q->PromoteDue()->promoted, 1);
    auto got = reader->Read(10, absl::ZeroDuration());
    ASSERT_TRUE(got.ok() && got->size() == 1);
    EXPECT_EQ(ClaimOne(*q, "c1", got->front()).attempt, attempt - 1);
    rep = SettleOne(
        *q, Outcome::Retry(got->front(), absl::ZeroDuration(), "e" + std::to_string(attempt), 3));
  }
  EXPECT_EQ(rep.result, SettleResult::kDeadLettered);
  EXPECT_EQ(rep.dead_reason, "max_attempts");
  auto dead = q->ListDead(10);
  ASSERT_TRUE(dead.ok() && dead->size() == 1);
  EXPECT_EQ(dead->front().attempts, 3);
  EXPECT_EQ(dead->front().error, "e3");
}

TEST_F(QueueTest, RetryThatBecomesEarliestWakesThePromoter) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_TRUE(q->Schedule(Job("later", 1, Now(*q) + 4000)).ok());
  WakeSubscriber sub(server_->endpoint(), "t");
  ASSERT_TRUE(sub.Subscribe().ok());
  ASSERT_EQ(SettleOne(*q, Outcome::Retry(d, absl::Milliseconds(300), "e", 0)).result,
            SettleResult::kRetryScheduled);
  EXPECT_EQ(*sub.Wait(absl::Seconds(2)), WakeReason::kPublished);
}

TEST_F(QueueTest, DeadLetterKeepsReasonAndLastError) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1", 7, absl::InfiniteFuture(), "asg-1");
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  SettleReport rep = SettleOne(*q, Outcome::Dead(d, "permanent", "HTTP 404 Not Found"));
  EXPECT_EQ(rep.result, SettleResult::kDeadLettered);
  EXPECT_EQ(rep.dead_reason, "permanent");
  auto dead = q->ListDead(10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  const DeadEntry& e = dead->front();
  EXPECT_EQ(e.job_id, "rem-1");
  EXPECT_EQ(e.version, 7);
  EXPECT_EQ(e.ref, "asg-1");
  EXPECT_EQ(e.reason, "permanent");
  EXPECT_EQ(e.error, "HTTP 404 Not Found");
  EXPECT_EQ(e.attempts, 0);
  EXPECT_LT(absl::Now() - e.at, absl::Seconds(10));
  // Nothing but the dead entry and the version's 'x' marker (a late duplicate is canceled).
  const std::string marker = q->keys().idempotency("rem-1", 7);
  EXPECT_EQ(QueueKeysPresent(),
            (std::vector<std::string>{marker, q->keys().ready(), q->keys().dead()}));
  EXPECT_EQ(server_->Str({"GET", marker}), "x");
  EXPECT_EQ(ClaimOne(*q, "c2", d).status, ClaimStatus::kCanceled);
  EXPECT_TRUE(absl::IsInvalidArgument(q->Settle({Outcome::Dead(d, "", "x")}).status()));
}

TEST_F(QueueTest, DeadSetIsCappedToTheNewest) {
  QueueOptions o = Options();
  o.dead_cap = 5;
  auto q = NewQueue(o);
  int64_t now = Now(*q);
  for (int i = 0; i < 12; ++i) {
    std::string id = "j" + std::to_string(i);
    ASSERT_TRUE(q->Schedule(Job(id, 1, now + 60000)).ok());
    Delivery d;  // dead-lettered straight from the due set (no stream entry)
    d.job_id = id;
    d.version = 1;
    ASSERT_EQ(SettleOne(*q, Outcome::Dead(d, "permanent", "e")).result,
              SettleResult::kDeadLettered);
  }
  EXPECT_EQ(server_->Int({"XLEN", q->keys().dead()}), 5);
  auto dead = q->ListDead(100);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 5u);
  EXPECT_EQ(dead->front().job_id, "j11");
  EXPECT_EQ(dead->back().job_id, "j7");
  EXPECT_EQ(q->Stats()->dead, 5);
  EXPECT_EQ(q->Stats()->due, 0);
}

TEST_F(QueueTest, SettleMixedBatchInOneCall) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(Job("j" + std::to_string(i), 1, now - 10));
  ASSERT_TRUE(q->Schedule(jobs).ok());
  ASSERT_EQ(q->PromoteDue()->promoted, 4);
  auto b = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(b.ok() && b->size() == 4);
  auto r = q->Settle({Outcome::Sent((*b)[0]), Outcome::Retry((*b)[1], absl::Seconds(60), "e", 5),
                      Outcome::Dead((*b)[2], "permanent", "e"), Outcome::Suppressed((*b)[3])});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].result, SettleResult::kDone);
  EXPECT_EQ((*r)[1].result, SettleResult::kRetryScheduled);
  EXPECT_EQ((*r)[2].result, SettleResult::kDeadLettered);
  EXPECT_EQ((*r)[3].result, SettleResult::kDone);
  auto s = q->Stats();
  EXPECT_EQ(s->due, 1);
  EXPECT_EQ(s->ready, 0);
  EXPECT_EQ(s->pending, 0);
  EXPECT_EQ(s->dead, 1);
}

// Settle removes the jobs finished by sends in one DEL and one ZREM at the end of the call;
// a later item of the same call must still see them as gone, as if removed one by one.
TEST_F(QueueTest, SettleSeesJobsFinishedEarlierInTheSameCall) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery a = DeliverOne(*q, *reader, "a");
  Delivery b = DeliverOne(*q, *reader, "b");
  Delivery c = DeliverOne(*q, *reader, "c");
  auto r = q->Settle({Outcome::Sent(a), Outcome::Dead(a, "permanent", "late duplicate"),
                      Outcome::Suppressed(b), Outcome::Retry(b, absl::Seconds(60), "e", 5),
                      Outcome::Sent(c), Outcome::Skip(c)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].result, SettleResult::kDone);
  EXPECT_EQ((*r)[1].result, SettleResult::kIgnored);
  EXPECT_EQ((*r)[2].result, SettleResult::kDone);
  EXPECT_EQ((*r)[3].result, SettleResult::kIgnored);
  EXPECT_EQ((*r)[4].result, SettleResult::kDone);
  EXPECT_EQ((*r)[5].result, SettleResult::kIgnored);
  for (const char* id : {"a", "b", "c"}) EXPECT_FALSE(q->GetJob(id)->has_value()) << id;
  auto s = q->Stats();
  EXPECT_EQ(s->due, 0);
  EXPECT_EQ(s->dead, 0);
  EXPECT_EQ(s->ready, 0);
  EXPECT_EQ(ClaimOne(*q, "c2", a).status, ClaimStatus::kAlreadySent);
  EXPECT_EQ(ClaimOne(*q, "c2", c).status, ClaimStatus::kAlreadySent);
  EXPECT_EQ(ClaimOne(*q, "c2", b).status, ClaimStatus::kCanceled);
}

// A suppression before a send of the same (job, version) in one call keeps the sent marker.
TEST_F(QueueTest, SuppressedThenSentInOneCallKeepsTheSentMarker) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  auto r = q->Settle({Outcome::Suppressed(d), Outcome::Sent(d)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(server_->Str({"GET", q->keys().idempotency("rem-1", 1)}), "s");
  EXPECT_EQ(*q->Schedule(Job("rem-1", 1, Now(*q))), ScheduleResult::kAlreadySent);
}

// The promoter takes the due time from the job's hash; a retried job is promoted with its new
// due time, and a job stored before the hash had one falls back to its score.
TEST_F(QueueTest, PromotedEntriesCarryTheDueTimeOfTheirPlaceInTheDueSet) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  Delivery d = DeliverOne(*q, *reader, "rem-1");
  ASSERT_EQ(ClaimOne(*q, "c1", d).status, ClaimStatus::kClaimed);
  SettleReport rep = SettleOne(*q, Outcome::Retry(d, absl::Milliseconds(1), "e", 5));
  ASSERT_EQ(rep.result, SettleResult::kRetryScheduled);
  absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(q->PromoteDue()->promoted, 1);
  auto again = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(again.ok() && again->size() == 1);
  EXPECT_EQ(again->front().due_ms, rep.retry_due_ms);
  EXPECT_NE(again->front().due_ms, d.due_ms);

  int64_t legacy_due = Now(*q) - 1234;
  server_->Cmd({"HSET", q->keys().job("old"), "v", "3"});
  server_->Cmd({"ZADD", q->keys().due(), std::to_string(legacy_due), "old"});
  ASSERT_EQ(q->PromoteDue()->promoted, 1);
  auto old = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(old.ok() && old->size() == 1);
  EXPECT_EQ(old->front().job_id, "old");
  EXPECT_EQ(old->front().version, 3);
  EXPECT_EQ(old->front().due_ms, legacy_due);
}

// Several jobs per ready entry: one XADD per group, each job read with what the promoter read
// (ref with any bytes, deadline, attempts), and the entry stays pending until the item that
// names it is settled.
TEST_F(QueueTest, SeveralJobsShareAnEntryAndTheLastSettleAcksIt) {
  QueueOptions o = Options();
  o.jobs_per_entry = 3;
  auto q = NewQueue(o);
  auto reader = NewReader("c1");
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 7; ++i) {
    jobs.push_back(Job("j" + std::to_string(i), 2, now - 100 + i, i == 1 ? "a\tb\nc" : "r",
                       absl::FromUnixMillis(now + 60000 + i)));
  }
  ASSERT_TRUE(q->Schedule(jobs).ok());
  auto p = q->PromoteDue();
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->promoted, 7);
  EXPECT_EQ(server_->Int({"XLEN", q->keys().ready()}), 3);  // 3 + 3 + 1

  auto first = reader->Read(1, absl::ZeroDuration());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const Delivery& d = (*first)[i];
    EXPECT_EQ(d.job_id, "j" + std::to_string(i));
    EXPECT_EQ(d.entry_id, (*first)[0].entry_id);
    EXPECT_EQ(d.version, 2);
    EXPECT_EQ(d.due_ms, now - 100 + i);
    EXPECT_TRUE(d.carried);
    EXPECT_EQ(d.deadline_ms, now + 60000 + i);
    EXPECT_EQ(d.attempt, 0);
  }
  EXPECT_EQ((*first)[1].ref, "a\tb\nc");
  auto claims = q->ClaimForSend("c1", *first);
  ASSERT_TRUE(claims.ok()) << claims.status();
  for (const SendClaim& c : *claims) EXPECT_EQ(c.status, ClaimStatus::kClaimed);
  EXPECT_EQ((*claims)[1].ref, "a\tb\nc");
  EXPECT_EQ((*claims)[2].deadline_ms, now + 60002);

  // Two jobs settled without naming the entry: it stays pending.
  std::vector<Outcome> part = {Outcome::Sent((*first)[0]), Outcome::Sent((*first)[1])};
  for (Outcome& out : part) out.entry_id.clear();
  ASSERT_TRUE(q->Settle(part).ok());
  EXPECT_EQ(q->Stats()->pending, 1);
  ASSERT_EQ(SettleOne(*q, Outcome::Sent((*first)[2])).result, SettleResult::kDone);
  auto s = q->Stats();
  EXPECT_EQ(s->pending, 0);
  EXPECT_EQ(s->ready, 2);  // the two entries not read yet
  auto rest = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(rest.ok() && rest->size() == 4u);
  EXPECT_EQ(rest->back().job_id, "j6");
}

// The crash path with shared entries: a consumer settles some jobs of an entry (a sent, a
// retried, a suppressed one) without acknowledging it and dies. The janitor hands out the
// whole entry again; nothing is lost, the sent job is not sent again, the retried one waits for
// its backoff (its old entry predates the retry) and the suppressed one stays finished.
TEST_F(QueueTest, DyingMidEntryLosesNothingAndSendsNothingTwice) {
  QueueOptions o = Options();  // lease 200 ms
  o.jobs_per_entry = 4;
  auto q = NewQueue(o);
  auto reader = NewReader("dying");
  int64_t now = Now(*q);
  std::vector<ScheduleRequest> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(Job("j" + std::to_string(i), 1, now - 10));
  ASSERT_TRUE(q->Schedule(jobs).ok());
  ASSERT_EQ(q->PromoteDue()->promoted, 4);
  auto got = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(got.ok() && got->size() == 4u);
  auto claims = q->ClaimForSend("dying", *got);
  ASSERT_TRUE(claims.ok());
  std::vector<Outcome> part = {Outcome::Sent((*got)[0]),
                               Outcome::Retry((*got)[1], absl::Seconds(60), "503", 10),
                               Outcome::Suppressed((*got)[2])};
  for (Outcome& out : part) out.entry_id.clear();  // j3 undecided: the entry stays pending
  auto reps = q->Settle(part);
  ASSERT_TRUE(reps.ok()) << reps.status();
  int64_t retry_due = (*reps)[1].retry_due_ms;

  absl::SleepFor(absl::Milliseconds(260));
  auto taken = q->ReclaimExpired("janitor", 10);
  ASSERT_TRUE(taken.ok()) << taken.status();
  ASSERT_EQ(taken->deliveries.size(), 4u);
  auto again = q->ClaimForSend("janitor", taken->deliveries);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].status, ClaimStatus::kAlreadySent);
  EXPECT_EQ((*again)[1].status, ClaimStatus::kStale);
  EXPECT_EQ((*again)[2].status, ClaimStatus::kCanceled);
  EXPECT_EQ((*again)[3].status, ClaimStatus::kClaimed);
  EXPECT_EQ((*again)[3].attempt, 0) << "a redelivery is not a failed attempt";
  EXPECT_EQ((*again)[3].redeliveries, 1);
  const auto& t = taken->deliveries;
  ASSERT_TRUE(q->Settle({Outcome::Sent(t[0]), Outcome::Skip(t[1]), Outcome::Skip(t[2]),
                         Outcome::Sent(t[3])})
                  .ok());
  auto s = q->Stats();
  EXPECT_EQ(s->pending, 0);
  EXPECT_EQ(s->ready, 0);
  EXPECT_EQ(s->due, 1);
  auto j1 = q->GetJob("j1");
  ASSERT_TRUE(j1.ok() && j1->has_value());
  EXPECT_EQ((*j1)->attempt, 1);
  EXPECT_EQ((*j1)->due_ms, retry_due) << "the skip of the old entry kept the backoff";
  for (const char* id : {"j0", "j2", "j3"}) EXPECT_FALSE(q->GetJob(id)->has_value()) << id;
  EXPECT_EQ(server_->Str({"GET", q->keys().idempotency("j3", 1)}), "s");
}

// A job canceled while its entry waits in the stream is found canceled by the claim (marker
// 'c'); scheduling the same version again brings it back, and only one of the two entries
// sends it.
TEST_F(QueueTest, CanceledInTheStreamThenScheduledAgainIsSentOnce) {
  auto q = NewQueue();
  auto reader = NewReader("c1");
  ASSERT_TRUE(q->Schedule(Job("rem-1", 3, Now(*q) - 10)).ok());
  ASSERT_EQ(q->PromoteDue()->promoted, 1);
  ASSERT_EQ(*q->Cancel(CancelRequest{"rem-1", 3}), CancelResult::kCanceled);
  EXPECT_EQ(server_->Str({"GET", q->keys().idempotency("rem-1", 3)}), "c");
  auto old = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(old.ok() && old->size() == 1u);
  EXPECT_EQ(ClaimOne(*q, "c1", old->front()).status, ClaimStatus::kCanceled);

  ASSERT_EQ(*q->Schedule(Job("rem-1", 3, Now(*q) - 5)), ScheduleResult::kCreated);
  ASSERT_EQ(q->PromoteDue()->promoted, 1);
  auto fresh = reader->Read(10, absl::ZeroDuration());
  ASSERT_TRUE(fresh.ok() && fresh->size() == 1u);
  std::vector<Delivery> both = {old->front(), fresh->front()};
  auto claims = q->ClaimForSend("c2", both);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ((*claims)[0].status, ClaimStatus::kClaimed);  // same (job, version): either may send
  EXPECT_EQ((*claims)[1].status, ClaimStatus::kClaimed);  // c2's own claim, re-entrant
  EXPECT_EQ(ClaimOne(*q, "c3", fresh->front()).status, ClaimStatus::kInFlight);
  ASSERT_EQ(SettleOne(*q, Outcome::Sent(fresh->front())).result, SettleResult::kDone);
  EXPECT_EQ(ClaimOne(*q, "c3", old->front()).status, ClaimStatus::kAlreadySent);
}

}  // namespace
}  // namespace duban::queue
