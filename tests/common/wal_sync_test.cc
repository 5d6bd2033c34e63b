#include "duban/wal_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "duban/sqlite.h"
#include "support/temp_dir.h"

namespace duban::sqlite {
namespace {

// Every WaitDurable returns only after a sync that began once its commit was counted, and
// syncs are shared: with commits arriving while one is in flight there are fewer syncs.
TEST(WalSyncer, ReturnsOnlyAfterASyncThatBeganAfterTheCommit) {
  std::mutex mu;
  std::vector<uint64_t> sync_started_with;  // commits counted when each sync began
  std::atomic<uint64_t> counted{0};
  WalSyncer syncer([&]() -> absl::Status {
    {
      std::lock_guard<std::mutex> lock(mu);
      sync_started_with.push_back(counted.load());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return absl::OkStatus();
  });
  constexpr int kThreads = 8;
  constexpr int kCommits = 25;
  std::mutex commit_mu;  // stands for the write lock: commits are counted in order
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCommits; ++i) {
        uint64_t seq;
        {
          std::lock_guard<std::mutex> lock(commit_mu);
          seq = syncer.Commit();
          counted.store(seq);
        }
        ASSERT_TRUE(syncer.WaitDurable(seq).ok());
        // Some sync that began with this commit counted must have finished.
        std::lock_guard<std::mutex> lock(mu);
        bool covered = false;
        for (uint64_t started : sync_started_with) covered |= started >= seq;
        if (!covered) violations++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(syncer.syncs(), 0u);
  EXPECT_LT(syncer.syncs(), static_cast<uint64_t>(kThreads * kCommits));
}

TEST(WalSyncer, AFailedSyncFailsThatCommitAndEveryLaterOne) {
  bool fail = false;
  WalSyncer syncer([&]() -> absl::Status {
    return fail ? absl::InternalError("fdatasync x: Input/output error") : absl::OkStatus();
  });
  const uint64_t first = syncer.Commit();
  ASSERT_TRUE(syncer.WaitDurable(first).ok());
  fail = true;
  const uint64_t second = syncer.Commit();
  EXPECT_EQ(syncer.WaitDurable(second).code(), absl::StatusCode::kInternal);
  fail = false;  // a later success cannot vouch for pages the kernel may have dropped
  EXPECT_EQ(syncer.WaitDurable(syncer.Commit()).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(syncer.failure().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(syncer.WaitDurable(first).ok());  // was durable before the failure
}

const std::vector<Migration> kSchema = {{1, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);"}};

absl::Status Insert(Database& db, int k) {
  return db.Write([k](Connection& c) -> absl::Status {
    auto s = c.Prepare("INSERT INTO t (k, v) VALUES (?1, 'x')");
    if (!s.ok()) return s.status();
    s->Bind(1, k);
    return s->Run();
  });
}

// With FULL the database syncs its log itself after each commit (the migration's included),
// concurrent writers all land, and NORMAL leaves syncing to SQLite's checkpoints.
TEST(Database, FullSyncsTheLogAfterCommitsAndNormalDoesNot) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("full.db");
  auto db = Database::Open(o, kSchema);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_GE((*db)->wal_syncs(), 1u);  // the migration
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(Insert(**db, t * 1000 + i).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE((*db)->wal_syncs(), 2u);
  EXPECT_LE((*db)->wal_syncs(), 201u);
  int64_t rows = 0;
  ASSERT_TRUE((*db)->Read([&](Connection& c) -> absl::Status {
                    auto s = c.Prepare("SELECT count(*) FROM t");
                    if (!s.ok()) return s.status();
                    if (auto row = s->Step(); !row.ok()) return row.status();
                    rows = s->Int(0);
                    return absl::OkStatus();
                  }).ok());
  EXPECT_EQ(rows, 200);

  o.path = dir.File("normal.db");
  o.synchronous = "NORMAL";
  auto normal = Database::Open(o, kSchema);
  ASSERT_TRUE(normal.ok()) << normal.status();
  ASSERT_TRUE(Insert(**normal, 1).ok());
  EXPECT_EQ((*normal)->wal_syncs(), 0u);
}

// A write that fails syncs nothing and is not counted as a commit.
TEST(Database, AFailedWriteIsNotSynced) {
  testing::TempDir dir;
  Options o;
  o.path = dir.File("t.db");
  auto db = Database::Open(o, kSchema);
  ASSERT_TRUE(db.ok()) << db.status();
  const uint64_t before = (*db)->wal_syncs();
  ASSERT_TRUE(Insert(**db, 1).ok());
  EXPECT_EQ((*db)->wal_syncs(), before + 1);
  EXPECT_FALSE(Insert(**db, 1).ok());  // duplicate key
  EXPECT_EQ((*db)->wal_syncs(), before + 1);
}

}  // namespace
}  // namespace duban::sqlite
