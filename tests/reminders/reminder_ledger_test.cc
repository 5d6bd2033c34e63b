// The ledger through its gRPC API against a real SQLite file and a real redis-server: outbox
// calls (idempotent, re-plan in place, close), the worker's calls, dead letters, Reconcile.
#include <iostream>
#include <set>

#include "reminders_fixture.h"

namespace duban::reminders {
namespace {

// Drift for Reconcile: the reminder's job stays in Redis but falls due at another time.
void MoveInRedis(queue::JobQueue& q, const pb::Reminder& r, absl::Time due) {
  ASSERT_TRUE(q.Cancel(queue::CancelRequest{r.id(), r.version()}).ok());
  queue::ScheduleRequest moved;
  moved.job_id = r.id();
  moved.version = r.version();
  moved.due = due;
  ASSERT_TRUE(q.Schedule(moved).ok());
}

using ::testing::ElementsAre;

const absl::Time kDeadline = Sh(2025, 5, 30, 18);

TEST_F(RemindersTest, DeadlineAloneProducesLedgerRowsAndRedisJobs) {
  auto resp = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  EXPECT_EQ(resp.outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(resp.current_version(), 1);
  EXPECT_EQ(resp.policy_id(), "default");
  EXPECT_FALSE(resp.policy_fallback());
  // 3 and 1 working days before, due, 5 overdue, 3 escalation steps.
  EXPECT_EQ(resp.added(), 11);
  ASSERT_EQ(resp.pending_size(), 11);
  std::vector<pb::Reminder> pending(resp.pending().begin(), resp.pending().end());
  EXPECT_EQ(pending.front().kind(), pb::REMINDER_KIND_BEFORE_DUE);
  EXPECT_EQ(absl::FromUnixMicros(ProtoToMicros(pending.front().planned_time())),
            Sh(2025, 5, 27, 9));
  for (const auto& r : pending) {
    EXPECT_EQ(r.state(), pb::REMINDER_STATE_SCHEDULED);
    EXPECT_EQ(r.version(), 1);
    EXPECT_EQ(r.assignment_version(), 1);
    EXPECT_EQ(r.unit_id(), "gd.zq.duanzhou");
    EXPECT_EQ(r.delivery_id().size(), 32u);
    // The overdue repeats skip the Dragon Boat holiday (2025-05-31..06-02).
    EXPECT_NE(absl::ToCivilDay(absl::FromUnixMicros(ProtoToMicros(r.planned_time())),
                               absl::FixedTimeZone(8 * 3600)),
              absl::CivilDay(2025, 6, 2));
  }
  ExpectInRedis(pending);
  EXPECT_EQ(List("a1").size(), 11u);
  auto stats = StatsOk();
  EXPECT_EQ(stats.scheduled(), 11);
  EXPECT_EQ(stats.ledger_scheduled(), 11);
}

TEST_F(RemindersTest, ScheduleIsIdempotentByVersion) {
  ScheduleOk(Snapshot("a1", 2, kDeadline, Now()));
  auto before = List("a1");
  auto dup = ScheduleOk(Snapshot("a1", 2, kDeadline + absl::Hours(48), Now()));
  EXPECT_EQ(dup.outcome(), pb::APPLY_OUTCOME_DUPLICATE);
  EXPECT_EQ(dup.current_version(), 2);
  EXPECT_EQ(dup.added() + dup.updated() + dup.canceled(), 0);
  auto stale = ScheduleOk(Snapshot("a1", 1, kDeadline + absl::Hours(72), Now()));
  EXPECT_EQ(stale.outcome(), pb::APPLY_OUTCOME_STALE);
  EXPECT_EQ(stale.current_version(), 2);
  auto after = List("a1");
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id(), before[i].id());
    EXPECT_EQ(after[i].version(), before[i].version());
    EXPECT_EQ(ProtoToMicros(after[i].planned_time()), ProtoToMicros(before[i].planned_time()));
  }
}

TEST_F(RemindersTest, DeadlineChangeReplansInPlace) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  ASSERT_EQ(v1.pending_size(), 11);
  std::map<std::string, pb::Reminder> old;
  for (const auto& r : v1.pending()) old[r.id()] = r;

