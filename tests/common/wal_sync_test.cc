#include "duban/wal_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

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

}  // namespace
}  // namespace duban::sqlite
