// CoalescingUnitClient: concurrent unit checks share one BatchGetUnits, each caller gets its
// own units, errors reach every caller of the combined call, and a unit archived before a
// caller arrives is seen archived (no caching).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "coalescing_unit_client.h"
#include "fake_units.h"

namespace duban::tasks::testing {
namespace {

// FakeUnits whose BatchGetUnits can be held until released, recording each call's ids.
class HeldUnits : public UnitClient {
 public:
  explicit HeldUnits(FakeUnits& units) : units_(units) {}

  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(
      const std::vector<std::string>& ids) override {
    std::unique_lock<std::mutex> lock(mu_);
    calls_.push_back(ids);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    return units_.BatchGetUnits(ids);
  }
  absl::Status ListSubtree(
      const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) override {
    return units_.ListSubtree(root_id, kinds, tag, on_page);
  }

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  void WaitForCalls(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return calls_.size() >= n; });
  }
  std::vector<std::vector<std::string>> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  FakeUnits& units_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  std::vector<std::vector<std::string>> calls_;
};

std::set<std::string> Ids(const absl::StatusOr<std::vector<UnitInfo>>& units) {
  std::set<std::string> out;
  if (units.ok()) {
    for (const auto& u : *units) out.insert(u.id);
  }
  return out;
}

// Polls until `n` callers wait in the pending batch (a wait, not a timing assertion).
void WaitForPending(const CoalescingUnitClient& client, size_t n) {
  while (client.pending_callers() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

class CoalescingUnitClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    units_.Add("gd", "", UnitKind::kProvince);
    units_.Add("gd.zq", "gd", UnitKind::kCity);
    units_.Add("gd.fs", "gd", UnitKind::kCity);
    units_.Add("gd.zq.dz", "gd.zq", UnitKind::kDistrict);
  }

  FakeUnits units_;
  HeldUnits held_{units_};
  CoalescingUnitClient client_{held_};
};

