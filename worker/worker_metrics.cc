#include "worker_metrics.h"

#include <prometheus/exposer.h>

#include <exception>

#include <absl/strings/str_cat.h>

namespace duban::worker {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Counter& Outcome(prometheus::Registry& r, const std::string& outcome) {
  return BuildCounter()
      .Name("duban_worker_deliveries_total")
      .Help("Deliveries by outcome")
      .Register(r)
      .Add({{"outcome", outcome}});
}

prometheus::Gauge& QueueGauge(prometheus::Registry& r, const std::string& name,
                              const std::string& help) {
  return BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

WorkerMetrics::WorkerMetrics() : WorkerMetrics(std::make_shared<prometheus::Registry>()) {}

WorkerMetrics::WorkerMetrics(std::shared_ptr<prometheus::Registry> registry)
    : sent(Outcome(*registry, "sent")),
      failed(Outcome(*registry, "failed")),
      retried(Outcome(*registry, "retried")),
      dead(Outcome(*registry, "dead")),
      suppressed(Outcome(*registry, "suppressed")),
      skipped(Outcome(*registry, "skipped")),
      duplicates_avoided(Outcome(*registry, "already_sent")),
      reclaimed(BuildCounter()
                    .Name("duban_worker_reclaimed_total")
                    .Help("Ready entries taken over from consumers whose lease expired")
                    .Register(*registry)
                    .Add({})),
      promoted(BuildCounter()
                   .Name("duban_worker_promoted_total")
                   .Help("Jobs moved from the due set to the ready stream by this worker")
                   .Register(*registry)
                   .Add({})),
      in_flight(QueueGauge(*registry, "duban_worker_in_flight",
                           "Deliveries read and not yet settled by this worker")),
      registry_(std::move(registry)),
      lateness_(
          BuildHistogram()
              .Name("duban_worker_lateness_seconds")
              .Help("Send time minus due time")
              .Register(*registry_)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02,
                                                               0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                               30, 60, 300, 3600})),
      promote_seconds_(
          BuildHistogram()
              .Name("duban_worker_promote_batch_seconds")
              .Help("Duration of one PromoteDue script call")
              .Register(*registry_)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.002,
                                                           0.005, 0.01, 0.025, 0.05, 0.1, 0.5})),
      due_(QueueGauge(*registry_, "duban_queue_due_jobs", "Jobs waiting in the due set")),
      due_overdue_seconds_(QueueGauge(*registry_, "duban_queue_due_backlog_seconds",
                                      "How far past due the earliest waiting job is")),
      ready_lag_(QueueGauge(*registry_, "duban_queue_ready_lag",
                            "Ready entries no consumer has read yet")),
      pending_(QueueGauge(*registry_, "duban_queue_pending",
                          "Ready entries delivered to a consumer and not settled")),
      dead_set_(QueueGauge(*registry_, "duban_queue_dead", "Entries in the dead set")),
      oldest_ready_age_seconds_(QueueGauge(*registry_, "duban_queue_oldest_ready_age_seconds",
                                           "Age of the oldest unsettled ready entry")) {}

WorkerMetrics::~WorkerMetrics() = default;

absl::StatusOr<std::string> WorkerMetrics::Serve(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
    exposer_->RegisterCollectable(registry_);
    std::vector<int> ports = exposer_->GetListeningPorts();
    if (ports.empty()) return absl::InternalError("metrics endpoint has no port");
    std::string host = listen.substr(0, listen.rfind(':'));
    return absl::StrCat(host, ":", ports.front());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
}

void WorkerMetrics::ObserveLateness(absl::Duration lateness) {
  lateness_.Observe(absl::ToDoubleSeconds(lateness));
}

void WorkerMetrics::ObservePromote(absl::Duration call, int n) {
  promote_seconds_.Observe(absl::ToDoubleSeconds(call));
  promoted.Increment(n);
}

void WorkerMetrics::SetQueueStats(const queue::QueueStats& s) {
  due_.Set(static_cast<double>(s.due));
  due_overdue_seconds_.Set(static_cast<double>(s.oldest_due_lateness_ms) / 1000.0);
  ready_lag_.Set(static_cast<double>(s.undelivered));
  pending_.Set(static_cast<double>(s.pending));
  dead_set_.Set(static_cast<double>(s.dead));
  oldest_ready_age_seconds_.Set(static_cast<double>(s.oldest_ready_age_ms.value_or(0)) / 1000.0);
}

}  // namespace duban::worker
