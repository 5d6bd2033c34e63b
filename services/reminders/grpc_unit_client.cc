#include "grpc_unit_client.h"

#include <algorithm>

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

namespace duban::reminders {

namespace upb = ::duban::units::v1;

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
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    grpc::Status s = stub_->BatchGetUnits(&ctx, req, &resp);
    if (!s.ok()) {
      // Our ids were validated before the call: any failure is the unit service's, and the
      // caller (the tasks outbox) retries later.
      spdlog::warn("unit service BatchGetUnits failed: {} {}", static_cast<int>(s.error_code()),
                   s.error_message());
      return absl::UnavailableError("unit service is unavailable; try again later");
    }
    for (const auto& u : resp.units()) {
      out.push_back({u.id(), u.timezone(), static_cast<int>(u.kind())});
    }
  }
  return out;
}

absl::StatusOr<std::vector<UnitInfo>> GrpcUnitClient::ListSubtree(const std::string& root_id) {
  std::vector<UnitInfo> out;
  std::string token;
  do {
    upb::ListUnitsRequest req;
    req.set_page_size(1000);
    req.set_page_token(token);
    req.set_subtree_of(root_id);
    upb::ListUnitsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
    grpc::Status s = stub_->ListUnits(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      return absl::NotFoundError(absl::StrCat("unit \"", root_id, "\" not found"));
    }
    if (!s.ok()) {
      spdlog::warn("unit service ListUnits failed: {} {}", static_cast<int>(s.error_code()),
                   s.error_message());
      return absl::UnavailableError("unit service is unavailable; try again later");
    }
    for (const auto& u : resp.units()) {
      out.push_back({u.id(), u.timezone(), static_cast<int>(u.kind())});
    }
    token = resp.next_page_token();
  } while (!token.empty());
  return out;
}

}  // namespace duban::reminders
