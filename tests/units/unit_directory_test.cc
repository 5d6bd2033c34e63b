// Domain rules of UnitDirectory against the real SQLite store in a temp directory.
#include "unit_directory.h"

#include <gtest/gtest.h>

#include <functional>
#include <tuple>

#include "duban/status.h"
#include "sqlite_unit_store.h"
#include "support/temp_dir.h"

namespace duban::units {
namespace {

class UnitDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    sqlite::Options o;
    o.path = dir_.File("units.db");
    o.synchronous = "NORMAL";
    store_ = *SqliteUnitStore::Open(o);
    directory_ = std::make_unique<UnitDirectory>(*store_, [this] { return now_; });
  }

  // A restart: the store and its in-memory indexes are rebuilt from the file.
  void Reopen() {
    directory_.reset();
    store_.reset();
    Open();
  }

  Unit MakeUnit(std::string id, std::string parent, UnitKind kind = UnitKind::kOther,
                std::vector<std::string> tags = {}) {
    Unit u;
    u.id = std::move(id);
    u.name = "单位" + u.id;
    u.kind = kind;
    u.parent_id = std::move(parent);
    u.tags = std::move(tags);
    return u;
  }

  Unit Create(std::string id, std::string parent, UnitKind kind = UnitKind::kOther,
              std::vector<std::string> tags = {}) {
    auto u = directory_->CreateUnit(MakeUnit(id, parent, kind, tags), "");
    EXPECT_TRUE(u.ok()) << u.status();
    return u.ok() ? *u : Unit{};
  }

  Contact MakeContact(std::string unit, ContactRole role, std::string name) {
    Contact c;
    c.unit_id = std::move(unit);
    c.role = role;
    c.person_name = std::move(name);
    c.email = "x@example.gov.cn";
    return c;
  }

  static std::string FirstField(const absl::Status& s) {
    auto v = ViolationsOf(s);
    return v.empty() ? "" : v[0].field;
  }

