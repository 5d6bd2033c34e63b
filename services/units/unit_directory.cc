#include "unit_directory.h"

#include <algorithm>
#include <deque>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "duban/ids.h"
#include "duban/page_token.h"
#include "duban/status.h"
#include "duban/time_util.h"
#include "duban/validation.h"

namespace duban::units {
namespace {

constexpr size_t kMaxNameChars = 100;
constexpr size_t kMaxTags = 32;
constexpr size_t kMaxTagChars = 32;
constexpr size_t kMaxPersonNameChars = 64;

absl::Status NotFound(std::string field, absl::string_view what, absl::string_view id) {
  return FieldError(absl::StatusCode::kNotFound, std::move(field),
                    absl::StrCat(what, " \"", id, "\" not found"));
}

absl::Status CheckEtag(const std::string& given, int64_t revision) {
  if (!given.empty() && given != EtagOf(revision)) {
    return FieldError(absl::StatusCode::kAborted, "etag",
                      "does not match: the resource changed since it was read");
  }
  return absl::OkStatus();
}

// Validates and normalizes tags (sorted, unique).
void CheckTags(std::vector<std::string>& tags, const std::string& prefix, FieldViolations& v) {
  if (tags.size() > kMaxTags) {
    v.Add(prefix + "tags", absl::StrCat("at most ", kMaxTags, " tags"));
    return;
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    v.AddIfError(absl::StrCat(prefix, "tags[", i, "]"), ValidateText(tags[i], 1, kMaxTagChars));
  }
  std::sort(tags.begin(), tags.end());
  if (std::adjacent_find(tags.begin(), tags.end()) != tags.end()) {
    v.Add(prefix + "tags", "must not contain duplicates");
  }
}

bool ValidKind(UnitKind k) {
  int n = static_cast<int>(k);
  return n >= 1 && n <= kMaxUnitKind;
}

// Checks a unit's caller-settable fields; fills the default timezone.
void CheckUnit(Unit& u, const std::string& prefix, FieldViolations& v) {
  v.AddIfError(prefix + "id", ValidateId(u.id));
  v.AddIfError(prefix + "name", ValidateText(u.name, 1, kMaxNameChars));
  if (!ValidKind(u.kind)) v.Add(prefix + "kind", "must be a known unit kind");
  if (!u.parent_id.empty()) {
    v.AddIfError(prefix + "parent_id", ValidateId(u.parent_id));
    if (u.parent_id == u.id) v.Add(prefix + "parent_id", "must not be the unit itself");
  }
  CheckTags(u.tags, prefix, v);
  if (u.timezone.empty()) u.timezone = kDefaultTimezone;
  v.AddIfError(prefix + "timezone", ValidateTimezone(u.timezone));
}

bool ValidRole(ContactRole r) {
  int n = static_cast<int>(r);
  return n >= 1 && n <= kMaxContactRole;
}

// Checks a contact's caller-settable fields (except id and unit, checked by callers).
void CheckContactBody(Contact& c, const std::string& prefix, FieldViolations& v) {
  v.AddIfError(prefix + "person_name", ValidateText(c.person_name, 1, kMaxPersonNameChars));
  if (!ValidRole(c.role)) v.Add(prefix + "role", "must be a known contact role");
  if (c.email.empty() && c.mobile.empty() && c.webhook_url.empty()) {
    v.Add(prefix + "email", "one of email, mobile or webhook_url is required");
  }
  if (!c.email.empty()) v.AddIfError(prefix + "email", ValidateEmail(c.email));
  if (!c.mobile.empty()) v.AddIfError(prefix + "mobile", ValidateMobile(c.mobile));
  if (!c.webhook_url.empty()) v.AddIfError(prefix + "webhook_url", ValidateHttpUrl(c.webhook_url));
  if (c.locale.empty()) c.locale = kDefaultLocale;
  v.AddIfError(prefix + "locale", ValidateLocale(c.locale));
  if (c.valid_to_us && *c.valid_to_us <= c.valid_from_us) {
    v.Add(prefix + "valid_to", "must be after valid_from");
  }
}

void CheckRequestId(const std::string& request_id, FieldViolations& v) {
  if (!request_id.empty()) v.AddIfError("request_id", ValidateRequestId(request_id));
}

// Fields of a unit that an import or update may change.
bool SameContent(const Unit& a, const Unit& b) {
  return a.name == b.name && a.kind == b.kind && a.tags == b.tags && a.timezone == b.timezone &&
         a.parent_id == b.parent_id;
}

std::string KindsKey(const std::vector<UnitKind>& kinds) {
  std::vector<int> ks;
  for (UnitKind k : kinds) ks.push_back(static_cast<int>(k));
  std::sort(ks.begin(), ks.end());
  return absl::StrJoin(ks, ",");
}

}  // namespace

int64_t UnitDirectory::NowMicros() const { return ToMicros(clock_()); }

absl::StatusOr<Unit> UnitDirectory::CreateUnit(Unit unit, const std::string& request_id) {
  FieldViolations v;
  CheckRequestId(request_id, v);
  CheckUnit(unit, "unit.", v);
  if (!v.empty()) return v.ToStatus();

  Unit out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    if (!request_id.empty()) {
      auto prior = tx.FindUnitByRequestId(request_id);
      if (!prior.ok()) return prior.status();
      if (*prior) {
        if ((*prior)->id != unit.id) {
          return InvalidField("request_id", "was already used to create a different unit");
        }
        out = **prior;  // a retried create returns the first result
        return absl::OkStatus();
      }
    }
    auto existing = tx.FindUnit(unit.id);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      return FieldError(absl::StatusCode::kAlreadyExists, "unit.id",
                        absl::StrCat("unit \"", unit.id, "\" already exists"));
    }
    std::string parent_path;
    if (!unit.parent_id.empty()) {
      auto parent = tx.FindUnit(unit.parent_id);
      if (!parent.ok()) return parent.status();
      if (!*parent) return NotFound("unit.parent_id", "parent unit", unit.parent_id);
      if ((*parent)->archived) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "unit.parent_id",
                          "parent unit is archived");
      }
      parent_path = (*parent)->path;
      unit.depth = (*parent)->depth + 1;
    } else {
      unit.depth = 0;
    }
    unit.path = ChildPath(parent_path, unit.id);
    unit.archived = false;
    unit.revision = 1;
    unit.create_us = unit.update_us = NowMicros();
    unit.request_id = request_id;
    if (auto s = tx.InsertUnit(unit); !s.ok()) return s;
    out = unit;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<Unit> UnitDirectory::GetUnit(const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  std::optional<Unit> unit;
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    auto found = tx.FindUnit(id);
    if (!found.ok()) return found.status();
    if (*found) unit = **found;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!unit) return NotFound("id", "unit", id);
  return *unit;
}

