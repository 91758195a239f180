// SPDX-License-Identifier: MIT
// BenchRingMemory: one ring's memory for the bare-ring benchmarks — a fresh memfd mapped through
// the public memory API (vmbkit/memory/ring_mapping.h, double mapped when the kernel allows),
// control page initialised with the pending-send-size feature, exactly as a channel's ring.
// Not here: anything that reads or writes the ring.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/memory/shared_region.h"
#include "vmbkit/ring/ring_view.h"

namespace vmb::bench {

class BenchRingMemory {
 public:
  // A ring with `data_pages` 4 KiB data pages. nullptr and *error on failure.
  static std::unique_ptr<BenchRingMemory> create(uint32_t data_pages, std::string* error);

  [[nodiscard]] ring::RingView view() const;

 private:
  BenchRingMemory(SharedRegion region, RingMapping mapping)
      : region_(std::move(region)), mapping_(std::move(mapping)) {}

  SharedRegion region_;
  RingMapping mapping_;
};

}  // namespace vmb::bench
