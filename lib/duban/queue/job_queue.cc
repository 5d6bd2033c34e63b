#include "duban/queue/job_queue.h"

#include <algorithm>

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "duban/queue/delivery_id.h"

namespace duban::queue {
namespace {

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

absl::Status CheckVersion(int64_t version, absl::string_view what) {
  if (version < 1 || version > kMaxExactInteger) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": version must be 1..2^53-1"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ElementInt(const redisReply* r, size_t i) {
  if (auto s = ExpectArray(r, i + 1); !s.ok()) return s;
  return ReplyInteger(r->element[i]);
}

absl::StatusOr<std::string> ElementString(const redisReply* r, size_t i) {
  if (auto s = ExpectArray(r, i + 1); !s.ok()) return s;
  return ReplyString(r->element[i]);
}

std::optional<int64_t> NonNegative(int64_t v) {
  if (v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<absl::Duration> PromoteResult::until_next_due() const {
  if (!next_due_ms) return std::nullopt;
  return absl::Milliseconds(std::max<int64_t>(0, *next_due_ms - server_now_ms));
}

Outcome Outcome::Sent(const Delivery& d) {
  return Outcome{Kind::kSent, d.entry_id, d.job_id, d.version};
}
Outcome Outcome::Suppressed(const Delivery& d) {
  return Outcome{Kind::kSuppressed, d.entry_id, d.job_id, d.version};
}
Outcome Outcome::Skip(const Delivery& d) {
  return Outcome{Kind::kSkip, d.entry_id, d.job_id, d.version};
}
Outcome Outcome::Retry(const Delivery& d, absl::Duration delay, std::string error,
                       int max_attempts) {
  Outcome o{Kind::kRetry, d.entry_id, d.job_id, d.version};
  o.retry_delay = delay;
  o.error = std::move(error);
  o.max_attempts = max_attempts;
  return o;
}
Outcome Outcome::Dead(const Delivery& d, std::string reason, std::string error) {
  Outcome o{Kind::kDead, d.entry_id, d.job_id, d.version};
  o.reason = std::move(reason);
  o.error = std::move(error);
  return o;
}

int64_t StreamIdMillis(absl::string_view entry_id) {
  int64_t ms = 0;
  auto dash = entry_id.find('-');
  if (!absl::SimpleAtoi(entry_id.substr(0, dash), &ms)) return 0;
  return ms;
}

absl::Status QueueOptions::Validate() const {
  if (auto s = ValidateQueueName(name); !s.ok()) return s;
  if (lease < absl::Milliseconds(10)) return absl::InvalidArgumentError("lease must be >= 10ms");
  if (sent_ttl < absl::Seconds(1)) return absl::InvalidArgumentError("sent_ttl must be >= 1s");
  if (dead_cap < 1) return absl::InvalidArgumentError("dead_cap must be >= 1");
  if (max_redeliveries < 0) return absl::InvalidArgumentError("max_redeliveries must be >= 0");
  if (promote_batch < 1 || promote_batch > 10000) {
    return absl::InvalidArgumentError("promote_batch must be 1..10000");
  }
  if (wake_horizon < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("wake_horizon must be >= 0");
  }
  if (jobs_per_entry < 1 || jobs_per_entry > 1000) {
    return absl::InvalidArgumentError("jobs_per_entry must be 1..1000");
  }
  if (max_script_batch < 1 || max_script_batch > 5000) {
    return absl::InvalidArgumentError("max_script_batch must be 1..5000");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<JobQueue>> JobQueue::Create(absl::string_view redis_url,
                                                           QueueOptions options,
                                                           RedisConnectionOptions connection) {
  auto ep = RedisEndpoint::Parse(redis_url);
  if (!ep.ok()) return ep.status();
  if (auto s = options.Validate(); !s.ok()) return s;
  return std::make_unique<JobQueue>(*std::move(ep), std::move(options), connection);
}

JobQueue::JobQueue(RedisEndpoint endpoint, QueueOptions options, RedisConnectionOptions connection)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      keys_(options_.name),
      conn_(endpoint_, connection) {}

absl::StatusOr<RedisReplyPtr> JobQueue::Run(const LuaScript& script,
                                            const std::vector<std::string>& keys,
                                            const std::vector<std::string>& args) {
  // A connection that broke since the last call (typically: Redis restarted) fails on first
  // use; retry once on a fresh one. Every script is safe to run twice: upserts and cancels are
  // versioned, claims are re-entrant per consumer, acks are idempotent (a repeated retry may
  // count one attempt twice).
  bool was_connected = conn_.context() != nullptr;
  auto reply = scripts_.Run(conn_, script, keys, args);
  if (!reply.ok() && absl::IsUnavailable(reply.status()) && was_connected &&
      conn_.context() == nullptr) {
    reply = scripts_.Run(conn_, script, keys, args);
  }
  return reply;
}

absl::Status JobQueue::EnsureGroup() {
  absl::MutexLock lock(&mu_);
  auto r = conn_.Command(
      {"XGROUP", "CREATE", keys_.ready(), std::string(kConsumerGroup), "0", "MKSTREAM"});
  if (r.ok() || absl::StrContains(r.status().message(), "BUSYGROUP")) return absl::OkStatus();
  return r.status();
}

// ---------------------------------------------------------------- scheduling

absl::StatusOr<std::vector<ScheduleResult>> JobQueue::Schedule(
    absl::Span<const ScheduleRequest> reqs) {
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto& r = reqs[i];
    std::string at = absl::StrCat("requests[", i, "]");
    if (auto s = ValidateJobId(r.job_id); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".job_id: ", s.message()));
    }
    if (auto s = CheckVersion(r.version, at); !s.ok()) return s;
    int64_t due = absl::ToUnixMillis(r.due);
    if (due < 0 || due > kMaxExactInteger) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".due: out of range"));
    }
    if (r.deadline != absl::InfiniteFuture() && r.deadline < r.due) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".deadline: before due"));
    }
    if (r.ref.size() > 200) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".ref: longer than 200 bytes"));
    }
  }
  std::vector<ScheduleResult> out;
  out.reserve(reqs.size());
  absl::MutexLock lock(&mu_);
  for (size_t start = 0; start < reqs.size(); start += options_.max_script_batch) {
    size_t n = std::min<size_t>(options_.max_script_batch, reqs.size() - start);
    auto part = ScheduleChunk(reqs.subspan(start, n));
    if (!part.ok()) return part.status();
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

absl::StatusOr<std::vector<ScheduleResult>> JobQueue::ScheduleChunk(
    absl::Span<const ScheduleRequest> reqs) {
  std::vector<std::string> args;
  args.reserve(5 + reqs.size() * 5);
  args.push_back(keys_.prefix());
  args.push_back(keys_.wake_channel());
  args.push_back(Ms(options_.wake_horizon));
  args.push_back(absl::StrCat(reqs.size()));
  args.push_back(Ms(options_.sent_ttl));
  for (const auto& r : reqs) {
    args.push_back(r.job_id);
    args.push_back(absl::StrCat(r.version));
    args.push_back(absl::StrCat(absl::ToUnixMillis(r.due)));
    args.push_back(r.ref);
    args.push_back(r.deadline == absl::InfiniteFuture()
                       ? std::string("0")
                       : absl::StrCat(std::max<int64_t>(1, absl::ToUnixMillis(r.deadline))));
  }
  auto reply = Run(ScheduleScript(), {keys_.due()}, args);
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (auto s = ExpectArray(r, reqs.size()); !s.ok()) return s;
  std::vector<ScheduleResult> out;
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto code = ReplyInteger(r->element[i]);
    if (!code.ok()) return code.status();
    switch (*code) {
      case 0:
        out.push_back(ScheduleResult::kCreated);
        break;
      case 1:
        out.push_back(ScheduleResult::kRescheduled);
        break;
      case 2:
        out.push_back(ScheduleResult::kSameVersion);
        break;
      case 3:
        out.push_back(ScheduleResult::kStaleVersion);
        break;
      case 4:
        out.push_back(ScheduleResult::kAlreadySent);
        break;
      default:
        return absl::InternalError("redis: unexpected schedule result");
    }
  }
  return out;
}

