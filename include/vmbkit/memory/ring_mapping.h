// SPDX-License-Identifier: MIT
// RingMapping: one ring's pages of guest memory mapped for the ring layer: the control page,
// then the data pages, then (when the kernel allows) the data pages again, so that a packet that
// wraps is contiguous in memory (wire-format.md §1.4, Linux's double mapping). The ring layer
// consumes RingMemory (raw pointers, sizes, the doubled flag) and never sees descriptors or
// PFNs. Not here: ring indices or any access to the ring's contents (src/ring).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vmbkit/memory/shared_region.h"
#include "vmbkit/status.h"

namespace vmb {

// The most data pages one ring may have: 1 GiB of data, the ring layer's kMaximumDataSize.
inline constexpr uint64_t kMaximumRingDataPages = uint64_t{1} << 18;

// Where one mapped ring lies. Plain pointers for the ring layer (ring::RingView has the same
// fields); valid while the RingMapping that produced it lives.
struct RingMemory {
  std::byte* control = nullptr;  // the 4096-byte control page (page-aligned)
  std::byte* data = nullptr;     // the data area, right after the control page
  uint32_t data_size = 0;        // data pages * 4096
  bool data_doubled = false;     // data[data_size, 2 * data_size) aliases data[0, data_size)
};

// A mapped ring. Move-only; unmapped on destruction.
class RingMapping {
 public:
  RingMapping() = default;

  // Maps ring_pages[0] as the control page and ring_pages[1..] as the data pages, in ring
  // order, from `region` (a guest's memfd; the pages are PFNs). Tries the double mapping
  // first and falls back to a single one if the kernel refuses it. STATUS_INVALID_PARAMETER
  // for fewer than 2 pages, more than 1 + kMaximumRingDataPages, or a page outside the region;
  // STATUS_INSUFFICIENT_RESOURCES if even the single mapping fails.
  static Result<RingMapping> map(const SharedRegion& region, std::span<const uint64_t> ring_pages);

  // As map(), but never doubles (tests and tools that want the split-copy path).
  static Result<RingMapping> map_single(const SharedRegion& region,
                                        std::span<const uint64_t> ring_pages);

  [[nodiscard]] const RingMemory& memory() const { return memory_; }

 private:
  static Result<RingMapping> map_impl(const SharedRegion& region,
                                      std::span<const uint64_t> ring_pages, bool try_double);
  RegionMapping mapping_;
  RingMemory memory_;
};

}  // namespace vmb
