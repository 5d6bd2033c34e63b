#include "cli_context.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <google/rpc/error_details.pb.h>
#include <google/rpc/status.pb.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace duban::cli {

namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

// The google.rpc.BadRequest field violations in a status's binary details, if any.
std::vector<std::pair<std::string, std::string>> FieldViolationsOf(const grpc::Status& status) {
  std::vector<std::pair<std::string, std::string>> out;
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return out;
  }
  for (const auto& any : details.details()) {
    google::rpc::BadRequest br;
    if (!any.UnpackTo(&br)) continue;
    for (const auto& v : br.field_violations()) out.emplace_back(v.field(), v.description());
  }
  return out;
}

}  // namespace

std::shared_ptr<grpc::Channel> Context::Channel(const std::string& addr) {
  grpc::ChannelArguments args;
  // Room for big responses (a board over a whole city).
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), args);
}

::duban::units::v1::UnitService::Stub& Context::units() {
  if (!units_) units_ = ::duban::units::v1::UnitService::NewStub(Channel(options.units_addr));
  return *units_;
}

::duban::tasks::v1::TaskService::Stub& Context::tasks() {
  if (!tasks_) tasks_ = ::duban::tasks::v1::TaskService::NewStub(Channel(options.tasks_addr));
  return *tasks_;
}

::duban::reminders::v1::ReminderService::Stub& Context::reminders() {
  if (!reminders_) {
    reminders_ = ::duban::reminders::v1::ReminderService::NewStub(Channel(options.reminders_addr));
  }
  return *reminders_;
}

std::unique_ptr<grpc::ClientContext> Context::Call(double scale) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  const auto ms = static_cast<int64_t>(options.timeout_s * scale * 1000);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  return ctx;
}

bool Context::color() const {
  if (options.no_color || json()) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

::duban::tasks::v1::Actor Context::actor() const {
  ::duban::tasks::v1::Actor a;
  if (!options.actor_id.empty()) {
    a.set_id(options.actor_id);
  } else {
    const char* user = std::getenv("USER");
    a.set_id(std::string("cli:") + (user != nullptr && *user != '\0' ? user : "unknown"));
  }
  a.set_name(options.actor_name);
  a.set_unit_id(options.actor_unit);
  return a;
}

int Context::Fail(std::string_view what, const grpc::Status& status) const {
  const auto violations = FieldViolationsOf(status);
  if (json()) {
    nlohmann::json err = {{"error",
                           {{"call", std::string(what)},
                            {"code", CodeName(status.error_code())},
                            {"message", status.error_message()}}}};
    auto& list = err["error"]["fieldViolations"] = nlohmann::json::array();
    for (const auto& [field, description] : violations) {
      list.push_back({{"field", field}, {"description", description}});
    }
    std::cerr << err.dump() << "\n";
  } else {
    std::cerr << "error: " << what << ": " << CodeName(status.error_code()) << ": "
              << status.error_message() << "\n";
    for (const auto& [field, description] : violations) {
      std::cerr << "  " << field << ": " << description << "\n";
    }
  }
  return ExitCodeFor(status.error_code());
}

CLI::App* Leaf(CLI::App& parent, const std::string& name, const std::string& description,
               Context& ctx, std::function<int()> run) {
  CLI::App* sub = parent.add_subcommand(name, description);
  sub->callback([&ctx, run = std::move(run)] { ctx.action = run; });
  return sub;
}

CLI::App* Group(CLI::App& parent, const std::string& name, const std::string& description) {
  CLI::App* sub = parent.add_subcommand(name, description);
  sub->require_subcommand(1);
  return sub;
}

}  // namespace duban::cli
