#include "grpc_reminder_source.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "duban/grpc_server.h"
#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"

namespace duban::worker {
namespace {

namespace rv1 = ::duban::reminders::v1;
namespace tv1 = ::duban::tasks::v1;
namespace uv1 = ::duban::units::v1;

constexpr absl::Duration kRpcTimeout = absl::Seconds(5);

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(kRpcTimeout)));
}

absl::Status FromGrpc(const grpc::Status& s, const char* what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", s.error_message()));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp ToTimestamp(int64_t unix_ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(unix_ms / 1000);
  t.set_nanos(static_cast<int32_t>((unix_ms % 1000) * 1000000));
  return t;
}

std::string KindName(rv1::ReminderKind k) {
  switch (k) {
    case rv1::REMINDER_KIND_BEFORE_DUE:
      return "before_due";
    case rv1::REMINDER_KIND_OVERDUE:
      return "overdue";
    case rv1::REMINDER_KIND_ESCALATION:
      return "escalation";
    case rv1::REMINDER_KIND_ROLLCALL:
      return "rollcall";
    case rv1::REMINDER_KIND_DIGEST:
      return "digest";
    default:
      return "due";
  }
}

class GrpcReminderSource : public ReminderSource {
 public:
  GrpcReminderSource(std::shared_ptr<grpc::Channel> reminders, std::shared_ptr<grpc::Channel> units,
                     std::shared_ptr<grpc::Channel> tasks, std::string channel,
                     bool channel_has_default)
      : reminders_(rv1::ReminderService::NewStub(reminders)),
        units_(uv1::UnitService::NewStub(units)),
        tasks_(tv1::TaskService::NewStub(tasks)),
        channel_(std::move(channel)),
        channel_has_default_(channel_has_default) {}

