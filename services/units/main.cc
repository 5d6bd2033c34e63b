// duban-units: the organisation tree and its contacts over gRPC. Only wiring lives here.
#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "duban/config.h"
#include "duban/grpc_server.h"
#include "duban/logging.h"
#include "sqlite_unit_store.h"
#include "unit_directory.h"
#include "unit_grpc_service.h"

int main(int argc, char** argv) {
  duban::ShutdownSignals signals;  // before any thread starts
  duban::ProcessSpec spec;
  spec.program = "duban-units";
  spec.description = "duban-units: the organisation tree and its contacts (duban.units.v1)";
  spec.default_listen = "127.0.0.1:7101";
  spec.require_data_dir = true;
  const duban::ProcessConfig config = duban::ParseProcessConfigOrExit(spec, argc, argv);
  duban::SetUpLogging(spec.program, config.log_level);

  duban::sqlite::Options db_options;
  db_options.path = (std::filesystem::path(config.data_dir) / "units.db").string();
  db_options.synchronous = config.sqlite_synchronous;
  db_options.readers = config.handler_threads;
  auto store = duban::units::SqliteUnitStore::Open(db_options);
  if (!store.ok()) {
    spdlog::critical("cannot open {}: {}", db_options.path, std::string(store.status().message()));
    return 1;
  }
  duban::units::UnitDirectory directory(**store);
  duban::units::UnitGrpcService service(directory);

  duban::ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.handler_threads = config.handler_threads;
  server_options.idle_handler_threads = config.idle_handler_threads;
  server_options.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  server_options.health_services = {"duban.units.v1.UnitService"};
  auto server = duban::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("duban-units serving on {} (database {})", (*server)->address(), db_options.path);
  // A machine-readable line on stdout for scripts and tests that start the server.
  std::printf("LISTENING %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  int sig = signals.Wait();
  spdlog::info("signal {} received; draining", sig);
  service.EndWatches();
  (*server)->Shutdown();
  spdlog::info("stopped");
  return 0;
}
