#include "sqlite_unit_store.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include <algorithm>
#include <tuple>

namespace duban::units {
namespace {

using sqlite::Connection;
using sqlite::Stmt;

const std::vector<sqlite::Migration>& Migrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE units (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  kind        INTEGER NOT NULL,
  parent_id   TEXT REFERENCES units(id),
  -- materialized path "/root/child/id/": a subtree is the index range [path, path-'/'+'0')
  path        TEXT NOT NULL,
  depth       INTEGER NOT NULL,
  tags        TEXT NOT NULL DEFAULT '',  -- sorted tags joined by U+001F, for reading back
  timezone    TEXT NOT NULL,
  archived    INTEGER NOT NULL DEFAULT 0,
  revision    INTEGER NOT NULL,
  create_us   INTEGER NOT NULL,
  update_us   INTEGER NOT NULL,
  request_id  TEXT UNIQUE
);
-- Covers subtree listing and per-kind counts without touching the table.
CREATE UNIQUE INDEX units_by_path ON units(path, kind, archived);
CREATE INDEX units_by_parent ON units(parent_id, path);
CREATE TABLE unit_tags (
  unit_id TEXT NOT NULL REFERENCES units(id),
  tag     TEXT NOT NULL,
  PRIMARY KEY (unit_id, tag)
) WITHOUT ROWID;
CREATE INDEX unit_tags_by_tag ON unit_tags(tag, unit_id);
CREATE TABLE contacts (
  id            TEXT PRIMARY KEY,
  unit_id       TEXT NOT NULL REFERENCES units(id),
  person_name   TEXT NOT NULL,
  role          INTEGER NOT NULL,
  email         TEXT NOT NULL DEFAULT '',
  mobile        TEXT NOT NULL DEFAULT '',
  webhook_url   TEXT NOT NULL DEFAULT '',
  locale        TEXT NOT NULL,
  valid_from_us INTEGER NOT NULL,
  valid_to_us   INTEGER,
  revision      INTEGER NOT NULL,
  create_us     INTEGER NOT NULL,
  update_us     INTEGER NOT NULL,
  request_id    TEXT UNIQUE
);
CREATE INDEX contacts_by_unit ON contacts(unit_id, role, valid_from_us, id);
)sql"},
      // ResolveRecipients reads the contacts in effect of up to 1,000 units per call: with every
      // column in the index each unit's contacts are one index range, no row lookups (contacts
      // are few, so the wider index costs little on writes). Same name and leading columns.
      {2, R"sql(
DROP INDEX contacts_by_unit;
CREATE INDEX contacts_by_unit ON contacts(unit_id, role, valid_from_us, id, valid_to_us,
                                          person_name, email, mobile, webhook_url, locale,
                                          revision, create_us, update_us, request_id);
)sql"},
  };
  return kMigrations;
}

constexpr char kTagSep = '\x1f';

std::string PathUpperBound(const std::string& path) {
  // path ends with '/', and '0' is the character after '/'.
  return path.substr(0, path.size() - 1) + "0";
}

// Builds `IN (SELECT value FROM json_each(?))` arguments; ids are validated [a-z0-9._-].
std::string JsonArray(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += '"';
    out += ids[i];
    out += '"';
  }
  out += ']';
  return out;
}

constexpr char kUnitColumns[] =
    "id, name, kind, parent_id, path, depth, tags, timezone, archived, revision, create_us, "
    "update_us, request_id";

Unit ReadUnit(const Stmt& s) {
  Unit u;
  u.id = s.Text(0);
  u.name = s.Text(1);
  u.kind = static_cast<UnitKind>(s.Int(2));
  u.parent_id = s.Text(3);
  u.path = s.Text(4);
  u.depth = static_cast<int>(s.Int(5));
  absl::string_view tags = s.TextView(6);
  if (!tags.empty()) u.tags = absl::StrSplit(tags, kTagSep);
  u.timezone = s.Text(7);
  u.archived = s.Int(8) != 0;
  u.revision = s.Int(9);
  u.create_us = s.Int(10);
  u.update_us = s.Int(11);
  u.request_id = s.Text(12);
  return u;
}

