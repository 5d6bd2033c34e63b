// dubanctl units ...: the organisation tree and its contacts (duban.units.v1.UnitService).
// Import is in units_import.cc, contacts in contacts_commands.cc.
#include <algorithm>
#include <functional>
#include <iostream>
#include <memory>
#include <unordered_map>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "paging.h"
#include "units_parts.h"

namespace duban::cli {

namespace uv1 = ::duban::units::v1;

std::optional<uv1::UnitKind> ParseUnitKind(std::string_view text) {
  std::string s = absl::AsciiStrToUpper(
      absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size())));
  std::replace(s.begin(), s.end(), '-', '_');
  if (!absl::StartsWith(s, "UNIT_KIND_")) s = "UNIT_KIND_" + s;
  uv1::UnitKind kind;
  if (!uv1::UnitKind_Parse(s, &kind) || kind == uv1::UNIT_KIND_UNSPECIFIED) return std::nullopt;
  return kind;
}

uv1::UnitKind UnitKindFlag(std::string_view text, std::string_view flag) {
  if (auto kind = ParseUnitKind(text)) return *kind;
  throw UsageError{std::string(flag) + ": unknown unit kind '" + std::string(text) +
                   "' (province, city, district, town, village, department, enterprise, "
                   "party_branch, other)"};
}

std::string UnitKindShort(uv1::UnitKind kind) {
  std::string name = uv1::UnitKind_Name(kind);
  if (absl::StartsWith(name, "UNIT_KIND_")) name = name.substr(10);
  return absl::AsciiStrToLower(name);
}

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
            << "kind:      " << UnitKindShort(unit.kind()) << "\n"
            << "parent:    " << (unit.parent_id().empty() ? "-" : unit.parent_id()) << "\n"
            << "depth:     " << unit.depth() << "\n"
            << "tags:      " << (unit.tags().empty() ? "-" : absl::StrJoin(unit.tags(), ", "))
            << "\n"
            << "timezone:  " << unit.timezone() << "\n"
            << "archived:  " << (unit.archived() ? "yes" : "no") << "\n"
            << "created:   " << FormatTime(unit.create_time(), ctx.options.time_zone) << "\n"
            << "updated:   " << FormatTime(unit.update_time(), ctx.options.time_zone) << "\n"
            << "etag:      " << unit.etag() << "\n";
  return kExitOk;
}

struct CreateOptions {
  std::string id, name, kind, parent, tags, timezone, request_id;
};

int CreateUnit(Context& ctx, const CreateOptions& o) {
  uv1::CreateUnitRequest req;
  uv1::Unit* u = req.mutable_unit();
  u->set_id(o.id);
  u->set_name(o.name);
  u->set_kind(UnitKindFlag(o.kind, "--kind"));
  u->set_parent_id(o.parent);
  for (absl::string_view tag : absl::StrSplit(o.tags, ',', absl::SkipWhitespace())) {
    u->add_tags(std::string(absl::StripAsciiWhitespace(tag)));
  }
  u->set_timezone(o.timezone);
  req.set_request_id(o.request_id);
  uv1::Unit out;
  const grpc::Status s = ctx.units().CreateUnit(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("CreateUnit", s);
  if (ctx.json()) {
    PrintJson(out);
  } else {
    std::cout << "created unit " << out.id() << " (" << out.name() << ", "
              << UnitKindShort(out.kind()) << ")\n";
  }
  return kExitOk;
}

// Pages through ListUnits (page size 1000, the server's maximum) until the end or `limit`.
// Returns the failed status, if any.
grpc::Status ListAllUnits(Context& ctx, uv1::ListUnitsRequest req, int limit,
                          std::vector<uv1::Unit>& out) {
  uv1::ListUnitsResponse all;
  const grpc::Status s = FetchPages(
      std::move(req), limit,
      [&](const auto& r, auto& page) { return ctx.units().ListUnits(ctx.Call().get(), r, &page); },
      [](auto& page) { return page.mutable_units(); }, all);
  out.assign(std::make_move_iterator(all.mutable_units()->begin()),
             std::make_move_iterator(all.mutable_units()->end()));
  return s;
}

struct ListOptions {
  std::string parent, subtree, tag;
  bool roots = false, archived = false;
  std::vector<std::string> kinds;
  int limit = 0;
};

int ListUnits(Context& ctx, const ListOptions& o) {
  uv1::ListUnitsRequest req;
  req.set_parent_id(o.parent);
  req.set_subtree_of(o.subtree);
  req.set_roots_only(o.roots);
  for (const auto& k : o.kinds) req.add_kinds(UnitKindFlag(k, "--kind"));
  req.set_tag(o.tag);
  req.set_include_archived(o.archived);
  std::vector<uv1::Unit> units;
  const grpc::Status s = ListAllUnits(ctx, req, o.limit, units);
  if (!s.ok()) return ctx.Fail("ListUnits", s);
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& u : units) list.push_back(JsonOf(u));
    std::cout << nlohmann::json{{"units", list}}.dump() << "\n";
    return kExitOk;
  }
  Table table({"ID", "NAME", "KIND", "PARENT", "TAGS", "TZ"});
  for (const auto& u : units) {
    std::string name = u.name();
    if (u.archived()) name += " " + Paint("(archived)", Color::kGrey, ctx.color());
    table.AddRow({u.id(), name, UnitKindShort(u.kind()),
                  u.parent_id().empty() ? "-" : u.parent_id(),
                  u.tags().empty() ? "-" : absl::StrJoin(u.tags(), ","), u.timezone()});
  }
  table.Print();
  std::cout << units.size() << " unit(s)\n";
  return kExitOk;
}