absl::StatusOr<ScheduleResult> JobQueue::Schedule(const ScheduleRequest& req) {
  auto r = Schedule(absl::MakeConstSpan(&req, 1));
  if (!r.ok()) return r.status();
  return r->front();
}

absl::StatusOr<std::vector<CancelResult>> JobQueue::Cancel(absl::Span<const CancelRequest> reqs) {
  for (size_t i = 0; i < reqs.size(); ++i) {
    std::string at = absl::StrCat("requests[", i, "]");
    if (auto s = ValidateJobId(reqs[i].job_id); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".job_id: ", s.message()));
    }
    if (auto s = CheckVersion(reqs[i].version, at); !s.ok()) return s;
  }
  std::vector<CancelResult> out;
  out.reserve(reqs.size());
  absl::MutexLock lock(&mu_);
  for (size_t start = 0; start < reqs.size(); start += options_.max_script_batch) {
    size_t n = std::min<size_t>(options_.max_script_batch, reqs.size() - start);
    std::vector<std::string> args{keys_.prefix(), absl::StrCat(n), Ms(options_.sent_ttl)};
    for (size_t i = start; i < start + n; ++i) {
      args.push_back(reqs[i].job_id);
      args.push_back(absl::StrCat(reqs[i].version));
    }
    auto reply = Run(CancelScript(), {keys_.due()}, args);
    if (!reply.ok()) return reply.status();
    if (auto s = ExpectArray(reply->get(), n); !s.ok()) return s;
    for (size_t i = 0; i < n; ++i) {
      auto code = ReplyInteger((*reply)->element[i]);
      if (!code.ok()) return code.status();
      out.push_back(*code == 0   ? CancelResult::kCanceled
                    : *code == 1 ? CancelResult::kNotFound
                                 : CancelResult::kStaleVersion);
    }
  }
  return out;
}

