#pragma once
// gRPC client helpers the benchmark tools share: connecting with a deadline, failing loudly on
// a bad status (a benchmark that swallowed errors would report nonsense), call deadlines, and
// loading a generated organisation tree into duban-units.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/grpcpp.h>

#include "duban/units/v1/units.grpc.pb.h"
#include "unit_tree.h"

namespace duban::bench {

// A stub on a channel that connected within 10 s; throws otherwise.
template <typename Service>
std::unique_ptr<typename Service::Stub> Connect(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    throw std::runtime_error("cannot connect to " + address);
  }
  return Service::NewStub(channel);
}

// Throws std::runtime_error naming `what` unless `s` is OK.
void Check(const grpc::Status& s, const std::string& what);

// A client context with a deadline `deadline` from now.
std::unique_ptr<grpc::ClientContext> Context(std::chrono::seconds deadline);

// Now + `ahead`, whole seconds.
google::protobuf::Timestamp FromNow(std::chrono::hours ahead);

// One ImportUnits stream of the whole tree (ALL_OR_NOTHING, 1,000 units per message); throws
// unless every unit was created.
void ImportUnitTree(::duban::units::v1::UnitService::Stub& units, const UnitTree& tree);

}  // namespace duban::bench
