#include "duban/status.h"

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <spdlog/spdlog.h>

#include <absl/strings/cord.h>

namespace duban {
namespace {

constexpr absl::string_view kBadRequestUrl = "type.googleapis.com/google.rpc.BadRequest";

google::rpc::BadRequest ToProto(const std::vector<FieldViolation>& items) {
  google::rpc::BadRequest br;
  for (const auto& v : items) {
    auto* fv = br.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
  }
  return br;
}

}  // namespace

absl::Status FieldViolations::ToStatus() const {
  if (items_.empty()) return absl::OkStatus();
  std::string message = "invalid " + items_.front().field + ": " + items_.front().description;
  if (items_.size() > 1) message += " (and " + std::to_string(items_.size() - 1) + " more)";
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestUrl, absl::Cord(ToProto(items_).SerializeAsString()));
  return status;
}

absl::Status FieldViolations::ToStatus(std::string message) const {
  if (items_.empty()) return absl::OkStatus();
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestUrl, absl::Cord(ToProto(items_).SerializeAsString()));
  return status;
}

absl::Status InvalidField(std::string field, std::string description) {
  FieldViolations v;
  v.Add(std::move(field), std::move(description));
  return v.ToStatus();
}

absl::Status FieldError(absl::StatusCode code, std::string field, std::string description) {
  std::string message = field + ": " + description;
  absl::Status status(code, message);
  status.SetPayload(
      kBadRequestUrl,
      absl::Cord(ToProto({{std::move(field), std::move(description)}}).SerializeAsString()));
  return status;
}

std::vector<FieldViolation> ViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kBadRequestUrl);
  if (!payload) return out;
  google::rpc::BadRequest br;
  if (!br.ParseFromString(std::string(*payload))) return out;
  for (const auto& fv : br.field_violations()) out.push_back({fv.field(), fv.description()});
  return out;
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(static_cast<int>(status.code()));
  std::string message(status.message());
  if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN ||
      code == grpc::StatusCode::DATA_LOSS) {
    spdlog::error("internal error: {}", message);
    message = "internal error";
  }
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  rpc_status.set_message(message);
  auto violations = ViolationsOf(status);
  if (!violations.empty()) rpc_status.add_details()->PackFrom(ToProto(violations));
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(static_cast<int>(status.error_code())),
                   status.error_message());
  google::rpc::Status rpc_status;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const auto& any : rpc_status.details()) {
      google::rpc::BadRequest br;
      if (any.UnpackTo(&br)) out.SetPayload(kBadRequestUrl, absl::Cord(br.SerializeAsString()));
    }
  }
  return out;
}

}  // namespace duban
