// SPDX-License-Identifier: MIT
// BenchmarkRing (benchmark_ring.h): SharedRegion + RingMapping, control page initialised.
#include "benchmark_ring.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace vmb::benchmarks {
namespace {

template <typename T>
T take(Result<T> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "benchmark ring: %s failed: %s\n", what,
                 std::string(to_string(result.status())).c_str());
    std::abort();
  }
  return std::move(*result);
}

}  // namespace

BenchmarkRing::BenchmarkRing(uint32_t data_pages, bool doubled, uint32_t feature_bits)
    : region_(take(SharedRegion::create(uint64_t{data_pages} + 1, "vmbkit-ring-benchmark"),
                   "SharedRegion::create")) {
  std::vector<uint64_t> pages(data_pages + 1);
  for (uint64_t i = 0; i < pages.size(); ++i) pages[i] = i;
  mapping_ =
      take(doubled ? RingMapping::map(region_, pages) : RingMapping::map_single(region_, pages),
           "RingMapping::map");
  if (doubled && !mapping_.memory().data_doubled) {
    std::fprintf(stderr, "benchmark ring: the kernel refused the double mapping\n");
    std::abort();
  }
  ring::initialize_control_page(mapping_.memory().control, feature_bits);
}

ring::RingView BenchmarkRing::view() const {
  const RingMemory& memory = mapping_.memory();
  return {memory.control, memory.data, memory.data_size, memory.data_doubled};
}

}  // namespace vmb::benchmarks
