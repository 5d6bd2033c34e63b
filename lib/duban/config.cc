#include "duban/config.h"

#include <algorithm>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <absl/strings/ascii.h>
#include <absl/synchronization/mutex.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>

namespace duban {
namespace {

absl::Status ValidateHostPort(absl::string_view addr) {
  auto colon = addr.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError("must be HOST:PORT");
  }
  absl::string_view host = addr.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') {
    return absl::InvalidArgumentError("IPv6 hosts must be in brackets");
  }
  int port = 0;
  if (!absl::SimpleAtoi(addr.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("port must be a number 0-65535");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateListenAddress(absl::string_view addr) {
  if (absl::StartsWith(addr, "unix:")) {
    absl::string_view path = addr.substr(5);
    if (absl::StartsWith(path, "//")) path.remove_prefix(2);
    if (path.empty() || path.front() != '/') {
      return absl::InvalidArgumentError("unix sockets need an absolute path (unix:/path)");
    }
    return absl::OkStatus();
  }
  return ValidateHostPort(addr);
}

absl::Status ValidateRedisUrl(absl::string_view url) {
  if (absl::StartsWith(url, "redis://")) return ValidateHostPort(url.substr(8));
  if (absl::StartsWith(url, "unix://")) {
    absl::string_view path = url.substr(7);
    if (path.empty() || path.front() != '/') {
      return absl::InvalidArgumentError("must be unix:///absolute/path");
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("must be redis://HOST:PORT or unix:///PATH");
}

absl::Status ValidateLogLevel(absl::string_view level) {
  for (absl::string_view ok : {"trace", "debug", "info", "warn", "error", "off"}) {
    if (level == ok) return absl::OkStatus();
  }
  return absl::InvalidArgumentError("must be one of trace, debug, info, warn, error, off");
}

absl::Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot create: ", ec.message()));
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError("is not a writable directory");
  }
  return absl::OkStatus();
}

absl::Status ValidateProcessConfig(const ProcessSpec& spec, const ProcessConfig& c) {
  auto named = [](absl::string_view flag, const absl::Status& s) {
    return s.ok() ? s
                  : absl::InvalidArgumentError(absl::StrCat("invalid --", flag, ": ", s.message()));
  };
  auto required = [](absl::string_view flag, absl::string_view value) {
    return value.empty() ? absl::InvalidArgumentError(absl::StrCat(
                               "invalid --", flag, ": required (or set DUBAN_",
                               absl::AsciiStrToUpper(absl::StrReplaceAll(flag, {{"-", "_"}})), ")"))
                         : absl::OkStatus();
  };
  if (auto s = named("listen", ValidateListenAddress(c.listen)); !s.ok()) return s;
  struct Peer {
    absl::string_view flag;
    const std::string& value;
    bool required;
  };
  for (const Peer& p : {Peer{"units-addr", c.units_addr, spec.require_units_addr},
                        Peer{"tasks-addr", c.tasks_addr, spec.require_tasks_addr},
                        Peer{"reminders-addr", c.reminders_addr, spec.require_reminders_addr}}) {
    if (p.required) {
      if (auto s = required(p.flag, p.value); !s.ok()) return s;
    }
    if (!p.value.empty()) {
      if (auto s = named(p.flag, ValidateListenAddress(p.value)); !s.ok()) return s;
    }
  }
  if (spec.require_redis) {
    if (auto s = required("redis", c.redis); !s.ok()) return s;
  }
  if (!c.redis.empty()) {
    if (auto s = named("redis", ValidateRedisUrl(c.redis)); !s.ok()) return s;
  }
  if (!c.metrics_listen.empty()) {
    if (auto s = named("metrics-listen", ValidateHostPort(c.metrics_listen)); !s.ok()) return s;
  }
  if (auto s = named("log-level", ValidateLogLevel(c.log_level)); !s.ok()) return s;
  if (c.handler_threads < 1 || c.handler_threads > 1024) {
    return absl::InvalidArgumentError("invalid --handler-threads: must be 1-1024");
  }
  if (c.idle_handler_threads < 1 || c.idle_handler_threads > c.handler_threads) {
    return absl::InvalidArgumentError(
        "invalid --idle-handler-threads: must be 1 to --handler-threads");
  }
  if (c.shutdown_grace_ms < 0 || c.shutdown_grace_ms > 600000) {
    return absl::InvalidArgumentError("invalid --shutdown-grace-ms: must be 0-600000");
  }
  if (c.sqlite_synchronous != "FULL" && c.sqlite_synchronous != "NORMAL") {
    return absl::InvalidArgumentError("invalid --sqlite-synchronous: must be FULL or NORMAL");
  }
  if (spec.require_data_dir) {
    if (auto s = required("data-dir", c.data_dir); !s.ok()) return s;
  }
  return absl::OkStatus();
}

ProcessConfig ParseProcessConfigOrExit(const ProcessSpec& spec, int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's lock-order graph on: every
  // lock gRPC and the services take paid for it (~7% of a no-op call's CPU). Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ProcessConfig c;
  c.listen = spec.default_listen;
  c.data_dir = spec.default_data_dir;
  c.log_level = "info";
  c.handler_threads = 64;
  c.idle_handler_threads = spec.default_idle_handler_threads;
  c.shutdown_grace_ms = 10000;
  c.sqlite_synchronous = "FULL";

  CLI::App app(spec.description, spec.program);
  app.option_defaults()->always_capture_default();
  app.add_option("--listen", c.listen, "gRPC listen address, HOST:PORT or unix:/PATH")
      ->envname("DUBAN_LISTEN");
  app.add_option("--data-dir", c.data_dir, "Directory for this service's SQLite database")
      ->envname("DUBAN_DATA_DIR");
  app.add_option("--units-addr", c.units_addr, "Address of duban-units")
      ->envname("DUBAN_UNITS_ADDR");
  app.add_option("--tasks-addr", c.tasks_addr, "Address of duban-tasks")
      ->envname("DUBAN_TASKS_ADDR");
  app.add_option("--reminders-addr", c.reminders_addr, "Address of duban-reminders")
      ->envname("DUBAN_REMINDERS_ADDR");
  app.add_option("--redis", c.redis, "Redis, redis://HOST:PORT or unix:///PATH")
      ->envname("DUBAN_REDIS");
  app.add_option("--metrics-listen", c.metrics_listen, "Prometheus /metrics HOST:PORT")
      ->envname("DUBAN_METRICS_LISTEN");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->envname("DUBAN_LOG_LEVEL");
  app.add_option("--handler-threads", c.handler_threads, "Maximum gRPC handler threads")
      ->envname("DUBAN_HANDLER_THREADS");
  CLI::Option* idle = app.add_option("--idle-handler-threads", c.idle_handler_threads,
                 "gRPC handler threads kept waiting for calls (the rest end when idle)")
      ->envname("DUBAN_IDLE_HANDLER_THREADS");
  app.add_option("--shutdown-grace-ms", c.shutdown_grace_ms,
                 "How long SIGTERM waits for in-flight calls")
      ->envname("DUBAN_SHUTDOWN_GRACE_MS");
  app.add_option("--sqlite-synchronous", c.sqlite_synchronous,
                 "FULL (survives power loss) or NORMAL (survives process crashes)")
      ->envname("DUBAN_SQLITE_SYNCHRONOUS");
  if (spec.extra_flags) spec.extra_flags(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    // CLI11 names the flag in its message, e.g. "--handler-threads: Value x not integer".
    std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), e.what());
    std::exit(2);
  }
  // The binary's default never exceeds a smaller --handler-threads; an explicit value must.
  if (idle->count() == 0) {
    c.idle_handler_threads = std::min(c.idle_handler_threads, c.handler_threads);
  }
  absl::Status status = ValidateProcessConfig(spec, c);
  if (status.ok() && spec.validate_extra) status = spec.validate_extra();
  if (status.ok() && spec.require_data_dir) {
    if (auto s = PrepareDataDir(c.data_dir); !s.ok()) {
      status = absl::InvalidArgumentError(absl::StrCat("invalid --data-dir: ", s.message()));
    }
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), std::string(status.message()).c_str());
    std::exit(2);
  }
  return c;
}

}  // namespace duban