  absl::StatusOr<std::vector<Resolution>> Resolve(absl::Span<const SourceJob> jobs) override {
    std::vector<Resolution> out(jobs.size());
    // 1. The ledger rows: only the current version of a pending row is sent.
    rv1::BatchGetRemindersRequest rreq;
    for (const SourceJob& j : jobs) {
      rv1::ReminderRef* ref = rreq.add_refs();
      ref->set_id(j.job_id);
      ref->set_version(j.version);
    }
    rv1::BatchGetRemindersResponse rresp;
    {
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      grpc::Status s = reminders_->BatchGetReminders(&ctx, rreq, &rresp);
      if (!s.ok()) return FromGrpc(s, "BatchGetReminders");
    }
    if (rresp.items_size() != static_cast<int>(jobs.size())) {
      return absl::InternalError("BatchGetReminders returned a wrong count");
    }
    std::vector<size_t> live;
    absl::flat_hash_set<std::string> wanted;
    for (size_t i = 0; i < jobs.size(); ++i) {
      const auto& item = rresp.items(static_cast<int>(i));
      if (!item.sendable()) {
        out[i].kind = Resolution::Kind::kSuppress;
        out[i].reason = item.reason().empty() ? "not sendable" : item.reason();
        continue;
      }
      live.push_back(i);
      if (!item.reminder().assignment_id().empty()) {
        wanted.insert(item.reminder().assignment_id());
      }
      // A digest or roll-call lists its assignments: they come in the same call(s).
      for (const auto& id : item.reminder().assignment_ids()) wanted.insert(id);
    }
    if (live.empty()) return out;

    // 2. The assignments: still open? what to render.
    absl::flat_hash_map<std::string, const tv1::Assignment*> assignments;
    absl::flat_hash_map<std::string, const tv1::Task*> tasks;
    absl::flat_hash_map<std::string, const tv1::Plan*> plans;
    // One call per 1,000 assignments (the method's limit): one call for a batch of ordinary
    // reminders, more only when digests list many.
    std::vector<tv1::BatchGetAssignmentsResponse> aresps;
    std::vector<std::string> ids(wanted.begin(), wanted.end());
    for (size_t start = 0; start < ids.size(); start += 1000) {
      tv1::BatchGetAssignmentsRequest areq;
      areq.set_include_tasks(true);
      areq.set_include_plans(true);
      for (size_t k = start; k < ids.size() && k < start + 1000; ++k) areq.add_ids(ids[k]);
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      grpc::Status s = tasks_->BatchGetAssignments(&ctx, areq, &aresps.emplace_back());
      if (!s.ok()) return FromGrpc(s, "BatchGetAssignments");
    }
    for (const auto& aresp : aresps) {
      for (const auto& a : aresp.assignments()) assignments[a.id()] = &a;
      for (const auto& t : aresp.tasks()) tasks[t.id()] = &t;
      for (const auto& p : aresp.plans()) plans[p.id()] = &p;
    }
    auto open = [&](const std::string& id) -> const tv1::Assignment* {
      auto it = assignments.find(id);
      if (it == assignments.end() || it->second->state() == tv1::ASSIGNMENT_STATE_DONE ||
          it->second->state() == tv1::ASSIGNMENT_STATE_CANCELED) {
        return nullptr;
      }
      return it->second;
    };

    // 3. The recipients, one query per live reminder.
    uv1::ResolveRecipientsRequest ureq;
    std::vector<size_t> queried;
    for (size_t i : live) {
      const rv1::Reminder& r = rresp.items(static_cast<int>(i)).reminder();
      if (!r.assignment_id().empty() && open(r.assignment_id()) == nullptr) {
        out[i].kind = Resolution::Kind::kSuppress;
        out[i].reason =
            assignments.contains(r.assignment_id()) ? "assignment closed" : "assignment not found";
        out[i].suppression_reason = rv1::SUPPRESSION_REASON_ASSIGNMENT_CLOSED;
        continue;
      }
      if (r.assignment_id().empty() && r.assignment_ids_size() > 0) {
        // A digest or roll-call lists only what is still open; with nothing open it is moot.
        MessageFields& f = out[i].fields;
        for (const auto& id : r.assignment_ids()) {
          const tv1::Assignment* a = open(id);
          if (a == nullptr) continue;
          if (f.listed_total++ >= kMaxListed) continue;
          ListedTask t;
          if (auto task = tasks.find(a->task_id()); task != tasks.end()) {
            t.title = task->second->title();
          }
          if (a->has_deadline_time()) t.deadline = FromTimestamp(a->deadline_time());
          f.listed.push_back(std::move(t));
        }
        if (f.listed_total == 0) {
          out[i].kind = Resolution::Kind::kSuppress;
          out[i].reason = "every listed assignment closed";
          out[i].suppression_reason = rv1::SUPPRESSION_REASON_ASSIGNMENT_CLOSED;
          continue;
        }
      }
      auto* q = ureq.add_queries();
      q->set_unit_id(r.unit_id());
      q->set_level(r.escalation_level());
      queried.push_back(i);
    }
    if (queried.empty()) return out;
    uv1::ResolveRecipientsResponse uresp;
    {
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      grpc::Status s = units_->ResolveRecipients(&ctx, ureq, &uresp);
      if (!s.ok()) return FromGrpc(s, "ResolveRecipients");
    }
    if (uresp.resolutions_size() != static_cast<int>(queried.size())) {
      return absl::InternalError("ResolveRecipients returned a wrong count");
    }
    for (size_t k = 0; k < queried.size(); ++k) {
      size_t i = queried[k];
      const rv1::Reminder& r = rresp.items(static_cast<int>(i)).reminder();
      const auto& res = uresp.resolutions(static_cast<int>(k));
      Resolution& o = out[i];
      o.fields.kind = KindName(r.kind());
      if (auto a = assignments.find(r.assignment_id()); a != assignments.end()) {
        if (a->second->has_deadline_time())
          o.fields.deadline = FromTimestamp(a->second->deadline_time());
        if (auto t = tasks.find(a->second->task_id()); t != tasks.end()) {
          o.fields.task_title = t->second->title();
        }
        if (auto p = plans.find(a->second->plan_id()); p != plans.end()) {
          o.fields.plan_title = p->second->title();
        }
      }
      for (const auto& c : res.recipients()) {
        Recipient to;
        to.contact_id = c.contact_id();
        to.unit_id = c.unit_id();
        to.locale = c.locale();
        to.name = c.person_name();
        if (channel_ == "webhook") {
          to.address = c.webhook_url();
        } else if (channel_ == "smtp") {
          to.address = c.email();
        } else {
          to.address = c.contact_id();
        }
        // Without an address of its own a contact is reachable only through the channel's
        // default (--webhook-url), which the channel applies to an empty address.
        if (!to.address.empty() || channel_has_default_) o.recipients.push_back(std::move(to));
      }
      if (o.recipients.empty()) {
        o.kind = Resolution::Kind::kDead;
        o.reason = "no recipients";
      }
    }
    return out;
  }