struct TreeOptions {
  std::string root;
  int depth = -1;
  std::vector<std::string> kinds;
  bool archived = false;
};

// The subtree as nested JSON: each node is the unit plus "children".
nlohmann::json TreeJson(const std::vector<uv1::Unit>& units,
                        const std::vector<std::vector<int>>& children,
                        const std::vector<bool>& keep, int node) {
  nlohmann::json j = JsonOf(units[node]);
  nlohmann::json kids = nlohmann::json::array();
  for (int c : children[node]) {
    if (keep[c]) kids.push_back(TreeJson(units, children, keep, c));
  }
  j["children"] = std::move(kids);
  return j;
}

int Tree(Context& ctx, const TreeOptions& o) {
  std::vector<uv1::UnitKind> kinds;
  for (const auto& k : o.kinds) kinds.push_back(UnitKindFlag(k, "--kind"));
  // The whole subtree in ten calls for 10k units; filters are applied here so that the
  // ancestors of matching units can still be drawn.
  uv1::ListUnitsRequest req;
  req.set_subtree_of(o.root);
  req.set_include_archived(o.archived);
  std::vector<uv1::Unit> units;
  grpc::Status s = ListAllUnits(ctx, req, 0, units);
  if (!s.ok()) return ctx.Fail("ListUnits", s);
  std::unordered_map<std::string, int> pos;
  for (size_t i = 0; i < units.size(); ++i) pos.emplace(units[i].id(), static_cast<int>(i));
  auto root_it = pos.find(o.root);
  if (root_it == pos.end()) {
    // Unknown or archived root: GetUnit says which.
    uv1::GetUnitRequest get;
    get.set_id(o.root);
    uv1::Unit unit;
    s = ctx.units().GetUnit(ctx.Call().get(), get, &unit);
    if (!s.ok()) return ctx.Fail("GetUnit", s);
    throw UsageError{"unit " + o.root + " is archived; add --archived to draw it"};
  }
  const int root = root_it->second;
  const int root_depth = units[root].depth();

  // Children in server order (tree order: siblings by id).
  std::vector<std::vector<int>> children(units.size());
  std::vector<int> parent(units.size(), -1);
  for (size_t i = 0; i < units.size(); ++i) {
    if (static_cast<int>(i) == root) continue;
    auto it = pos.find(units[i].parent_id());
    if (it == pos.end()) continue;
    children[it->second].push_back(static_cast<int>(i));
    parent[i] = it->second;
  }
  // keep: within --depth and (of a wanted kind or an ancestor of one). `match` tells them apart.
  std::vector<bool> match(units.size()), keep(units.size(), false);
  for (size_t i = 0; i < units.size(); ++i) {
    match[i] =
        kinds.empty() || std::find(kinds.begin(), kinds.end(), units[i].kind()) != kinds.end();
  }
  // Tree order puts every unit after its parent, so one backward pass propagates upwards.
  for (int i = static_cast<int>(units.size()) - 1; i >= 0; --i) {
    if (o.depth >= 0 && units[i].depth() - root_depth > o.depth) continue;
    if (match[i]) keep[i] = true;
    if (keep[i] && parent[i] >= 0) keep[parent[i]] = true;
  }
  keep[root] = true;

  if (ctx.json()) {
    std::cout << TreeJson(units, children, keep, root).dump() << "\n";
    return kExitOk;
  }
  struct Line {
    std::string head;  // connectors + name
    int node;
  };
  std::vector<Line> lines;
  std::function<void(int, const std::string&)> walk = [&](int node, const std::string& indent) {
    std::vector<int> kids;
    for (int c : children[node]) {
      if (keep[c]) kids.push_back(c);
    }
    for (size_t k = 0; k < kids.size(); ++k) {
      const bool last = k + 1 == kids.size();
      lines.push_back({indent + (last ? "└─ " : "├─ ") + units[kids[k]].name(), kids[k]});
      walk(kids[k], indent + (last ? "   " : "│  "));
    }
  };
  lines.push_back({units[root].name(), root});
  walk(root, "");
  int head_width = 0, id_width = 0;
  for (const auto& l : lines) {
    head_width = std::max(head_width, DisplayWidth(l.head));
    id_width = std::max(id_width, DisplayWidth(units[l.node].id()));
  }
  std::string out;
  for (const auto& l : lines) {
    const uv1::Unit& u = units[l.node];
    std::string row =
        PadTo(l.head, head_width) + "  " + PadTo(u.id(), id_width) + "  " + UnitKindShort(u.kind());
    if (u.archived()) row += " (archived)";
    // Ancestors drawn only to reach units of the wanted kinds are greyed.
    out += Paint(row, match[l.node] ? Color::kNone : Color::kGrey, ctx.color()) + "\n";
  }
  std::cout << out;
  return kExitOk;
}

