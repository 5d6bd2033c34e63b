// dubanctl: the command-line client for duban's three services. Every subcommand is one or a
// few RPCs; text output for people, -o json (the proto3 JSON mapping) for scripts, and
// documented exit codes (exit_codes.h).
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "exit_codes.h"

int main(int argc, char** argv) {
  using duban::cli::Context;
  Context ctx;
  auto& o = ctx.options;

  CLI::App app(
      "dubanctl: command-line client for duban (督办) — units, plans, tasks, the battle "
      "map and reminders.",
      "dubanctl");
  app.require_subcommand(1);
  app.footer(std::string("\nEndpoints default to the local stack (scripts/run.sh). Every flag "
                         "has a DUBAN_* environment fallback.\n\n") +
             duban::cli::ExitCodeHelp());
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  app.add_option("--units-addr", o.units_addr, "duban-units address")
      ->envname("DUBAN_UNITS_ADDR")
      ->capture_default_str();
  app.add_option("--tasks-addr", o.tasks_addr, "duban-tasks address")
      ->envname("DUBAN_TASKS_ADDR")
      ->capture_default_str();
  app.add_option("--reminders-addr", o.reminders_addr, "duban-reminders address")
      ->envname("DUBAN_REMINDERS_ADDR")
      ->capture_default_str();
  app.add_option("-o,--output", o.output, "Output format: text or json")
      ->envname("DUBAN_OUTPUT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "Seconds per RPC")
      ->envname("DUBAN_TIMEOUT")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--actor", o.actor_id, "Who acts, recorded in the audit trail (default cli:$USER)")
      ->envname("DUBAN_ACTOR");
  app.add_option("--actor-name", o.actor_name, "Display name of the actor, e.g. 李伟")
      ->envname("DUBAN_ACTOR_NAME");
  app.add_option("--actor-unit", o.actor_unit, "Unit id the actor acts for")
      ->envname("DUBAN_ACTOR_UNIT");
  app.add_option("--tz", o.time_zone, "Time zone for times shown and typed")
      ->envname("DUBAN_TZ")
      ->capture_default_str();
  app.add_flag("--no-color", o.no_color, "No ANSI colours (also NO_COLOR=1 or not a terminal)");
  // `dubanctl` (no subcommand) prints the help instead of an error.
  app.fallthrough();

  duban::cli::AddUnitsCommands(app, ctx);
  duban::cli::AddPlansCommands(app, ctx);
  duban::cli::AddTasksCommands(app, ctx);
  duban::cli::AddAssignmentsCommands(app, ctx);
  duban::cli::AddBoardCommands(app, ctx);
  duban::cli::AddRemindersCommands(app, ctx);
  duban::cli::AddPoliciesCommands(app, ctx);

  if (argc == 1) {
    std::cout << app.help();
    return duban::cli::kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // --help and --help-all are successes; every other parse error is a usage error.
    return rc == 0 ? 0 : duban::cli::kExitUsage;
  }
  if (!ctx.action) {
    std::cerr << "error: no command given; see dubanctl --help\n";
    return duban::cli::kExitUsage;
  }
  try {
    return ctx.action();
  } catch (const duban::cli::UsageError& e) {
    std::cerr << "error: " << e.message << "\n";
    return duban::cli::kExitUsage;
  }
}
