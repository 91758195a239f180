// SPDX-License-Identifier: MIT
// BenchmarkRing: one ring in a fresh memfd, mapped through the public memory API (double
// mapped when asked and the kernel allows it), initialised and ready for an OutgoingRing and
// an IncomingRing over the same view. For the ring benchmarks only; aborts on any failure.
#pragma once

#include <cstdint>

#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/memory/shared_region.h"
#include "vmbkit/ring/ring_view.h"

namespace vmb::benchmarks {

class BenchmarkRing {
 public:
  // `data_pages` 4 KiB data pages; feature_bits as for ring::initialize_control_page.
  BenchmarkRing(uint32_t data_pages, bool doubled, uint32_t feature_bits);
  [[nodiscard]] ring::RingView view() const;

 private:
  SharedRegion region_;
  RingMapping mapping_;
};

}  // namespace vmb::benchmarks
