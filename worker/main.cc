// duban-worker: promotes due reminders, delivers them through a channel, settles them in Redis
// and reports outcomes. Only wiring lives here; see delivery_worker.h.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "address_validation.h"
#include "delivery_worker.h"
#include "duban/config.h"
#include "duban/grpc_server.h"
#include "duban/logging.h"
#include "grpc_reminder_source.h"
#include "log_channel.h"
#include "smtp_channel.h"
#include "webhook_channel.h"

namespace {

struct WorkerFlags {
  std::string source = "direct";
  std::string channel = "log";
  std::string log_file = "deliveries.jsonl";
  std::string webhook_url;
  std::string webhook_secret_file;
  int webhook_connect_timeout_ms = 2000;
  int webhook_timeout_ms = 10000;
  std::string smtp_relay;
  std::string smtp_from;
  std::string smtp_user;
  std::string smtp_password_file;
  bool smtp_tls = false;
  std::string queue = "reminders";
  std::string worker_id;
  int consumers = 4;
  int batch = 100;
  int jobs_per_entry = 50;
  int lease_ms = 15000;
  int promoter_lease_ms = 3000;
  int max_attempts = 20;
  int retry_base_ms = 1000;
  int retry_cap_ms = 600000;
  bool promote = true;
  int janitor_interval_ms = 0;
};

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("invalid ", flag, ": cannot read file"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s(absl::StripTrailingAsciiWhitespace(ss.str()));
  if (s.empty()) return absl::InvalidArgumentError(absl::StrCat("invalid ", flag, ": empty"));
  return s;
}

absl::Status ValidateFlags(const WorkerFlags& f) {
  if (f.source != "direct" && f.source != "grpc") {
    return absl::InvalidArgumentError("invalid --source: direct or grpc");
  }
  if (f.channel != "log" && f.channel != "webhook" && f.channel != "smtp" && f.channel != "noop") {
    return absl::InvalidArgumentError("invalid --channel: log, webhook, smtp or noop");
  }
  if (f.channel == "webhook") {
    if (f.webhook_secret_file.empty()) {
      return absl::InvalidArgumentError("invalid --webhook-secret-file: required for webhook");
    }
    if (!f.webhook_url.empty()) {
      if (auto s = duban::worker::ValidateWebhookUrl(f.webhook_url); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("invalid --webhook-url: ", s.message()));
      }
    }
    if (f.webhook_connect_timeout_ms < 1 || f.webhook_timeout_ms < 1) {
      return absl::InvalidArgumentError("invalid --webhook-timeout-ms: must be > 0");
    }
  }
  if (f.channel == "smtp") {
    if (f.smtp_relay.rfind("smtp://", 0) != 0 && f.smtp_relay.rfind("smtps://", 0) != 0) {
      return absl::InvalidArgumentError("invalid --smtp-relay: smtp://HOST:PORT or smtps://");
    }
    if (auto s = duban::worker::ValidateEmailAddress(f.smtp_from); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid --smtp-from: ", s.message()));
    }
  }
  if (f.lease_ms < 100 || f.lease_ms > 600000) {
    return absl::InvalidArgumentError("invalid --lease-ms: 100-600000");
  }
  if (f.retry_base_ms < 1 || f.retry_cap_ms < f.retry_base_ms) {
    return absl::InvalidArgumentError("invalid --retry-base-ms/--retry-cap-ms");
  }
  if (f.max_attempts < 0) return absl::InvalidArgumentError("invalid --max-attempts: >= 0");
  return absl::OkStatus();
}

std::string DefaultWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "worker");
  return absl::StrCat(host, "-", getpid());
}

}  // namespace