constexpr char kContactColumns[] =
    "id, unit_id, person_name, role, email, mobile, webhook_url, locale, valid_from_us, "
    "valid_to_us, revision, create_us, update_us, request_id";

Contact ReadContact(const Stmt& s) {
  Contact c;
  c.id = s.Text(0);
  c.unit_id = s.Text(1);
  c.person_name = s.Text(2);
  c.role = static_cast<ContactRole>(s.Int(3));
  c.email = s.Text(4);
  c.mobile = s.Text(5);
  c.webhook_url = s.Text(6);
  c.locale = s.Text(7);
  c.valid_from_us = s.Int(8);
  c.valid_to_us = s.OptInt(9);
  c.revision = s.Int(10);
  c.create_us = s.Int(11);
  c.update_us = s.Int(12);
  c.request_id = s.Text(13);
  return c;
}

UnitRef ReadUnitRef(const Stmt& s) { return std::make_shared<const Unit>(ReadUnit(s)); }

using sqlite::Collect;
using sqlite::CollectOne;

}  // namespace

// The rows a write transaction changed, as committed, in the order it changed them; the store
// puts them into its in-memory indexes after the commit.
struct SqliteUnitStore::Changes {
  std::vector<UnitRef> units;
  std::vector<Contact> contacts;
  void clear() {
    units.clear();
    contacts.clear();
  }
};

namespace {

// A transaction. Read transactions answer unit lookups, subtree listings and contacts in effect
// from the in-memory indexes (`units`, `contacts`); write transactions read the database (their
// own uncommitted rows included) and record each row they change in `changes`.
class SqliteUnitTx : public UnitWriter {
 public:
  // A read transaction: the file is read through `lazy`, begun only if a method needs it.
  SqliteUnitTx(sqlite::Database::LazyRead& lazy, const UnitIndex& units,
               const ContactIndex& contacts)
      : lazy_(&lazy), units_(&units), contacts_(&contacts) {}
  // A write transaction on `c`, recording its changed rows in `changes`.
  SqliteUnitTx(Connection& c, SqliteUnitStore::Changes& changes) : c_(&c), changes_(&changes) {}