absl::StatusOr<CancelResult> JobQueue::Cancel(const CancelRequest& req) {
  auto r = Cancel(absl::MakeConstSpan(&req, 1));
  if (!r.ok()) return r.status();
  return r->front();
}

absl::StatusOr<std::optional<JobInfo>> JobQueue::GetJob(absl::string_view job_id) {
  if (auto s = ValidateJobId(job_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto reply = Run(GetJobScript(), {keys_.due()}, {keys_.prefix(), std::string(job_id)});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (auto s = ExpectArray(r, 0); !s.ok()) return s;
  if (r->elements == 0) return std::optional<JobInfo>();
  if (auto s = ExpectArray(r, 6); !s.ok()) return s;
  JobInfo job;
  auto version = ReplyInteger(r->element[0]);
  auto ref = ReplyString(r->element[1]);
  auto deadline = ReplyInteger(r->element[2]);
  auto attempt = ReplyInteger(r->element[3]);
  auto redeliveries = ReplyInteger(r->element[4]);
  auto due = ReplyInteger(r->element[5]);
  for (const absl::Status& s : {version.status(), ref.status(), deadline.status(), attempt.status(),
                                redeliveries.status(), due.status()}) {
    if (!s.ok()) return s;
  }
  job.version = *version;
  job.ref = *ref;
  if (*deadline > 0) job.deadline_ms = *deadline;
  job.attempt = static_cast<int>(*attempt);
  job.redeliveries = *redeliveries;
  job.due_ms = NonNegative(*due);
  return std::optional<JobInfo>(std::move(job));
}

// ---------------------------------------------------------------- promoter

absl::StatusOr<PromoteResult> JobQueue::PromoteDue(int limit) {
  if (limit <= 0) limit = options_.promote_batch;
  absl::MutexLock lock(&mu_);
  auto reply = Run(PromoteScript(), {keys_.due(), keys_.ready()},
                   {keys_.prefix(), absl::StrCat(limit), std::string(kConsumerGroup),
                    absl::StrCat(options_.jobs_per_entry)});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  auto taken = ElementInt(r, 0);
  auto added = ElementInt(r, 1);
  auto next = ElementInt(r, 2);
  auto now = ElementInt(r, 3);
  for (const absl::Status& s : {taken.status(), added.status(), next.status(), now.status()}) {
    if (!s.ok()) return s;
  }
  PromoteResult out;
  out.taken = static_cast<int>(*taken);
  out.promoted = static_cast<int>(*added);
  out.batch_full = *taken >= limit;
  out.next_due_ms = NonNegative(*next);
  out.server_now_ms = *now;
  return out;
}

absl::StatusOr<LeaseState> JobQueue::AcquirePromoterLease(absl::string_view owner,
                                                          absl::Duration ttl) {
  if (owner.empty()) return absl::InvalidArgumentError("lease owner must not be empty");
  if (ttl < absl::Milliseconds(1)) return absl::InvalidArgumentError("lease ttl must be >= 1ms");
  absl::MutexLock lock(&mu_);
  auto reply = Run(PromoterLeaseScript(), {keys_.promoter_lease()}, {std::string(owner), Ms(ttl)});
  if (!reply.ok()) return reply.status();
  auto held = ElementInt(reply->get(), 0);
  auto ms = ElementInt(reply->get(), 1);
  if (!held.ok()) return held.status();
  if (!ms.ok()) return ms.status();
  return LeaseState{*held == 1, absl::Milliseconds(std::max<int64_t>(0, *ms))};
}

absl::StatusOr<bool> JobQueue::ReleasePromoterLease(absl::string_view owner) {
  absl::MutexLock lock(&mu_);
  auto reply = Run(ReleaseLeaseScript(), {keys_.promoter_lease()}, {std::string(owner)});
  if (!reply.ok()) return reply.status();
  auto v = ReplyInteger(reply->get());
  if (!v.ok()) return v.status();
  return *v == 1;
}

// ---------------------------------------------------------------- consumers

absl::StatusOr<std::vector<SendClaim>> JobQueue::ClaimForSend(
    absl::string_view consumer, absl::Span<const Delivery> deliveries) {
  if (consumer.empty()) return absl::InvalidArgumentError("consumer must not be empty");
  std::vector<SendClaim> out;
  out.reserve(deliveries.size());
  absl::MutexLock lock(&mu_);
  for (size_t start = 0; start < deliveries.size(); start += options_.max_script_batch) {
    size_t n = std::min<size_t>(options_.max_script_batch, deliveries.size() - start);
    std::vector<std::string> args{keys_.prefix(), std::string(consumer), Ms(options_.lease),
                                  absl::StrCat(n)};
    args.reserve(args.size() + 5 * n);
    for (size_t i = start; i < start + n; ++i) {
      const Delivery& d = deliveries[i];
      args.push_back(d.job_id);
      args.push_back(absl::StrCat(d.version));
      args.emplace_back(d.carried && !d.reclaimed ? "e" : "h");
      args.push_back(d.attempt < 0 ? std::string("-") : absl::StrCat(d.attempt));
      args.push_back(absl::StrCat(d.carried ? d.deadline_ms : 0));
    }
    // KEYS names the due set only to route the call to the queue's slot (Redis Cluster).
    auto reply = Run(ClaimScript(), {keys_.due()}, args);
    if (!reply.ok()) return reply.status();
    if (auto s = ExpectArray(reply->get(), n); !s.ok()) return s;
    const redisReply* e = reply->get();
    size_t detail = n;  // the next job's details, for codes >= 10 (see ClaimScript)
    for (size_t i = 0; i < n; ++i) {
      auto code = ElementInt(e, i);
      if (!code.ok()) return code.status();
      const bool read_job = *code >= 10;
      if (read_job) *code -= 10;
      const Delivery& d = deliveries[start + i];
      SendClaim c;
      static constexpr ClaimStatus kByCode[] = {ClaimStatus::kClaimed,  ClaimStatus::kCanceled,
                                                ClaimStatus::kStale,    ClaimStatus::kAlreadySent,
                                                ClaimStatus::kInFlight, ClaimStatus::kExpired};
      if (*code < 0 || *code > 5) return absl::InternalError("redis: unexpected claim result");
      c.status = kByCode[*code];
      c.delivery_id = DeliveryId(keys_.name(), d.job_id, d.version);
      if (!read_job) {
        // The script did not read the job: the entry carries what the promoter read.
        c.ref = d.ref;
        c.attempt = std::max(0, d.attempt);
        c.redeliveries = d.redeliveries;
        if (d.deadline_ms > 0) c.deadline_ms = d.deadline_ms;
      } else {
        auto attempt = ElementInt(e, detail);
        auto ref = ElementString(e, detail + 1);
        auto deadline = ElementInt(e, detail + 2);
        auto redeliveries = ElementInt(e, detail + 3);
        detail += 4;
        for (const absl::Status& s :
             {attempt.status(), ref.status(), deadline.status(), redeliveries.status()}) {
          if (!s.ok()) return s;
        }
        c.ref = *ref;
        c.attempt = static_cast<int>(*attempt);
        c.redeliveries = *redeliveries;
        if (*deadline > 0) c.deadline_ms = *deadline;
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

absl::StatusOr<std::vector<bool>> JobQueue::RenewLeases(absl::string_view consumer,
                                                        absl::Span<const Delivery> deliveries) {
  std::vector<bool> out;
  out.reserve(deliveries.size());
  absl::MutexLock lock(&mu_);
  for (size_t start = 0; start < deliveries.size(); start += options_.max_script_batch) {
    size_t n = std::min<size_t>(options_.max_script_batch, deliveries.size() - start);
    std::vector<std::string> args{keys_.prefix(), std::string(kConsumerGroup),
                                  std::string(consumer), Ms(options_.lease), absl::StrCat(n)};
    for (size_t i = start; i < start + n; ++i) {
      args.push_back(deliveries[i].entry_id);
      args.push_back(deliveries[i].job_id);
      args.push_back(absl::StrCat(deliveries[i].version));
    }
    auto reply = Run(RenewScript(), {keys_.ready()}, args);
    if (!reply.ok()) return reply.status();
    if (auto s = ExpectArray(reply->get(), n); !s.ok()) return s;
    for (size_t i = 0; i < n; ++i) {
      auto v = ReplyInteger((*reply)->element[i]);
      if (!v.ok()) return v.status();
      out.push_back(*v == 1);
    }
  }
  return out;
}

absl::StatusOr<JobQueue::Reclaimed> JobQueue::ReclaimExpired(absl::string_view consumer,
                                                             int max_count,
                                                             absl::string_view cursor) {
  if (consumer.empty()) return absl::InvalidArgumentError("consumer must not be empty");
  if (max_count < 1) return absl::InvalidArgumentError("max_count must be >= 1");
  absl::MutexLock lock(&mu_);
  auto reply = Run(ReclaimScript(), {keys_.ready(), keys_.due(), keys_.dead()},
                   {keys_.prefix(), std::string(kConsumerGroup), std::string(consumer),
                    Ms(options_.lease), std::string(cursor.empty() ? "0-0" : cursor),
                    absl::StrCat(max_count), absl::StrCat(options_.max_redeliveries),
                    absl::StrCat(options_.dead_cap), Ms(options_.sent_ttl)});
  if (!reply.ok()) {
    // No stream or group yet: nothing to reclaim.
    if (absl::IsFailedPrecondition(reply.status())) return Reclaimed{{}, "0-0", 0};
    return reply.status();
  }
  const redisReply* r = reply->get();
  auto next = ElementString(r, 0);
  if (!next.ok()) return next.status();
  auto buried = ElementInt(r, 1);
  if (!buried.ok()) return buried.status();
  Reclaimed out;
  out.next_cursor = *next;
  out.dead_lettered = static_cast<int>(*buried);
  for (size_t i = 2; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    auto eid = ElementString(e, 0);
    auto job = ElementString(e, 1);
    auto version = ElementInt(e, 2);
    auto due = ElementInt(e, 3);
    auto redeliveries = ElementInt(e, 4);
    auto attempt = ElementString(e, 5);
    for (const absl::Status& s : {eid.status(), job.status(), version.status(), due.status(),
                                  redeliveries.status(), attempt.status()}) {
      if (!s.ok()) return s;
    }
    Delivery d;
    d.entry_id = *eid;
    d.job_id = *job;
    d.version = *version;
    d.due_ms = *due;
    d.reclaimed = true;
    d.redeliveries = *redeliveries;
    if (!absl::SimpleAtoi(*attempt, &d.attempt)) d.attempt = -1;  // "-": unknown
    out.deliveries.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::vector<SettleReport>> JobQueue::Settle(absl::Span<const Outcome> outcomes) {
  for (size_t i = 0; i < outcomes.size(); ++i) {
    std::string at = absl::StrCat("outcomes[", i, "]");
    if (auto s = ValidateJobId(outcomes[i].job_id); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".job_id: ", s.message()));
    }
    if (auto s = CheckVersion(outcomes[i].version, at); !s.ok()) return s;
    if (outcomes[i].kind == Outcome::Kind::kDead && outcomes[i].reason.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".reason: required for dead"));
    }
    if (outcomes[i].kind == Outcome::Kind::kRetry &&
        outcomes[i].retry_delay < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".retry_delay: negative"));
    }
  }
  std::vector<SettleReport> out;
  out.reserve(outcomes.size());
  absl::MutexLock lock(&mu_);
  for (size_t start = 0; start < outcomes.size(); start += options_.max_script_batch) {
    size_t n = std::min<size_t>(options_.max_script_batch, outcomes.size() - start);
    auto part = SettleChunk(outcomes.subspan(start, n));
    if (!part.ok()) return part.status();
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

absl::StatusOr<std::vector<SettleReport>> JobQueue::SettleChunk(
    absl::Span<const Outcome> outcomes) {
  std::vector<std::string> args{keys_.prefix(),        std::string(kConsumerGroup),
                                Ms(options_.sent_ttl), absl::StrCat(options_.dead_cap),
                                keys_.wake_channel(),  Ms(options_.wake_horizon),
                                Ms(options_.lease),    absl::StrCat(outcomes.size())};
  args.reserve(args.size() + outcomes.size() * 4);
  for (const Outcome& o : outcomes) {
    const char* kind = "k";
    switch (o.kind) {
      case Outcome::Kind::kSent:
        kind = "s";
        break;
      case Outcome::Kind::kSuppressed:
        kind = "u";
        break;
      case Outcome::Kind::kSkip:
        kind = "k";
        break;
      case Outcome::Kind::kRetry:
        kind = "r";
        break;
      case Outcome::Kind::kDead:
        kind = "x";
        break;
    }
    args.emplace_back(kind);
    args.push_back(o.entry_id);
    args.push_back(o.job_id);
    args.push_back(absl::StrCat(o.version));
    // Only retries and dead letters carry extra fields (see SettleScript).
    if (o.kind == Outcome::Kind::kRetry) {
      args.push_back(Ms(o.retry_delay));
      args.push_back(o.error);
      args.push_back(absl::StrCat(std::max(0, o.max_attempts)));
    } else if (o.kind == Outcome::Kind::kDead) {
      args.push_back(o.reason);
      args.push_back(o.error);
    }
  }
  auto reply = Run(SettleScript(), {keys_.due(), keys_.ready(), keys_.dead()}, args);
  if (!reply.ok()) return reply.status();
  if (auto s = ExpectArray(reply->get(), 2 * outcomes.size()); !s.ok()) return s;
  std::vector<SettleReport> out;
  out.reserve(outcomes.size());
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const redisReply* e = reply->get();
    auto code = ElementInt(e, 2 * i);
    auto detail = ElementString(e, 2 * i + 1);
    if (!code.ok()) return code.status();
    if (!detail.ok()) return detail.status();
    SettleReport rep;
    switch (*code) {
      case 0:
        rep.result = SettleResult::kDone;
        break;
      case 1:
        rep.result = SettleResult::kIgnored;
        break;
      case 2:
        rep.result = SettleResult::kRetryScheduled;
        if (!absl::SimpleAtoi(*detail, &rep.retry_due_ms)) {
          return absl::InternalError("redis: bad retry due time");
        }
        break;
      case 3:
        rep.result = SettleResult::kDeadLettered;
        rep.dead_reason = *detail;
        break;
      default:
        return absl::InternalError("redis: unexpected settle result");
    }
    out.push_back(std::move(rep));
  }
  return out;
}

// ---------------------------------------------------------------- operations

absl::StatusOr<QueueStats> JobQueue::Stats() {
  absl::MutexLock lock(&mu_);
  auto reply =
      Run(StatsScript(), {keys_.due(), keys_.ready(), keys_.dead()}, {std::string(kConsumerGroup)});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (auto s = ExpectArray(r, 9); !s.ok()) return s;
  int64_t v[9];
  for (size_t i = 0; i < 9; ++i) {
    auto x = ReplyInteger(r->element[i]);
    if (!x.ok()) return x.status();
    v[i] = *x;
  }
  QueueStats s;
  s.due = v[0];
  s.ready = v[1];
  s.pending = v[2];
  s.dead = v[3];
  s.oldest_due_lateness_ms = v[4];
  s.next_due_ms = NonNegative(v[5]);
  s.oldest_ready_age_ms = NonNegative(v[6]);
  s.server_now_ms = v[7];
  s.undelivered = v[8];
  return s;
}

absl::StatusOr<std::vector<DeadEntry>> JobQueue::ListDead(int max_count) {
  if (max_count < 1) return absl::InvalidArgumentError("max_count must be >= 1");
  absl::MutexLock lock(&mu_);
  auto reply =
      conn_.Command({"XREVRANGE", keys_.dead(), "+", "-", "COUNT", absl::StrCat(max_count)});
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (auto s = ExpectArray(r, 0); !s.ok()) return s;
  std::vector<DeadEntry> out;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* e = r->element[i];
    if (auto s = ExpectArray(e, 2); !s.ok()) return s;
    auto id = ReplyString(e->element[0]);
    if (!id.ok()) return id.status();
    DeadEntry d;
    d.entry_id = *id;
    d.at = absl::FromUnixMillis(StreamIdMillis(*id));
    const redisReply* f = e->element[1];
    if (auto s = ExpectArray(f, 0); !s.ok()) return s;
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
      auto name = ReplyString(f->element[k]);
      auto value = ReplyString(f->element[k + 1]);
      if (!name.ok()) return name.status();
      if (!value.ok()) return value.status();
      if (*name == "j") {
        d.job_id = *value;
      } else if (*name == "v") {
        (void)absl::SimpleAtoi(*value, &d.version);
      } else if (*name == "r") {
        d.ref = *value;
      } else if (*name == "a") {
        (void)absl::SimpleAtoi(*value, &d.attempts);
      } else if (*name == "why") {
        d.reason = *value;
      } else if (*name == "err") {
        d.error = *value;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<int64_t> JobQueue::ServerTimeMs() {
  absl::MutexLock lock(&mu_);
  auto reply = conn_.Command({"TIME"});
  if (!reply.ok()) return reply.status();
  auto sec = ElementInt(reply->get(), 0);
  auto usec = ElementInt(reply->get(), 1);
  if (!sec.ok()) return sec.status();
  if (!usec.ok()) return usec.status();
  return *sec * 1000 + *usec / 1000;
}

}  // namespace duban::queue
