#include "grpc_client.h"

#include <algorithm>
#include <cstdio>

namespace duban::bench {

namespace upb = ::duban::units::v1;

void Check(const grpc::Status& s, const std::string& what) {
  if (!s.ok()) {
    throw std::runtime_error(what + " failed: code " + std::to_string(s.error_code()) + ": " +
                             s.error_message());
  }
}

std::unique_ptr<grpc::ClientContext> Context(std::chrono::seconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

google::protobuf::Timestamp FromNow(std::chrono::hours ahead) {
  const auto t = std::chrono::system_clock::now() + ahead;
  google::protobuf::Timestamp ts;
  ts.set_seconds(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  return ts;
}

void ImportUnitTree(upb::UnitService::Stub& units, const UnitTree& tree) {
  auto ctx = Context(std::chrono::seconds(120));
  upb::ImportUnitsResponse resp;
  auto writer = units.ImportUnits(ctx.get(), &resp);
  for (size_t i = 0; i < tree.units.size(); i += 1000) {
    upb::ImportUnitsRequest msg;
    if (i == 0) msg.set_mode(upb::ImportUnitsRequest::ALL_OR_NOTHING);
    const size_t end = std::min(tree.units.size(), i + 1000);
    for (size_t j = i; j < end; ++j) *msg.add_units() = tree.units[j];
    if (!writer->Write(msg)) break;
  }
  writer->WritesDone();
  Check(writer->Finish(), "ImportUnits");
  if (resp.created() != static_cast<int64_t>(tree.units.size())) {
    throw std::runtime_error("ImportUnits created " + std::to_string(resp.created()) + " of " +
                             std::to_string(tree.units.size()));
  }
  std::printf("imported %zu units (%zu party branches)\n", tree.units.size(), tree.branches.size());
  std::fflush(stdout);
}

}  // namespace duban::bench
