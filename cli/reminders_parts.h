#pragma once
// Pieces of `dubanctl reminders` kept in their own files.
#include "cli_context.h"

namespace duban::cli {

void AddCalendarCommands(CLI::App& reminders, Context& ctx);  // calendar_commands.cc

}  // namespace duban::cli
