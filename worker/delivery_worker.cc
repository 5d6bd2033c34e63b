#include "delivery_worker.h"

#include <algorithm>

#include <absl/container/flat_hash_map.h>
#include <absl/random/random.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <spdlog/spdlog.h>

#include "duban/queue/ready_reader.h"

namespace duban::worker {
namespace {

using queue::ClaimStatus;
using queue::Delivery;
using queue::Outcome;
using queue::SendClaim;

std::string Str(const absl::Status& s) { return s.ToString(); }

// Logs at most one warning per `every` per call site (Redis outages would flood the log).
class RateLimitedWarn {
 public:
  explicit RateLimitedWarn(absl::Duration every) : every_(every) {}
  bool Allow() {
    absl::Time now = absl::Now();
    if (now - last_ < every_) return false;
    last_ = now;
    return true;
  }

 private:
  absl::Duration every_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace

absl::Status WorkerOptions::Validate() const {
  if (worker_id.empty()) return absl::InvalidArgumentError("worker id is empty");
  if (consumers < 1 || consumers > 256) return absl::InvalidArgumentError("--consumers 1..256");
  if (batch < 1 || batch > 1000) return absl::InvalidArgumentError("--batch 1..1000");
  // Checked here too so that the message names the worker's flag, not the library's field.
  if (queue.jobs_per_entry < 1 || queue.jobs_per_entry > 1000) {
    return absl::InvalidArgumentError("--jobs-per-entry 1..1000");
  }
  if (absl::Status s = queue.Validate(); !s.ok()) return s;
  if (absl::Status s = retry.Validate(); !s.ok()) return s;
  if (promoter_lease < absl::Milliseconds(300)) {
    return absl::InvalidArgumentError("promoter lease must be >= 300 ms");
  }
  if (max_promote_sleep <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max promote sleep must be > 0");
  }
  if (shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown-grace-ms must be >= 0");
  }
  return absl::OkStatus();
}

DeliveryWorker::DeliveryWorker(WorkerOptions options, ReminderSource* source,
                               ChannelFactory* channels, OutcomeSink* sink, WorkerMetrics* metrics)
    : options_(std::move(options)),
      source_(source),
      channels_(channels),
      sink_(sink),
      metrics_(metrics) {}

DeliveryWorker::~DeliveryWorker() { Stop(); }

std::unique_ptr<queue::JobQueue> DeliveryWorker::NewQueue() const {
  return std::make_unique<queue::JobQueue>(endpoint_, options_.queue,
                                           queue::RedisConnectionOptions());
}

absl::Status DeliveryWorker::Start() {
  if (absl::Status s = options_.Validate(); !s.ok()) return s;
  auto endpoint = queue::RedisEndpoint::Parse(options_.redis_url);
  if (!endpoint.ok()) return endpoint.status();
  endpoint_ = *endpoint;
  // Fail fast when Redis is not there at start; later outages are retried forever.
  auto q = NewQueue();
  if (absl::Status s = q->EnsureGroup(); !s.ok()) return s;
  if (options_.promote) {
    wake_ = std::make_unique<queue::WakeSubscriber>(endpoint_, options_.queue.name);
    if (absl::Status s = wake_->Subscribe(); !s.ok()) return s;
    threads_.emplace_back([this] { PromoterLoop(); });
  }
  for (int i = 0; i < options_.consumers; ++i) {
    threads_.emplace_back([this, i] { ConsumerLoop(i); });
  }
  threads_.emplace_back([this] { JanitorLoop(); });
  threads_.emplace_back([this] { StatsLoop(); });
  return absl::OkStatus();
}

void DeliveryWorker::Stop() {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stop_requested_) return;
    stop_requested_ = true;
  }
  grace_deadline_ns_.store(absl::ToUnixNanos(absl::Now() + options_.shutdown_grace));
  stopping_.store(true);
  if (wake_ != nullptr) wake_->Interrupt();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

bool DeliveryWorker::PastGrace() const {
  return stopping_.load() && absl::ToUnixNanos(absl::Now()) > grace_deadline_ns_.load();
}

bool DeliveryWorker::SleepUnlessStopping(absl::Duration d) {
  absl::Time until = absl::Now() + d;
  while (!stopping_.load()) {
    absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    absl::SleepFor(std::min(left, absl::Milliseconds(50)));
  }
  return true;
}

// ---- promoter ----

void DeliveryWorker::PromoterLoop() {
  auto q = NewQueue();
  RateLimitedWarn warn(absl::Seconds(10));
  const absl::Duration ttl = options_.promoter_lease;
  bool held = false;
  absl::Time renew_at = absl::InfinitePast();
  while (!stopping_.load()) {
    absl::Time now = absl::Now();
    if (now >= renew_at) {
      auto lease = q->AcquirePromoterLease(options_.worker_id, ttl);
      if (!lease.ok()) {
        if (warn.Allow()) spdlog::warn("promoter lease: {}", Str(lease.status()));
        held = false;
        renew_at = now + absl::Milliseconds(200);
      } else {
        if (lease->held != held) {
          spdlog::info("promoter lease {}", lease->held ? "acquired" : "held by another worker");
        }
        held = lease->held;
        renew_at =
            now + (held ? ttl / 3 : std::clamp(lease->remaining, absl::Milliseconds(50), ttl / 3));
      }
    }
    absl::Duration sleep = options_.max_promote_sleep;
    if (held) {
      for (;;) {
        absl::Time t0 = absl::Now();
        auto r = q->PromoteDue();
        absl::Duration took = absl::Now() - t0;
        if (!r.ok()) {
          if (warn.Allow()) spdlog::warn("promote: {}", Str(r.status()));
          sleep = absl::Milliseconds(100);
          break;
        }
        if (metrics_ != nullptr) metrics_->ObservePromote(took, r->promoted);
        if (r->batch_full && !stopping_.load()) continue;
        if (auto until = r->until_next_due(); until.has_value()) sleep = std::min(sleep, *until);
        break;
      }
    }
    sleep = std::min(sleep, renew_at - absl::Now());
    if (sleep <= absl::ZeroDuration()) continue;
    auto woke = wake_->Wait(sleep);
    if (!woke.ok()) {
      if (warn.Allow()) spdlog::warn("wake-up subscription: {}", Str(woke.status()));
      SleepUnlessStopping(std::min(sleep, absl::Milliseconds(100)));
    }
  }
  if (held) (void)q->ReleasePromoterLease(options_.worker_id);
}

// ---- consumers and janitor ----

int DeliveryWorker::EntriesPerRead() const {
  // `batch` counts jobs; an entry holds up to jobs_per_entry of them.
  return std::max(1, options_.batch / options_.queue.jobs_per_entry);
}

void DeliveryWorker::ConsumerLoop(int index) {
  const std::string consumer = absl::StrCat(options_.worker_id, "-c", index);
  auto q = NewQueue();
  queue::ReadyReader reader(endpoint_, options_.queue.name, consumer);
  std::unique_ptr<Channel> channel = channels_->NewChannel();
  RateLimitedWarn warn(absl::Seconds(10));
  while (!stopping_.load()) {
    auto got = reader.Read(EntriesPerRead(), options_.read_block);
    if (!got.ok()) {
      if (warn.Allow()) spdlog::warn("{}: read: {}", consumer, Str(got.status()));
      SleepUnlessStopping(absl::Milliseconds(200));
      continue;
    }
    if (got->empty()) continue;
    ProcessBatch(*q, consumer, *channel, *std::move(got));
  }
}

void DeliveryWorker::JanitorLoop() {
  const std::string consumer = absl::StrCat(options_.worker_id, "-janitor");
  auto q = NewQueue();
  std::unique_ptr<Channel> channel = channels_->NewChannel();
  RateLimitedWarn warn(absl::Seconds(10));
  absl::Duration interval = options_.janitor_interval > absl::ZeroDuration()
                                ? options_.janitor_interval
                                : options_.queue.lease / 3;
  while (!SleepUnlessStopping(interval)) {
    std::string cursor = "0-0";
    do {
      auto r = q->ReclaimExpired(consumer, EntriesPerRead(), cursor);
      if (!r.ok()) {
        if (warn.Allow()) spdlog::warn("reclaim: {}", Str(r.status()));
        break;
      }
      cursor = r->next_cursor;
      if (r->dead_lettered > 0) {
        spdlog::warn("dead-lettered {} jobs redelivered too often", r->dead_lettered);
        if (metrics_ != nullptr) metrics_->dead.Increment(r->dead_lettered);
      }
      if (!r->deliveries.empty()) {
        spdlog::info("reclaimed {} expired deliveries", r->deliveries.size());
        if (metrics_ != nullptr)
          metrics_->reclaimed.Increment(static_cast<double>(r->deliveries.size()));
        ProcessBatch(*q, consumer, *channel, std::move(r->deliveries));
      }
    } while (cursor != "0-0" && !stopping_.load());
  }
}

void DeliveryWorker::StatsLoop() {
  auto q = NewQueue();
  while (!SleepUnlessStopping(options_.stats_interval)) {
    auto s = q->Stats();
    if (s.ok() && metrics_ != nullptr) metrics_->SetQueueStats(*s);
  }
}

absl::StatusOr<std::vector<queue::SettleReport>> DeliveryWorker::SettleWithRetry(
    queue::JobQueue& q, const std::vector<Outcome>& outcomes) {
  absl::Duration backoff = absl::Milliseconds(50);
  for (int attempt = 0;; ++attempt) {
    auto r = q.Settle(outcomes);
    if (r.ok() || attempt >= 8 || PastGrace()) return r;
    spdlog::warn("settle failed (will retry): {}", Str(r.status()));
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

bool DeliveryWorker::RecordWithRetry(absl::Span<const DeliveryRecord> records) {
  // While the reminders service is away the worker cannot fetch new reminders either, so
  // waiting here delays delivery and loses nothing; it gives up only past the shutdown grace.
  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    absl::Status s = sink_->Record(records);
    if (s.ok()) return true;
    if (s.code() == absl::StatusCode::kInvalidArgument) {
      // A malformed outcome never succeeds: a bug to log loudly, not a reason to stop work.
      spdlog::error("outcomes rejected, not recorded: {}", Str(s));
      return true;
    }
    if (PastGrace()) return false;
    spdlog::warn("recording {} outcomes failed (will retry): {}", records.size(), Str(s));
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

void DeliveryWorker::ProcessBatch(queue::JobQueue& q, const std::string& consumer, Channel& channel,
                                  std::vector<Delivery> deliveries) {
  thread_local absl::BitGen gen;
  const size_t n = deliveries.size();
  if (metrics_ != nullptr) metrics_->in_flight.Increment(static_cast<double>(n));
  struct Done {
    size_t n;
    WorkerMetrics* m;
    ~Done() {
      if (m != nullptr) m->in_flight.Decrement(static_cast<double>(n));
    }
  } done{n, metrics_};

  auto claims = q.ClaimForSend(consumer, deliveries);
  if (!claims.ok()) {
    // Nothing was sent: the entries stay pending and come back after the lease.
    spdlog::warn("{}: claim failed, {} entries left for reclaim: {}", consumer, n,
                 Str(claims.status()));
    return;
  }

  std::vector<Outcome> outcomes;
  std::vector<DeliveryRecord> records;
  std::vector<size_t> record_of;  // outcomes[i] → records index or SIZE_MAX
  outcomes.reserve(n);
  records.reserve(n);

  // An entry may hold several jobs; acknowledging it while one of them is undecided would lose
  // that job on a crash. Only the outcome that decides an entry's last job names the entry (the
  // others settle their job alone); a job left undecided (shutdown grace, lost lease) leaves
  // its entry pending for the janitor, which redelivers the entry's jobs: those already
  // settled are then found sent, gone, or waiting for their retry.
  absl::flat_hash_map<absl::string_view, int> undecided;  // entry id → jobs without an outcome
  for (const Delivery& d : deliveries) {
    if (!d.entry_id.empty()) ++undecided[d.entry_id];
  }

  auto add = [&](Outcome o, std::optional<DeliveryRecord> rec) {
    if (!o.entry_id.empty()) {
      auto it = undecided.find(o.entry_id);
      if (it != undecided.end() && --it->second > 0) o.entry_id.clear();
    }
    outcomes.push_back(std::move(o));
    if (rec.has_value()) {
      record_of.push_back(records.size());
      records.push_back(std::move(*rec));
    } else {
      record_of.push_back(SIZE_MAX);
    }
  };
  auto record = [&](DeliveryRecord::Kind kind, const Delivery& d, const SendClaim& c) {
    DeliveryRecord r;
    r.kind = kind;
    r.job_id = d.job_id;
    r.version = d.version;
    r.delivery_id = c.delivery_id;
    r.attempt = c.attempt + 1;
    r.channel = channel.name();
    r.time_ms = absl::ToUnixMillis(absl::Now());
    return r;
  };

  // Settles what is decided so far (one Settle call) and reports it. Called once per batch,
  // and also mid-batch when sends are slow, so a crash leaves at most settle_flush_interval
  // of sends with an unknown outcome.
  absl::Time last_flush = absl::Now();
  auto flush = [&]() {
    if (outcomes.empty()) return;

    // Sends are reported before they are settled: a settled job is gone from Redis, so a crash
    // between the settle and the report would leave the ledger without a message that went
    // out. A crash between the report and the settle redelivers the job instead: it goes out
    // again with the same delivery id and the ledger keeps the repeat as a duplicate.
    std::vector<DeliveryRecord> sends;
    std::vector<bool> reported(records.size(), false);
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].kind == DeliveryRecord::Kind::kSent) {
        sends.push_back(records[i]);
        reported[i] = true;
      }
    }
    if (!sends.empty() && !RecordWithRetry(sends)) {
      // Only when stopping past the grace period with the ledger still unreachable: nothing of
      // this flush is settled, so the jobs come back after their lease (to this or another
      // worker), which finds them sent and reports them then.
      spdlog::error("{}: {} sends not recorded before shutdown; left for redelivery", consumer,
                    sends.size());
      outcomes.clear();
      records.clear();
      record_of.clear();
      return;
    }

    auto reports = SettleWithRetry(q, outcomes);
    if (!reports.ok()) {
      // Sent messages whose ack is lost come back after the lease; their send claim then says
      // in flight or (once it expires) they are sent again with the same delivery id.
      spdlog::error("{}: settle failed, {} outcomes unknown: {}", consumer, outcomes.size(),
                    Str(reports.status()));
      outcomes.clear();
      records.clear();
      record_of.clear();
      return;
    }
    for (size_t i = 0; i < outcomes.size() && i < reports->size(); ++i) {
      const queue::SettleReport& rep = (*reports)[i];
      DeliveryRecord* rec = record_of[i] == SIZE_MAX ? nullptr : &records[record_of[i]];
      switch (rep.result) {
        case queue::SettleResult::kDeadLettered:
          if (metrics_ != nullptr) metrics_->dead.Increment();
          if (rec != nullptr && rec->kind == DeliveryRecord::Kind::kRetry) {
            rec->kind = DeliveryRecord::Kind::kDead;
            rec->error = absl::StrCat(rep.dead_reason, ": ", rec->error);
          }
          break;
        case queue::SettleResult::kRetryScheduled:
          if (metrics_ != nullptr) metrics_->retried.Increment();
          if (rec != nullptr) rec->next_attempt_ms = rep.retry_due_ms;
          break;
        case queue::SettleResult::kDone:
          if (metrics_ != nullptr && outcomes[i].kind == Outcome::Kind::kSent && rec != nullptr) {
            metrics_->sent.Increment();
          }
          break;
        case queue::SettleResult::kIgnored:
          break;
      }
    }
    // The rest depends on the settle (a retry that hit max attempts is dead).
    std::vector<DeliveryRecord> rest;
    for (size_t i = 0; i < records.size(); ++i) {
      if (!reported[i]) rest.push_back(std::move(records[i]));
    }
    // Retries and dead letters are settled in Redis already, which holds their truth; the
    // ledger's copy is repaired by the next attempt's report or by Reconcile.
    if (!rest.empty()) RecordWithRetry(rest);
    outcomes.clear();
    records.clear();
    record_of.clear();
    last_flush = absl::Now();
  };

  std::vector<size_t> to_send;
  std::vector<SourceJob> jobs;
  for (size_t i = 0; i < n; ++i) {
    const Delivery& d = deliveries[i];
    const SendClaim& c = (*claims)[i];
    switch (c.status) {
      case ClaimStatus::kClaimed: {
        to_send.push_back(i);
        SourceJob j;
        j.job_id = d.job_id;
        j.version = d.version;
        j.ref = c.ref;
        j.delivery_id = c.delivery_id;
        j.attempt = c.attempt + 1;
        jobs.push_back(std::move(j));
        break;
      }
      case ClaimStatus::kAlreadySent:
        // Not sent again, but reported again: the ledger may have missed the first report
        // (a repeat of one it has is a no-op there).
        if (metrics_ != nullptr) metrics_->duplicates_avoided.Increment();
        add(Outcome::Sent(d), record(DeliveryRecord::Kind::kSent, d, c));
        break;
      case ClaimStatus::kExpired: {
        DeliveryRecord r = record(DeliveryRecord::Kind::kMissed, d, c);
        r.error = "past its useful life";
        add(Outcome::Dead(d, "expired", "past its useful life"), std::move(r));
        break;
      }
      case ClaimStatus::kCanceled:
      case ClaimStatus::kStale:
      case ClaimStatus::kInFlight:
        if (metrics_ != nullptr) metrics_->skipped.Increment();
        add(Outcome::Skip(d), std::nullopt);
        break;
    }
  }

  if (!jobs.empty()) {
    auto resolved = source_->Resolve(jobs);
    if (!resolved.ok() || resolved->size() != jobs.size()) {
      std::string err = resolved.ok() ? "source returned a wrong count"
                                      : absl::StrCat("source: ", resolved.status().message());
      spdlog::warn("{}: {} (batch of {} retried)", consumer, err, jobs.size());
      for (size_t k = 0; k < to_send.size(); ++k) {
        const Delivery& d = deliveries[to_send[k]];
        const SendClaim& c = (*claims)[to_send[k]];
        DeliveryRecord r = record(DeliveryRecord::Kind::kRetry, d, c);
        r.error = err;
        add(Outcome::Retry(d, options_.retry.Backoff(c.attempt + 1, gen), err,
                           options_.retry.max_attempts),
            std::move(r));
      }
    } else {
      absl::Time last_renew = absl::Now();
      const absl::Duration renew_every = options_.queue.lease / 3;
      for (size_t k = 0; k < to_send.size(); ++k) {
        const Delivery& d = deliveries[to_send[k]];
        const SendClaim& c = (*claims)[to_send[k]];
        Resolution& res = (*resolved)[k];
        if (PastGrace()) {
          // Shutdown deadline: leave the rest pending; another worker reclaims them.
          spdlog::info("{}: shutdown grace over, {} deliveries left for reclaim", consumer,
                       to_send.size() - k);
          break;
        }
        if (!outcomes.empty() && absl::Now() - last_flush >= options_.settle_flush_interval) {
          flush();
        }
        if (absl::Now() - last_renew > renew_every) {
          std::vector<Delivery> rest;
          for (size_t m = k; m < to_send.size(); ++m) rest.push_back(deliveries[to_send[m]]);
          auto renewed = q.RenewLeases(consumer, rest);
          last_renew = absl::Now();
          if (renewed.ok() && !(*renewed)[0]) {
            // Another consumer took this entry over (our lease ran out): not ours to send.
            continue;
          }
        }
        if (res.kind == Resolution::Kind::kSuppress) {
          if (metrics_ != nullptr) metrics_->suppressed.Increment();
          DeliveryRecord r = record(DeliveryRecord::Kind::kSuppressed, d, c);
          r.error = res.reason;
          r.suppression_reason = res.suppression_reason;
          add(Outcome::Suppressed(d), std::move(r));
          continue;
        }
        if (res.kind == Resolution::Kind::kDead || res.recipients.empty()) {
          std::string why = res.recipients.empty() && res.kind == Resolution::Kind::kSend
                                ? "no recipients"
                                : res.reason;
          DeliveryRecord r = record(DeliveryRecord::Kind::kDead, d, c);
          r.error = why;
          add(Outcome::Dead(d, "permanent", why), std::move(r));
          continue;
        }
        OutboundMessage msg;
        msg.job_id = d.job_id;
        msg.version = d.version;
        msg.delivery_id = c.delivery_id;
        msg.attempt = c.attempt + 1;
        msg.due_ms = d.due_ms;
        msg.fields = std::move(res.fields);
        SendResult worst = SendResult::Sent();
        for (const Recipient& to : res.recipients) {
          msg.recipient = to;  // a copy: the SENT record below lists res.recipients
          SendResult sr = channel.Send(msg);
          if (sr.kind != SendResult::Kind::kSent && metrics_ != nullptr)
            metrics_->failed.Increment();
          if (sr.kind == SendResult::Kind::kPermanent) {
            worst = sr;
          } else if (sr.kind == SendResult::Kind::kRetry &&
                     worst.kind != SendResult::Kind::kPermanent) {
            worst = sr;
          }
        }
        if (worst.kind == SendResult::Kind::kSent) {
          if (metrics_ != nullptr) {
            metrics_->ObserveLateness(
                absl::Milliseconds(absl::ToUnixMillis(absl::Now()) - d.due_ms));
          }
          DeliveryRecord r = record(DeliveryRecord::Kind::kSent, d, c);
          for (const Recipient& to : res.recipients) {
            Recipient id_only;
            id_only.contact_id = to.contact_id;
            id_only.unit_id = to.unit_id;
            r.recipients.push_back(std::move(id_only));
          }
          add(Outcome::Sent(d), std::move(r));
        } else if (worst.kind == SendResult::Kind::kPermanent) {
          DeliveryRecord r = record(DeliveryRecord::Kind::kDead, d, c);
          r.error = worst.error;
          add(Outcome::Dead(d, "permanent", worst.error), std::move(r));
        } else {
          absl::Duration delay = options_.retry.Backoff(c.attempt + 1, gen);
          if (worst.retry_after.has_value()) delay = std::max(delay, *worst.retry_after);
          DeliveryRecord r = record(DeliveryRecord::Kind::kRetry, d, c);
          r.error = worst.error;
          add(Outcome::Retry(d, delay, worst.error, options_.retry.max_attempts), std::move(r));
        }
      }
    }
  }
  flush();
}

}  // namespace duban::worker
