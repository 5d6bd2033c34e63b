// duban-noop-server: the baseline for bench/units_load.cc. It runs the same process skeleton
// as every duban server (duban::GrpcServer: health, reflection, the per-RPC log interceptor and
// the bounded synchronous handler pool, and the same flags), but its GetUnit answers from
// memory. The ratio "method rate / no-op GetUnit rate" therefore isolates what a method costs
// beyond gRPC itself on the same machine, in the same run.
#include <cstdio>

#include <spdlog/spdlog.h>

#include "duban/config.h"
#include "duban/grpc_server.h"
#include "duban/logging.h"
#include "duban/units/v1/units.grpc.pb.h"

namespace {

namespace pb = ::duban::units::v1;

// Only GetUnit is overridden; every other method answers UNIMPLEMENTED (the generated default).
class NoopUnitService final : public pb::UnitService::Service {
 public:
  NoopUnitService() {
    // A unit the size of a real one (Chinese name, a tag, both timestamps), so the baseline
    // serializes about as many bytes as duban-units does for GetUnit.
    unit_.set_name("无操作基准单位");
    unit_.set_kind(pb::UNIT_KIND_VILLAGE);
    unit_.set_parent_id("gd.c01.d01.t01");
    unit_.add_tags("五区");
    unit_.set_timezone("Asia/Shanghai");
    unit_.set_etag("1");
    unit_.mutable_create_time()->set_seconds(1700000000);
    unit_.mutable_update_time()->set_seconds(1700000000);
    unit_.set_depth(4);
  }

  grpc::Status GetUnit(grpc::ServerContext*, const pb::GetUnitRequest* request,
                       pb::Unit* response) override {
    *response = unit_;
    // Echo the id so the response size tracks the request like the real service's does.
    response->set_id(request->id());
    return grpc::Status::OK;
  }

 private:
  pb::Unit unit_;
};

}  // namespace

int main(int argc, char** argv) {
  duban::ShutdownSignals signals;  // before any thread starts
  duban::ProcessSpec spec;
  spec.program = "duban-noop-server";
  spec.description =
      "duban-noop-server: UnitService whose GetUnit returns a fixed unit without storage "
      "(the benchmark baseline)";
  // --data-dir is accepted like on every binary but unused: nothing is stored.
  const duban::ProcessConfig config = duban::ParseProcessConfigOrExit(spec, argc, argv);
  duban::SetUpLogging(spec.program, config.log_level);

  NoopUnitService service;
  duban::ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.handler_threads = config.handler_threads;
  server_options.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  server_options.health_services = {"duban.units.v1.UnitService"};
  auto server = duban::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("duban-noop-server serving on {}", (*server)->address());
  // The same machine-readable line as duban-units, for the load generator.
  std::printf("LISTENING %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  int sig = signals.Wait();
  spdlog::info("signal {} received; draining", sig);
  (*server)->Shutdown();
  return 0;
}