  std::vector<std::string> ListIds(ListUnitsQuery q) {
    std::vector<std::string> ids;
    for (;;) {
      auto page = directory_->ListUnits(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return ids;
      for (auto& u : page->units) ids.push_back(u->id);
      if (page->next_page_token.empty()) return ids;
      q.page_token = page->next_page_token;
    }
  }

  // Read transactions answer unit lookups and listings from the store's in-memory index, write
  // transactions from the file. Both must return the same rows, field for field, after any
  // write: this reads every listing shape and every unit both ways.
  void ExpectIndexMatchesFile() {
    auto row = [](const UnitRef& u) {
      return std::make_tuple(u->id, u->name, static_cast<int>(u->kind), u->parent_id, u->tags,
                             u->timezone, u->archived, u->revision, u->create_us, u->update_us,
                             u->path, u->depth, u->request_id);
    };
    using Rows = std::vector<decltype(row(nullptr))>;
    auto read = [&](bool from_file, const std::function<Rows(UnitReader&)>& fn) {
      Rows rows;
      auto run = [&](UnitReader& tx) {
        rows = fn(tx);
        return absl::CancelledError("read only");  // a write transaction is rolled back
      };
      if (from_file) {
        EXPECT_EQ(store_->Write([&](UnitWriter& w) { return run(w); }).code(),
                  absl::StatusCode::kCancelled);
      } else {
        EXPECT_EQ(store_->Read(run).code(), absl::StatusCode::kCancelled);
      }
      return rows;
    };
    auto list = [&](const UnitFilter& f, const std::string& after, int limit) {
      return [&, f, after, limit](UnitReader& tx) {
        Rows rows;
        auto units = tx.ListUnits(f, after, limit);
        EXPECT_TRUE(units.ok()) << units.status();
        if (units.ok()) {
          for (const auto& u : *units) rows.push_back(row(u));
        }
        return rows;
      };
    };
    UnitFilter all;
    all.include_archived = true;
    UnitFilter active;
    UnitFilter subtree = all;
    subtree.subtree_path = "/gd/gd.zq/";
    UnitFilter branches;
    branches.kinds = {UnitKind::kPartyBranch, UnitKind::kTown};
    UnitFilter tagged = all;
    tagged.tag = "国企";
    const Rows everything = read(true, list(all, "", 1000));
    ASSERT_FALSE(everything.empty());
    const std::string middle = std::get<10>(everything[everything.size() / 2]);
    for (const UnitFilter& f : {all, active, subtree, branches, tagged}) {
      EXPECT_EQ(read(false, list(f, "", 1000)), read(true, list(f, "", 1000)));
      EXPECT_EQ(read(false, list(f, middle, 2)), read(true, list(f, middle, 2)));
    }
    EXPECT_EQ(read(false, list(all, "", 1000)), everything);
    for (const auto& u : everything) {
      auto find = [&](UnitReader& tx) {
        Rows rows;
        auto found = tx.FindUnit(std::get<0>(u));
        EXPECT_TRUE(found.ok() && *found != nullptr) << std::get<0>(u);
        if (found.ok() && *found) rows.push_back(row(*found));
        return rows;
      };
      EXPECT_EQ(read(false, find), read(true, find)) << std::get<0>(u);
    }
  }

  testing::TempDir dir_;
  absl::Time now_ = absl::FromUnixSeconds(1790000000);
  std::unique_ptr<SqliteUnitStore> store_;
  std::unique_ptr<UnitDirectory> directory_;
};

TEST_F(UnitDirectoryTest, CreateBuildsPathsAndDefaults) {
  Create("gd", "", UnitKind::kProvince);
  Create("gd.zq", "gd", UnitKind::kCity, {"五区"});
  Unit d = Create("gd.zq.duanzhou", "gd.zq", UnitKind::kDistrict);
  EXPECT_EQ(d.depth, 2);
  EXPECT_EQ(d.path, "/gd/gd.zq/gd.zq.duanzhou/");
  EXPECT_EQ(d.timezone, "Asia/Shanghai");
  EXPECT_EQ(EtagOf(d.revision), "1");
}

TEST_F(UnitDirectoryTest, CreateReportsEveryBadField) {
  Unit bad;
  bad.id = "Bad Id";
  bad.name = "";
  bad.kind = static_cast<UnitKind>(42);
  bad.tags = {"a", "a"};
  bad.timezone = "Nowhere/City";
  auto s = directory_->CreateUnit(bad, "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (auto& v : ViolationsOf(s)) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"unit.id", "unit.name", "unit.kind", "unit.tags",
                                              "unit.timezone"}));
}

