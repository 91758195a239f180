// SPDX-License-Identifier: MIT
// BenchRingMemory (ring_memory.h).
#include "ring_memory.h"

#include <vector>

#include "vmbkit/wire/ring_format.h"

namespace vmb::bench {

std::unique_ptr<BenchRingMemory> BenchRingMemory::create(uint32_t data_pages, std::string* error) {
  Result<SharedRegion> region = SharedRegion::create(uint64_t{data_pages} + 1, "vmbkit-bench-ring");
  if (!region) {
    *error = "SharedRegion::create failed";
    return nullptr;
  }
  // Page 0 is the control page, pages 1.. the data, as in a ring GPADL.
  std::vector<uint64_t> pages(data_pages + 1);
  for (uint64_t i = 0; i < pages.size(); ++i) pages[i] = i;
  Result<RingMapping> mapping = RingMapping::map(*region, pages);
  if (!mapping) {
    *error = "RingMapping::map failed";
    return nullptr;
  }
  std::unique_ptr<BenchRingMemory> memory(
      new BenchRingMemory(std::move(*region), std::move(*mapping)));
  ring::initialize_control_page(memory->view().control, wire::kFeaturePendingSendSize);
  return memory;
}

ring::RingView BenchRingMemory::view() const {
  const RingMemory& memory = mapping_.memory();
  return {memory.control, memory.data, memory.data_size, memory.data_doubled};
}

}  // namespace vmb::bench