TEST_F(CoalescingUnitClientTest, ACallAloneGoesOutAtOnceWithItsOwnIds) {
  auto got = client_.BatchGetUnits({"gd.zq", "nope", "gd.zq"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Ids(got), (std::set<std::string>{"gd.zq"}));
  ASSERT_EQ(held_.calls().size(), 1u);
  EXPECT_EQ(held_.calls()[0], (std::vector<std::string>{"gd.zq", "nope", "gd.zq"}));
  EXPECT_EQ(client_.pending_callers(), 0u);
}

TEST_F(CoalescingUnitClientTest, CallsArrivingDuringACallShareTheNextOneAndGetTheirOwnUnits) {
  held_.Hold();
  absl::StatusOr<std::vector<UnitInfo>> first, a, b, c;
  std::thread t0([&] { first = client_.BatchGetUnits({"gd"}); });
  held_.WaitForCalls(1);
  std::thread t1([&] { a = client_.BatchGetUnits({"gd.zq", "gd.fs"}); });
  std::thread t2([&] { b = client_.BatchGetUnits({"gd.fs", "missing"}); });
  std::thread t3([&] { c = client_.BatchGetUnits({"gd.zq.dz"}); });
  WaitForPending(client_, 3);
  held_.Release();
  t0.join();
  t1.join();
  t2.join();
  t3.join();

  EXPECT_EQ(Ids(first), (std::set<std::string>{"gd"}));
  EXPECT_EQ(Ids(a), (std::set<std::string>{"gd.zq", "gd.fs"}));
  EXPECT_EQ(Ids(b), (std::set<std::string>{"gd.fs"}));
  EXPECT_EQ(Ids(c), (std::set<std::string>{"gd.zq.dz"}));
  auto calls = held_.calls();
  ASSERT_EQ(calls.size(), 2u) << "the three waiting callers share one call";
  std::vector<std::string> combined = calls[1];
  std::sort(combined.begin(), combined.end());
  EXPECT_EQ(combined, (std::vector<std::string>{"gd.fs", "gd.zq", "gd.zq.dz", "missing"}))
      << "each id once";
  EXPECT_EQ(client_.pending_callers(), 0u);

  // Idle again: the next call goes out on its own.
  EXPECT_EQ(Ids(client_.BatchGetUnits({"gd.fs"})), (std::set<std::string>{"gd.fs"}));
  EXPECT_EQ(held_.calls().size(), 3u);
}

// With two calls allowed in flight the second caller goes out at once; only the third waits,
// and it goes out as soon as either call returns.
TEST_F(CoalescingUnitClientTest, UpToMaxInFlightCallsGoOutAtOnce) {
  CoalescingUnitClient two(held_, /*max_in_flight=*/2);
  held_.Hold();
  absl::StatusOr<std::vector<UnitInfo>> a, b, c;
  std::thread t1([&] { a = two.BatchGetUnits({"gd"}); });
  std::thread t2([&] { b = two.BatchGetUnits({"gd.zq"}); });
  held_.WaitForCalls(2);  // both out while the first is still held
  EXPECT_EQ(two.pending_callers(), 0u);
  std::thread t3([&] { c = two.BatchGetUnits({"gd.fs"}); });
  WaitForPending(two, 1);
  EXPECT_EQ(held_.calls().size(), 2u);
  held_.Release();
  t1.join();
  t2.join();
  t3.join();
  EXPECT_EQ(Ids(a), (std::set<std::string>{"gd"}));
  EXPECT_EQ(Ids(b), (std::set<std::string>{"gd.zq"}));
  EXPECT_EQ(Ids(c), (std::set<std::string>{"gd.fs"}));
  EXPECT_EQ(held_.calls().size(), 3u);
  EXPECT_EQ(two.pending_callers(), 0u);
}

TEST_F(CoalescingUnitClientTest, AFailedCombinedCallFailsEveryCallerInItAndOnlyThem) {
  held_.Hold();
  absl::StatusOr<std::vector<UnitInfo>> first, a, b;
  std::thread t0([&] { first = client_.BatchGetUnits({"gd"}); });
  held_.WaitForCalls(1);
  std::thread t1([&] { a = client_.BatchGetUnits({"gd.zq"}); });
  std::thread t2([&] { b = client_.BatchGetUnits({"gd.fs"}); });
  WaitForPending(client_, 2);
  units_.set_unavailable(true);  // the held first call has not read the fake yet either
  held_.Release();
  t0.join();
  t1.join();
  t2.join();
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(held_.calls().size(), 2u);

  units_.set_unavailable(false);
  EXPECT_EQ(Ids(client_.BatchGetUnits({"gd.zq"})), (std::set<std::string>{"gd.zq"}));
}

TEST_F(CoalescingUnitClientTest, AUnitArchivedBeforeACallerJoinsIsSeenArchived) {
  held_.Hold();
  absl::StatusOr<std::vector<UnitInfo>> first, later;
  std::thread t0([&] { first = client_.BatchGetUnits({"gd.zq"}); });
  held_.WaitForCalls(1);
  units_.Archive("gd.zq");  // after the in-flight call started, before the next caller
  std::thread t1([&] { later = client_.BatchGetUnits({"gd.zq"}); });
  WaitForPending(client_, 1);
  held_.Release();
  t0.join();
  t1.join();
  ASSERT_TRUE(later.ok()) << later.status();
  ASSERT_EQ(later->size(), 1u);
  EXPECT_TRUE(later->front().archived) << "answered by a call sent after the caller arrived";
}

TEST_F(CoalescingUnitClientTest, ManyConcurrentCallersEachGetExactlyTheirUnits) {
  for (int i = 0; i < 50; ++i) {
    units_.Add("gd.zq.u" + std::to_string(i), "gd.zq", UnitKind::kTown);
  }
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<std::vector<UnitInfo>>> got(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      got[i] = client_.BatchGetUnits(
          {"gd.zq.u" + std::to_string(i), "gd.zq.u" + std::to_string((i + 1) % 50), "x"});
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Ids(got[i]), (std::set<std::string>{"gd.zq.u" + std::to_string(i),
                                                  "gd.zq.u" + std::to_string((i + 1) % 50)}))
        << i;
  }
  EXPECT_LE(held_.calls().size(), 50u);
  EXPECT_EQ(client_.pending_callers(), 0u);
}

}  // namespace
}  // namespace duban::tasks::testing