TEST_F(UnitDirectoryTest, UnknownOrArchivedParentIsRefusedAndNothingWritten) {
  auto s = directory_->CreateUnit(MakeUnit("a", "nope"), "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FirstField(s), "unit.parent_id");
  EXPECT_EQ(directory_->GetUnit("a").status().code(), absl::StatusCode::kNotFound);
  Create("root", "");
  ASSERT_TRUE(directory_->ArchiveUnit("root", false, "").ok());
  s = directory_->CreateUnit(MakeUnit("a", "root"), "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(UnitDirectoryTest, RequestIdMakesCreateIdempotent) {
  auto first = directory_->CreateUnit(MakeUnit("a", ""), "req-1");
  ASSERT_TRUE(first.ok());
  now_ += absl::Seconds(5);
  auto again = directory_->CreateUnit(MakeUnit("a", ""), "req-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->create_us, first->create_us);
  auto dup = directory_->CreateUnit(MakeUnit("a", ""), "req-2");
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  auto other = directory_->CreateUnit(MakeUnit("b", ""), "req-1");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FirstField(other.status()), "request_id");
}

TEST_F(UnitDirectoryTest, UpdateHonoursMaskAndEtag) {
  Unit u = Create("a", "", UnitKind::kCity);
  Unit patch = MakeUnit("a", "", UnitKind::kDistrict, {"国企", "五区"});
  patch.name = "新名字";
  auto updated = directory_->UpdateUnit(patch, {"name", "tags"}, EtagOf(u.revision));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->name, "新名字");
  EXPECT_EQ(updated->kind, UnitKind::kCity);  // not in the mask
  EXPECT_EQ(updated->tags, (std::vector<std::string>{"五区", "国企"}));
  EXPECT_EQ(updated->revision, 2);
  // The old etag is now stale.
  auto stale = directory_->UpdateUnit(patch, {"kind"}, EtagOf(u.revision));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(directory_->GetUnit("a")->kind, UnitKind::kCity);
  // Immutable or unknown paths.
  auto s = directory_->UpdateUnit(patch, {"parent_id"}, "").status();
  EXPECT_EQ(FirstField(s), "update_mask");
  EXPECT_EQ(FirstField(directory_->UpdateUnit(patch, {}, "").status()), "update_mask");
  EXPECT_EQ(FirstField(directory_->UpdateUnit(patch, {"bogus"}, "").status()), "update_mask");
}

TEST_F(UnitDirectoryTest, MoveRewritesTheSubtreeAndRefusesCycles) {
  Create("p", "");
  Create("a", "p");
  Create("a.1", "a");
  Create("a.1.x", "a.1");
  Create("b", "p");
  auto moved = directory_->MoveUnit("a", "b", "");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->parent_id, "b");
  EXPECT_EQ(directory_->GetUnit("a.1.x")->path, "/p/b/a/a.1/a.1.x/");
  EXPECT_EQ(directory_->GetUnit("a.1.x")->depth, 4);
  // Into its own subtree: a cycle.
  auto cycle = directory_->MoveUnit("a", "a.1.x", "");
  EXPECT_EQ(cycle.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FirstField(cycle.status()), "new_parent_id");
  EXPECT_EQ(directory_->MoveUnit("a", "a", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(directory_->GetUnit("a")->parent_id, "b");
  // To the root level.
  ASSERT_TRUE(directory_->MoveUnit("a", "", "").ok());
  EXPECT_EQ(directory_->GetUnit("a.1.x")->path, "/a/a.1/a.1.x/");
  EXPECT_EQ(directory_->GetUnit("a.1.x")->depth, 2);
}

TEST_F(UnitDirectoryTest, ArchiveNeedsCascadeWhileChildrenAreActive) {
  Create("p", "");
  Create("c1", "p");
  Create("c2", "c1");
  auto s = directory_->ArchiveUnit("p", false, "").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(directory_->GetUnit("p")->archived);
  ASSERT_TRUE(directory_->ArchiveUnit("p", true, "").ok());
  EXPECT_TRUE(directory_->GetUnit("c2")->archived);
  // Restore needs the parent active first.
  EXPECT_EQ(directory_->RestoreUnit("c1", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(directory_->RestoreUnit("p", "").ok());
  ASSERT_TRUE(directory_->RestoreUnit("c1", "").ok());
  EXPECT_FALSE(directory_->GetUnit("c1")->archived);
  EXPECT_TRUE(directory_->GetUnit("c2")->archived);
}

TEST_F(UnitDirectoryTest, ListPagesInTreeOrderWithFilters) {
  Create("gd", "", UnitKind::kProvince);
  for (int c = 0; c < 3; ++c) {
    std::string city = "gd.c" + std::to_string(c);
    Create(city, "gd", UnitKind::kCity,
           c == 0 ? std::vector<std::string>{"五区"} : std::vector<std::string>{});
    for (int b = 0; b < 4; ++b) {
      Create(city + ".b" + std::to_string(b), city, UnitKind::kPartyBranch);
    }
  }
  ListUnitsQuery q;
  q.page_size = 2;
  auto all = ListIds(q);
  ASSERT_EQ(all.size(), 16u);
  EXPECT_EQ(all[0], "gd");
  EXPECT_EQ(all[1], "gd.c0");
  EXPECT_EQ(all[2], "gd.c0.b0");

  q.subtree_of = "gd.c1";
  EXPECT_EQ(ListIds(q),
            (std::vector<std::string>{"gd.c1", "gd.c1.b0", "gd.c1.b1", "gd.c1.b2", "gd.c1.b3"}));
  q.filter.kinds = {UnitKind::kPartyBranch};
  EXPECT_EQ(ListIds(q).size(), 4u);
  q = {};
  q.filter.parent_id = "gd";
  EXPECT_EQ(ListIds(q), (std::vector<std::string>{"gd.c0", "gd.c1", "gd.c2"}));
  q = {};
  q.filter.tag = "五区";
  EXPECT_EQ(ListIds(q), (std::vector<std::string>{"gd.c0"}));
  q = {};
  q.filter.roots_only = true;
  EXPECT_EQ(ListIds(q), (std::vector<std::string>{"gd"}));

  // Archived units are hidden unless asked for.
  ASSERT_TRUE(directory_->ArchiveUnit("gd.c2", true, "").ok());
  q = {};
  EXPECT_EQ(ListIds(q).size(), 11u);
  q.filter.include_archived = true;
  EXPECT_EQ(ListIds(q).size(), 16u);
}

TEST_F(UnitDirectoryTest, ListRejectsBadArguments) {
  Create("gd", "");
  ListUnitsQuery q;
  q.page_size = -1;
  EXPECT_EQ(FirstField(directory_->ListUnits(q).status()), "page_size");
  q = {};
  q.page_token = "not-a-token";
  EXPECT_EQ(FirstField(directory_->ListUnits(q).status()), "page_token");
  q = {};
  q.page_size = 1;
  Create("gd.a", "gd");
  auto page = directory_->ListUnits(q);
  ASSERT_FALSE(page->next_page_token.empty());
  q.page_token = page->next_page_token;
  q.filter.kinds = {UnitKind::kCity};  // different filter, same token
  EXPECT_EQ(FirstField(directory_->ListUnits(q).status()), "page_token");
  q = {};
  q.subtree_of = "missing";
  EXPECT_EQ(directory_->ListUnits(q).status().code(), absl::StatusCode::kNotFound);
  q = {};
  q.subtree_of = "gd";
  q.filter.parent_id = "gd";
  EXPECT_EQ(FirstField(directory_->ListUnits(q).status()), "subtree_of");
  q = {};
  q.filter.kinds = {static_cast<UnitKind>(99)};
  EXPECT_EQ(FirstField(directory_->ListUnits(q).status()), "kinds[0]");
}

// Subtree queries must be index range scans, never table scans (300,000 units and more).
TEST_F(UnitDirectoryTest, SubtreeQueriesUseThePathIndex) {
  Create("gd", "");
  sqlite::Options o;
  o.path = dir_.File("units.db");
  // Schema versions 1-2 exist already; these entries only tell Open the version is known.
  auto db = *sqlite::Database::Open(o, {{1, ""}, {2, ""}});
  std::vector<std::string> plans;
  for (const char* sql :
       {"EXPLAIN QUERY PLAN SELECT id FROM units WHERE path >= '/gd/' AND "
        "path < '/gd0' AND archived = 0 ORDER BY path LIMIT 101",
        "EXPLAIN QUERY PLAN SELECT kind, count(*) FROM units WHERE path >= '/gd/' AND "
        "path < '/gd0' AND archived = 0 GROUP BY kind",
        "EXPLAIN QUERY PLAN SELECT id FROM units WHERE path > '' AND parent_id = 'gd' "
        "ORDER BY path LIMIT 51"}) {
    std::string plan;
    ASSERT_TRUE(db->Read([&](sqlite::Connection& c) -> absl::Status {
                    auto s = c.Prepare(sql);
                    if (!s.ok()) return s.status();
                    for (;;) {
                      auto row = s->Step();
                      if (!row.ok()) return row.status();
                      if (!*row) return absl::OkStatus();
                      plan += s->Text(3) + "\n";
                    }
                  }).ok());
    EXPECT_NE(plan.find("USING"), std::string::npos) << plan;
    // Subtree queries range the path index from both sides, never from one end.
    if (plan.find("units_by_path") != std::string::npos) {
      EXPECT_NE(plan.find("path>? AND path<?"), std::string::npos) << plan;
    }
    EXPECT_EQ(plan.find("SCAN units\n"), std::string::npos) << plan;
  }
}

TEST_F(UnitDirectoryTest, CountsPerKindUnderARoot) {
  Create("zq", "", UnitKind::kCity);
  Create("zq.d", "zq", UnitKind::kDistrict);
  for (int i = 0; i < 5; ++i) {
    Create("zq.d.b" + std::to_string(i), "zq.d", UnitKind::kPartyBranch,
           i < 2 ? std::vector<std::string>{"国企"} : std::vector<std::string>{});
  }
  auto counts = directory_->CountUnits("zq", false, "");
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 3u);
  EXPECT_EQ((*counts)[2].kind, UnitKind::kPartyBranch);
  EXPECT_EQ((*counts)[2].count, 5);
  auto tagged = directory_->CountUnits("zq", false, "国企");
  ASSERT_EQ(tagged->size(), 1u);
  EXPECT_EQ((*tagged)[0].count, 2);
  EXPECT_EQ(directory_->CountUnits("none", false, "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(UnitDirectoryTest, ImportAcceptsParentsLaterInTheStream) {
  std::vector<ImportRow> rows = {
      {1, MakeUnit("gd.c.d", "gd.c")}, {2, MakeUnit("gd.c", "gd")}, {3, MakeUnit("gd", "")}};
  auto r = directory_->ImportUnits(rows, ImportMode::kAllOrNothing);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(r->created, 3);
  EXPECT_EQ(directory_->GetUnit("gd.c.d")->path, "/gd/gd.c/gd.c.d/");
  // Re-import: unchanged rows, one update, one move.
  Unit moved = MakeUnit("gd.c.d", "gd");
  moved.name = "改名";
  rows = {{1, MakeUnit("gd", "")}, {2, moved}};
  r = directory_->ImportUnits(rows, ImportMode::kAllOrNothing);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->unchanged, 1);
  EXPECT_EQ(r->updated, 1);
  auto d = directory_->GetUnit("gd.c.d");
  EXPECT_EQ(d->name, "改名");
  EXPECT_EQ(d->path, "/gd/gd.c.d/");
}

TEST_F(UnitDirectoryTest, ImportAllOrNothingWritesNothingOnAnyBadRow) {
  Unit bad = MakeUnit("b", "a");
  bad.name = "";
  std::vector<ImportRow> rows = {{1, MakeUnit("a", "")}, {2, bad}, {3, MakeUnit("c", "zz")}};
  auto r = directory_->ImportUnits(rows, ImportMode::kAllOrNothing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (auto& v : ViolationsOf(r.status())) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"rows[2].name", "rows[3].parent_id"}));
  EXPECT_EQ(directory_->GetUnit("a").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(UnitDirectoryTest, ImportValidRowsOnlyCascadesRejections) {
  Unit bad = MakeUnit("b", "a");
  bad.kind = UnitKind::kUnspecified;
  std::vector<ImportRow> rows = {{1, MakeUnit("a", "")},        {2, bad},
                                 {3, MakeUnit("b.child", "b")},  // parent rejected
                                 {4, MakeUnit("a", "")},         // duplicate id
                                 {5, MakeUnit("x", "y")},        // cycle x <-> y
                                 {6, MakeUnit("y", "x")},       {7, MakeUnit("a.ok", "a")}};
  auto r = directory_->ImportUnits(rows, ImportMode::kValidRowsOnly);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->applied);
  EXPECT_EQ(r->created, 2);
  EXPECT_EQ(r->rejected, 5);
  std::vector<int64_t> rows_with_errors;
  for (auto& e : r->errors) rows_with_errors.push_back(e.row);
  EXPECT_EQ(rows_with_errors, (std::vector<int64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(r->errors[1].description, "parent row 2 was rejected");
  EXPECT_TRUE(directory_->GetUnit("a.ok").ok());
}

TEST_F(UnitDirectoryTest, ImportRefusesACycleThroughStoredUnits) {
  Create("a", "");
  Create("b", "a");
  // Stored: a -> b. Import makes a a child of b: a cycle through the database.
  auto r = directory_->ImportUnits({{1, MakeUnit("a", "b")}}, ImportMode::kValidRowsOnly);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rejected, 1);
  EXPECT_EQ(directory_->GetUnit("a")->parent_id, "");
  // But swapping both in one import is fine.
  r = directory_->ImportUnits({{1, MakeUnit("a", "b")}, {2, MakeUnit("b", "")}},
                              ImportMode::kAllOrNothing);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(directory_->GetUnit("a")->path, "/b/a/");
  EXPECT_EQ(directory_->GetUnit("b")->path, "/b/");
}

TEST_F(UnitDirectoryTest, ContactsValidateChannelsAndKeepHistory) {
  Create("u", "");
  Contact c = MakeContact("u", ContactRole::kLiaison, "王芳");
  c.email = "not-an-email";
  c.webhook_url = "ftp://x";
  auto s = directory_->AddContact(c, "").status();
  std::vector<std::string> fields;
  for (auto& v : ViolationsOf(s)) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"contact.email", "contact.webhook_url"}));

  c = MakeContact("u", ContactRole::kLiaison, "王芳");
  c.email.clear();
  EXPECT_EQ(FirstField(directory_->AddContact(c, "").status()), "contact.email");

  auto first = directory_->AddContact(MakeContact("u", ContactRole::kLiaison, "王芳"), "r1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->locale, "zh-CN");
  EXPECT_EQ(directory_->AddContact(MakeContact("u", ContactRole::kLiaison, "王芳"), "r1")->id,
            first->id);

  now_ += absl::Hours(1);
  Contact successor = MakeContact("", ContactRole::kUnspecified, "李伟");
  auto handover = directory_->HandOverContact(first->id, successor, std::nullopt, "");
  ASSERT_TRUE(handover.ok()) << handover.status();
  EXPECT_EQ(handover->ended.valid_to_us, absl::ToUnixMicros(now_));
  EXPECT_EQ(handover->successor.role, ContactRole::kLiaison);

  ListContactsQuery q;
  q.unit_id = "u";
  auto current = directory_->ListContacts(q);
  ASSERT_EQ(current->contacts.size(), 1u);
  EXPECT_EQ(current->contacts[0].person_name, "李伟");
  q.include_history = true;
  EXPECT_EQ(directory_->ListContacts(q)->contacts.size(), 2u);

  // Ending twice is refused.
  EXPECT_EQ(directory_->EndContact(first->id, std::nullopt, "").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(UnitDirectoryTest, ResolveClimbsTheLadder) {
  Create("gd", "", UnitKind::kProvince);
  Create("gd.zq", "gd", UnitKind::kCity);
  Create("gd.zq.dz", "gd.zq", UnitKind::kDistrict);
  ASSERT_TRUE(directory_->AddContact(MakeContact("gd.zq.dz", ContactRole::kDeputy, "副"), "").ok());
  ASSERT_TRUE(directory_->AddContact(MakeContact("gd.zq.dz", ContactRole::kHead, "长"), "").ok());
  ASSERT_TRUE(
      directory_->AddContact(MakeContact("gd.zq", ContactRole::kSupervisor, "督"), "").ok());
  ASSERT_TRUE(directory_->AddContact(MakeContact("gd", ContactRole::kHead, "省"), "").ok());

  auto r = directory_->ResolveRecipients({{"gd.zq.dz", 0},
                                          {"gd.zq.dz", 1},
                                          {"gd.zq.dz", 2},
                                          {"gd.zq.dz", 3},
                                          {"gd.zq.dz", 9},
                                          {"ghost", 0}},
                                         std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].recipients.at(0).person_name, "副");  // no liaison: deputy
  EXPECT_EQ((*r)[0].resolved_role, ContactRole::kDeputy);
  EXPECT_EQ((*r)[1].recipients.at(0).person_name, "长");
  EXPECT_EQ((*r)[2].resolved_unit_id, "gd.zq");
  EXPECT_EQ((*r)[2].recipients.at(0).person_name, "督");
  EXPECT_EQ((*r)[3].resolved_unit_id, "gd");  // no supervisor at gd: its head
  EXPECT_EQ((*r)[3].recipients.at(0).person_name, "省");
  EXPECT_FALSE((*r)[3].capped_at_root);
  EXPECT_TRUE((*r)[4].capped_at_root);
  EXPECT_TRUE((*r)[5].unit_not_found);

  // Contacts not yet in effect are not chosen.
  Contact future = MakeContact("gd.zq.dz", ContactRole::kLiaison, "未来");
  future.valid_from_us = absl::ToUnixMicros(now_ + absl::Hours(24));
  ASSERT_TRUE(directory_->AddContact(future, "").ok());
  r = directory_->ResolveRecipients({{"gd.zq.dz", 0}}, std::nullopt);
  EXPECT_EQ((*r)[0].resolved_role, ContactRole::kDeputy);
  r = directory_->ResolveRecipients({{"gd.zq.dz", 0}}, absl::ToUnixMicros(now_ + absl::Hours(25)));
  EXPECT_EQ((*r)[0].recipients.at(0).person_name, "未来");

  auto bad = directory_->ResolveRecipients({{"gd", -1}, {"BAD", 0}}, std::nullopt);
  std::vector<std::string> fields;
  for (auto& v : ViolationsOf(bad.status())) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"queries[0].level", "queries[1].unit_id"}));
}

