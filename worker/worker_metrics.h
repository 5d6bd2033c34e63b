#pragma once
// The worker's Prometheus metrics, served on --metrics-listen at /metrics (prometheus-cpp).
// Led by the lateness histogram: send time (worker clock) − due time, with buckets from 1 ms.
#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "duban/queue/queue_types.h"

namespace prometheus {
class Exposer;
}

namespace duban::worker {

class WorkerMetrics {
 public:
  WorkerMetrics();
  ~WorkerMetrics();

  // Serves /metrics on HOST:PORT (port 0 = any); returns the bound HOST:PORT.
  absl::StatusOr<std::string> Serve(const std::string& listen);

  void ObserveLateness(absl::Duration lateness);
  void ObservePromote(absl::Duration call, int promoted);
  void SetQueueStats(const queue::QueueStats& stats);

  prometheus::Counter& sent;
  prometheus::Counter& failed;   // channel send failures (transient or permanent)
  prometheus::Counter& retried;  // retries scheduled
  prometheus::Counter& dead;     // dead-lettered
  prometheus::Counter& suppressed;
  prometheus::Counter& skipped;             // stale, canceled, in flight elsewhere
  prometheus::Counter& duplicates_avoided;  // already sent by an earlier delivery
  prometheus::Counter& reclaimed;
  prometheus::Counter& promoted;
  prometheus::Gauge& in_flight;

 private:
  explicit WorkerMetrics(std::shared_ptr<prometheus::Registry> registry);
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Histogram& lateness_;
  prometheus::Histogram& promote_seconds_;
  prometheus::Gauge& due_;
  prometheus::Gauge& due_overdue_seconds_;
  prometheus::Gauge& ready_lag_;
  prometheus::Gauge& pending_;
  prometheus::Gauge& dead_set_;
  prometheus::Gauge& oldest_ready_age_seconds_;
};

}  // namespace duban::worker
