#include "grpc_clients.h"

#include <algorithm>

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include "duban/status.h"
#include "duban/time_util.h"

namespace duban::tasks {

namespace upb = ::duban::units::v1;
namespace rpb = ::duban::reminders::v1;

namespace {

void SetDeadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

// Moves the strings out of `u` (a board's subtree is ~10,000 units, every one copied twice
// otherwise).
UnitInfo FromProto(upb::Unit& u) {
  UnitInfo out;
  out.id = std::move(*u.mutable_id());
  out.name = std::move(*u.mutable_name());
  out.kind = static_cast<UnitKind>(u.kind());
  out.parent_id = std::move(*u.mutable_parent_id());
  out.tags.reserve(u.tags_size());
  for (std::string& t : *u.mutable_tags()) out.tags.push_back(std::move(t));
  out.timezone = std::move(*u.mutable_timezone());
  out.archived = u.archived();
  out.depth = u.depth();
  return out;
}

}  // namespace

absl::Status DependencyError(const grpc::Status& status, absl::string_view service) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
      spdlog::debug("{} call failed: {} {}", std::string(service),
                    static_cast<int>(status.error_code()), status.error_message());
      return absl::UnavailableError(absl::StrCat(service, " is unavailable; try again later"));
    default:
      return FromGrpcStatus(status);
  }
}

UnitWatch::UnitWatch(std::shared_ptr<grpc::Channel> channel, WatchedUnitCache& cache,
                     std::chrono::milliseconds heartbeat)
    : stub_(upb::UnitService::NewStub(channel)), cache_(cache), heartbeat_(heartbeat) {}

void UnitWatch::Start() {
  reader_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { Watchdog(); });
}

void UnitWatch::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    if (stream_ != nullptr) stream_->TryCancel();
  }
  cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

bool UnitWatch::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stop_; });
}

void UnitWatch::Watchdog() {
  // A stream can hang without ending (a stuck peer): the cache stops trusting it after its
  // lease on its own; this reopens it.
  while (SleepFor(heartbeat_)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream_ != nullptr && std::chrono::steady_clock::now() - last_heard_ > 3 * heartbeat_) {
      spdlog::warn("unit watch silent for {} ms; reopening it",
                   static_cast<long long>((3 * heartbeat_).count()));
      stream_->TryCancel();
    }
  }
}

void UnitWatch::Run() {
  std::chrono::milliseconds backoff(100);
  for (;;) {
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      stream_ = &ctx;
      last_heard_ = std::chrono::steady_clock::now();
    }
    upb::WatchUnitsRequest req;
    req.set_heartbeat_ms(static_cast<int32_t>(heartbeat_.count()));
    auto reader = stub_->WatchUnits(&ctx, req);
    upb::UnitChanges msg;
    bool confirmed = false;
    std::string ack_error;
    while (reader->Read(&msg)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_heard_ = std::chrono::steady_clock::now();
      }
      if (!confirmed) {
        cache_.OnWatchConfirmed();
        confirmed = true;
        backoff = std::chrono::milliseconds(100);
        spdlog::info("watching duban-units for unit changes ({})", msg.watch_id());
        continue;
      }
      if (msg.seq() == 0) {
        cache_.OnHeartbeat();
        continue;
      }
      cache_.OnChanges({msg.unit_ids().begin(), msg.unit_ids().end()}, msg.all_units());
      upb::AckUnitChangesRequest ack;
      ack.set_watch_id(msg.watch_id());
      ack.set_seq(msg.seq());
      upb::AckUnitChangesResponse ack_resp;
      grpc::ClientContext ack_ctx;
      SetDeadline(ack_ctx, 3 * heartbeat_);
      grpc::Status st = stub_->AckUnitChanges(&ack_ctx, ack, &ack_resp);
      if (!st.ok()) {
        ack_error = st.error_message();
        ctx.TryCancel();
        break;
      }
    }
    cache_.OnWatchLost();
    {
      // Cleared before Finish so that Stop and the watchdog never cancel a finished call.
      std::lock_guard<std::mutex> lock(mu_);
      stream_ = nullptr;
    }
    grpc::Status st = reader->Finish();
    if (!SleepFor(std::chrono::milliseconds(0))) return;
    if (confirmed) {
      spdlog::warn("unit watch ended ({}); unit checks go to duban-units until it is back",
                   ack_error.empty() ? st.error_message() : "acknowledgement failed: " + ack_error);
    } else {
      spdlog::debug("unit watch not established: {}", st.error_message());
    }
    if (!SleepFor(backoff)) return;
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
  }
}

std::shared_ptr<grpc::Channel> MakeDependencyChannel(const std::string& address,
                                                     std::chrono::milliseconds max_backoff) {
  grpc::ChannelArguments args;
  const int max_ms = static_cast<int>(max_backoff.count());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_ms));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::min(100, max_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

GrpcUnitClient::GrpcUnitClient(std::shared_ptr<grpc::Channel> channel,
                               std::chrono::milliseconds timeout)
    : stub_(upb::UnitService::NewStub(std::move(channel))), timeout_(timeout) {}

absl::StatusOr<std::vector<UnitInfo>> GrpcUnitClient::BatchGetUnits(
    const std::vector<std::string>& ids) {
  std::vector<UnitInfo> out;
  for (size_t start = 0; start < ids.size(); start += 1000) {
    upb::BatchGetUnitsRequest req;
    for (size_t i = start; i < std::min(ids.size(), start + 1000); ++i) req.add_ids(ids[i]);
    upb::BatchGetUnitsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx, timeout_);
    grpc::Status s = stub_->BatchGetUnits(&ctx, req, &resp);
    if (!s.ok()) {
      absl::Status err = DependencyError(s, "unit service");
      // Our ids are validated before the call; any other rejection is ours to fix.
      if (err.code() == absl::StatusCode::kInvalidArgument) {
        return absl::InternalError(absl::StrCat("unit service rejected ids: ", s.error_message()));
      }
      return err;
    }
    for (auto& u : *resp.mutable_units()) out.push_back(FromProto(u));
  }
  return out;
}