absl::StatusOr<BatchGetResult> UnitDirectory::BatchGetUnits(const std::vector<std::string>& ids) {
  FieldViolations v;
  if (ids.empty()) v.Add("ids", "must not be empty");
  if (ids.size() > kMaxBatch) v.Add("ids", absl::StrCat("at most ", kMaxBatch, " ids"));
  for (size_t i = 0; i < ids.size() && i < kMaxBatch; ++i) {
    v.AddIfError(absl::StrCat("ids[", i, "]"), ValidateId(ids[i]));
  }
  if (!v.empty()) return v.ToStatus();

  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (const auto& id : ids) {
    if (seen.insert(id).second) unique.push_back(id);
  }
  BatchGetResult result;
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    auto found = tx.FindUnits(unique);
    if (!found.ok()) return found.status();
    absl::flat_hash_map<std::string, Unit*> by_id;
    for (auto& u : *found) by_id[u.id] = &u;
    for (const auto& id : unique) {
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        result.missing_ids.push_back(id);
      } else {
        result.units.push_back(std::move(*it->second));
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<Unit> UnitDirectory::UpdateUnit(const Unit& patch,
                                               const std::vector<std::string>& mask,
                                               const std::string& etag) {
  FieldViolations v;
  v.AddIfError("unit.id", ValidateId(patch.id));
  if (mask.empty()) v.Add("update_mask", "must name at least one field");
  Unit checked = patch;
  for (const auto& path : mask) {
    if (path == "name") {
      v.AddIfError("unit.name", ValidateText(checked.name, 1, kMaxNameChars));
    } else if (path == "kind") {
      if (!ValidKind(checked.kind)) v.Add("unit.kind", "must be a known unit kind");
    } else if (path == "tags") {
      CheckTags(checked.tags, "unit.", v);
    } else if (path == "timezone") {
      if (checked.timezone.empty()) checked.timezone = kDefaultTimezone;
      v.AddIfError("unit.timezone", ValidateTimezone(checked.timezone));
    } else if (path == "parent_id") {
      v.Add("update_mask", "parent_id changes through MoveUnit");
    } else if (path == "archived") {
      v.Add("update_mask", "archived changes through ArchiveUnit and RestoreUnit");
    } else {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is not an updatable field"));
    }
  }
  if (!v.empty()) return v.ToStatus();

  bool changed = false;
  Unit out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    auto found = tx.FindUnit(patch.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("unit.id", "unit", patch.id);
    if (auto s = CheckEtag(etag, (*found)->revision); !s.ok()) return s;
    Unit next = **found;
    for (const auto& path : mask) {
      if (path == "name") next.name = checked.name;
      if (path == "kind") next.kind = checked.kind;
      if (path == "tags") next.tags = checked.tags;
      if (path == "timezone") next.timezone = checked.timezone;
    }
    if (SameContent(next, **found)) {
      out = next;
      return absl::OkStatus();
    }
    next.revision += 1;
    next.update_us = NowMicros();
    if (auto s = tx.UpdateUnit(next); !s.ok()) return s;
    out = next;
    changed = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (changed) Changed({out.id}, false);
  return out;
}

absl::StatusOr<Unit> UnitDirectory::MoveUnit(const std::string& id,
                                             const std::string& new_parent_id,
                                             const std::string& etag) {
  FieldViolations v;
  v.AddIfError("id", ValidateId(id));
  if (!new_parent_id.empty()) v.AddIfError("new_parent_id", ValidateId(new_parent_id));
  if (!v.empty()) return v.ToStatus();
  if (new_parent_id == id) {
    return FieldError(absl::StatusCode::kFailedPrecondition, "new_parent_id",
                      "a unit cannot be its own parent");
  }

  bool changed = false;
  Unit out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    auto found = tx.FindUnit(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "unit", id);
    Unit unit = **found;
    if (auto s = CheckEtag(etag, unit.revision); !s.ok()) return s;
    if (unit.parent_id == new_parent_id) {
      out = unit;
      return absl::OkStatus();
    }
    std::string parent_path;
    int parent_depth = -1;
    if (!new_parent_id.empty()) {
      auto parent = tx.FindUnit(new_parent_id);
      if (!parent.ok()) return parent.status();
      if (!*parent) return NotFound("new_parent_id", "unit", new_parent_id);
      if ((*parent)->archived) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "new_parent_id",
                          "the new parent is archived");
      }
      if (absl::StartsWith((*parent)->path, unit.path)) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "new_parent_id",
                          absl::StrCat("\"", new_parent_id, "\" is inside the subtree of \"", id,
                                       "\": the move would create a cycle"));
      }
      parent_path = (*parent)->path;
      parent_depth = (*parent)->depth;
    }
    std::string new_path = ChildPath(parent_path, unit.id);
    int depth_delta = (parent_depth + 1) - unit.depth;
    int64_t now = NowMicros();
    if (auto s = tx.MoveSubtree(unit.id, new_parent_id, unit.path, new_path, depth_delta,
                                unit.revision + 1, now);
        !s.ok()) {
      return s;
    }
    auto moved = tx.FindUnit(id);
    if (!moved.ok()) return moved.status();
    out = **moved;
    changed = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  // The whole subtree's depth and path changed.
  if (changed) Changed({}, true);
  return out;
}

