// duban-reminders: reminder policies, the working-day calendar and the reminder ledger over
// gRPC, with the Redis schedule kept in step. Only wiring lives here.
#include <cstdio>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "duban/calendar/working_calendar.h"
#include "duban/config.h"
#include "duban/grpc_server.h"
#include "duban/logging.h"
#include "duban/queue/job_queue.h"
#include "grpc_unit_client.h"
#include "reminder_grpc_service.h"
#include "reminder_ledger.h"
#include "rollcall_ticker.h"
#include "sqlite_reminder_store.h"

int main(int argc, char** argv) {
  duban::ShutdownSignals signals;  // before any thread starts
  duban::ProcessSpec spec;
  spec.program = "duban-reminders";
  spec.description =
      "duban-reminders: reminder policies, calendar and the reminder ledger "
      "(duban.reminders.v1)";
  spec.default_listen = "127.0.0.1:7103";
  spec.require_data_dir = true;
  spec.require_redis = true;
  spec.require_units_addr = true;
  // Writes block their handler thread in the write group; keeping threads saves creating one
  // per call under load (docs/benchmarks.md).
  spec.default_idle_handler_threads = 16;
  const duban::ProcessConfig config = duban::ParseProcessConfigOrExit(spec, argc, argv);
  duban::SetUpLogging(spec.program, config.log_level);

  auto calendar = duban::calendar::WorkingCalendar::Default();
  if (!calendar.ok()) {
    spdlog::critical("cannot load the calendar: {}", std::string(calendar.status().message()));
    return 1;
  }
  duban::sqlite::Options db_options;
  db_options.path = (std::filesystem::path(config.data_dir) / "reminders.db").string();
  db_options.synchronous = config.sqlite_synchronous;
  db_options.readers = config.handler_threads;
  auto store = duban::reminders::SqliteReminderStore::Open(db_options);
  if (!store.ok()) {
    spdlog::critical("cannot open {}: {}", db_options.path, std::string(store.status().message()));
    return 1;
  }
  auto queue = duban::queue::JobQueue::Create(config.redis, duban::queue::QueueOptions());
  if (!queue.ok()) {
    spdlog::critical("invalid --redis: {}", std::string(queue.status().message()));
    return 1;
  }
  duban::reminders::GrpcUnitClient units(duban::MakeChannel(config.units_addr));
  duban::reminders::ReminderLedger ledger(**store, *calendar, **queue, units);
  if (auto s = ledger.Initialize(); !s.ok()) {
    spdlog::critical("cannot initialise the ledger: {}", std::string(s.message()));
    return 1;
  }
  duban::reminders::ReminderGrpcService service(ledger, *calendar);

  duban::ServerOptions server_options;
  server_options.listen = config.listen;
  server_options.handler_threads = config.handler_threads;
  server_options.idle_handler_threads = config.idle_handler_threads;
  server_options.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  server_options.health_services = {"duban.reminders.v1.ReminderService"};
  auto server = duban::GrpcServer::Start(server_options, {&service});
  if (!server.ok()) {
    spdlog::critical("{}", std::string(server.status().message()));
    return 1;
  }
  // Rebuild the Redis schedule from the ledger at start-up; while Redis is away the background
  // loop keeps trying.
  std::thread startup_reconcile([&ledger] {
    auto report = ledger.Reconcile(/*dry_run=*/false);
    if (!report.ok()) {
      spdlog::warn("start-up reconcile failed: {}; retrying in the background",
                   std::string(report.status().message()));
    }
  });
  ledger.StartBackground();
  // Starts due roll-call rounds and chases; the first tick catches up after a restart.
  duban::reminders::RollCallTicker rollcalls(ledger);
  rollcalls.Start();
  spdlog::info("duban-reminders serving on {} (database {}, redis {})", (*server)->address(),
               db_options.path, config.redis);
  std::printf("LISTENING %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  int sig = signals.Wait();
  spdlog::info("signal {} received; draining", sig);
  (*server)->Shutdown();
  startup_reconcile.join();
  rollcalls.Stop();
  ledger.StopBackground();
  spdlog::info("stopped");
  return 0;
}
