// SPDX-License-Identifier: MIT
// Private helpers of the ring layer: atomic access to the u32 fields of a ring control page
// and the index check of wire-format.md §4.2 item 1. The only place that turns a control-page
// pointer into an object reference. Not a public API: tools read control pages themselves.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::ring::detail {

// The u32 at `offset` of a control page, for atomic loads and stores only.
// Safety: `control` points to a mapped 4096-byte control page that is at least 8-byte aligned
// (RingView's contract, checked by is_usable()), every offset used is a multiple of 4 below
// 4096, so the address is a valid, suitably aligned u32 for the lifetime of the mapping. The
// reference never escapes the atomic_ref, and every access through it is atomic, so a peer
// writing the same word concurrently is not a data race.
inline std::atomic_ref<uint32_t> control_word(std::byte* control, size_t offset) {
  return std::atomic_ref<uint32_t>(*std::launder(reinterpret_cast<uint32_t*>(control + offset)));
}

// wire-format.md §4.2 item 1: a published index must be < size and a multiple of 8.
constexpr wire::CorruptReason check_index(uint32_t index, uint32_t size) {
  if (index >= size) return wire::CorruptReason::kIndexOutOfRange;
  if ((index & 7u) != 0) return wire::CorruptReason::kIndexMisaligned;
  return wire::CorruptReason::kNone;
}

// index + step, wrapped once (wire-format.md §1.2); both below size, so never equals size.
constexpr uint32_t advance(uint32_t index, uint32_t step, uint32_t size) {
  const uint32_t next = index + step;
  return next >= size ? next - size : next;
}

}  // namespace vmb::ring::detail