absl::StatusOr<Unit> UnitDirectory::ArchiveUnit(const std::string& id, bool cascade,
                                                const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  bool changed = false;
  Unit out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    auto found = tx.FindUnit(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "unit", id);
    if (auto s = CheckEtag(etag, (*found)->revision); !s.ok()) return s;
    if (!cascade) {
      auto active = tx.CountActiveDescendants((*found)->path);
      if (!active.ok()) return active.status();
      if (*active > 0) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "cascade",
                          absl::StrCat("the unit has ", *active,
                                       " active descendants; archive them first or set cascade"));
      }
    }
    if ((*found)->archived && !cascade) {
      out = **found;
      return absl::OkStatus();
    }
    auto archived_rows = tx.ArchiveSubtree((*found)->path, NowMicros());
    if (!archived_rows.ok()) return archived_rows.status();
    auto after = tx.FindUnit(id);
    if (!after.ok()) return after.status();
    out = **after;
    changed = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (changed) Changed({id}, cascade);
  return out;
}

absl::StatusOr<Unit> UnitDirectory::RestoreUnit(const std::string& id, const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  bool changed = false;
  Unit out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    auto found = tx.FindUnit(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "unit", id);
    Unit unit = **found;
    if (auto s = CheckEtag(etag, unit.revision); !s.ok()) return s;
    if (!unit.archived) {
      out = unit;
      return absl::OkStatus();
    }
    if (!unit.parent_id.empty()) {
      auto parent = tx.FindUnit(unit.parent_id);
      if (!parent.ok()) return parent.status();
      if (*parent && (*parent)->archived) {
        return FieldError(absl::StatusCode::kFailedPrecondition, "id",
                          "the parent unit is archived; restore it first");
      }
    }
    unit.archived = false;
    unit.revision += 1;
    unit.update_us = NowMicros();
    if (auto s = tx.UpdateUnit(unit); !s.ok()) return s;
    out = unit;
    changed = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (changed) Changed({id}, false);
  return out;
}

