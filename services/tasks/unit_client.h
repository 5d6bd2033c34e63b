#pragma once
// What duban-tasks needs from duban.units.v1.UnitService, as an interface so domain tests can
// use a fake. The gRPC implementation is GrpcUnitClient (grpc_clients.h).
#include <functional>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include "task_model.h"

namespace duban::tasks {

struct UnitInfo {
  std::string id;
  std::string name;
  UnitKind kind = UnitKind::kUnspecified;
  std::string parent_id;
  std::vector<std::string> tags;
  std::string timezone;
  bool archived = false;
  int depth = 0;
};

class UnitClient {
 public:
  virtual ~UnitClient() = default;
  // The units among `ids` that exist (any number of ids; duplicates once), in no particular
  // order. UNAVAILABLE if UnitService cannot be reached.
  virtual absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(
      const std::vector<std::string>& ids) = 0;
  // The active units of `root_id`'s subtree (the root included) matching `kinds` (any of;
  // empty: all) and `tag` (empty: any), in tree order, one page at a time. NOT_FOUND if the
  // root does not exist; UNAVAILABLE if UnitService cannot be reached.
  virtual absl::Status ListSubtree(
      const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) = 0;
};

// Checks reminder policy ids against duban.reminders.v1.ReminderService.GetPolicy.
class PolicyClient {
 public:
  virtual ~PolicyClient() = default;
  // True if the policy exists; UNAVAILABLE if the reminders service cannot be reached.
  virtual absl::StatusOr<bool> PolicyExists(const std::string& policy_id) = 0;
};

}  // namespace duban::tasks
