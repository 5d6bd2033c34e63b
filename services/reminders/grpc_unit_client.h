#pragma once
#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "duban/units/v1/units.grpc.pb.h"
#include "unit_client.h"

namespace duban::reminders {

// UnitClient over gRPC. Transport failures and server-side trouble become UNAVAILABLE so the
// tasks service's outbox retries later.
class GrpcUnitClient : public UnitClient {
 public:
  GrpcUnitClient(std::shared_ptr<grpc::Channel> channel,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(const std::vector<std::string>& ids) override;
  absl::StatusOr<std::vector<UnitInfo>> ListSubtree(const std::string& root_id) override;

 private:
  std::unique_ptr<::duban::units::v1::UnitService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace duban::reminders