absl::StatusOr<UnitPage> UnitDirectory::ListUnits(const ListUnitsQuery& q) {
  FieldViolations v;
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  if (!q.filter.parent_id.empty()) v.AddIfError("parent_id", ValidateId(q.filter.parent_id));
  if (!q.subtree_of.empty()) v.AddIfError("subtree_of", ValidateId(q.subtree_of));
  if (!q.filter.parent_id.empty() && !q.subtree_of.empty()) {
    v.Add("subtree_of", "cannot be combined with parent_id");
  }
  if (q.filter.roots_only && (!q.filter.parent_id.empty() || !q.subtree_of.empty())) {
    v.Add("roots_only", "cannot be combined with parent_id or subtree_of");
  }
  for (size_t i = 0; i < q.filter.kinds.size(); ++i) {
    if (!ValidKind(q.filter.kinds[i])) v.Add(absl::StrCat("kinds[", i, "]"), "unknown unit kind");
  }
  if (!q.filter.tag.empty()) v.AddIfError("tag", ValidateText(q.filter.tag, 1, kMaxTagChars));
  if (!v.empty()) return v.ToStatus();

  uint64_t fp = FilterFingerprint(absl::StrCat(
      "units|p=", q.filter.parent_id, "|s=", q.subtree_of, "|r=", q.filter.roots_only,
      "|k=", KindsKey(q.filter.kinds), "|t=", q.filter.tag, "|a=", q.filter.include_archived));
  auto cursor = DecodePageToken(q.page_token, fp);
  if (!cursor.ok()) return cursor.status();

  UnitPage page;
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    UnitFilter filter = q.filter;
    if (!q.subtree_of.empty()) {
      auto root = tx.FindUnit(q.subtree_of);
      if (!root.ok()) return root.status();
      if (!*root) return NotFound("subtree_of", "unit", q.subtree_of);
      filter.subtree_path = (*root)->path;
    }
    if (!filter.parent_id.empty()) {
      auto parent = tx.FindUnit(filter.parent_id);
      if (!parent.ok()) return parent.status();
      if (!*parent) return NotFound("parent_id", "unit", filter.parent_id);
    }
    auto units = tx.ListUnits(filter, *cursor, *page_size + 1);
    if (!units.ok()) return units.status();
    page.units = std::move(*units);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (page.units.size() > static_cast<size_t>(*page_size)) {
    page.units.resize(*page_size);
    page.next_page_token = EncodePageToken(fp, page.units.back()->path);
  }
  return page;
}

absl::StatusOr<std::vector<KindCount>> UnitDirectory::CountUnits(const std::string& root_id,
                                                                 bool include_archived,
                                                                 const std::string& tag) {
  FieldViolations v;
  v.AddIfError("root_id", ValidateId(root_id));
  if (!tag.empty()) v.AddIfError("tag", ValidateText(tag, 1, kMaxTagChars));
  if (!v.empty()) return v.ToStatus();
  std::vector<KindCount> counts;
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    auto root = tx.FindUnit(root_id);
    if (!root.ok()) return root.status();
    if (!*root) return NotFound("root_id", "unit", root_id);
    auto found = tx.CountUnits((*root)->path, tag, include_archived);
    if (!found.ok()) return found.status();
    counts = std::move(*found);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return counts;
}