  absl::StatusOr<UnitRef> FindUnit(const std::string& id) override {
    if (units_ != nullptr) return units_->Find(id);
    auto s = Prepare(absl::StrCat("SELECT ", kUnitColumns, " FROM units WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return *row ? ReadUnitRef(*s) : nullptr;
  }

  absl::StatusOr<std::optional<Unit>> FindUnitByRequestId(const std::string& rid) override {
    auto s = Prepare(absl::StrCat("SELECT ", kUnitColumns, " FROM units WHERE request_id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, rid);
    return CollectOne<Unit>(*s, ReadUnit);
  }

  absl::StatusOr<std::vector<Unit>> FindUnits(const std::vector<std::string>& ids) override {
    if (units_ != nullptr) {
      std::vector<Unit> out;
      for (const UnitRef& u : units_->FindMany(ids)) out.push_back(*u);
      return out;
    }
    auto s = Prepare(absl::StrCat("SELECT ", kUnitColumns,
                                  " FROM units WHERE id IN (SELECT value FROM json_each(?1))"));
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(ids));
    return Collect<Unit>(*s, ReadUnit);
  }

  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> FindUnitPaths(
      const std::vector<std::string>& ids) override {
    if (units_ != nullptr) return units_->Paths(ids);
    auto s = Prepare("SELECT id, path FROM units WHERE id IN (SELECT value FROM json_each(?1))");
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(ids));
    absl::flat_hash_map<std::string, std::string> paths;
    paths.reserve(ids.size());
    for (;;) {
      auto row = s->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      paths.emplace(s->Text(0), s->Text(1));
    }
    return paths;
  }

  absl::StatusOr<std::vector<UnitRef>> ListUnits(const UnitFilter& f, const std::string& after_path,
                                                 int limit) override {
    if (units_ != nullptr && UnitIndex::CanList(f)) return units_->List(f, after_path, limit);
    // The SQL text depends only on which filters are present, so each shape is prepared once.
    // One lower bound only: SQLite ranges an index on a single lower bound, so with both
    // "path > cursor" and "path >= subtree" it would scan from the first of them.
    bool from_subtree_root =
        !f.subtree_path.empty() && (after_path.empty() || after_path < f.subtree_path);
    std::string sql = absl::StrCat("SELECT ", kUnitColumns, " FROM units WHERE path ",
                                   from_subtree_root ? ">=" : ">", " ?1");
    if (!f.subtree_path.empty()) sql += " AND path < ?3";
    if (!f.parent_id.empty()) sql += " AND parent_id = ?4";
    if (f.roots_only) sql += " AND parent_id IS NULL";
    if (!f.include_archived) sql += " AND archived = 0";
    if (!f.kinds.empty()) sql += " AND kind IN (SELECT value FROM json_each(?5))";
    if (!f.tag.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM unit_tags t WHERE t.unit_id = units.id AND t.tag = ?6)";
    }
    sql += " ORDER BY path LIMIT ?7";
    auto s = Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, from_subtree_root ? f.subtree_path : after_path);
    if (!f.subtree_path.empty()) s->Bind(3, PathUpperBound(f.subtree_path));
    if (!f.parent_id.empty()) s->Bind(4, f.parent_id);
    if (!f.kinds.empty()) {
      std::vector<std::string> kinds;
      for (UnitKind k : f.kinds) kinds.push_back(absl::StrCat(static_cast<int>(k)));
      s->Bind(5, absl::StrCat("[", absl::StrJoin(kinds, ","), "]"));
    }
    if (!f.tag.empty()) s->Bind(6, f.tag);
    s->Bind(7, static_cast<int64_t>(limit));
    return Collect<UnitRef>(*s, ReadUnitRef);
  }

