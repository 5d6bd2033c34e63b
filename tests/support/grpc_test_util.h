#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "duban/status.h"

namespace duban::testing {

// Waits until grpc.health.v1 reports SERVING for `service` ("" = the whole server).
bool WaitForServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The field names of the google.rpc.BadRequest carried by a failed call.
std::vector<std::string> ViolatedFields(const grpc::Status& status);

}  // namespace duban::testing
