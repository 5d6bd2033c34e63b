#pragma once
// A UnitClient that answers BatchGetUnits from memory while a UnitService watch is live.
//
// Every write naming units checks them (CreateTask: its lead and cooperating units); without
// this, each check is a BatchGetUnits round trip that cost duban-tasks and duban-units more
// CPU than the write itself. Units change rarely, so duban-tasks keeps those it has read and
// drops them when UnitService says they changed (units.proto, WatchUnits): UnitService
// returns from a unit write only after this cache acknowledged it, so a request sent after an
// ArchiveUnit returned is checked against the archived unit, as without a cache.
//
// Only units read through a call that started after the watch was confirmed, and with no
// change notice arriving while it ran, are kept. Unknown ids are never kept (a unit created
// later must be found). When nothing has been heard from the watch for `lease`, the cache is
// not used (UnitService gives up waiting for this cache's acknowledgement a little later) and
// calls go to UnitService until the watch is back. ListSubtree always goes to UnitService.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "unit_client.h"

namespace duban::tasks {

class WatchedUnitCache : public UnitClient {
 public:
  using Clock = std::chrono::steady_clock;

  // `inner` must outlive this cache. Beyond `max_units` entries the cache starts over.
  WatchedUnitCache(UnitClient& inner, std::chrono::milliseconds lease, size_t max_units = 200000)
      : inner_(inner), lease_(lease), max_units_(max_units) {}

  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(const std::vector<std::string>& ids) override;
  absl::Status ListSubtree(
      const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) override {
    return inner_.ListSubtree(root_id, kinds, tag, on_page);
  }

  // The watch's events, from its reader thread (UnitWatch in grpc_clients.h).
  // A new watch is confirmed: start empty and trust it for one lease.
  void OnWatchConfirmed();
  // A heartbeat: the watch is alive for another lease.
  void OnHeartbeat();
  // Units changed: drop them (or everything) before the change is acknowledged.
  void OnChanges(const std::vector<std::string>& unit_ids, bool all_units);
  // The watch ended: drop everything and stop answering from memory.
  void OnWatchLost();

  // For tests and metrics.
  size_t size() const;
  bool live() const;
  int64_t hits() const;

 private:
  bool LiveLocked(Clock::time_point now) const { return watching_ && now < live_until_; }
  void ForgetLocked();

  UnitClient& inner_;
  const std::chrono::milliseconds lease_;
  const size_t max_units_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, UnitInfo> units_;  // guarded by mu_
  // Bumped by every event that drops entries: a read that saw it change while in flight is
  // not kept (it may predate the change).
  uint64_t generation_ = 0;       // guarded by mu_
  bool watching_ = false;         // guarded by mu_
  Clock::time_point live_until_;  // guarded by mu_
  int64_t hits_ = 0;              // guarded by mu_
};

}  // namespace duban::tasks