// ResolveRecipients reads paths and contacts from the store's in-memory indexes: they must follow
// moves (of a subtree, children included), contact changes, rolled-back writes and a restart.
TEST_F(UnitDirectoryTest, RecipientIndexesFollowWritesRollbacksAndRestart) {
  Create("gd", "", UnitKind::kProvince);
  Create("gd.zq", "gd", UnitKind::kCity);
  Create("gd.fs", "gd", UnitKind::kCity);
  Create("gd.zq.dz", "gd.zq", UnitKind::kDistrict);
  Create("gd.zq.dz.b1", "gd.zq.dz", UnitKind::kPartyBranch);
  ASSERT_TRUE(
      directory_->AddContact(MakeContact("gd.zq", ContactRole::kSupervisor, "肇督"), "").ok());
  ASSERT_TRUE(
      directory_->AddContact(MakeContact("gd.fs", ContactRole::kSupervisor, "佛督"), "").ok());
  auto liaison =
      directory_->AddContact(MakeContact("gd.zq.dz.b1", ContactRole::kLiaison, "甲"), "");
  ASSERT_TRUE(liaison.ok()) << liaison.status();

  auto who = [&](const std::string& unit, int level) -> std::string {
    auto r = directory_->ResolveRecipients({{unit, level}}, std::nullopt);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || (*r)[0].unit_not_found) return "not found";
    return (*r)[0].recipients.empty() ? "nobody" : (*r)[0].recipients[0].person_name;
  };
  EXPECT_EQ(who("gd.zq.dz.b1", 0), "甲");
  EXPECT_EQ(who("gd.zq.dz.b1", 3), "肇督");

  // A move re-roots the whole subtree, the branch created before it included.
  ASSERT_TRUE(directory_->MoveUnit("gd.zq.dz", "gd.fs", "").ok());
  EXPECT_EQ(who("gd.zq.dz", 2), "佛督");
  EXPECT_EQ(who("gd.zq.dz.b1", 3), "佛督");

  // A handover: the successor from its effective instant on.
  Contact successor = MakeContact("gd.zq.dz.b1", ContactRole::kLiaison, "乙");
  ASSERT_TRUE(directory_->HandOverContact(liaison->id, successor, std::nullopt, "").ok());
  EXPECT_EQ(who("gd.zq.dz.b1", 0), "乙");

  // A write transaction that inserted a unit and a contact and then failed changes nothing.
  Unit ghost = MakeUnit("gd.ghost", "gd");
  ghost.path = ChildPath("/gd/", "gd.ghost");
  Contact ghost_contact = MakeContact("gd.zq.dz.b1", ContactRole::kLiaison, "鬼");
  ghost_contact.id = "c-ghost";
  absl::Status failed = store_->Write([&](UnitWriter& w) -> absl::Status {
    if (auto s = w.InsertUnit(ghost); !s.ok()) return s;
    if (auto s = w.InsertContact(ghost_contact); !s.ok()) return s;
    return absl::AbortedError("rolled back on purpose");
  });
  ASSERT_EQ(failed.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(who("gd.ghost", 0), "not found");
  EXPECT_EQ(who("gd.zq.dz.b1", 0), "乙");

  // A restart loads the index from the file.
  Reopen();
  EXPECT_EQ(who("gd.zq.dz.b1", 0), "乙");
  EXPECT_EQ(who("gd.zq.dz.b1", 3), "佛督");
  EXPECT_EQ(who("gd.ghost", 0), "not found");
}

