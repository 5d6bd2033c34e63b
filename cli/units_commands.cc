// dubanctl units ...: the organisation tree and its contacts (duban.units.v1.UnitService).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"

namespace duban::cli {

namespace uv1 = ::duban::units::v1;

namespace {

int GetUnit(Context& ctx, const std::string& id) {
  uv1::GetUnitRequest req;
  req.set_id(id);
  uv1::Unit unit;
  const grpc::Status s = ctx.units().GetUnit(ctx.Call().get(), req, &unit);
  if (!s.ok()) return ctx.Fail("GetUnit", s);
  if (ctx.json()) {
    PrintJson(unit);
    return kExitOk;
  }
  std::cout << "id:        " << unit.id() << "\n"
            << "name:      " << unit.name() << "\n"
            << "kind:      " << uv1::UnitKind_Name(unit.kind()) << "\n"
            << "parent:    " << (unit.parent_id().empty() ? "-" : unit.parent_id()) << "\n"
            << "depth:     " << unit.depth() << "\n"
            << "timezone:  " << unit.timezone() << "\n"
            << "archived:  " << (unit.archived() ? "yes" : "no") << "\n"
            << "etag:      " << unit.etag() << "\n";
  return kExitOk;
}

}  // namespace

void AddUnitsCommands(CLI::App& app, Context& ctx) {
  CLI::App* units = Group(app, "units", "The organisation tree and its contacts");

  auto id = std::make_shared<std::string>();
  Leaf(*units, "get", "Show one unit", ctx, [&ctx, id] { return GetUnit(ctx, *id); })
      ->add_option("id", *id, "Unit id")
      ->required();
}

}  // namespace duban::cli
