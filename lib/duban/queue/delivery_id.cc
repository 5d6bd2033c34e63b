#include "duban/queue/delivery_id.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

namespace duban::queue {
namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t Fnv1a(uint64_t h, absl::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// Final avalanche (splitmix64) so nearby inputs spread over all bits.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string DeliveryId(absl::string_view queue, absl::string_view job_id, int64_t version) {
  // Length prefixes keep ("a", "bc") and ("ab", "c") apart.
  std::string input =
      absl::StrCat(queue.size(), ":", queue, "|", job_id.size(), ":", job_id, "|", version);
  uint64_t hi = Mix(Fnv1a(0xcbf29ce484222325ULL, input));
  uint64_t lo = Mix(Fnv1a(0x84222325cbf29ce4ULL, absl::StrCat("duban-delivery|", input)));
  return absl::StrFormat("%016x%016x", hi, lo);
}

}  // namespace duban::queue