TEST_F(UnitDirectoryTest, UnitIndexEqualsTheFileAfterEveryKindOfWrite) {
  Create("gd", "", UnitKind::kProvince);
  Create("gd.zq", "gd", UnitKind::kCity);
  Create("gd.fs", "gd", UnitKind::kCity);
  Create("gd.zq.dz", "gd.zq", UnitKind::kDistrict, {"五区"});
  Create("gd.zq.dz.t1", "gd.zq.dz", UnitKind::kTown);
  Create("gd.zq.dz.t1.b1", "gd.zq.dz.t1", UnitKind::kPartyBranch, {"国企"});
  Create("gd.zq.dz.t1.b2", "gd.zq.dz.t1", UnitKind::kPartyBranch);
  ExpectIndexMatchesFile();

  now_ += absl::Seconds(1);
  Unit patch = MakeUnit("gd.zq.dz.t1.b2", "", UnitKind::kPartyBranch, {"国企", "市直单位"});
  patch.name = "改名支部";
  ASSERT_TRUE(directory_->UpdateUnit(patch, {"name", "tags"}, "").ok());
  ExpectIndexMatchesFile();

  now_ += absl::Seconds(1);
  ASSERT_TRUE(directory_->MoveUnit("gd.zq.dz", "gd.fs", "").ok());  // a subtree of 4
  ExpectIndexMatchesFile();

  now_ += absl::Seconds(1);
  ASSERT_TRUE(directory_->ArchiveUnit("gd.zq.dz.t1", true, "").ok());  // with its branches
  ExpectIndexMatchesFile();
  ASSERT_TRUE(directory_->RestoreUnit("gd.zq.dz.t1", "").ok());
  ExpectIndexMatchesFile();

  // An import that creates, updates and moves, then one that is refused as a whole.
  now_ += absl::Seconds(1);
  Unit moved_back = MakeUnit("gd.zq.dz", "gd.zq", UnitKind::kDistrict, {"五区"});
  moved_back.name = "端州区";
  std::vector<ImportRow> rows = {
      {1, MakeUnit("gd.zq.dz.t2", "gd.zq.dz", UnitKind::kTown)},
      {2, moved_back},
      {3, MakeUnit("gd.zq.dz.t2.b1", "gd.zq.dz.t2", UnitKind::kPartyBranch, {"国企"})}};
  auto r = directory_->ImportUnits(rows, ImportMode::kAllOrNothing);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->applied);
  ExpectIndexMatchesFile();
  rows = {{1, MakeUnit("gd.zq.new", "gd.zq")}, {2, MakeUnit("gd.zq.bad", "nowhere")}};
  r = directory_->ImportUnits(rows, ImportMode::kAllOrNothing);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(directory_->GetUnit("gd.zq.new").status().code(), absl::StatusCode::kNotFound);
  ExpectIndexMatchesFile();

  // A restart loads the index from the file.
  Reopen();
  ExpectIndexMatchesFile();
  ListUnitsQuery q;
  q.subtree_of = "gd.zq";
  // The branches stay archived: restoring their town did not cascade.
  EXPECT_EQ(ListIds(q), (std::vector<std::string>{"gd.zq", "gd.zq.dz", "gd.zq.dz.t1", "gd.zq.dz.t2",
                                                  "gd.zq.dz.t2.b1"}));
  q.filter.include_archived = true;
  EXPECT_EQ(ListIds(q),
            (std::vector<std::string>{"gd.zq", "gd.zq.dz", "gd.zq.dz.t1", "gd.zq.dz.t1.b1",
                                      "gd.zq.dz.t1.b2", "gd.zq.dz.t2", "gd.zq.dz.t2.b1"}));
}

}  // namespace
}  // namespace duban::units
