#include "support/grpc_test_util.h"

#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

namespace duban::testing {

bool WaitForServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                    std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  auto deadline = std::chrono::system_clock::now() + timeout;
  while (std::chrono::system_clock::now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    if (stub->Check(&ctx, req, &resp).ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  for (const auto& v : ViolationsOf(FromGrpcStatus(status))) fields.push_back(v.field);
  return fields;
}

}  // namespace duban::testing
