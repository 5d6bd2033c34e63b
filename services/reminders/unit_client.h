#pragma once
// What duban-reminders needs from duban.units.v1.UnitService, as an interface so domain tests
// can use a fake. The gRPC implementation is GrpcUnitClient (grpc_unit_client.h).
#include <string>
#include <vector>

#include <absl/status/statusor.h>

namespace duban::reminders {

struct UnitInfo {
  std::string id;
  std::string timezone;  // IANA name; empty means the calendar's default
  int kind = 0;          // duban.units.v1.UnitKind
};

class UnitClient {
 public:
  virtual ~UnitClient() = default;
  // The units among `ids` that exist, in no particular order. UNAVAILABLE if UnitService
  // cannot be reached.
  virtual absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(
      const std::vector<std::string>& ids) = 0;
  // Every active unit in the subtree of `root_id`, the root included (roll-call rounds read
  // it at their start). NOT_FOUND if the root does not exist; UNAVAILABLE if unreachable.
  virtual absl::StatusOr<std::vector<UnitInfo>> ListSubtree(const std::string& root_id) = 0;
};

}  // namespace duban::reminders
