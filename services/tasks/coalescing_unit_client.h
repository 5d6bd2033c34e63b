#pragma once
// A UnitClient that combines concurrent BatchGetUnits calls. Every CreateTask (and every other
// write naming units) checks its units through UnitService before writing; under load that
// one small RPC per call cost duban-tasks and duban-units more CPU than the write itself.
//
// Up to `max_in_flight` calls go out at once; calls that arrive while that many are in flight
// join one pending batch, which is sent as a single call as soon as one in flight returns; each
// caller gets the units among its own ids. A caller alone goes out at once, so an idle service
// adds no latency. With one call in flight a caller waits for it and then its own (1.5 round
// trips on average); with two the wait is shorter and the batches still large.
//
// This is not a cache: every caller's answer comes from a call that started after the caller
// arrived, so a unit archived before a task names it is still refused (the freshness
// CheckUnits had when each call went out on its own). If the combined call fails, every caller
// in it gets that error. ListSubtree passes straight through.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "unit_client.h"

namespace duban::tasks {

class CoalescingUnitClient : public UnitClient {
 public:
  // `inner` must outlive this client.
  explicit CoalescingUnitClient(UnitClient& inner, int max_in_flight = 1)
      : inner_(inner), max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight) {}

  absl::StatusOr<std::vector<UnitInfo>> BatchGetUnits(const std::vector<std::string>& ids) override;
  absl::Status ListSubtree(
      const std::string& root_id, const std::vector<UnitKind>& kinds, const std::string& tag,
      const std::function<absl::Status(std::vector<UnitInfo>&)>& on_page) override {
    return inner_.ListSubtree(root_id, kinds, tag, on_page);
  }

  // Callers waiting in the pending batch (for tests).
  size_t pending_callers() const;

 private:
  struct Batch;

  // Marks an in-flight call finished: hands the pending batch (if any) to its leader, who
  // sends it next in that call's place, else frees the place. Requires mu_.
  void FinishLocked();

  UnitClient& inner_;
  const int max_in_flight_;
  mutable std::mutex mu_;
  int in_flight_ = 0;            // calls to inner_ running; guarded by mu_
  std::shared_ptr<Batch> next_;  // callers waiting for the next call; guarded by mu_
};

}  // namespace duban::tasks