absl::StatusOr<ImportResult> UnitDirectory::ImportUnits(std::vector<ImportRow> rows,
                                                        ImportMode mode) {
  ImportResult result;
  result.rows_received = static_cast<int64_t>(rows.size());
  if (rows.size() > kMaxImportRows) {
    return InvalidField("units", absl::StrCat("at most ", kMaxImportRows, " rows per import"));
  }

  // 1. Field checks per row, and duplicates within the stream.
  std::vector<bool> rejected(rows.size(), false);
  std::vector<ImportRowError> errors;
  auto reject = [&](size_t i, std::string field, std::string description) {
    if (!rejected[i]) ++result.rejected;
    rejected[i] = true;
    errors.push_back({rows[i].row, rows[i].unit.id, std::move(field), std::move(description)});
  };
  absl::flat_hash_map<std::string, size_t> index;  // id -> row index of its first valid occurrence
  absl::flat_hash_map<std::string, size_t> invalid;  // id -> first row rejected by field checks
  index.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    FieldViolations v;
    CheckUnit(rows[i].unit, "", v);
    for (const auto& fv : v.items()) reject(i, fv.field, fv.description);
    if (rejected[i]) {
      invalid.emplace(rows[i].unit.id, i);
      continue;
    }
    auto [it, inserted] = index.emplace(rows[i].unit.id, i);
    if (!inserted) reject(i, "id", absl::StrCat("duplicate of row ", rows[it->second].row));
  }

  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    // 2. What the database already holds: the imported ids and the parents outside the import.
    absl::flat_hash_map<std::string, Unit> db;
    auto load = [&](std::vector<std::string>& ids) -> absl::Status {
      for (size_t start = 0; start < ids.size(); start += kMaxBatch) {
        std::vector<std::string> chunk(ids.begin() + start,
                                       ids.begin() + std::min(ids.size(), start + kMaxBatch));
        auto found = tx.FindUnits(chunk);
        if (!found.ok()) return found.status();
        for (auto& u : *found) db.emplace(u.id, std::move(u));
      }
      ids.clear();
      return absl::OkStatus();
    };
    std::vector<std::string> wanted;
    for (const auto& [id, i] : index) wanted.push_back(id);
    if (auto s = load(wanted); !s.ok()) return s;
    for (const auto& [id, i] : index) {
      const std::string& p = rows[i].unit.parent_id;
      if (!p.empty() && !index.contains(p) && !db.contains(p)) wanted.push_back(p);
    }
    if (auto s = load(wanted); !s.ok()) return s;
    // Ancestors of database parents, for walking the final tree when checking for cycles.
    for (const auto& [id, u] : db) {
      for (auto& a : PathIds(u.path)) {
        if (!db.contains(a)) wanted.push_back(a);
      }
    }
    if (auto s = load(wanted); !s.ok()) return s;

    // 3. Parents and cycles, to a fixed point: a rejected row may orphan rows that hang on it.
    auto active = [&](const std::string& id) {
      auto it = index.find(id);
      return it != index.end() && !rejected[it->second];
    };
    // The parent a unit will have after the import.
    auto final_parent = [&](const std::string& id) -> std::string {
      if (active(id)) return rows[index.at(id)].unit.parent_id;
      auto it = db.find(id);
      return it == db.end() ? std::string() : it->second.parent_id;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& [id, i] : index) {
        if (rejected[i]) continue;
        const std::string& p = rows[i].unit.parent_id;
        if (p.empty() || active(p)) continue;
        auto it = db.find(p);
        if (it == db.end()) {
          std::optional<size_t> parent_row;
          if (auto pi = index.find(p); pi != index.end()) parent_row = pi->second;
          if (auto pi = invalid.find(p); !parent_row && pi != invalid.end()) {
            parent_row = pi->second;
          }
          reject(i, "parent_id",
                 parent_row
                     ? absl::StrCat("parent row ", rows[*parent_row].row, " was rejected")
                     : absl::StrCat("parent \"", p, "\" is neither stored nor in the import"));
          changed = true;
        } else if (it->second.archived) {
          reject(i, "parent_id", absl::StrCat("parent \"", p, "\" is archived"));
          changed = true;
        }
      }
      // Cycle check: walk up the final tree; 1 = on the current walk, 2 = reaches a root.
      absl::flat_hash_map<std::string, int> state;
      state.reserve(index.size());
      for (const auto& [id, i] : index) {
        if (rejected[i] || state[id] == 2) continue;
        std::vector<std::string> walk;
        std::string cur = id;
        bool cycle = false;
        while (!cur.empty()) {
          int& st = state[cur];
          if (st == 2) break;
          if (st == 1) {
            cycle = true;
            break;
          }
          st = 1;
          walk.push_back(cur);
          cur = final_parent(cur);
        }
        for (const auto& w : walk) state[w] = 2;
        if (cycle) {
          // Reject the imported rows on the cycle itself (from `cur` round to `cur`).
          std::string node = cur;
          do {
            if (active(node)) {
              reject(index.at(node), "parent_id", "the import would create a cycle");
              changed = true;
            }
            node = final_parent(node);
          } while (node != cur && !node.empty());
        }
      }
    }

    if (result.rejected > 0 && mode == ImportMode::kAllOrNothing) {
      return absl::OkStatus();  // nothing written; reported below
    }

    // 4. Apply parents before children (breadth first over the import's own edges).
    absl::flat_hash_map<std::string, std::vector<size_t>> children;
    std::deque<size_t> queue;
    for (const auto& [id, i] : index) {
      if (rejected[i]) continue;
      const std::string& p = rows[i].unit.parent_id;
      if (!p.empty() && active(p)) {
        children[p].push_back(i);
      } else {
        queue.push_back(i);
      }
    }
    // Paths of rows written so far; cleared when a move rewrites part of the tree.
    absl::flat_hash_map<std::string, std::pair<std::string, int>> written;
    int64_t now = NowMicros();
    while (!queue.empty()) {
      size_t i = queue.front();
      queue.pop_front();
      Unit& u = rows[i].unit;
      std::string parent_path;
      int parent_depth = -1;
      if (!u.parent_id.empty()) {
        auto w = written.find(u.parent_id);
        if (w != written.end()) {
          parent_path = w->second.first;
          parent_depth = w->second.second;
        } else {
          auto parent = tx.FindUnit(u.parent_id);
          if (!parent.ok()) return parent.status();
          if (!*parent) return absl::InternalError("import: parent vanished during apply");
          parent_path = (*parent)->path;
          parent_depth = (*parent)->depth;
        }
      }
      auto existing = db.find(u.id);
      if (existing == db.end()) {
        u.path = ChildPath(parent_path, u.id);
        u.depth = parent_depth + 1;
        u.revision = 1;
        u.create_us = u.update_us = now;
        if (auto s = tx.InsertUnit(u); !s.ok()) return s;
        ++result.created;
        written[u.id] = {u.path, u.depth};
      } else if (SameContent(existing->second, u)) {
        ++result.unchanged;
        // Re-read: an earlier move in this import may have changed its path.
        auto cur = tx.FindUnit(u.id);
        if (!cur.ok()) return cur.status();
        written[u.id] = {(*cur)->path, (*cur)->depth};
      } else {
        auto cur = tx.FindUnit(u.id);
        if (!cur.ok()) return cur.status();
        Unit next = **cur;
        next.name = u.name;
        next.kind = u.kind;
        next.tags = u.tags;
        next.timezone = u.timezone;
        next.revision += 1;
        next.update_us = now;
        if (auto s = tx.UpdateUnit(next); !s.ok()) return s;
        if (next.parent_id != u.parent_id) {
          if (absl::StartsWith(parent_path, next.path)) {
            return absl::InternalError("import: move would create a cycle after validation");
          }
          std::string new_path = ChildPath(parent_path, u.id);
          if (auto s = tx.MoveSubtree(u.id, u.parent_id, next.path, new_path,
                                      parent_depth + 1 - next.depth, next.revision, now);
              !s.ok()) {
            return s;
          }
          written.clear();
          next.path = new_path;
          next.depth = parent_depth + 1;
        }
        ++result.updated;
        written[u.id] = {next.path, next.depth};
      }
      auto kids = children.find(u.id);
      if (kids != children.end()) {
        for (size_t k : kids->second) queue.push_back(k);
      }
    }
    result.applied = true;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;

  std::sort(errors.begin(), errors.end(),
            [](const ImportRowError& a, const ImportRowError& b) { return a.row < b.row; });
  if (!result.applied) {
    FieldViolations v;
    for (size_t i = 0; i < errors.size() && i < kMaxReportedImportErrors; ++i) {
      v.Add(absl::StrCat("rows[", errors[i].row, "].", errors[i].field), errors[i].description);
    }
    return v.ToStatus(
        absl::StrCat("import rejected: ", result.rejected, " invalid rows; nothing was written"));
  }
  if (errors.size() > kMaxReportedImportErrors) errors.resize(kMaxReportedImportErrors);
  result.errors = std::move(errors);
  if (result.updated > 0) Changed({}, true);
  return result;
}

