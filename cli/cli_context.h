#pragma once
// What every dubanctl command shares: the global options (endpoints, output format, timeout,
// actor), lazily connected stubs, and the one place that turns a failed RPC into a message
// with the server's field violations and a documented exit code.
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>
#include <grpcpp/grpcpp.h>

#include "duban/reminders/v1/reminders.grpc.pb.h"
#include "duban/tasks/v1/tasks.grpc.pb.h"
#include "duban/units/v1/units.grpc.pb.h"
#include "exit_codes.h"

namespace CLI {
class App;
}

namespace duban::cli {

struct GlobalOptions {
  std::string units_addr = "127.0.0.1:7101";      // --units-addr, DUBAN_UNITS_ADDR
  std::string tasks_addr = "127.0.0.1:7102";      // --tasks-addr, DUBAN_TASKS_ADDR
  std::string reminders_addr = "127.0.0.1:7103";  // --reminders-addr, DUBAN_REMINDERS_ADDR
  std::string output = "text";                    // -o text|json
  double timeout_s = 30;                          // --timeout, per RPC
  std::string actor_id;                           // --actor, DUBAN_ACTOR (default cli:$USER)
  std::string actor_name;                         // --actor-name, DUBAN_ACTOR_NAME
  std::string actor_unit;                         // --actor-unit, DUBAN_ACTOR_UNIT
  std::string time_zone = "Asia/Shanghai";        // --tz, DUBAN_TZ: for shown/parsed times
  bool no_color = false;                          // --no-color (also NO_COLOR, or not a tty)
};

// A local problem with the user's input (bad flag combination, unreadable file, bad CSV row):
// printed as "error: <what>" and exits kExitUsage.
struct UsageError {
  std::string message;
};

// The value, or a UsageError "<flag>: <why>" for a flag whose text did not parse.
template <typename T>
T OrThrow(absl::StatusOr<T> v, const std::string& flag) {
  if (!v.ok()) throw UsageError{flag + ": " + std::string(v.status().message())};
  return *std::move(v);
}

class Context {
 public:
  GlobalOptions options;

  ::duban::units::v1::UnitService::Stub& units();
  ::duban::tasks::v1::TaskService::Stub& tasks();
  ::duban::reminders::v1::ReminderService::Stub& reminders();

  // A ClientContext with the --timeout deadline (longer for bulk calls: `scale`).
  std::unique_ptr<grpc::ClientContext> Call(double scale = 1.0) const;

  bool json() const { return options.output == "json"; }
  bool color() const;
  ::duban::tasks::v1::Actor actor() const;

  // Prints `what` failed with the status code, message and every field violation of the
  // status details to stderr, and returns the exit code for the status. In -o json mode the
  // same goes to stderr as one JSON object
  // ({"error":{"code":..,"message":..,"fieldViolations":[..]}}).
  int Fail(std::string_view what, const grpc::Status& status) const;

  // The action chosen by the command line; set by Leaf() callbacks, run by main().
  std::function<int()> action;

 private:
  std::shared_ptr<grpc::Channel> Channel(const std::string& addr);
  std::unique_ptr<::duban::units::v1::UnitService::Stub> units_;
  std::unique_ptr<::duban::tasks::v1::TaskService::Stub> tasks_;
  std::unique_ptr<::duban::reminders::v1::ReminderService::Stub> reminders_;
};

// Adds a leaf subcommand whose action is `run` (evaluated after the whole command line parsed).
CLI::App* Leaf(CLI::App& parent, const std::string& name, const std::string& description,
               Context& ctx, std::function<int()> run);

// Adds a group subcommand (requires one of its subcommands).
CLI::App* Group(CLI::App& parent, const std::string& name, const std::string& description);

// The command groups, one file each.
void AddUnitsCommands(CLI::App& app, Context& ctx);        // units_commands.cc
void AddPlansCommands(CLI::App& app, Context& ctx);        // plans_commands.cc
void AddTasksCommands(CLI::App& app, Context& ctx);        // tasks_commands.cc
void AddAssignmentsCommands(CLI::App& app, Context& ctx);  // assignments_commands.cc
void AddBoardCommands(CLI::App& app, Context& ctx);        // board_commands.cc
void AddRemindersCommands(CLI::App& app, Context& ctx);    // reminders_commands.cc
void AddPoliciesCommands(CLI::App& app, Context& ctx);     // policies_commands.cc

}  // namespace duban::cli