  // An extension to 2025-06-13 and the unit acknowledged.
  SetNow(Now() + absl::Hours(1));
  auto v2 =
      ScheduleOk(Snapshot("a1", 2, Sh(2025, 6, 13, 18), Now(), pb::ASSIGNMENT_STATE_ACKNOWLEDGED));
  EXPECT_EQ(v2.outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(v2.updated(), 10);
  EXPECT_EQ(v2.canceled(), 1);  // the NOT_ACKNOWLEDGED escalation
  EXPECT_EQ(v2.added(), 0);
  ASSERT_EQ(v2.pending_size(), 10);
  for (const auto& r : v2.pending()) {
    ASSERT_TRUE(old.count(r.id())) << "updated in place, same id";
    EXPECT_EQ(r.version(), old[r.id()].version() + 1);
    EXPECT_EQ(r.assignment_version(), 2);
    EXPECT_GT(ProtoToMicros(r.planned_time()), ProtoToMicros(old[r.id()].planned_time()));
    EXPECT_NE(r.delivery_id(), old[r.id()].delivery_id());
  }
  std::vector<pb::Reminder> pending(v2.pending().begin(), v2.pending().end());
  ExpectInRedis(pending);
  auto canceled = List("a1", {pb::REMINDER_STATE_CANCELED});
  ASSERT_EQ(canceled.size(), 1u);
  EXPECT_EQ(canceled[0].kind(), pb::REMINDER_KIND_ESCALATION);
  EXPECT_EQ(canceled[0].escalation_trigger(), pb::ESCALATION_TRIGGER_NOT_ACKNOWLEDGED);
  ExpectNotInRedis(canceled);
}

TEST_F(RemindersTest, FinalRowsAreKeptAndLaterSlotsGetNewRows) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  const pb::Reminder first = v1.pending(0);  // BEFORE_DUE 3 working days before
  // The worker sent it.
  {
    grpc::ClientContext ctx;
    pb::RecordDeliveriesRequest req;
    auto* o = req.add_outcomes();
    o->set_reminder_id(first.id());
    o->set_version(first.version());
    o->set_outcome(pb::DELIVERY_OUTCOME_KIND_SENT);
    o->set_attempt(1);
    *o->mutable_sent_time() = first.planned_time();
    pb::RecordDeliveriesResponse resp;
    ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
  }
  SetNow(Sh(2025, 5, 27, 10));
  // Extended by two weeks: the sent slot's new instant is in the future, so a new row.
  auto v2 = ScheduleOk(Snapshot("a1", 2, Sh(2025, 6, 13, 18), Now()));
  EXPECT_EQ(v2.added(), 1);
  auto sent = List("a1", {pb::REMINDER_STATE_SENT});
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].id(), first.id());
  EXPECT_EQ(sent[0].version(), first.version());
}

TEST_F(RemindersTest, ClosingCancelsEveryPendingReminder) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  std::vector<pb::Reminder> pending(v1.pending().begin(), v1.pending().end());
  pb::CancelAssignmentResponse resp;
  ASSERT_TRUE(Cancel("a1", 2, pb::ASSIGNMENT_STATE_DONE, &resp).ok());
  EXPECT_EQ(resp.outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(resp.canceled(), 11);
  EXPECT_TRUE(List("a1", {pb::REMINDER_STATE_SCHEDULED, pb::REMINDER_STATE_FAILED}).empty());
  auto canceled = List("a1", {pb::REMINDER_STATE_CANCELED});
  EXPECT_EQ(canceled.size(), 11u);
  ExpectNotInRedis(pending);
  EXPECT_EQ(StatsOk().scheduled(), 0);
  // A late snapshot of an older version changes nothing.
  auto late = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  EXPECT_EQ(late.outcome(), pb::APPLY_OUTCOME_STALE);
  EXPECT_EQ(late.current_version(), 2);
  // Repeating the cancel is a duplicate.
  ASSERT_TRUE(Cancel("a1", 2, pb::ASSIGNMENT_STATE_DONE, &resp).ok());
  EXPECT_EQ(resp.outcome(), pb::APPLY_OUTCOME_DUPLICATE);
}

TEST_F(RemindersTest, FinalSnapshotCancelsLikeCancelAssignment) {
  ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  auto closed = ScheduleOk(Snapshot("a1", 2, kDeadline, Now(), pb::ASSIGNMENT_STATE_CANCELED));
  EXPECT_EQ(closed.canceled(), 11);
  EXPECT_EQ(closed.pending_size(), 0);
  EXPECT_EQ(StatsOk().scheduled(), 0);
}

