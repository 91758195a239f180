// SPDX-License-Identifier: MIT
// RingMapping: lays a ring's pages out as control page + data pages (+ data pages again), with
// a single mapping as the fallback when the double one cannot be made.
#include "vmbkit/memory/ring_mapping.h"

#include <vector>

namespace vmb {

Result<RingMapping> RingMapping::map(const SharedRegion& region,
                                     std::span<const uint64_t> ring_pages) {
  return map_impl(region, ring_pages, /*try_double=*/true);
}

Result<RingMapping> RingMapping::map_single(const SharedRegion& region,
                                            std::span<const uint64_t> ring_pages) {
  return map_impl(region, ring_pages, /*try_double=*/false);
}

Result<RingMapping> RingMapping::map_impl(const SharedRegion& region,
                                          std::span<const uint64_t> ring_pages, bool try_double) {
  if (ring_pages.size() < 2 || ring_pages.size() - 1 > kMaximumRingDataPages) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  for (const uint64_t page : ring_pages) {
    if (page >= region.page_count()) return Status{STATUS_INVALID_PARAMETER};
  }
  const auto data_pages = ring_pages.subspan(1);
  RingMapping ring;
  if (try_double) {
    // control, data..., data... : the second copy makes a wrapping packet contiguous.
    std::vector<uint64_t> doubled(ring_pages.begin(), ring_pages.end());
    doubled.insert(doubled.end(), data_pages.begin(), data_pages.end());
    if (auto mapping = region.map_pages(doubled, /*read_only=*/false)) {
      ring.mapping_ = std::move(*mapping);
      ring.memory_.data_doubled = true;
    }
  }
  if (ring.mapping_.empty()) {
    auto mapping = region.map_pages(ring_pages, /*read_only=*/false);
    if (!mapping) return mapping.status();
    ring.mapping_ = std::move(*mapping);
  }
  ring.memory_.control = ring.mapping_.data();
  // Safety: the mapping holds at least the control page and one data page.
  ring.memory_.data = ring.mapping_.data() + kGuestPageSize;
  ring.memory_.data_size = static_cast<uint32_t>(data_pages.size() * kGuestPageSize);
  return ring;
}

}  // namespace vmb
