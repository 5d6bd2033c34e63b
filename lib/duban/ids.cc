#include "duban/ids.h"

#include <sys/random.h>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

#include <chrono>
#include <cstdint>
#include <random>

namespace duban {
namespace {

// A per-thread generator seeded once from the kernel's CSPRNG: one getrandom() per thread
// instead of one per id.
std::mt19937_64& Generator() {
  thread_local std::mt19937_64 gen = [] {
    uint64_t seed[2] = {0, 0};
    size_t got = 0;
    auto* bytes = reinterpret_cast<unsigned char*>(seed);
    while (got < sizeof(seed)) {
      ssize_t n = getrandom(bytes + got, sizeof(seed) - got, 0);
      if (n > 0) got += static_cast<size_t>(n);
    }
    std::seed_seq seq{seed[0], seed[0] >> 32, seed[1], seed[1] >> 32};
    return std::mt19937_64(seq);
  }();
  return gen;
}

}  // namespace

std::string NewId(absl::string_view prefix) {
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  const uint64_t random = Generator()() & ((uint64_t{1} << 52) - 1);
  // 11 hex digits of time (44 bits: until the year 2527), 13 of randomness.
  return absl::StrCat(prefix, "-",
                      absl::StrFormat("%011x%013x", ms & ((uint64_t{1} << 44) - 1), random));
}

}  // namespace duban
