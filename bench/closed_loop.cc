#include "closed_loop.h"

#include <cmath>

namespace duban::bench {

std::atomic<bool> g_stop_requested{false};

double LoadResult::QuantileMs(double q) {
  if (latency_ns.empty()) return 0;
  std::sort(latency_ns.begin(), latency_ns.end());
  // Nearest rank: the smallest latency with at least q of the calls at or below it.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(latency_ns.size())));
  rank = std::clamp<size_t>(rank, 1, latency_ns.size());
  return static_cast<double>(latency_ns[rank - 1]) / 1e6;
}

}  // namespace duban::bench