int main(int argc, char** argv) {
  duban::ShutdownSignals signals;  // before any thread starts
  WorkerFlags f;
  duban::ProcessSpec spec;
  spec.program = "duban-worker";
  spec.description =
      "duban-worker: promotes due reminders from Redis, delivers them (log, webhook, smtp) and "
      "records the outcomes";
  spec.require_redis = true;
  spec.extra_flags = [&f](CLI::App& app) {
    app.add_option("--source", f.source,
                   "direct (the job's ref is the target: ADDRESS[|LOCALE]; development and "
                   "benchmarks) or grpc (reminders, units and tasks services)")
        ->envname("DUBAN_SOURCE");
    app.add_option("--channel", f.channel, "log, webhook, smtp or noop")->envname("DUBAN_CHANNEL");
    app.add_option("--log-file", f.log_file, "log channel: JSON lines file, - for stdout")
        ->envname("DUBAN_LOG_FILE");
    app.add_option("--webhook-url", f.webhook_url, "webhook: URL for recipients without one")
        ->envname("DUBAN_WEBHOOK_URL");
    app.add_option("--webhook-secret-file", f.webhook_secret_file,
                   "webhook: file holding the HMAC-SHA256 signing secret")
        ->envname("DUBAN_WEBHOOK_SECRET_FILE");
    app.add_option("--webhook-connect-timeout-ms", f.webhook_connect_timeout_ms)
        ->envname("DUBAN_WEBHOOK_CONNECT_TIMEOUT_MS");
    app.add_option("--webhook-timeout-ms", f.webhook_timeout_ms, "webhook: total time per POST")
        ->envname("DUBAN_WEBHOOK_TIMEOUT_MS");
    app.add_option("--smtp-relay", f.smtp_relay, "smtp: relay URL, smtp://HOST:PORT")
        ->envname("DUBAN_SMTP_RELAY");
    app.add_option("--smtp-from", f.smtp_from, "smtp: sender address")->envname("DUBAN_SMTP_FROM");
    app.add_option("--smtp-user", f.smtp_user, "smtp: AUTH user")->envname("DUBAN_SMTP_USER");
    app.add_option("--smtp-password-file", f.smtp_password_file, "smtp: file with the password")
        ->envname("DUBAN_SMTP_PASSWORD_FILE");
    app.add_flag("--smtp-tls", f.smtp_tls, "smtp: require TLS (STARTTLS)")
        ->envname("DUBAN_SMTP_TLS");
    app.add_option("--queue", f.queue, "queue name (Redis keys duban:{NAME}:...)")
        ->envname("DUBAN_QUEUE");
    app.add_option("--worker-id", f.worker_id, "unique worker name (default HOST-PID)")
        ->envname("DUBAN_WORKER_ID");
    app.add_option("--consumers", f.consumers, "consumer threads")->envname("DUBAN_CONSUMERS");
    app.add_option("--batch", f.batch, "jobs per read / settle")->envname("DUBAN_BATCH");
    app.add_option("--jobs-per-entry", f.jobs_per_entry,
                   "jobs the promoter puts into one ready-stream entry (1-1000)")
        ->envname("DUBAN_JOBS_PER_ENTRY");
    app.add_option("--lease-ms", f.lease_ms,
                   "delivery lease: a dead worker's entries are reclaimed after it")
        ->envname("DUBAN_LEASE_MS");
    app.add_option("--promoter-lease-ms", f.promoter_lease_ms)->envname("DUBAN_PROMOTER_LEASE_MS");
    app.add_option("--max-attempts", f.max_attempts, "failed attempts before dead (0: no cap)")
        ->envname("DUBAN_MAX_ATTEMPTS");
    app.add_option("--retry-base-ms", f.retry_base_ms)->envname("DUBAN_RETRY_BASE_MS");
    app.add_option("--retry-cap-ms", f.retry_cap_ms)->envname("DUBAN_RETRY_CAP_MS");
    app.add_option("--promote", f.promote, "run a promoter (true/false)")->envname("DUBAN_PROMOTE");
    app.add_option("--janitor-interval-ms", f.janitor_interval_ms, "0: lease / 3")
        ->envname("DUBAN_JANITOR_INTERVAL_MS");
  };
  spec.validate_extra = [&f] { return ValidateFlags(f); };
  const duban::ProcessConfig config = duban::ParseProcessConfigOrExit(spec, argc, argv);
  duban::SetUpLogging(spec.program, config.log_level);

  // Channel.
  std::unique_ptr<duban::worker::ChannelFactory> channels;
  if (f.channel == "log") {
    auto log = duban::worker::LogChannelFactory::Open(f.log_file);
    if (!log.ok()) {
      spdlog::critical("invalid --log-file: {}", std::string(log.status().message()));
      return 2;
    }
    channels = *std::move(log);
  } else if (f.channel == "noop") {
    channels = std::make_unique<duban::worker::NoopChannelFactory>();
  } else if (f.channel == "webhook") {
    auto secret = ReadSecretFile(f.webhook_secret_file, "--webhook-secret-file");
    if (!secret.ok()) {
      std::fprintf(stderr, "duban-worker: %s\n", std::string(secret.status().message()).c_str());
      return 2;
    }
    duban::worker::WebhookOptions o;
    o.default_url = f.webhook_url;
    o.secret = *std::move(secret);
    o.connect_timeout = absl::Milliseconds(f.webhook_connect_timeout_ms);
    o.total_timeout = absl::Milliseconds(f.webhook_timeout_ms);
    channels = std::make_unique<duban::worker::WebhookChannelFactory>(std::move(o));
  } else {
    duban::worker::SmtpOptions o;
    o.relay_url = f.smtp_relay;
    o.from = f.smtp_from;
    o.username = f.smtp_user;
    o.require_tls = f.smtp_tls;
    if (!f.smtp_password_file.empty()) {
      auto pw = ReadSecretFile(f.smtp_password_file, "--smtp-password-file");
      if (!pw.ok()) {
        std::fprintf(stderr, "duban-worker: %s\n", std::string(pw.status().message()).c_str());
        return 2;
      }
      o.password = *std::move(pw);
    }
    channels = std::make_unique<duban::worker::SmtpChannelFactory>(std::move(o));
  }

  // Source and sink.
  std::unique_ptr<duban::worker::ReminderSource> source;
  std::unique_ptr<duban::worker::OutcomeSink> sink;
  if (f.source == "direct") {
    source = std::make_unique<duban::worker::DirectReminderSource>();
    sink = std::make_unique<duban::worker::LogOutcomeSink>();
  } else {
    if (config.reminders_addr.empty() || config.units_addr.empty() || config.tasks_addr.empty()) {
      std::fprintf(stderr,
                   "duban-worker: invalid --source: grpc needs --reminders-addr, --units-addr "
                   "and --tasks-addr\n");
      return 2;
    }
    auto grpc = duban::worker::MakeGrpcPipeline(
        config.reminders_addr, config.units_addr, config.tasks_addr, f.channel,
        f.worker_id.empty() ? DefaultWorkerId() : f.worker_id,
        f.channel == "webhook" && !f.webhook_url.empty());
    source = std::move(grpc.source);
    sink = std::move(grpc.sink);
  }

  duban::worker::WorkerMetrics metrics;
  std::string metrics_addr;
  if (!config.metrics_listen.empty()) {
    auto served = metrics.Serve(config.metrics_listen);
    if (!served.ok()) {
      spdlog::critical("{}", std::string(served.status().message()));
      return 2;
    }
    metrics_addr = *served;
  }

  duban::worker::WorkerOptions o;
  o.redis_url = config.redis;
  o.worker_id = f.worker_id.empty() ? DefaultWorkerId() : f.worker_id;
  o.queue.name = f.queue;
  o.queue.lease = absl::Milliseconds(f.lease_ms);
  o.queue.jobs_per_entry = f.jobs_per_entry;
  o.retry.base = absl::Milliseconds(f.retry_base_ms);
  o.retry.cap = absl::Milliseconds(f.retry_cap_ms);
  o.retry.max_attempts = f.max_attempts;
  o.consumers = f.consumers;
  o.batch = f.batch;
  o.promote = f.promote;
  o.promoter_lease = absl::Milliseconds(f.promoter_lease_ms);
  o.janitor_interval = absl::Milliseconds(f.janitor_interval_ms);
  o.shutdown_grace = absl::Milliseconds(config.shutdown_grace_ms);
  if (absl::Status s = o.Validate(); !s.ok()) {
    std::fprintf(stderr, "duban-worker: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  const std::string worker_id = o.worker_id;
  duban::worker::DeliveryWorker worker(std::move(o), source.get(), channels.get(), sink.get(),
                                       &metrics);
  if (absl::Status s = worker.Start(); !s.ok()) {
    spdlog::critical("cannot start: {}", s.ToString());
    return 1;
  }
  spdlog::info("duban-worker {} running: queue {}, source {}, channel {}", worker_id, f.queue,
               f.source, f.channel);
  // Machine-readable lines on stdout for scripts and tests.
  if (!metrics_addr.empty()) std::printf("METRICS %s\n", metrics_addr.c_str());
  std::printf("READY %s\n", worker_id.c_str());
  std::fflush(stdout);

  int sig = signals.Wait();
  spdlog::info("signal {} received; finishing in-flight work (grace {} ms)", sig,
               config.shutdown_grace_ms);
  // A send stuck past the grace (e.g. a slow webhook) must not keep the process alive: its
  // outcome is unknown and the entry is reclaimed elsewhere.
  std::thread([grace = config.shutdown_grace_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(grace + 5000));
    spdlog::error("shutdown grace exceeded; exiting");
    std::_Exit(3);
  }).detach();
  worker.Stop();
  spdlog::info("stopped");
  return 0;
}