 private:
  std::unique_ptr<rv1::ReminderService::Stub> reminders_;
  std::unique_ptr<uv1::UnitService::Stub> units_;
  std::unique_ptr<tv1::TaskService::Stub> tasks_;
  std::string channel_;
  bool channel_has_default_;
};

rv1::Channel ChannelEnum(const std::string& name) {
  if (name == "webhook") return rv1::CHANNEL_WEBHOOK;
  if (name == "smtp") return rv1::CHANNEL_SMTP;
  if (name == "log") return rv1::CHANNEL_LOG;
  return rv1::CHANNEL_UNSPECIFIED;
}

class GrpcOutcomeSink : public OutcomeSink {
 public:
  GrpcOutcomeSink(std::shared_ptr<grpc::Channel> reminders, std::string worker_id)
      : stub_(rv1::ReminderService::NewStub(reminders)), worker_id_(std::move(worker_id)) {}

  absl::Status Record(absl::Span<const DeliveryRecord> records) override {
    for (size_t start = 0; start < records.size(); start += 1000) {
      rv1::RecordDeliveriesRequest req;
      for (size_t i = start; i < records.size() && i < start + 1000; ++i) {
        const DeliveryRecord& r = records[i];
        rv1::DeliveryOutcome* o = req.add_outcomes();
        o->set_reminder_id(r.job_id);
        o->set_version(r.version);
        o->set_attempt(r.attempt);
        o->set_delivery_id(r.delivery_id);
        o->set_worker_id(worker_id_);
        o->set_channel(ChannelEnum(r.channel));
        o->set_error(r.error.substr(0, 1000));
        switch (r.kind) {
          case DeliveryRecord::Kind::kSent:
            o->set_outcome(rv1::DELIVERY_OUTCOME_KIND_SENT);
            *o->mutable_sent_time() = ToTimestamp(r.time_ms);
            for (const Recipient& to : r.recipients) {
              auto* d = o->add_recipients();
              d->set_contact_id(to.contact_id);
              d->set_unit_id(to.unit_id);
              d->set_channel(ChannelEnum(r.channel));
            }
            break;
          case DeliveryRecord::Kind::kRetry:
            o->set_outcome(rv1::DELIVERY_OUTCOME_KIND_RETRY);
            if (r.next_attempt_ms.has_value()) {
              *o->mutable_next_attempt_time() = ToTimestamp(*r.next_attempt_ms);
            }
            break;
          case DeliveryRecord::Kind::kDead:
            o->set_outcome(rv1::DELIVERY_OUTCOME_KIND_DEAD);
            break;
          case DeliveryRecord::Kind::kMissed:
            o->set_outcome(rv1::DELIVERY_OUTCOME_KIND_MISSED);
            break;
          case DeliveryRecord::Kind::kSuppressed:
            o->set_outcome(rv1::DELIVERY_OUTCOME_KIND_SUPPRESSED);
            // A stale version may carry any reason; the service records it as stale.
            o->set_suppression_reason(
                r.suppression_reason != 0
                    ? static_cast<rv1::SuppressionReason>(r.suppression_reason)
                    : rv1::SUPPRESSION_REASON_ASSIGNMENT_CLOSED);
            break;
        }
      }
      // One call per chunk; the worker retries the whole batch on failure (repeats of chunks
      // already recorded come back DUPLICATE).
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      rv1::RecordDeliveriesResponse resp;
      grpc::Status s = stub_->RecordDeliveries(&ctx, req, &resp);
      if (!s.ok()) {
        return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                            absl::StrCat("RecordDeliveries (", req.outcomes_size(),
                                         " outcomes): ", s.error_message()));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<rv1::ReminderService::Stub> stub_;
  std::string worker_id_;
};

}  // namespace

GrpcPipeline MakeGrpcPipeline(const std::string& reminders_addr, const std::string& units_addr,
                              const std::string& tasks_addr, const std::string& channel,
                              const std::string& worker_id, bool channel_has_default) {
  auto reminders = MakeChannel(reminders_addr);
  GrpcPipeline p;
  p.source = std::make_unique<GrpcReminderSource>(
      reminders, MakeChannel(units_addr), MakeChannel(tasks_addr), channel, channel_has_default);
  p.sink = std::make_unique<GrpcOutcomeSink>(reminders, worker_id);
  return p;
}

}  // namespace duban::worker