absl::StatusOr<Contact> UnitDirectory::AddContact(Contact c, const std::string& request_id) {
  FieldViolations v;
  CheckRequestId(request_id, v);
  if (!c.id.empty()) v.AddIfError("contact.id", ValidateId(c.id));
  v.AddIfError("contact.unit_id", ValidateId(c.unit_id));
  int64_t now = NowMicros();
  if (c.valid_from_us == 0) c.valid_from_us = now;
  CheckContactBody(c, "contact.", v);
  if (!v.empty()) return v.ToStatus();

  Contact out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    if (!request_id.empty()) {
      auto prior = tx.FindContactByRequestId(request_id);
      if (!prior.ok()) return prior.status();
      if (*prior) {
        if ((*prior)->unit_id != c.unit_id || (*prior)->role != c.role ||
            (!c.id.empty() && (*prior)->id != c.id)) {
          return InvalidField("request_id", "was already used for a different contact");
        }
        out = **prior;
        return absl::OkStatus();
      }
    }
    if (c.id.empty()) {
      c.id = NewId("c");
    } else {
      auto existing = tx.FindContact(c.id);
      if (!existing.ok()) return existing.status();
      if (*existing) {
        return FieldError(absl::StatusCode::kAlreadyExists, "contact.id",
                          absl::StrCat("contact \"", c.id, "\" already exists"));
      }
    }
    auto unit = tx.FindUnit(c.unit_id);
    if (!unit.ok()) return unit.status();
    if (!*unit) return NotFound("contact.unit_id", "unit", c.unit_id);
    if ((*unit)->archived) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "contact.unit_id",
                        "the unit is archived");
    }
    c.revision = 1;
    c.create_us = c.update_us = now;
    c.request_id = request_id;
    if (auto s = tx.InsertContact(c); !s.ok()) return s;
    out = c;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<Contact> UnitDirectory::GetContact(const std::string& id) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  std::optional<Contact> found;
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    auto c = tx.FindContact(id);
    if (!c.ok()) return c.status();
    found = std::move(*c);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found) return NotFound("id", "contact", id);
  return *found;
}

