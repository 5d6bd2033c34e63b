#include "unit_cache.h"

#include <absl/container/flat_hash_set.h>
#include <absl/strings/string_view.h>

namespace duban::tasks {

absl::StatusOr<std::vector<UnitInfo>> WatchedUnitCache::BatchGetUnits(
    const std::vector<std::string>& ids) {
  uint64_t generation = 0;
  bool keep = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (LiveLocked(Clock::now())) {
      bool all = true;
      for (const std::string& id : ids) {
        if (!units_.contains(id)) {
          all = false;
          break;
        }
      }
      if (all) {
        // Duplicated ids are answered once, as UnitService does.
        absl::flat_hash_set<absl::string_view> seen;
        std::vector<UnitInfo> out;
        out.reserve(ids.size());
        for (const std::string& id : ids) {
          if (seen.insert(id).second) out.push_back(units_.at(id));
        }
        ++hits_;
        return out;
      }
      keep = true;
      generation = generation_;
    }
  }
  auto result = inner_.BatchGetUnits(ids);
  if (result.ok() && keep) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == generation_ && LiveLocked(Clock::now())) {
      if (units_.size() + result->size() > max_units_) units_.clear();
      for (const UnitInfo& u : *result) units_[u.id] = u;
    }
  }
  return result;
}

void WatchedUnitCache::ForgetLocked() {
  units_.clear();
  ++generation_;
}

void WatchedUnitCache::OnWatchConfirmed() {
  std::lock_guard<std::mutex> lock(mu_);
  ForgetLocked();
  watching_ = true;
  live_until_ = Clock::now() + lease_;
}

void WatchedUnitCache::OnHeartbeat() {
  std::lock_guard<std::mutex> lock(mu_);
  if (watching_) live_until_ = Clock::now() + lease_;
}

void WatchedUnitCache::OnChanges(const std::vector<std::string>& unit_ids, bool all_units) {
  std::lock_guard<std::mutex> lock(mu_);
  if (all_units) {
    units_.clear();
  } else {
    for (const std::string& id : unit_ids) units_.erase(id);
  }
  ++generation_;
  if (watching_) live_until_ = Clock::now() + lease_;
}

void WatchedUnitCache::OnWatchLost() {
  std::lock_guard<std::mutex> lock(mu_);
  ForgetLocked();
  watching_ = false;
}

size_t WatchedUnitCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return units_.size();
}

bool WatchedUnitCache::live() const {
  std::lock_guard<std::mutex> lock(mu_);
  return LiveLocked(Clock::now());
}

int64_t WatchedUnitCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

}  // namespace duban::tasks
