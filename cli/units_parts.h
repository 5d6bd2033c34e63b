#pragma once
// Pieces shared by the `dubanctl units` files (units_commands.cc, units_import.cc,
// contacts_commands.cc): unit kinds by their short names and the subcommand registrations.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli_context.h"
#include "output.h"

namespace duban::cli {

// "city", "party_branch", "party-branch" or the enum name "UNIT_KIND_CITY", in any case.
std::optional<::duban::units::v1::UnitKind> ParseUnitKind(std::string_view text);
// The same for a command-line flag: throws UsageError naming `flag` when unknown.
::duban::units::v1::UnitKind UnitKindFlag(std::string_view text, std::string_view flag);
// "city" for UNIT_KIND_CITY.
std::string UnitKindShort(::duban::units::v1::UnitKind kind);

// A proto message as a JSON value (the proto3 JSON mapping), to combine several into one.
inline nlohmann::json JsonOf(const google::protobuf::Message& message) {
  return nlohmann::json::parse(ToJson(message));
}

void AddUnitsImportCommand(CLI::App& units, Context& ctx);  // units_import.cc
void AddContactsCommands(CLI::App& units, Context& ctx);    // contacts_commands.cc

}  // namespace duban::cli
