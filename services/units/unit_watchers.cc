#include "unit_watchers.h"

#include <algorithm>

#include <absl/container/flat_hash_set.h>
#include <absl/strings/str_cat.h>

#include "duban/status.h"

namespace duban::units {

struct UnitWatchers::Watcher {
  std::string id;
  std::chrono::milliseconds heartbeat{500};
  std::condition_variable cv;  // pending changes, or dropped / closed
  // Guarded by UnitWatchers::mu_.
  std::vector<std::string> pending_ids;
  absl::flat_hash_set<std::string> pending_seen;
  bool pending_all = false;
  int64_t published = 0;  // last seq queued for this watcher
  int64_t sent = 0;       // last seq handed to its stream
  int64_t acked = 0;
  bool dropped = false;
  bool ended = false;
};

std::shared_ptr<UnitWatchers::Watcher> UnitWatchers::Subscribe(
    std::chrono::milliseconds heartbeat) {
  auto w = std::make_shared<Watcher>();
  w->heartbeat = heartbeat;
  std::lock_guard<std::mutex> lock(mu_);
  w->id = absl::StrCat("w", ++next_watch_);
  if (closed_) w->dropped = true;
  watchers_[w->id] = w;
  return w;
}

void UnitWatchers::Unsubscribe(const std::shared_ptr<Watcher>& w) {
  std::lock_guard<std::mutex> lock(mu_);
  w->ended = true;
  watchers_.erase(w->id);
  acked_cv_.notify_all();
}

const std::string& UnitWatchers::IdOf(const Watcher& w) { return w.id; }

absl::StatusOr<std::optional<UnitChangeBatch>> UnitWatchers::Next(Watcher& w) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [&] { return w.dropped || closed_ || w.published > w.sent; };
  if (!w.cv.wait_for(lock, w.heartbeat, ready)) return std::optional<UnitChangeBatch>();
  if (closed_) return absl::UnavailableError("duban-units is stopping");
  if (w.dropped) {
    return absl::UnavailableError(
        "watch dropped: a change was not acknowledged in time; subscribe again");
  }
  UnitChangeBatch b;
  b.seq = w.published;
  b.all_units = w.pending_all;
  if (!b.all_units) b.unit_ids = std::move(w.pending_ids);
  w.pending_ids.clear();
  w.pending_seen.clear();
  w.pending_all = false;
  w.sent = w.published;
  return std::optional<UnitChangeBatch>(std::move(b));
}

absl::Status UnitWatchers::Ack(const std::string& watch_id, int64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watchers_.find(watch_id);
  if (it == watchers_.end()) {
    return FieldError(absl::StatusCode::kNotFound, "watch_id",
                      absl::StrCat("watch \"", watch_id, "\" has ended"));
  }
  Watcher& w = *it->second;
  if (seq > w.sent) return InvalidField("seq", "was not sent on this watch");
  w.acked = std::max(w.acked, seq);
  acked_cv_.notify_all();
  return absl::OkStatus();
}

void UnitWatchers::Publish(const std::vector<std::string>& unit_ids, bool all_units) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_ || watchers_.empty()) return;
  struct Wait {
    std::shared_ptr<Watcher> w;
    int64_t seq;
    Clock::time_point give_up;
  };
  std::vector<Wait> waits;
  const Clock::time_point now = Clock::now();
  for (auto& [id, w] : watchers_) {
    if (w->dropped) continue;
    if (!w->pending_all) {
      if (all_units) {
        w->pending_all = true;
      } else {
        for (const std::string& u : unit_ids) {
          if (w->pending_seen.insert(u).second) w->pending_ids.push_back(u);
        }
        if (w->pending_ids.size() > kMaxListedIds) w->pending_all = true;
      }
      if (w->pending_all) {
        w->pending_ids.clear();
        w->pending_seen.clear();
      }
    }
    w->published += 1;
    w->cv.notify_all();
    waits.push_back({w, w->published, now + 3 * w->heartbeat + kAckGrace});
  }
  for (const Wait& x : waits) {
    Watcher& w = *x.w;
    auto done = [&] { return closed_ || w.ended || w.dropped || w.acked >= x.seq; };
    if (!acked_cv_.wait_until(lock, x.give_up, done)) {
      // Silent past its lease: the watcher stopped trusting its copy by now (units.proto).
      w.dropped = true;
      w.cv.notify_all();
    }
  }
}

void UnitWatchers::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [id, w] : watchers_) w->cv.notify_all();
  acked_cv_.notify_all();
}

size_t UnitWatchers::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_.size();
}

}  // namespace duban::units
