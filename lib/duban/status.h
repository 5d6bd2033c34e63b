#pragma once
// Errors inside duban are absl::Status. Field violations (google.rpc.BadRequest) travel as a
// status payload so domain code never touches gRPC; ToGrpcStatus() is the one conversion at
// the RPC boundary.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <grpcpp/support/status.h>

namespace duban {

struct FieldViolation {
  std::string field;        // proto field path, e.g. "unit.parent_id" or "rows[3].name"
  std::string description;  // short English, for developers
};

// Collects every bad field of a request so the caller learns them all at once.
class FieldViolations {
 public:
  void Add(std::string field, std::string description) {
    items_.push_back({std::move(field), std::move(description)});
  }
  // Adds a violation if `status` is not OK, using its message as the description.
  void AddIfError(std::string field, const absl::Status& status) {
    if (!status.ok()) Add(std::move(field), std::string(status.message()));
  }
  bool empty() const { return items_.empty(); }
  const std::vector<FieldViolation>& items() const { return items_; }
  // INVALID_ARGUMENT carrying every violation; OK when there is none.
  absl::Status ToStatus() const;
  // The same with a message of the caller's choosing.
  absl::Status ToStatus(std::string message) const;

 private:
  std::vector<FieldViolation> items_;
};

// INVALID_ARGUMENT naming one field.
absl::Status InvalidField(std::string field, std::string description);

// Any code with a google.rpc.BadRequest naming the field it is about, e.g. NOT_FOUND for an
// unknown parent_id or FAILED_PRECONDITION for a parent that is archived.
absl::Status FieldError(absl::StatusCode code, std::string field, std::string description);

// The violations carried by a status (empty for statuses without them).
std::vector<FieldViolation> ViolationsOf(const absl::Status& status);

// Maps an absl::Status to a grpc::Status with a google.rpc.Status in the binary details.
// INTERNAL/UNKNOWN/DATA_LOSS messages are replaced by a generic text (the cause is logged by
// the caller via LogInternal) so SQL or hiredis details never reach clients.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Reverse mapping for clients inside duban (service-to-service calls): keeps code, message
// and field violations.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace duban