absl::Status GrpcUnitClient::ListSubtree(
    const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
    const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) {
  std::string token;
  for (;;) {
    upb::ListUnitsRequest req;
    req.set_page_size(1000);
    req.set_page_token(token);
    req.set_subtree_of(root_id);
    for (UnitKind k : kinds) req.add_kinds(static_cast<upb::UnitKind>(k));
    req.set_tag(tag);
    upb::ListUnitsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx, timeout_);
    grpc::Status s = stub_->ListUnits(&ctx, req, &resp);
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        return absl::NotFoundError(absl::StrCat("unit \"", root_id, "\" not found"));
      }
      return DependencyError(s, "unit service");
    }
    std::vector<UnitInfo> page;
    page.reserve(resp.units_size());
    for (auto& u : *resp.mutable_units()) page.push_back(FromProto(u));
    if (auto st = on_page(page); !st.ok()) return st;
    if (resp.next_page_token().empty()) return absl::OkStatus();
    token = resp.next_page_token();
  }
}

GrpcPolicyClient::GrpcPolicyClient(std::shared_ptr<grpc::Channel> channel,
                                   std::chrono::milliseconds timeout)
    : stub_(rpb::ReminderService::NewStub(std::move(channel))), timeout_(timeout) {}

absl::StatusOr<bool> GrpcPolicyClient::PolicyExists(const std::string& policy_id) {
  rpb::GetPolicyRequest req;
  req.set_id(policy_id);
  rpb::ReminderPolicy resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_);
  grpc::Status s = stub_->GetPolicy(&ctx, req, &resp);
  if (s.ok()) return true;
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return false;
  return DependencyError(s, "reminders service");
}

rpb::AssignmentChange ToAssignmentChange(const OutboxMessage& m) {
  rpb::AssignmentChange change;
  const AssignmentSnapshot& s = m.snapshot;
  if (m.kind == OutboxKind::kCancelAssignment) {
    auto* c = change.mutable_cancel();
    c->set_assignment_id(s.assignment_id);
    c->set_version(s.version);
    c->set_final_state(static_cast<rpb::AssignmentState>(s.state));
    SetTimestampMicros(s.change_us, c->mutable_change_time());
    return change;
  }
  auto* a = change.mutable_schedule()->mutable_assignment();
  a->set_assignment_id(s.assignment_id);
  a->set_version(s.version);
  a->set_plan_id(s.plan_id);
  a->set_task_id(s.task_id);
  a->set_task_path(s.task_path);
  a->set_unit_id(s.unit_id);
  a->set_role(static_cast<rpb::AssignmentRole>(s.role));
  a->set_state(static_cast<rpb::AssignmentState>(s.state));
  a->set_policy_id(s.policy_id);
  SetTimestampMicros(s.create_us, a->mutable_create_time());
  if (s.acknowledge_us) SetTimestampMicros(*s.acknowledge_us, a->mutable_acknowledge_time());
  SetTimestampMicros(s.deadline_us, a->mutable_deadline_time());
  for (const auto& ms : s.milestones) {
    auto* out = a->add_milestones();
    out->set_id(ms.id);
    out->set_title(ms.title);
    SetTimestampMicros(ms.due_us, out->mutable_due_time());
  }
  if (s.last_report_us) SetTimestampMicros(*s.last_report_us, a->mutable_last_report_time());
  SetTimestampMicros(s.change_us, a->mutable_change_time());
  return change;
}

GrpcReminderSink::GrpcReminderSink(std::shared_ptr<grpc::Channel> channel,
                                   std::chrono::milliseconds timeout)
    : stub_(rpb::ReminderService::NewStub(std::move(channel))), timeout_(timeout) {}

ReminderSink::Result GrpcReminderSink::Deliver(const std::vector<OutboxMessage>& batch) {
  Result result;
  size_t i = 0;
  while (i < batch.size()) {
    if (batch[i].kind == OutboxKind::kPlanDefaultPolicy) {
      rpb::SetPlanDefaultPolicyRequest req;
      req.set_plan_id(batch[i].plan_id);
      req.set_policy_id(batch[i].policy_id);
      req.set_plan_version(batch[i].plan_version);
      rpb::PlanDefaultPolicy resp;
      grpc::ClientContext ctx;
      SetDeadline(ctx, timeout_);
      grpc::Status s = stub_->SetPlanDefaultPolicy(&ctx, req, &resp);
      if (!s.ok()) {
        result.error = DependencyError(s, "reminders service");
        return result;
      }
      result.delivered = ++i;
      continue;
    }
    // A run of assignment changes goes out as one batch (at most 1000), applied in order.
    rpb::BatchScheduleAssignmentsRequest req;
    size_t end = i;
    while (end < batch.size() && end - i < 1000 &&
           batch[end].kind != OutboxKind::kPlanDefaultPolicy) {
      *req.add_changes() = ToAssignmentChange(batch[end]);
      ++end;
    }
    rpb::BatchScheduleAssignmentsResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx, timeout_);
    grpc::Status s = stub_->BatchScheduleAssignments(&ctx, req, &resp);
    if (!s.ok()) {
      result.error = DependencyError(s, "reminders service");
      return result;
    }
    i = end;
    result.delivered = i;
  }
  return result;
}

}  // namespace duban::tasks