absl::StatusOr<Contact> UnitDirectory::UpdateContact(const Contact& patch,
                                                     const std::vector<std::string>& mask,
                                                     const std::string& etag) {
  FieldViolations v;
  v.AddIfError("contact.id", ValidateId(patch.id));
  if (mask.empty()) v.Add("update_mask", "must name at least one field");
  static const absl::flat_hash_set<std::string> kUpdatable = {
      "person_name", "email", "mobile", "webhook_url", "locale", "valid_from", "valid_to"};
  for (const auto& path : mask) {
    if (!kUpdatable.contains(path)) {
      v.Add("update_mask", absl::StrCat("\"", path, "\" is not an updatable field"));
    }
  }
  if (!v.empty()) return v.ToStatus();

  Contact out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    auto found = tx.FindContact(patch.id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("contact.id", "contact", patch.id);
    if (auto s = CheckEtag(etag, (*found)->revision); !s.ok()) return s;
    Contact next = **found;
    for (const auto& path : mask) {
      if (path == "person_name") next.person_name = patch.person_name;
      if (path == "email") next.email = patch.email;
      if (path == "mobile") next.mobile = patch.mobile;
      if (path == "webhook_url") next.webhook_url = patch.webhook_url;
      if (path == "locale") next.locale = patch.locale;
      if (path == "valid_from") next.valid_from_us = patch.valid_from_us;
      if (path == "valid_to") next.valid_to_us = patch.valid_to_us;
    }
    FieldViolations body;
    CheckContactBody(next, "contact.", body);
    if (!body.empty()) return body.ToStatus();
    next.revision += 1;
    next.update_us = NowMicros();
    if (auto s = tx.UpdateContact(next); !s.ok()) return s;
    out = next;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ContactPage> UnitDirectory::ListContacts(const ListContactsQuery& q) {
  FieldViolations v;
  v.AddIfError("unit_id", ValidateId(q.unit_id));
  int role = static_cast<int>(q.role);
  if (role < 0 || role > kMaxContactRole) v.Add("role", "unknown contact role");
  auto page_size = EffectivePageSize(q.page_size);
  if (!page_size.ok()) v.Add("page_size", "must not be negative");
  if (!v.empty()) return v.ToStatus();

  std::optional<int64_t> at;
  if (!q.include_history) at = q.at_us.value_or(NowMicros());
  uint64_t fp =
      FilterFingerprint(absl::StrCat("contacts|u=", q.unit_id, "|r=", role,
                                     "|h=", q.include_history, "|at=", q.at_us.value_or(-1)));
  auto cursor_text = DecodePageToken(q.page_token, fp);
  if (!cursor_text.ok()) return cursor_text.status();
  std::optional<UnitReader::ContactCursor> cursor;
  if (!cursor_text->empty()) {
    std::vector<std::string> parts = absl::StrSplit(*cursor_text, absl::MaxSplits('|', 2));
    UnitReader::ContactCursor c;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &c.role) ||
        !absl::SimpleAtoi(parts[1], &c.valid_from_us)) {
      return InvalidField("page_token", "is not a token this service issued");
    }
    c.id = parts[2];
    cursor = c;
  }

  ContactPage page;
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    auto unit = tx.FindUnit(q.unit_id);
    if (!unit.ok()) return unit.status();
    if (!*unit) return NotFound("unit_id", "unit", q.unit_id);
    auto found = tx.ListContacts(q.unit_id, q.role, at, cursor, *page_size + 1);
    if (!found.ok()) return found.status();
    page.contacts = std::move(*found);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (page.contacts.size() > static_cast<size_t>(*page_size)) {
    page.contacts.resize(*page_size);
    const Contact& last = page.contacts.back();
    page.next_page_token = EncodePageToken(
        fp, absl::StrCat(static_cast<int>(last.role), "|", last.valid_from_us, "|", last.id));
  }
  return page;
}