TEST_F(RemindersTest, CancelOfUnknownAssignmentIsRecorded) {
  pb::CancelAssignmentResponse resp;
  ASSERT_TRUE(Cancel("ghost", 3, pb::ASSIGNMENT_STATE_CANCELED, &resp).ok());
  EXPECT_EQ(resp.outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(resp.canceled(), 0);
  auto late = ScheduleOk(Snapshot("ghost", 2, kDeadline, Now()));
  EXPECT_EQ(late.outcome(), pb::APPLY_OUTCOME_STALE);
  EXPECT_TRUE(List("ghost").empty());
}

TEST_F(RemindersTest, BatchAppliesChangesInOrderInOneCall) {
  grpc::ClientContext ctx;
  pb::BatchScheduleAssignmentsRequest req;
  *req.add_changes()->mutable_schedule()->mutable_assignment() =
      Snapshot("a1", 1, kDeadline, Now());
  *req.add_changes()->mutable_schedule()->mutable_assignment() =
      Snapshot("a2", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.gaoyao");
  auto* cancel = req.add_changes()->mutable_cancel();
  cancel->set_assignment_id("a1");
  cancel->set_version(2);
  cancel->set_final_state(pb::ASSIGNMENT_STATE_DONE);
  *cancel->mutable_change_time() = ToProtoTimestamp(Now());
  *req.add_changes()->mutable_schedule()->mutable_assignment() =
      Snapshot("a2", 1, kDeadline, Now());
  pb::BatchScheduleAssignmentsResponse resp;
  ASSERT_TRUE(stub_->BatchScheduleAssignments(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 4);
  EXPECT_EQ(resp.results(0).outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(resp.results(0).added(), 11);
  EXPECT_EQ(resp.results(1).outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(resp.results(2).canceled(), 11);
  EXPECT_EQ(resp.results(3).outcome(), pb::APPLY_OUTCOME_DUPLICATE);
  EXPECT_EQ(units_.calls, 1) << "one UnitService call per batch";
  // a1's jobs were scheduled and canceled within the batch: none reached Redis.
  EXPECT_EQ(StatsOk().scheduled(), 11);
  ExpectInRedis(List("a2"));
  ExpectNotInRedis(List("a1"));
}

TEST_F(RemindersTest, NonShanghaiTimezoneFromUnitService) {
  units_.zones["xj.urumqi"] = "Asia/Urumqi";  // UTC+6
  auto resp =
      ScheduleOk(Snapshot("a1", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "xj.urumqi"));
  ASSERT_GT(resp.pending_size(), 0);
  absl::TimeZone urumqi;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Urumqi", &urumqi));
  // 3 working days before at 09:00 Urumqi time.
  EXPECT_EQ(absl::FromUnixMicros(ProtoToMicros(resp.pending(0).planned_time())),
            absl::FromCivil(absl::CivilSecond(2025, 5, 27, 9, 0, 0), urumqi));
}

TEST_F(RemindersTest, UnitServiceDownIsUnavailableAndWritesNothing) {
  units_.available = false;
  pb::ScheduleAssignmentResponse resp;
  auto st = Schedule(Snapshot("a1", 1, kDeadline, Now()), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  units_.available = true;
  EXPECT_TRUE(List("a1").empty());
  // The outbox retries the same version: applied, not a duplicate.
  EXPECT_EQ(ScheduleOk(Snapshot("a1", 1, kDeadline, Now())).outcome(), pb::APPLY_OUTCOME_APPLIED);
}

TEST_F(RemindersTest, RedisDownStillSucceedsAndIsRepaired) {
  redis_->Stop(/*graceful=*/true);
  auto resp = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  EXPECT_EQ(resp.outcome(), pb::APPLY_OUTCOME_APPLIED);
  EXPECT_EQ(resp.pending_size(), 11);
  EXPECT_TRUE(ledger_->out_of_step());
  redis_->Start();
  ledger_->StartBackground();
  for (int i = 0; i < 100 && ledger_->out_of_step(); ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(ledger_->out_of_step());
  std::vector<pb::Reminder> pending(resp.pending().begin(), resp.pending().end());
  ExpectInRedis(pending);
}

TEST_F(RemindersTest, ReconcileAfterFlushAllRestoresEveryPendingReminder) {
  std::vector<pb::Reminder> pending;
  for (int i = 0; i < 20; ++i) {
    auto resp =
        ScheduleOk(Snapshot("a" + std::to_string(i), 1, kDeadline + absl::Hours(24 * i), Now()));
    pending.insert(pending.end(), resp.pending().begin(), resp.pending().end());
  }
  // Some rows become final: they must not come back.
  pb::CancelAssignmentResponse cr;
  ASSERT_TRUE(Cancel("a0", 2, pb::ASSIGNMENT_STATE_DONE, &cr).ok());
  std::vector<pb::Reminder> still;
  for (const auto& r : pending) {
    if (r.assignment_id() != "a0") still.push_back(r);
  }
  redis_->FlushAll();

  auto dry = ReconcileOk(true);
  EXPECT_FALSE(dry.applied());
  EXPECT_EQ(dry.ledger_pending(), static_cast<int64_t>(still.size()));
  EXPECT_EQ(dry.missing_in_redis(), static_cast<int64_t>(still.size()));
  EXPECT_EQ(dry.samples_size(), 100);
  ExpectNotInRedis({still.front()});

  auto fix = ReconcileOk(false);
  EXPECT_TRUE(fix.applied());
  EXPECT_EQ(fix.missing_in_redis(), static_cast<int64_t>(still.size()));
  ExpectInRedis(still);
  ExpectNotInRedis(List("a0"));

  auto again = ReconcileOk(false);
  EXPECT_EQ(again.missing_in_redis() + again.stale_in_redis() + again.orphaned_in_redis(), 0);
  EXPECT_EQ(again.redis_jobs(), static_cast<int64_t>(still.size()));
}

TEST_F(RemindersTest, ReconcileFixesStaleAndRemovesOrphans) {
  auto resp = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  const pb::Reminder& r0 = resp.pending(0);
  // Drift by hand: an orphan, and a job with another due time.
  queue::ScheduleRequest orphan;
  orphan.job_id = "r-orphan";
  orphan.version = 1;
  orphan.due = Now() + absl::Hours(1);
  ASSERT_TRUE(queue_->Schedule(orphan).ok());
  MoveInRedis(*queue_, r0, Now() + absl::Hours(5));

  auto report = ReconcileOk(false);
  EXPECT_EQ(report.stale_in_redis(), 1);
  EXPECT_EQ(report.orphaned_in_redis(), 1);
  EXPECT_EQ(report.missing_in_redis(), 0);
  std::set<pb::DriftKind> kinds;
  for (const auto& d : report.samples()) kinds.insert(d.kind());
  EXPECT_TRUE(kinds.count(pb::DRIFT_KIND_ORPHANED_IN_REDIS));
  EXPECT_TRUE(kinds.count(pb::DRIFT_KIND_STALE_IN_REDIS));
  auto job = queue_->GetJob("r-orphan");
  ASSERT_TRUE(job.ok());
  EXPECT_FALSE(job->has_value());
  std::vector<pb::Reminder> pending(resp.pending().begin(), resp.pending().end());
  ExpectInRedis(pending);
}

// Pages of 7 rows with 3 pages' repairs in flight at once: every page's drift (missing, stale,
// orphaned) is found and repaired, whichever page's repair finishes first.
TEST_F(RemindersTest, ReconcileInSmallPagesWithRepairsInFlight) {
  CloseStack();
  ledger_options_.reconcile_page = 7;
  ledger_options_.reconcile_repairs_in_flight = 3;
  OpenStack();
  std::vector<pb::Reminder> pending;
  for (int i = 0; i < 12; ++i) {
    auto resp =
        ScheduleOk(Snapshot("a" + std::to_string(i), 1, kDeadline + absl::Hours(24 * i), Now()));
    pending.insert(pending.end(), resp.pending().begin(), resp.pending().end());
  }
  ASSERT_GT(pending.size(), 21u);  // at least 4 pages
  // Drift: every third job missing, one job due at another time, two orphans.
  int missing = 0;
  for (size_t i = 0; i < pending.size(); i += 3, ++missing) {
    ASSERT_TRUE(queue_->Cancel(queue::CancelRequest{pending[i].id(), pending[i].version()}).ok());
  }
  const pb::Reminder& moved = pending[1];
  MoveInRedis(*queue_, moved, Now() + absl::Hours(5));
  for (const char* id : {"r-orphan-1", "r-orphan-2"}) {
    queue::ScheduleRequest orphan;
    orphan.job_id = id;
    orphan.version = 1;
    orphan.due = Now() + absl::Hours(1);
    ASSERT_TRUE(queue_->Schedule(orphan).ok());
  }

  auto report = ReconcileOk(false);
  EXPECT_EQ(report.ledger_pending(), static_cast<int64_t>(pending.size()));
  EXPECT_EQ(report.missing_in_redis(), missing);
  EXPECT_EQ(report.stale_in_redis(), 1);
  EXPECT_EQ(report.orphaned_in_redis(), 2);
  ExpectInRedis(pending);
  for (const char* id : {"r-orphan-1", "r-orphan-2"}) {
    auto job = queue_->GetJob(id);
    ASSERT_TRUE(job.ok());
    EXPECT_FALSE(job->has_value()) << id;
  }
  auto again = ReconcileOk(false);
  EXPECT_EQ(again.missing_in_redis() + again.stale_in_redis() + again.orphaned_in_redis(), 0);
  EXPECT_EQ(again.redis_jobs(), static_cast<int64_t>(pending.size()));
}

TEST_F(RemindersTest, WorkerChecksAndRecordsOutcomes) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  const pb::Reminder a = v1.pending(0), b = v1.pending(1), c = v1.pending(2), d = v1.pending(3);
  {
    grpc::ClientContext ctx;
    pb::BatchGetRemindersRequest req;
    auto* r1 = req.add_refs();
    r1->set_id(a.id());
    r1->set_version(a.version());
    auto* r2 = req.add_refs();
    r2->set_id(a.id());
    r2->set_version(a.version() + 5);
    auto* r3 = req.add_refs();
    r3->set_id("r-nope");
    r3->set_version(1);
    pb::BatchGetRemindersResponse resp;
    ASSERT_TRUE(stub_->BatchGetReminders(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.items_size(), 3);
    EXPECT_TRUE(resp.items(0).sendable());
    EXPECT_EQ(resp.items(0).reminder().id(), a.id());
    EXPECT_FALSE(resp.items(1).sendable());
    EXPECT_EQ(resp.items(1).reason(), "version 1 is current");
    EXPECT_FALSE(resp.items(2).sendable());
    EXPECT_FALSE(resp.items(2).has_reminder());
    EXPECT_EQ(resp.items(2).reason(), "not found");
  }
  pb::RecordDeliveriesRequest req;
  auto add = [&](const pb::Reminder& r, pb::DeliveryOutcomeKind kind, int attempt) {
    auto* o = req.add_outcomes();
    o->set_reminder_id(r.id());
    o->set_version(r.version());
    o->set_outcome(kind);
    o->set_attempt(attempt);
    o->set_channel(pb::CHANNEL_WEBHOOK);
    return o;
  };
  auto* sent = add(a, pb::DELIVERY_OUTCOME_KIND_SENT, 1);
  *sent->mutable_sent_time() = ToProtoTimestamp(
      absl::FromUnixMicros(ProtoToMicros(a.planned_time())) + absl::Milliseconds(40));
  auto* rc = sent->add_recipients();
  rc->set_contact_id("c-1");
  rc->set_unit_id("gd.zq.duanzhou");
  rc->set_channel(pb::CHANNEL_WEBHOOK);
  auto* retry = add(b, pb::DELIVERY_OUTCOME_KIND_RETRY, 1);
  retry->set_error("webhook 503");
  *retry->mutable_next_attempt_time() = ToProtoTimestamp(Now() + absl::Minutes(2));
  add(c, pb::DELIVERY_OUTCOME_KIND_DEAD, 1)->set_error("webhook 404");
  add(d, pb::DELIVERY_OUTCOME_KIND_SUPPRESSED, 1)
      ->set_suppression_reason(pb::SUPPRESSION_REASON_CONDITION_CLEARED);
  add(a, pb::DELIVERY_OUTCOME_KIND_SENT, 1);  // a repeat within the batch
  auto* old = add(b, pb::DELIVERY_OUTCOME_KIND_SENT, 1);
  old->set_version(b.version() + 7);  // a version that is not current
  auto* ghost = add(a, pb::DELIVERY_OUTCOME_KIND_SENT, 1);
  ghost->set_reminder_id("r-ghost");
  {
    grpc::ClientContext ctx;
    pb::RecordDeliveriesResponse resp;
    ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
    EXPECT_THAT(resp.results(), ElementsAre(pb::RECORD_RESULT_RECORDED, pb::RECORD_RESULT_RECORDED,
                                            pb::RECORD_RESULT_RECORDED, pb::RECORD_RESULT_RECORDED,
                                            pb::RECORD_RESULT_DUPLICATE, pb::RECORD_RESULT_STALE,
                                            pb::RECORD_RESULT_NOT_FOUND));
  }
  {
    // The whole batch again: every outcome a duplicate (or still not found).
    grpc::ClientContext ctx;
    pb::RecordDeliveriesResponse resp;
    ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
    EXPECT_THAT(resp.results(),
                ElementsAre(pb::RECORD_RESULT_DUPLICATE, pb::RECORD_RESULT_DUPLICATE,
                            pb::RECORD_RESULT_DUPLICATE, pb::RECORD_RESULT_DUPLICATE,
                            pb::RECORD_RESULT_DUPLICATE, pb::RECORD_RESULT_DUPLICATE,
                            pb::RECORD_RESULT_NOT_FOUND));
  }
  auto get = [&](const std::string& id) {
    grpc::ClientContext ctx;
    pb::GetReminderRequest r;
    r.set_id(id);
    pb::Reminder out;
    EXPECT_TRUE(stub_->GetReminder(&ctx, r, &out).ok());
    return out;
  };
  auto ga = get(a.id());
  EXPECT_EQ(ga.state(), pb::REMINDER_STATE_SENT);
  EXPECT_EQ(ga.recipients_size(), 1);
  EXPECT_EQ(ga.attempt_log_size(), 1);
  auto gb = get(b.id());
  EXPECT_EQ(gb.state(), pb::REMINDER_STATE_FAILED);
  EXPECT_EQ(gb.last_error(), "webhook 503");
  EXPECT_TRUE(gb.has_next_attempt_time());
  ASSERT_EQ(gb.attempt_log_size(), 2);
  EXPECT_TRUE(gb.attempt_log(0).stale() || gb.attempt_log(1).stale());
  EXPECT_EQ(get(c.id()).state(), pb::REMINDER_STATE_DEAD);
  auto gd = get(d.id());
  EXPECT_EQ(gd.state(), pb::REMINDER_STATE_SUPPRESSED);
  EXPECT_EQ(gd.suppression_reason(), pb::SUPPRESSION_REASON_CONDITION_CLEARED);

  auto stats = StatsOk();
  EXPECT_EQ(stats.ledger_sent(), 1);
  EXPECT_EQ(stats.ledger_failed(), 1);
  EXPECT_EQ(stats.ledger_dead(), 1);
  EXPECT_EQ(stats.ledger_suppressed(), 1);
  EXPECT_EQ(stats.lateness().count(), 1);
  EXPECT_EQ(stats.lateness().max().nanos(), 40000000);
}

TEST_F(RemindersTest, DeadLettersAreListedAndRetried) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  std::vector<pb::Reminder> dead;
  {
    grpc::ClientContext ctx;
    pb::RecordDeliveriesRequest req;
    for (int i = 0; i < 3; ++i) {
      auto* o = req.add_outcomes();
      o->set_reminder_id(v1.pending(i).id());
      o->set_version(v1.pending(i).version());
      o->set_outcome(pb::DELIVERY_OUTCOME_KIND_DEAD);
      o->set_attempt(1);
      o->set_error("no recipients");
      dead.push_back(v1.pending(i));
    }
    pb::RecordDeliveriesResponse resp;
    ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
  }
  std::vector<std::string> listed;
  std::string token;
  do {
    grpc::ClientContext ctx;
    pb::ListDeadLettersRequest req;
    req.set_assignment_id("a1");
    req.set_page_size(2);
    req.set_page_token(token);
    pb::ListDeadLettersResponse resp;
    ASSERT_TRUE(stub_->ListDeadLetters(&ctx, req, &resp).ok());
    for (const auto& r : resp.reminders()) listed.push_back(r.id());
    token = resp.next_page_token();
  } while (!token.empty());
  EXPECT_EQ(listed.size(), 3u);
  ExpectNotInRedis({});

  grpc::ClientContext ctx;
  pb::RetryDeadLettersRequest req;
  req.add_reminder_ids(dead[0].id());
  req.add_reminder_ids(v1.pending(5).id());  // not DEAD
  req.add_reminder_ids("r-unknown");
  req.set_actor("ops@duban");
  pb::RetryDeadLettersResponse resp;
  ASSERT_TRUE(stub_->RetryDeadLetters(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.retried(), 1);
  EXPECT_EQ(resp.skipped_count(), 2);
  auto rows = List("a1", {pb::REMINDER_STATE_SCHEDULED});
  bool found = false;
  for (const auto& r : rows) {
    if (r.id() != dead[0].id()) continue;
    found = true;
    EXPECT_EQ(r.version(), dead[0].version() + 1);
    EXPECT_EQ(r.attempts(), 0);
    ExpectInRedis({r});
  }
  EXPECT_TRUE(found);

  // By filter: the two left.
  grpc::ClientContext ctx2;
  pb::RetryDeadLettersRequest by_filter;
  by_filter.mutable_filter()->set_unit_id("gd.zq.duanzhou");
  by_filter.set_actor("ops");
  ASSERT_TRUE(stub_->RetryDeadLetters(&ctx2, by_filter, &resp).ok());
  EXPECT_EQ(resp.retried(), 2);
  EXPECT_EQ(StatsOk().ledger_dead(), 0);
}

TEST_F(RemindersTest, MissedRemindersMergeIntoOneDigestPerUnit) {
  ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  ScheduleOk(Snapshot("a2", 1, kDeadline, Now()));
  auto p1 = List("a1", {pb::REMINDER_STATE_SCHEDULED});
  auto p2 = List("a2", {pb::REMINDER_STATE_SCHEDULED});
  // Both BEFORE_DUE reminders found past send_by after an outage.
  SetNow(Sh(2025, 5, 27, 14));
  grpc::ClientContext ctx;
  pb::RecordDeliveriesRequest req;
  for (const auto* r : {&p1[0], &p2[0]}) {
    auto* o = req.add_outcomes();
    o->set_reminder_id(r->id());
    o->set_version(r->version());
    o->set_outcome(pb::DELIVERY_OUTCOME_KIND_MISSED);
    o->set_attempt(1);
  }
  pb::RecordDeliveriesResponse resp;
  ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
  auto merged = List("a1", {pb::REMINDER_STATE_SUPPRESSED});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].suppression_reason(), pb::SUPPRESSION_REASON_MERGED_INTO_DIGEST);
  ASSERT_FALSE(merged[0].digest_reminder_id().empty());
  EXPECT_EQ(List("a2", {pb::REMINDER_STATE_SUPPRESSED})[0].digest_reminder_id(),
            merged[0].digest_reminder_id());
  grpc::ClientContext gctx;
  pb::GetReminderRequest g;
  g.set_id(merged[0].digest_reminder_id());
  pb::Reminder digest;
  ASSERT_TRUE(stub_->GetReminder(&gctx, g, &digest).ok());
  EXPECT_EQ(digest.kind(), pb::REMINDER_KIND_DIGEST);
  EXPECT_EQ(digest.state(), pb::REMINDER_STATE_SCHEDULED);
  EXPECT_EQ(digest.merged_reminder_ids_size(), 2);
  EXPECT_EQ(digest.assignment_ids_size(), 2);
  EXPECT_EQ(absl::FromUnixMicros(ProtoToMicros(digest.planned_time())), Now());
  ExpectInRedis({digest});
}

TEST_F(RemindersTest, ListRemindersPagesAndFilters) {
  ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  ScheduleOk(Snapshot("a2", 1, kDeadline, Now(), pb::ASSIGNMENT_STATE_ASSIGNED, "gd.zq.gaoyao"));
  auto all = List("a1");
  ASSERT_EQ(all.size(), 11u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(ProtoToMicros(all[i - 1].planned_time()), ProtoToMicros(all[i].planned_time()));
  }
  grpc::ClientContext ctx;
  pb::ListRemindersRequest req;
  req.set_plan_id("plan-1");
  req.add_kinds(pb::REMINDER_KIND_ESCALATION);
  *req.mutable_planned_after() = ToProtoTimestamp(Sh(2025, 6, 1));
  pb::ListRemindersResponse resp;
  ASSERT_TRUE(stub_->ListReminders(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.reminders_size(), 4);  // two overdue escalations per assignment
  for (const auto& r : resp.reminders()) EXPECT_EQ(r.kind(), pb::REMINDER_KIND_ESCALATION);
  grpc::ClientContext ctx2;
  pb::ListRemindersRequest by_unit;
  by_unit.set_unit_id("gd.zq.gaoyao");
  ASSERT_TRUE(stub_->ListReminders(&ctx2, by_unit, &resp).ok());
  EXPECT_EQ(resp.reminders_size(), 11);
}

TEST_F(RemindersTest, StateSurvivesRestartOfTheService) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  CloseStack();
  redis_->FlushAll();
  OpenStack();
  EXPECT_EQ(ScheduleOk(Snapshot("a1", 1, kDeadline, Now())).outcome(), pb::APPLY_OUTCOME_DUPLICATE);
  auto report = ReconcileOk(false);
  EXPECT_EQ(report.missing_in_redis(), 11);
  std::vector<pb::Reminder> pending(v1.pending().begin(), v1.pending().end());
  ExpectInRedis(pending);
}

TEST_F(RemindersTest, SnapshotDelayedByAnOutageMergesMissedRemindersIntoADigest) {
  // The change happened on Monday 08:00; the outbox delivers it on Wednesday 12:00.
  const absl::Time change = Now();
  SetNow(Sh(2025, 5, 28, 12));
  auto resp = ScheduleOk(Snapshot("a1", 1, kDeadline, change));
  auto merged = List("a1", {pb::REMINDER_STATE_SUPPRESSED});
  ASSERT_FALSE(merged.empty());
  std::string digest_id;
  for (const auto& r : merged) {
    if (r.suppression_reason() != pb::SUPPRESSION_REASON_MERGED_INTO_DIGEST) continue;
    EXPECT_LT(ProtoToMicros(r.planned_time()), ToMicros(Now()));
    digest_id = r.digest_reminder_id();
  }
  ASSERT_FALSE(digest_id.empty());
  grpc::ClientContext ctx;
  pb::GetReminderRequest g;
  g.set_id(digest_id);
  pb::Reminder digest;
  ASSERT_TRUE(stub_->GetReminder(&ctx, g, &digest).ok());
  EXPECT_EQ(digest.kind(), pb::REMINDER_KIND_DIGEST);
  EXPECT_EQ(absl::FromUnixMicros(ProtoToMicros(digest.planned_time())), Now());
  EXPECT_GE(digest.merged_reminder_ids_size(), 1);
  ExpectInRedis({digest});
  // The NOT_ACKNOWLEDGED escalation (Wednesday 09:00) is never merged: it goes out late, now.
  bool late_escalation = false;
  for (const auto& r : resp.pending()) {
    if (r.kind() == pb::REMINDER_KIND_ESCALATION &&
        absl::FromUnixMicros(ProtoToMicros(r.planned_time())) == Now()) {
      late_escalation = true;
    }
  }
  EXPECT_TRUE(late_escalation);
}

TEST_F(RemindersTest, ReconcileSchedulesFailedRowsAtTheirRetryTime) {
  auto v1 = ScheduleOk(Snapshot("a1", 1, kDeadline, Now()));
  const pb::Reminder r = v1.pending(0);
  const absl::Time retry_at =
      absl::FromUnixMicros(ProtoToMicros(r.planned_time())) + absl::Minutes(3);
  grpc::ClientContext ctx;
  pb::RecordDeliveriesRequest req;
  auto* o = req.add_outcomes();
  o->set_reminder_id(r.id());
  o->set_version(r.version());
  o->set_outcome(pb::DELIVERY_OUTCOME_KIND_RETRY);
  o->set_attempt(1);
  o->set_error("smtp 451");
  *o->mutable_next_attempt_time() = ToProtoTimestamp(retry_at);
  pb::RecordDeliveriesResponse resp;
  ASSERT_TRUE(stub_->RecordDeliveries(&ctx, req, &resp).ok());
  redis_->FlushAll();
  auto report = ReconcileOk(false);
  EXPECT_EQ(report.missing_in_redis(), 11);
  auto job = queue_->GetJob(r.id());
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ(*(*job)->due_ms, absl::ToUnixMillis(retry_at));
  auto failed = List("a1", {pb::REMINDER_STATE_FAILED});
  ASSERT_EQ(failed.size(), 1u);
  ExpectInRedis(failed);
}

TEST_F(RemindersTest, ThousandAssignmentsInOneBatchThenReconcileAfterFlush) {
  // Not a timed test: the figures are printed for docs/benchmarks.md (bench/ measures them).
  grpc::ClientContext ctx;
  pb::BatchScheduleAssignmentsRequest req;
  for (int i = 0; i < 1000; ++i) {
    *req.add_changes()->mutable_schedule()->mutable_assignment() =
        Snapshot(absl::StrCat("b", i), 1, kDeadline + absl::Hours(i % 100), Now(),
                 pb::ASSIGNMENT_STATE_ASSIGNED, absl::StrCat("u", i % 50));
  }
  pb::BatchScheduleAssignmentsResponse resp;
  absl::Time t0 = absl::Now();
  ASSERT_TRUE(stub_->BatchScheduleAssignments(&ctx, req, &resp).ok());
  absl::Duration schedule = absl::Now() - t0;
  int64_t added = 0;
  for (const auto& r : resp.results()) added += r.added();
  EXPECT_EQ(added, 11000);
  // Some heads-ups are suppressed (send window, same slot): only SCHEDULED rows are jobs.
  const int64_t scheduled = StatsOk().ledger_scheduled();
  EXPECT_EQ(StatsOk().scheduled(), scheduled);
  redis_->FlushAll();
  t0 = absl::Now();
  auto report = ReconcileOk(false);
  absl::Duration reconcile = absl::Now() - t0;
  EXPECT_EQ(report.missing_in_redis(), scheduled);
  EXPECT_EQ(StatsOk().scheduled(), scheduled);
  std::cout << "1000 assignments, " << added << " reminders: schedule " << schedule
            << ", reconcile after FLUSHALL " << reconcile << std::endl;
}

}  // namespace
}  // namespace duban::reminders
