#pragma once
// UnitWatchers: the services that keep unit data in memory (WatchUnits streams) and the
// changes each still has to apply. A unit write publishes the ids it changed after its commit
// and waits until every watcher has acknowledged them, so that no request sent after the
// write returned is answered from a stale copy. A watcher that stays silent past its lease is
// dropped instead of holding writes up; it stops using its copy on its own by then (see
// WatchUnits in units.proto).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/status/status.h>
#include <absl/status/statusor.h>

namespace duban::units {

// One message for a watcher: the changes since the last one, acknowledged by `seq`.
struct UnitChangeBatch {
  int64_t seq = 0;
  std::vector<std::string> unit_ids;
  bool all_units = false;
};

class UnitWatchers {
 public:
  using Clock = std::chrono::steady_clock;
  // More pending ids than this for one watcher become "all units".
  static constexpr size_t kMaxListedIds = 10000;
  // On top of 3 heartbeats: how long a write waits for an acknowledgement.
  static constexpr std::chrono::milliseconds kAckGrace{1000};

  struct Watcher;

  // Registers a watcher; changes published from now on are queued for it.
  std::shared_ptr<Watcher> Subscribe(std::chrono::milliseconds heartbeat);
  // Removes a watcher (its stream ended); writes no longer wait for it.
  void Unsubscribe(const std::shared_ptr<Watcher>& w);
  static const std::string& IdOf(const Watcher& w);

  // The watcher's next message: its pending changes, or nullopt when none arrived within its
  // heartbeat interval. UNAVAILABLE once the watcher was dropped or the service is stopping.
  absl::StatusOr<std::optional<UnitChangeBatch>> Next(Watcher& w);

  // NOT_FOUND if no such watcher; INVALID_ARGUMENT (field "seq") for a seq never sent to it.
  absl::Status Ack(const std::string& watch_id, int64_t seq);

  // Queues a change for every watcher and waits until each acknowledged it, ended, or was
  // dropped for missing its lease. Returns at once when nobody watches.
  void Publish(const std::vector<std::string>& unit_ids, bool all_units);

  // Wakes and ends every stream (server shutdown); later Publish calls return at once.
  void Close();

  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable acked_cv_;  // an ack arrived, or a watcher ended
  absl::flat_hash_map<std::string, std::shared_ptr<Watcher>> watchers_;
  int64_t next_watch_ = 0;
  bool closed_ = false;
};

}  // namespace duban::units
