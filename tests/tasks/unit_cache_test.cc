// WatchedUnitCache: answers from memory only while its watch is live, drops what the watch
// names, never keeps a read that overlapped a change, and never keeps unknown ids.
#include "unit_cache.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "fake_units.h"

namespace duban::tasks {
namespace {

using std::chrono::milliseconds;

// FakeUnits with a hook run inside BatchGetUnits, to land a change while a read is in flight.
class HookedUnits : public testing::FakeUnits {
 public:
  std::function<void()> during_read;
  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(
      const std::vector<std::string>& ids) override {
    auto out = FakeUnits::BatchGetUnits(ids);
    if (during_read) during_read();
    return out;
  }
};

class UnitCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    units_.Add("gd", "", UnitKind::kProvince);
    units_.Add("gd.zq", "gd", UnitKind::kCity);
    units_.Add("gd.gz", "gd", UnitKind::kCity);
  }
  std::vector<UnitInfo> Get(const std::vector<std::string>& ids) {
    auto r = cache_.BatchGetUnits(ids);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<UnitInfo>{};
  }

  HookedUnits units_;
  WatchedUnitCache cache_{units_, milliseconds(10000)};
};

TEST_F(UnitCacheTest, WithoutAConfirmedWatchEveryCallGoesToUnitService) {
  Get({"gd.zq"});
  Get({"gd.zq"});
  EXPECT_EQ(units_.batch_calls(), 2);
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_FALSE(cache_.live());
}

TEST_F(UnitCacheTest, AConfirmedWatchAnswersRepeatsFromMemory) {
  cache_.OnWatchConfirmed();
  ASSERT_EQ(Get({"gd.zq", "gd.gz"}).size(), 2u);
  auto again = Get({"gd.gz", "gd.zq", "gd.gz"});
  EXPECT_EQ(units_.batch_calls(), 1);
  EXPECT_EQ(cache_.hits(), 1);
  ASSERT_EQ(again.size(), 2u) << "a repeated id is answered once";
  EXPECT_EQ(again[0].id, "gd.gz");
  EXPECT_EQ(again[1].id, "gd.zq");
  EXPECT_EQ(again[1].kind, UnitKind::kCity);
  // One id not held: the whole call goes out (and what it read is kept).
  Get({"gd.zq", "gd"});
  EXPECT_EQ(units_.batch_calls(), 2);
  Get({"gd"});
  EXPECT_EQ(units_.batch_calls(), 2);
}

TEST_F(UnitCacheTest, UnknownIdsAreNeverKept) {
  cache_.OnWatchConfirmed();
  EXPECT_TRUE(Get({"gd.new"}).empty());
  units_.Add("gd.new", "gd", UnitKind::kDepartment);
  ASSERT_EQ(Get({"gd.new"}).size(), 1u) << "a unit created after a miss is found";
  EXPECT_EQ(units_.batch_calls(), 2);
}

TEST_F(UnitCacheTest, AChangeDropsTheNamedUnitsAndAllUnitsDropsEverything) {
  cache_.OnWatchConfirmed();
  Get({"gd.zq", "gd.gz"});
  units_.Archive("gd.zq");
  cache_.OnChanges({"gd.zq"}, false);
  auto zq = Get({"gd.zq"});
  ASSERT_EQ(zq.size(), 1u);
  EXPECT_TRUE(zq[0].archived);
  EXPECT_EQ(units_.batch_calls(), 2);
  Get({"gd.gz"});
  EXPECT_EQ(units_.batch_calls(), 2) << "gd.gz did not change";
  cache_.OnChanges({}, true);
  EXPECT_EQ(cache_.size(), 0u);
  Get({"gd.gz"});
  EXPECT_EQ(units_.batch_calls(), 3);
}

TEST_F(UnitCacheTest, AReadThatOverlappedAChangeIsNotKept) {
  cache_.OnWatchConfirmed();
  // The change lands while the read is in flight: what it read may predate the change.
  units_.during_read = [&] { cache_.OnChanges({"gd.zq"}, false); };
  Get({"gd.zq"});
  units_.during_read = nullptr;
  EXPECT_EQ(cache_.size(), 0u);
  Get({"gd.zq"});
  Get({"gd.zq"});
  EXPECT_EQ(units_.batch_calls(), 2);
}

TEST_F(UnitCacheTest, AReadStartedBeforeTheWatchWasConfirmedIsNotKept) {
  units_.during_read = [&] { cache_.OnWatchConfirmed(); };
  Get({"gd.zq"});
  units_.during_read = nullptr;
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(UnitCacheTest, ALostWatchEmptiesTheCacheAndSendsCallsOut) {
  cache_.OnWatchConfirmed();
  Get({"gd.zq"});
  cache_.OnWatchLost();
  EXPECT_EQ(cache_.size(), 0u);
  EXPECT_FALSE(cache_.live());
  Get({"gd.zq"});
  Get({"gd.zq"});
  EXPECT_EQ(units_.batch_calls(), 3);
  EXPECT_EQ(cache_.size(), 0u) << "nothing is kept until a new watch is confirmed";
}

TEST_F(UnitCacheTest, SilencePastTheLeaseStopsAnswersUntilTheWatchIsHeardAgain) {
  HookedUnits units;
  units.Add("gd", "", UnitKind::kProvince);
  WatchedUnitCache cache(units, milliseconds(50));
  cache.OnWatchConfirmed();
  ASSERT_TRUE(cache.BatchGetUnits({"gd"}).ok());
  ASSERT_TRUE(cache.BatchGetUnits({"gd"}).ok());
  EXPECT_EQ(units.batch_calls(), 1);
  std::this_thread::sleep_for(milliseconds(80));
  EXPECT_FALSE(cache.live());
  ASSERT_TRUE(cache.BatchGetUnits({"gd"}).ok());
  EXPECT_EQ(units.batch_calls(), 2);
  // A heartbeat comes after every change sent before it (one ordered stream): what is held
  // is current again.
  cache.OnHeartbeat();
  ASSERT_TRUE(cache.BatchGetUnits({"gd"}).ok());
  EXPECT_EQ(units.batch_calls(), 2);
}

TEST_F(UnitCacheTest, FailuresPassThroughAndAreNotKept) {
  cache_.OnWatchConfirmed();
  units_.set_unavailable(true);
  auto r = cache_.BatchGetUnits({"gd.zq"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  units_.set_unavailable(false);
  EXPECT_EQ(Get({"gd.zq"}).size(), 1u);
}

TEST_F(UnitCacheTest, TheCacheStartsOverBeyondItsSize) {
  WatchedUnitCache small(units_, milliseconds(10000), /*max_units=*/2);
  small.OnWatchConfirmed();
  ASSERT_TRUE(small.BatchGetUnits({"gd", "gd.zq"}).ok());
  EXPECT_EQ(small.size(), 2u);
  ASSERT_TRUE(small.BatchGetUnits({"gd.gz"}).ok());
  EXPECT_EQ(small.size(), 1u);
}

}  // namespace
}  // namespace duban::tasks