  absl::StatusOr<std::vector<KindCount>> CountUnits(const std::string& subtree_path,
                                                    const std::string& tag,
                                                    bool include_archived) override {
    std::string sql = "SELECT kind, count(*) FROM units WHERE path >= ?1 AND path < ?2";
    if (!include_archived) sql += " AND archived = 0";
    if (!tag.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM unit_tags t WHERE t.unit_id = units.id AND t.tag = ?3)";
    }
    sql += " GROUP BY kind ORDER BY kind";
    auto s = Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, subtree_path).Bind(2, PathUpperBound(subtree_path));
    if (!tag.empty()) s->Bind(3, tag);
    return Collect<KindCount>(*s, [](const Stmt& st) {
      return KindCount{static_cast<UnitKind>(st.Int(0)), st.Int(1)};
    });
  }

  absl::StatusOr<int64_t> CountActiveDescendants(const std::string& path) override {
    auto s = Prepare("SELECT count(*) FROM units WHERE path > ?1 AND path < ?2 AND archived = 0");
    if (!s.ok()) return s.status();
    s->Bind(1, path).Bind(2, PathUpperBound(path));
    auto row = s->Step();
    if (!row.ok()) return row.status();
    return s->Int(0);
  }

  absl::StatusOr<std::optional<Contact>> FindContact(const std::string& id) override {
    auto s = Prepare(absl::StrCat("SELECT ", kContactColumns, " FROM contacts WHERE id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, id);
    return CollectOne<Contact>(*s, ReadContact);
  }

  absl::StatusOr<std::optional<Contact>> FindContactByRequestId(const std::string& rid) override {
    auto s =
        Prepare(absl::StrCat("SELECT ", kContactColumns, " FROM contacts WHERE request_id = ?1"));
    if (!s.ok()) return s.status();
    s->Bind(1, rid);
    return CollectOne<Contact>(*s, ReadContact);
  }

  absl::StatusOr<std::vector<Contact>> ListContacts(const std::string& unit_id, ContactRole role,
                                                    std::optional<int64_t> in_effect_at,
                                                    const std::optional<ContactCursor>& after,
                                                    int limit) override {
    std::string sql = absl::StrCat("SELECT ", kContactColumns, " FROM contacts WHERE unit_id = ?1");
    if (role != ContactRole::kUnspecified) sql += " AND role = ?2";
    if (in_effect_at) {
      sql += " AND valid_from_us <= ?3 AND (valid_to_us IS NULL OR valid_to_us > ?3)";
    }
    if (after) sql += " AND (role, valid_from_us, id) > (?4, ?5, ?6)";
    sql += " ORDER BY role, valid_from_us, id LIMIT ?7";
    auto s = Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, unit_id);
    if (role != ContactRole::kUnspecified) s->Bind(2, static_cast<int>(role));
    if (in_effect_at) s->Bind(3, *in_effect_at);
    if (after) s->Bind(4, after->role).Bind(5, after->valid_from_us).Bind(6, after->id);
    s->Bind(7, static_cast<int64_t>(limit));
    return Collect<Contact>(*s, ReadContact);
  }

  absl::StatusOr<std::vector<Contact>> ContactsInEffect(const std::vector<std::string>& unit_ids,
                                                        int64_t at_us) override {
    if (contacts_ != nullptr) return contacts_->ContactsInEffect(unit_ids, at_us);
    auto s = Prepare(
        absl::StrCat("SELECT ", kContactColumns,
                     " FROM contacts WHERE unit_id IN (SELECT value FROM json_each(?1))"
                     " AND valid_from_us <= ?2 AND (valid_to_us IS NULL OR valid_to_us > ?2)"));
    if (!s.ok()) return s.status();
    s->Bind(1, JsonArray(unit_ids)).Bind(2, at_us);
    auto contacts = Collect<Contact>(*s, ReadContact);
    if (!contacts.ok()) return contacts.status();
    // Sorted here rather than with ORDER BY: SQLite's sorter over the json_each join cost a
    // third of ResolveRecipients' time in profiles; the result is a few rows per unit.
    std::sort(contacts->begin(), contacts->end(), [](const Contact& a, const Contact& b) {
      return std::tie(a.unit_id, a.role, a.id) < std::tie(b.unit_id, b.role, b.id);
    });
    return contacts;
  }

  absl::Status InsertUnit(const Unit& u) override {
    auto s =
        Prepare(absl::StrCat("INSERT INTO units (", kUnitColumns,
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
    if (!s.ok()) return s.status();
    s->Bind(1, u.id)
        .Bind(2, u.name)
        .Bind(3, static_cast<int>(u.kind))
        .BindTextOrNull(4, u.parent_id)
        .Bind(5, u.path)
        .Bind(6, u.depth)
        .Bind(7, absl::StrJoin(u.tags, std::string(1, kTagSep)))
        .Bind(8, u.timezone)
        .Bind(9, u.archived ? 1 : 0)
        .Bind(10, u.revision)
        .Bind(11, u.create_us)
        .Bind(12, u.update_us)
        .BindTextOrNull(13, u.request_id);
    if (auto st = s->Run(); !st.ok()) return st;
    if (auto st = InsertTags(u.id, u.tags); !st.ok()) return st;
    if (changes_ != nullptr) changes_->units.push_back(std::make_shared<const Unit>(u));
    return absl::OkStatus();
  }

  absl::Status UpdateUnit(const Unit& u) override {
    auto s = Prepare(
        "UPDATE units SET name = ?2, kind = ?3, tags = ?4, timezone = ?5, archived = ?6, "
        "revision = ?7, update_us = ?8 WHERE id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, u.id)
        .Bind(2, u.name)
        .Bind(3, static_cast<int>(u.kind))
        .Bind(4, absl::StrJoin(u.tags, std::string(1, kTagSep)))
        .Bind(5, u.timezone)
        .Bind(6, u.archived ? 1 : 0)
        .Bind(7, u.revision)
        .Bind(8, u.update_us);
    if (auto st = s->Run(); !st.ok()) return st;
    auto del = Prepare("DELETE FROM unit_tags WHERE unit_id = ?1");
    if (!del.ok()) return del.status();
    del->Bind(1, u.id);
    if (auto st = del->Run(); !st.ok()) return st;
    if (auto st = InsertTags(u.id, u.tags); !st.ok()) return st;
    return RecordRows("id = ?1", u.id, "");
  }

  absl::Status MoveSubtree(const std::string& id, const std::string& new_parent_id,
                           const std::string& old_path, const std::string& new_path,
                           int depth_delta, int64_t revision, int64_t now_us) override {
    auto s = Prepare(
        "UPDATE units SET path = ?3 || substr(path, ?4), depth = depth + ?5 "
        "WHERE path >= ?1 AND path < ?2");
    if (!s.ok()) return s.status();
    s->Bind(1, old_path)
        .Bind(2, PathUpperBound(old_path))
        .Bind(3, new_path)
        .Bind(4, static_cast<int64_t>(old_path.size() + 1))
        .Bind(5, depth_delta);
    if (auto st = s->Run(); !st.ok()) return st;
    auto p =
        Prepare("UPDATE units SET parent_id = ?2, revision = ?3, update_us = ?4 WHERE id = ?1");
    if (!p.ok()) return p.status();
    p->Bind(1, id).BindTextOrNull(2, new_parent_id).Bind(3, revision).Bind(4, now_us);
    if (auto st = p->Run(); !st.ok()) return st;
    return RecordRows("path >= ?1 AND path < ?2", new_path, PathUpperBound(new_path));
  }

  absl::StatusOr<int64_t> ArchiveSubtree(const std::string& path, int64_t now_us) override {
    auto s = Prepare(
        "UPDATE units SET archived = 1, revision = revision + 1, update_us = ?3 "
        "WHERE path >= ?1 AND path < ?2 AND archived = 0");
    if (!s.ok()) return s.status();
    s->Bind(1, path).Bind(2, PathUpperBound(path)).Bind(3, now_us);
    if (auto st = s->Run(); !st.ok()) return st;
    const int64_t changed = s->Changes();
    if (changed > 0) {
      if (auto st = RecordRows("path >= ?1 AND path < ?2", path, PathUpperBound(path)); !st.ok()) {
        return st;
      }
    }
    return changed;
  }

  absl::Status InsertContact(const Contact& c) override {
    auto s = Prepare(
        absl::StrCat("INSERT INTO contacts (", kContactColumns,
                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"));
    if (!s.ok()) return s.status();
    BindContact(*s, c);
    s->BindTextOrNull(14, c.request_id);
    if (auto st = s->Run(); !st.ok()) return st;
    if (changes_ != nullptr) changes_->contacts.push_back(c);
    return absl::OkStatus();
  }

  absl::Status UpdateContact(const Contact& c) override {
    auto s = Prepare(
        "UPDATE contacts SET unit_id = ?2, person_name = ?3, role = ?4, email = ?5, mobile = ?6,"
        " webhook_url = ?7, locale = ?8, valid_from_us = ?9, valid_to_us = ?10, revision = ?11,"
        " create_us = ?12, update_us = ?13 WHERE id = ?1");
    if (!s.ok()) return s.status();
    BindContact(*s, c);
    if (auto st = s->Run(); !st.ok()) return st;
    if (changes_ != nullptr) changes_->contacts.push_back(c);
    return absl::OkStatus();
  }

 private:
  // Records the rows `where` selects, as this transaction now has them, for the indexes. Used
  // after updates: reading the rows back keeps the indexes equal to the file whatever the SQL
  // changed (a move rewrites a whole subtree's paths and depths).
  absl::Status RecordRows(const char* where, const std::string& p1, const std::string& p2) {
    if (changes_ == nullptr) return absl::OkStatus();
    auto s = Prepare(absl::StrCat("SELECT ", kUnitColumns, " FROM units WHERE ", where));
    if (!s.ok()) return s.status();
    s->Bind(1, p1);
    if (!p2.empty()) s->Bind(2, p2);
    for (;;) {
      auto row = s->Step();
      if (!row.ok()) return row.status();
      if (!*row) return absl::OkStatus();
      changes_->units.push_back(ReadUnitRef(*s));
    }
  }

  static void BindContact(Stmt& s, const Contact& c) {
    s.Bind(1, c.id)
        .Bind(2, c.unit_id)
        .Bind(3, c.person_name)
        .Bind(4, static_cast<int>(c.role))
        .Bind(5, c.email)
        .Bind(6, c.mobile)
        .Bind(7, c.webhook_url)
        .Bind(8, c.locale)
        .Bind(9, c.valid_from_us)
        .Bind(10, c.valid_to_us)
        .Bind(11, c.revision)
        .Bind(12, c.create_us)
        .Bind(13, c.update_us);
  }

  absl::Status InsertTags(const std::string& id, const std::vector<std::string>& tags) {
    if (tags.empty()) return absl::OkStatus();
    auto s = Prepare("INSERT INTO unit_tags (unit_id, tag) VALUES (?1, ?2)");
    if (!s.ok()) return s.status();
    for (const auto& tag : tags) {
      s->Bind(1, id).Bind(2, tag);
      if (auto st = s->Run(); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Stmt> Prepare(absl::string_view sql) {
    if (c_ == nullptr) {
      auto c = lazy_->connection();
      if (!c.ok()) return c.status();
      c_ = *c;
    }
    return c_->Prepare(sql);
  }

  Connection* c_ = nullptr;
  sqlite::Database::LazyRead* lazy_ = nullptr;
  const UnitIndex* units_ = nullptr;
  const ContactIndex* contacts_ = nullptr;
  SqliteUnitStore::Changes* changes_ = nullptr;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteUnitStore>> SqliteUnitStore::Open(
    const sqlite::Options& options) {
  auto db = sqlite::Database::Open(options, Migrations());
  if (!db.ok()) return db.status();
  std::unique_ptr<SqliteUnitStore> store(new SqliteUnitStore(std::move(*db)));
  if (auto s = store->LoadIndex(); !s.ok()) return s;
  return store;
}

absl::Status SqliteUnitStore::LoadIndex() {
  return db_->Read([&](Connection& c) -> absl::Status {
    auto units = c.Prepare(absl::StrCat("SELECT ", kUnitColumns, " FROM units"));
    if (!units.ok()) return units.status();
    auto all = Collect<UnitRef>(*units, ReadUnitRef);
    if (!all.ok()) return all.status();
    units_.PutAll(std::move(*all));
    auto contacts = c.Prepare(absl::StrCat("SELECT ", kContactColumns, " FROM contacts"));
    if (!contacts.ok()) return contacts.status();
    while (true) {
      auto row = contacts->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      contacts_.Put(ReadContact(*contacts));
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteUnitStore::Read(const std::function<absl::Status(UnitReader&)>& fn) {
  sqlite::Database::LazyRead lazy(*db_);
  SqliteUnitTx tx(lazy, units_, contacts_);
  return fn(tx);
}

absl::Status SqliteUnitStore::Write(const std::function<absl::Status(UnitWriter&)>& fn) {
  // One write at a time from here to the index update, so that changes reach the index in
  // commit order (a unit added under a subtree that a later transaction moves must move too).
  absl::MutexLock lock(&write_mu_);
  Changes changes;
  absl::Status status = db_->Write([&](Connection& c) {
    changes.clear();  // a retried transaction starts over
    SqliteUnitTx tx(c, changes);
    return fn(tx);
  });
  if (status.ok()) {
    units_.PutAll(std::move(changes.units));
    contacts_.PutAll(std::move(changes.contacts));
  }
  return status;
}

}  // namespace duban::units
