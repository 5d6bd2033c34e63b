#pragma once
// The gRPC implementations of the interfaces duban-tasks uses to reach other services:
// UnitService (unit checks, subtree expansion), ReminderService.GetPolicy (policy checks) and
// the outbox sink (ScheduleAssignment / CancelAssignment / SetPlanDefaultPolicy). Every call
// has a deadline; an unreachable service is UNAVAILABLE.
#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "outbox_dispatcher.h"
#include "unit_client.h"

namespace duban::tasks {

class GrpcUnitClient : public UnitClient {
 public:
  explicit GrpcUnitClient(std::shared_ptr<grpc::Channel> channel,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(const std::vector<std::string>& ids) override;
  absl::Status ListSubtree(
      const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) override;

 private:
  std::unique_ptr<::duban::units::v1::UnitService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

class GrpcPolicyClient : public PolicyClient {
 public:
  explicit GrpcPolicyClient(std::shared_ptr<grpc::Channel> channel,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  absl::StatusOr<bool> PolicyExists(const std::string& policy_id) override;

 private:
  std::unique_ptr<::duban::reminders::v1::ReminderService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

class GrpcReminderSink : public ReminderSink {
 public:
  explicit GrpcReminderSink(std::shared_ptr<grpc::Channel> channel,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Result Deliver(const std::vector<OutboxMessage>& batch) override;

 private:
  std::unique_ptr<::duban::reminders::v1::ReminderService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

// A channel to another duban service that notices its return quickly: gRPC's reconnect
// backoff is capped at `max_reconnect_backoff` (gRPC's default is 120 s, which would delay
// reminders that long after an outage).
std::shared_ptr<grpc::Channel> MakeDependencyChannel(
    const std::string& address,
    std::chrono::milliseconds max_reconnect_backoff = std::chrono::seconds(5));

// The reminders request for one outbox message (exposed for tests).
::duban::reminders::v1::AssignmentChange ToAssignmentChange(const OutboxMessage& m);

// Maps a failed call to another service: UNAVAILABLE for anything transient.
absl::Status DependencyError(const grpc::Status& status, absl::string_view service);

}  // namespace duban::tasks
