#include "duban/sqlite.h"

#include <gtest/gtest.h>

#include <thread>

#include <absl/strings/str_cat.h>

#include "support/temp_dir.h"

namespace duban::sqlite {
namespace {

const std::vector<Migration> kV1 = {{1, "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER);"}};
const std::vector<Migration> kV2 = {{1, "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER);"},
                                    {2, "ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT '';"}};

TEST(Database, MigratesForwardAndRefusesNewerSchemas) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("t.db");
  {
    auto db = Database::Open(o, kV1);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ((*db)->schema_version(), 1);
  }
  {
    auto db = Database::Open(o, kV2);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ((*db)->schema_version(), 2);
  }
  auto old = Database::Open(o, kV1);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), absl::StatusCode::kFailedPrecondition);
}

absl::Status Insert(Database& db, int k) {
  return db.Write([k](Connection& c) -> absl::Status {
    auto s = c.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
    if (!s.ok()) return s.status();
    s->Bind(1, absl::StrCat("k", k)).Bind(2, k);
    return s->Run();
  });
}

int64_t CountRows(Database& db) {
  int64_t count = -1;
  EXPECT_TRUE(db.Read([&](Connection& c) -> absl::Status {
                  auto s = c.Prepare("SELECT count(*) FROM t");
                  if (!s.ok()) return s.status();
                  if (auto row = s->Step(); !row.ok()) return row.status();
                  count = s->Int(0);
                  return absl::OkStatus();
                }).ok());
  return count;
}

TEST(Database, FailedWriteLeavesNothing) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("t.db");
  auto db = *Database::Open(o, kV1);
  auto status = db->Write([](Connection& c) -> absl::Status {
    auto s = c.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
    if (!s.ok()) return s.status();
    s->Bind(1, "a").Bind(2, 1);
    if (auto st = s->Run(); !st.ok()) return st;
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(CountRows(*db), 0);
}

// With FULL the database syncs its log itself after each commit (the migration's included),
// concurrent writers all land, and NORMAL leaves syncing to SQLite's checkpoints.
TEST(Database, FullSyncsTheLogAfterCommitsAndNormalDoesNot) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("full.db");
  auto db = *Database::Open(o, kV1);
  EXPECT_GE(db->wal_syncs(), 1u);  // the migration
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(Insert(*db, t * 1000 + i).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(db->wal_syncs(), 2u);
  EXPECT_LE(db->wal_syncs(), 201u);
  EXPECT_EQ(CountRows(*db), 200);

  o.path = dir.File("normal.db");
  o.synchronous = "NORMAL";
  auto normal = *Database::Open(o, kV1);
  ASSERT_TRUE(Insert(*normal, 1).ok());
  EXPECT_EQ(normal->wal_syncs(), 0u);
}

// A write that fails syncs nothing and is not counted as a commit.
TEST(Database, AFailedWriteIsNotSynced) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("t.db");
  auto db = *Database::Open(o, kV1);
  const uint64_t before = db->wal_syncs();
  ASSERT_TRUE(Insert(*db, 1).ok());
  EXPECT_EQ(db->wal_syncs(), before + 1);
  EXPECT_FALSE(Insert(*db, 1).ok());  // duplicate key
  EXPECT_EQ(db->wal_syncs(), before + 1);
}

TEST(Database, CachedStatementsAreReusableInLoopsAndAcrossThreads) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("t.db");
  o.readers = 3;
  auto db = *Database::Open(o, kV1);
  ASSERT_TRUE(db->Write([](Connection& c) -> absl::Status {
                  auto s = c.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
                  if (!s.ok()) return s.status();
                  for (int i = 0; i < 100; ++i) {
                    s->Bind(1, "k" + std::to_string(i)).Bind(2, i);
                    if (auto st = s->Run(); !st.ok()) return st;
                  }
                  return absl::OkStatus();
                }).ok());
  std::vector<std::thread> readers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto st = db->Read([&](Connection& c) -> absl::Status {
          auto s = c.Prepare("SELECT v FROM t WHERE k = ?1");
          if (!s.ok()) return s.status();
          s->Bind(1, "k" + std::to_string(i));
          auto row = s->Step();
          if (!row.ok()) return row.status();
          return (*row && s->Int(0) == i) ? absl::OkStatus() : absl::InternalError("bad row");
        });
        if (st.ok()) ok++;
      }
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(ok.load(), 300);
}

}  // namespace
}  // namespace duban::sqlite
