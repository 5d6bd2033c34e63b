// duban-tasks: plans, tasks, assignments, progress and the reminders outbox over gRPC. Only
// wiring lives here.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "coalescing_unit_client.h"
#include "duban/calendar/working_calendar.h"
#include "duban/config.h"
#include "duban/grpc_server.h"
#include "duban/logging.h"
#include "grpc_clients.h"
#include "outbox_dispatcher.h"
#include "sqlite_task_store.h"
#include "task_directory.h"
#include "task_grpc_service.h"

int main(int argc, char** argv) {
  duban::ShutdownSignals signals;  // before any thread starts
  duban::ProcessSpec spec;
  spec.program = "duban-tasks";
  spec.description =
      "duban-tasks: plans, tasks, assignments, progress and extensions (duban.tasks.v1)";
  spec.default_listen = "127.0.0.1:7102";
  spec.require_data_dir = true;
  spec.require_units_addr = true;
  // Writes block their handler thread in the write group; keeping threads saves creating one
  // per call under load (docs/benchmarks.md).
  spec.default_idle_handler_threads = 16;
  bool unit_cache = true;
  spec.extra_flags = [&unit_cache](CLI::App& app) {
    app.add_option("--unit-cache", unit_cache,
                   "Answer unit checks from memory, kept current by a duban-units watch "
                   "(true or false)")
        ->envname("DUBAN_UNIT_CACHE");
  };
  const duban::ProcessConfig config = duban::ParseProcessConfigOrExit(spec, argc, argv);
  duban::SetUpLogging(spec.program, config.log_level);

  auto calendar = duban::calendar::WorkingCalendar::Default();
  if (!calendar.ok()) {
    spdlog::critical("cannot load the working-day calendar: {}",
                     std::string(calendar.status().message()));
    return 1;
  }

  duban::sqlite::Options db_options;
  db_options.path = (std::filesystem::path(config.data_dir) / "tasks.db").string();
  db_options.synchronous = config.sqlite_synchronous;
  db_options.readers = config.handler_threads;
  auto store = duban::tasks::SqliteTaskStore::Open(db_options);
  if (!store.ok()) {
    spdlog::critical("cannot open {}: {}", db_options.path, std::string(store.status().message()));
    return 1;
  }

  auto units_channel = duban::tasks::MakeDependencyChannel(config.units_addr);
  duban::tasks::GrpcUnitClient grpc_units(units_channel);
  // Concurrent unit checks (one per CreateTask and other writes) share BatchGetUnits calls,
  // two at a time at most.
  duban::tasks::CoalescingUnitClient coalescing_units(grpc_units, /*max_in_flight=*/2);
  // In front of them, the units already checked, dropped as duban-units reports changes
  // (unit_cache.h). The lease is 3 heartbeats of the watch (units.proto).
  constexpr std::chrono::milliseconds kWatchHeartbeat(500);
  duban::tasks::WatchedUnitCache cached_units(coalescing_units, 3 * kWatchHeartbeat);
  duban::tasks::UnitClient& units =
      unit_cache ? static_cast<duban::tasks::UnitClient&>(cached_units) : coalescing_units;
  std::unique_ptr<duban::tasks::UnitWatch> unit_watch;
  if (unit_cache) {
    unit_watch =
        std::make_unique<duban::tasks::UnitWatch>(units_channel, cached_units, kWatchHeartbeat);
    unit_watch->Start();
  }
  std::unique_ptr<duban::tasks::GrpcPolicyClient> policies;
  std::unique_ptr<duban::tasks::GrpcReminderSink> sink;
  std::unique_ptr<duban::tasks::OutboxDispatcher> dispatcher;
  if (!config.reminders_addr.empty()) {
    auto channel = duban::tasks::MakeDependencyChannel(config.reminders_addr);
    policies = std::make_unique<duban::tasks::GrpcPolicyClient>(channel);
    sink = std::make_unique<duban::tasks::GrpcReminderSink>(channel);
    dispatcher = std::make_unique<duban::tasks::OutboxDispatcher>(**store, *sink);
  } else {
    spdlog::warn(
        "no --reminders-addr: reminder policy ids are not checked and the outbox is "
        "kept until duban-tasks runs with one");
  }
  duban::tasks::TaskDirectory directory(**store, units, policies.get(), *calendar);
  if (auto refreshed = directory.RefreshProvisionalDeadlines(); !refreshed.ok()) {
    spdlog::error("re-resolving provisional deadlines failed: {}",
                  std::string(refreshed.status().message()));
  } else if (*refreshed > 0) {
    spdlog::info("{} tasks re-resolved with calendar data {}", *refreshed, calendar->version());
  }
  if (dispatcher) {
    directory.SetOutboxListener([d = dispatcher.get()] { d->Notify(); });
    dispatcher->Start();
  }
  duban::tasks::TaskGrpcService service(directory);

  duban::ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.handler_threads = config.handler_threads;
  server_options.idle_handler_threads = config.idle_handler_threads;
  server_options.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  server_options.health_services = {"duban.tasks.v1.TaskService"};
  auto server = duban::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("duban-tasks serving on {} (database {}, calendar {})", (*server)->address(),
               db_options.path, calendar->version());
  // A machine-readable line on stdout for scripts and tests that start the server.
  std::printf("LISTENING %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  int sig = signals.Wait();
  spdlog::info("signal {} received; draining", sig);
  (*server)->Shutdown();
  if (dispatcher) dispatcher->Stop();
  if (unit_watch) unit_watch->Stop();
  spdlog::info("stopped");
  return 0;
}