struct CountOptions {
  std::string root, tag;
  bool archived = false;
};

int Counts(Context& ctx, const CountOptions& o) {
  uv1::CountUnitsRequest req;
  req.set_root_id(o.root);
  req.set_tag(o.tag);
  req.set_include_archived(o.archived);
  uv1::CountUnitsResponse resp;
  const grpc::Status s = ctx.units().CountUnits(ctx.Call().get(), req, &resp);
  if (!s.ok()) return ctx.Fail("CountUnits", s);
  if (ctx.json()) {
    PrintJson(resp);
    return kExitOk;
  }
  Table table({"KIND", "COUNT"});
  for (const auto& c : resp.counts()) {
    table.AddRow({UnitKindShort(c.kind()), std::to_string(c.count())});
  }
  table.AddRow({"total", std::to_string(resp.total())});
  table.Print();
  return kExitOk;
}

}  // namespace

void AddUnitsCommands(CLI::App& app, Context& ctx) {
  CLI::App* units = Group(app, "units", "The organisation tree and its contacts");

  auto id = std::make_shared<std::string>();
  Leaf(*units, "get", "Show one unit", ctx, [&ctx, id] { return GetUnit(ctx, *id); })
      ->add_option("id", *id, "Unit id")
      ->required();

  auto c = std::make_shared<CreateOptions>();
  CLI::App* create =
      Leaf(*units, "create", "Create a unit", ctx, [&ctx, c] { return CreateUnit(ctx, *c); });
  create->add_option("--id", c->id, "Unit id, e.g. gd.zq.duanzhou")->required();
  create->add_option("--name", c->name, "Display name, e.g. 端州区")->required();
  create
      ->add_option("--kind", c->kind,
                   "province, city, district, town, village, department, enterprise, "
                   "party_branch or other")
      ->required();
  create->add_option("--parent", c->parent, "Parent unit id (none: a root)");
  create->add_option("--tags", c->tags, "Comma-separated tags, e.g. 五区,市直单位");
  create->add_option("--timezone", c->timezone, "IANA time zone (default Asia/Shanghai)");
  create->add_option("--request-id", c->request_id, "Idempotency key for retries");

  auto l = std::make_shared<ListOptions>();
  CLI::App* list = Leaf(*units, "list", "List units (tree order)", ctx,
                        [&ctx, l] { return ListUnits(ctx, *l); });
  auto* parent = list->add_option("--parent", l->parent, "Only the direct children of this unit");
  auto* subtree = list->add_option("--subtree", l->subtree, "Only this unit and its subtree");
  auto* roots = list->add_flag("--roots", l->roots, "Only roots");
  parent->excludes(subtree)->excludes(roots);
  subtree->excludes(roots);
  list->add_option("--kind", l->kinds, "Only units of this kind (repeatable)");
  list->add_option("--tag", l->tag, "Only units carrying this tag");
  list->add_flag("--archived", l->archived, "Include archived units");
  list->add_option("--limit", l->limit, "At most N units")->check(CLI::PositiveNumber);

  auto t = std::make_shared<TreeOptions>();
  CLI::App* tree =
      Leaf(*units, "tree", "Draw a unit's subtree", ctx, [&ctx, t] { return Tree(ctx, *t); });
  tree->add_option("root", t->root, "Root unit id")->required();
  tree->add_option("--depth", t->depth, "Levels below the root to draw")
      ->check(CLI::NonNegativeNumber);
  tree->add_option("--kind", t->kinds,
                   "Only units of this kind, with their ancestors for context (repeatable)");
  tree->add_flag("--archived", t->archived, "Include archived units");

  auto n = std::make_shared<CountOptions>();
  CLI::App* counts = Leaf(*units, "counts", "Count units per kind in a subtree", ctx,
                          [&ctx, n] { return Counts(ctx, *n); });
  counts->add_option("root", n->root, "Root unit id (counted too)")->required();
  counts->add_option("--tag", n->tag, "Only units carrying this tag");
  counts->add_flag("--archived", n->archived, "Include archived units");

  AddUnitsImportCommand(*units, ctx);
  AddContactsCommands(*units, ctx);
}

}  // namespace duban::cli
