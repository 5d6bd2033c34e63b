#pragma once
// The gRPC implementations of the interfaces duban-tasks uses to reach other services:
// UnitService (unit checks, subtree expansion), ReminderService.GetPolicy (policy checks) and
// the outbox sink (ScheduleAssignment / CancelAssignment / SetPlanDefaultPolicy). Every call
// has a deadline; an unreachable service is UNAVAILABLE.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "outbox_dispatcher.h"
#include "unit_cache.h"
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

// Keeps a UnitService.WatchUnits stream open and feeds `cache` (unit_cache.h): each change is
// dropped from the cache, then acknowledged. A stream that ends, fails an acknowledgement or
// stays silent for a lease is cancelled and opened again (backoff 100 ms doubling to 5 s); in
// between, the cache is not used.
class UnitWatch {
 public:
  // The cache's lease must be 3 x `heartbeat` (units.proto).
  UnitWatch(std::shared_ptr<grpc::Channel> channel, WatchedUnitCache& cache,
            std::chrono::milliseconds heartbeat = std::chrono::milliseconds(500));
  ~UnitWatch() { Stop(); }
  void Start();
  void Stop();

 private:
  void Run();
  void Watchdog();
  // Waits `d` or until Stop; false when stopping.
  bool SleepFor(std::chrono::milliseconds d);

  std::unique_ptr<::duban::units::v1::UnitService::Stub> stub_;
  WatchedUnitCache& cache_;
  const std::chrono::milliseconds heartbeat_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                    // guarded by mu_
  grpc::ClientContext* stream_ = nullptr;  // the open stream, for cancelling; guarded by mu_
  std::chrono::steady_clock::time_point last_heard_;  // guarded by mu_
  std::thread reader_, watchdog_;
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
