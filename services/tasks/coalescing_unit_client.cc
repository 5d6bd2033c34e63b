#include "coalescing_unit_client.h"

#include <absl/container/flat_hash_set.h>
#include <absl/strings/string_view.h>

namespace duban::tasks {

struct CoalescingUnitClient::Batch {
  std::vector<std::string> ids;  // every caller's ids, each once
  absl::flat_hash_set<std::string> seen;
  size_t callers = 0;
  bool go = false;    // the previous call returned: the first caller (the leader) sends this one
  bool done = false;  // `result` is set and no longer changes
  absl::StatusOr<std::vector<UnitInfo>> result;
  std::condition_variable cv;
};

absl::StatusOr<std::vector<UnitInfo>> CoalescingUnitClient::BatchGetUnits(
    const std::vector<std::string>& ids) {
  std::unique_lock<std::mutex> lock(mu_);
  if (in_flight_ < max_in_flight_) {
    ++in_flight_;
    lock.unlock();
    auto result = inner_.BatchGetUnits(ids);
    lock.lock();
    FinishLocked();
    return result;
  }
  if (!next_) next_ = std::make_shared<Batch>();
  std::shared_ptr<Batch> batch = next_;
  for (const std::string& id : ids) {
    if (batch->seen.insert(id).second) batch->ids.push_back(id);
  }
  if (batch->callers++ == 0) {
    batch->cv.wait(lock, [&] { return batch->go; });
    // FinishLocked detached the batch from next_: nobody adds ids any more, and the finished
    // call's place in in_flight_ is ours.
    lock.unlock();
    auto result = inner_.BatchGetUnits(batch->ids);
    lock.lock();
    batch->result = std::move(result);
    batch->done = true;
    batch->cv.notify_all();
    FinishLocked();
  } else {
    batch->cv.wait(lock, [&] { return batch->done; });
  }
  lock.unlock();

  if (!batch->result.ok()) return batch->result.status();
  absl::flat_hash_set<absl::string_view> mine(ids.begin(), ids.end());
  std::vector<UnitInfo> out;
  out.reserve(ids.size());
  for (const UnitInfo& u : *batch->result) {
    if (mine.contains(u.id)) out.push_back(u);
  }
  return out;
}

void CoalescingUnitClient::FinishLocked() {
  if (!next_) {
    --in_flight_;
    return;
  }
  std::shared_ptr<Batch> batch = std::move(next_);
  next_.reset();
  batch->go = true;
  batch->cv.notify_all();
}

size_t CoalescingUnitClient::pending_callers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_ ? next_->callers : 0;
}

}  // namespace duban::tasks
