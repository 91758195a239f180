// SPDX-License-Identifier: MIT
// RingView shape checks and control-page initialisation (ring_view.h). The initialiser writes
// through atomic stores, like every other access to a control page, so even a peer that maps
// the page early sees no torn words. Nothing here reads peer-written memory.
#include "vmbkit/ring/ring_view.h"

#include <cstdint>

#include "ring/shared_control.h"

namespace vmb::ring {

bool is_usable(const RingView& view) {
  return view.control != nullptr && view.data != nullptr &&
         (reinterpret_cast<uintptr_t>(view.control) & 7u) == 0 &&
         view.data_size >= kMinimumDataSize && view.data_size <= kMaximumDataSize &&
         (view.data_size & 7u) == 0;
}

void initialize_control_page(std::byte* control, uint32_t feature_bits) {
  for (size_t offset = 0; offset < wire::kControlPageSize; offset += sizeof(uint32_t)) {
    detail::control_word(control, offset).store(0, std::memory_order_relaxed);
  }
  // Relaxed is enough: the peer learns of the ring only through a later message (OPENCHANNEL
  // over the bus socket), and that hand-off orders these stores before its first access.
  detail::control_word(control, wire::kFeatureBitsOffset)
      .store(feature_bits, std::memory_order_relaxed);
}

}  // namespace vmb::ring