absl::StatusOr<Contact> UnitDirectory::EndContact(const std::string& id,
                                                  std::optional<int64_t> end_us,
                                                  const std::string& etag) {
  if (auto s = ValidateId(id); !s.ok()) return InvalidField("id", std::string(s.message()));
  int64_t end = end_us.value_or(NowMicros());
  Contact out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    auto found = tx.FindContact(id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("id", "contact", id);
    Contact c = **found;
    if (auto s = CheckEtag(etag, c.revision); !s.ok()) return s;
    if (end < c.valid_from_us)
      return InvalidField("end_time", "is before the contact's valid_from");
    if (c.valid_to_us && *c.valid_to_us <= end) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "end_time",
                        "the contact has already ended by then");
    }
    c.valid_to_us = end;
    c.revision += 1;
    c.update_us = NowMicros();
    if (auto s = tx.UpdateContact(c); !s.ok()) return s;
    out = c;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<UnitDirectory::HandOver> UnitDirectory::HandOverContact(
    const std::string& old_id, Contact successor, std::optional<int64_t> effective_us,
    const std::string& request_id) {
  FieldViolations v;
  CheckRequestId(request_id, v);
  v.AddIfError("old_contact_id", ValidateId(old_id));
  if (!successor.id.empty()) v.AddIfError("successor.id", ValidateId(successor.id));
  if (!successor.unit_id.empty()) v.AddIfError("successor.unit_id", ValidateId(successor.unit_id));
  int64_t now = NowMicros();
  int64_t effective = effective_us.value_or(now);
  if (successor.valid_from_us != 0 && successor.valid_from_us != effective) {
    v.Add("successor.valid_from", "must be empty or equal effective_time");
  }
  successor.valid_from_us = effective;
  // Role is checked against the old contact below; give the body check a valid placeholder.
  ContactRole asked_role = successor.role;
  if (successor.role == ContactRole::kUnspecified) successor.role = ContactRole::kLiaison;
  CheckContactBody(successor, "successor.", v);
  successor.role = asked_role;
  if (!v.empty()) return v.ToStatus();

  HandOver out;
  absl::Status status = store_.Write([&](UnitWriter& tx) -> absl::Status {
    if (!request_id.empty()) {
      auto prior = tx.FindContactByRequestId(request_id);
      if (!prior.ok()) return prior.status();
      if (*prior) {
        auto old = tx.FindContact(old_id);
        if (!old.ok()) return old.status();
        if (!*old || (*old)->unit_id != (*prior)->unit_id) {
          return InvalidField("request_id", "was already used for a different request");
        }
        out = {**old, **prior};
        return absl::OkStatus();
      }
    }
    auto found = tx.FindContact(old_id);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("old_contact_id", "contact", old_id);
    Contact old = **found;
    if (!successor.unit_id.empty() && successor.unit_id != old.unit_id) {
      return InvalidField("successor.unit_id", "must be empty or the old contact's unit");
    }
    if (successor.role != ContactRole::kUnspecified && successor.role != old.role) {
      return InvalidField("successor.role", "must be unspecified or the old contact's role");
    }
    if (effective < old.valid_from_us) {
      return InvalidField("effective_time", "is before the old contact's valid_from");
    }
    if (old.valid_to_us && *old.valid_to_us <= effective) {
      return FieldError(absl::StatusCode::kFailedPrecondition, "old_contact_id",
                        "the old contact has already ended by the effective time");
    }
    successor.unit_id = old.unit_id;
    successor.role = old.role;
    if (successor.id.empty()) {
      successor.id = NewId("c");
    } else {
      auto taken = tx.FindContact(successor.id);
      if (!taken.ok()) return taken.status();
      if (*taken) {
        return FieldError(absl::StatusCode::kAlreadyExists, "successor.id",
                          absl::StrCat("contact \"", successor.id, "\" already exists"));
      }
    }
    old.valid_to_us = effective;
    old.revision += 1;
    old.update_us = now;
    if (auto s = tx.UpdateContact(old); !s.ok()) return s;
    successor.revision = 1;
    successor.create_us = successor.update_us = now;
    successor.request_id = request_id;
    if (auto s = tx.InsertContact(successor); !s.ok()) return s;
    out = {old, successor};
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<Resolution>> UnitDirectory::ResolveRecipients(
    const std::vector<RecipientQuery>& queries, std::optional<int64_t> at_us) {
  FieldViolations v;
  if (queries.empty()) v.Add("queries", "must not be empty");
  if (queries.size() > kMaxBatch) v.Add("queries", absl::StrCat("at most ", kMaxBatch));
  for (size_t i = 0; i < queries.size() && i < kMaxBatch; ++i) {
    v.AddIfError(absl::StrCat("queries[", i, "].unit_id"), ValidateId(queries[i].unit_id));
    if (queries[i].level < 0 || queries[i].level > kMaxEscalationLevel) {
      v.Add(absl::StrCat("queries[", i, "].level"),
            absl::StrCat("must be 0-", kMaxEscalationLevel));
    }
  }
  if (!v.empty()) return v.ToStatus();
  int64_t at = at_us.value_or(NowMicros());

  std::vector<Resolution> out(queries.size());
  absl::Status status = store_.Read([&](UnitReader& tx) -> absl::Status {
    absl::flat_hash_set<std::string> unique;
    std::vector<std::string> ids;
    for (const auto& q : queries) {
      if (unique.insert(q.unit_id).second) ids.push_back(q.unit_id);
    }
    auto paths = tx.FindUnitPaths(ids);
    if (!paths.ok()) return paths.status();

    // Which unit's contacts each query needs.
    std::vector<std::string> targets;
    absl::flat_hash_set<std::string> target_set;
    for (size_t i = 0; i < queries.size(); ++i) {
      Resolution& r = out[i];
      r.unit_id = queries[i].unit_id;
      r.level = queries[i].level;
      auto it = paths->find(r.unit_id);
      if (it == paths->end()) {
        r.unit_not_found = true;
        r.reason = "unit not found";
        continue;
      }
      if (r.level <= 1) {
        r.resolved_unit_id = r.unit_id;
      } else {
        std::vector<std::string> chain = PathIds(it->second);  // root ... self
        int up = r.level - 1;
        int idx = static_cast<int>(chain.size()) - 1 - up;
        if (idx < 0) {
          idx = 0;
          r.capped_at_root = true;
        }
        r.resolved_unit_id = chain[idx];
      }
      if (target_set.insert(r.resolved_unit_id).second) targets.push_back(r.resolved_unit_id);
    }
    auto contacts = tx.ContactsInEffect(targets, at);
    if (!contacts.ok()) return contacts.status();
    absl::flat_hash_map<std::string, std::vector<const Contact*>> by_unit;
    for (const auto& c : *contacts) by_unit[c.unit_id].push_back(&c);

    auto pick = [&](Resolution& r, ContactRole role) {
      for (const Contact* c : by_unit[r.resolved_unit_id]) {
        if (c->role == role) r.recipients.push_back(*c);
      }
      if (!r.recipients.empty()) r.resolved_role = role;
      return !r.recipients.empty();
    };
    for (Resolution& r : out) {
      if (r.unit_not_found) continue;
      if (r.level == 0) {
        if (!pick(r, ContactRole::kLiaison)) {
          r.reason = pick(r, ContactRole::kDeputy) ? "no liaison in effect; deputies used"
                                                   : "no liaison or deputy in effect";
        }
      } else if (r.level == 1) {
        if (!pick(r, ContactRole::kHead)) r.reason = "no head in effect";
      } else if (!pick(r, ContactRole::kSupervisor)) {
        r.reason = pick(r, ContactRole::kHead) ? "no supervisor in effect; heads used"
                                               : "no supervisor or head in effect";
      }
      if (r.capped_at_root && r.reason.empty()) {
        r.reason = "level above the root; resolved at the root";
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace duban::units
