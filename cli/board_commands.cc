// dubanctl board ...
#include <CLI/CLI.hpp>

#include "cli_context.h"

namespace duban::cli {

void AddBoardCommands(CLI::App& app, Context& ctx) {
  (void)app;
  (void)ctx;
}

}  // namespace duban::cli
