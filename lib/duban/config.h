#pragma once
// The process configuration every duban binary shares: the same flag names everywhere, each
// with a DUBAN_<NAME> environment fallback, validated once at start into an immutable struct.
#include <absl/strings/string_view.h>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <absl/status/status.h>

namespace CLI {
class App;
}

namespace duban {

struct ProcessConfig {
  std::string listen;              // --listen HOST:PORT or unix:PATH
  std::string data_dir;            // --data-dir
  std::string units_addr;          // --units-addr
  std::string tasks_addr;          // --tasks-addr
  std::string reminders_addr;      // --reminders-addr
  std::string redis;               // --redis redis://HOST:PORT or unix:///PATH
  std::string metrics_listen;      // --metrics-listen HOST:PORT (empty: no metrics endpoint)
  std::string log_level;           // --log-level trace|debug|info|warn|error|off
  int handler_threads = 0;         // --handler-threads (bounded gRPC handler pool)
  int idle_handler_threads = 0;    // --idle-handler-threads (handler threads kept when idle)
  int shutdown_grace_ms = 0;       // --shutdown-grace-ms
  std::string sqlite_synchronous;  // --sqlite-synchronous FULL|NORMAL
};

// What a binary needs and its defaults. Every binary accepts every flag; `require_*` makes a
// flag mandatory (after defaults and environment) for the binaries that use it.
struct ProcessSpec {
  std::string program;
  std::string description;
  std::string default_listen = "127.0.0.1:0";
  std::string default_data_dir = "./data";
  bool require_data_dir = false;
  bool require_units_addr = false;
  bool require_tasks_addr = false;
  bool require_reminders_addr = false;
  bool require_redis = false;
  // Handler threads a server keeps waiting for calls (gRPC's MAX_POLLERS). More threads cost
  // nothing per call when handlers block, as they do on SQLite writes; fewer suit callback-API
  // methods sharing the pollset (see lib/duban/grpc_server.cc).
  int default_idle_handler_threads = 2;
  // Lets a binary add flags of its own (with the same DUBAN_ environment convention).
  std::function<void(CLI::App&)> extra_flags;
  // Validates those extra flags after parsing; return an error naming the flag.
  std::function<absl::Status()> validate_extra;
};

// Parses flags and environment, validates, and returns the config. On --help prints usage and
// exits 0; on a bad value prints "invalid --flag: reason" and exits 2.
ProcessConfig ParseProcessConfigOrExit(const ProcessSpec& spec, int argc, char** argv);

// Validation pieces (exposed for tests and for dubanctl).
absl::Status ValidateListenAddress(absl::string_view addr);
absl::Status ValidateRedisUrl(absl::string_view url);
absl::Status ValidateLogLevel(absl::string_view level);
// Creates the directory if needed and checks that it is writable.
absl::Status PrepareDataDir(const std::string& dir);

// Checks the parsed config (everything except the data directory's creation).
absl::Status ValidateProcessConfig(const ProcessSpec& spec, const ProcessConfig& config);

}  // namespace duban
