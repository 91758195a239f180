// SPDX-License-Identifier: MIT
// RingView: where one ring's control page and data area are, as plain pointers into a shared
// region someone else mapped (the memory layer in production, heap or memfd memory in tests),
// plus the helper that initialises a control page its owner allocated. A view owns nothing and
// reads nothing; the rings in outgoing_ring.h and incoming_ring.h do all shared accesses.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmb::ring {

// The largest data area a view may describe (1 GiB): keeps every index sum inside u32.
inline constexpr uint32_t kMaximumDataSize = 1u << 30;
// The smallest: one bare packet (24 ring bytes) plus the 8 bytes that always stay free.
inline constexpr uint32_t kMinimumDataSize = 32;

// One ring in a shared region. The pointed-to memory must stay mapped for as long as a ring
// uses the view. Rings never form C++ references to it: control fields are accessed through
// std::atomic_ref<uint32_t>, data bytes through memcpy.
struct RingView {
  std::byte* control = nullptr;  // the 4096-byte control page; at least 8-byte aligned
  std::byte* data = nullptr;     // the data area
  uint32_t data_size = 0;        // a multiple of 8 in [kMinimumDataSize, kMaximumDataSize];
                                 // whole 4 KiB pages on the wire (wire-format.md §1.1)
  // True when data[data_size, 2 * data_size) maps the same pages as data[0, data_size) (a
  // double mapping, wire-format.md §1.4): packets that wrap are then copied in one piece.
  // False: the ring splits copies at the end of the area. The bytes are the same either way.
  bool data_doubled = false;
};

// True if the view's shape is usable: both pointers set, control 8-byte aligned, data_size a
// multiple of 8 within the limits above. Says nothing about the contents of the memory.
[[nodiscard]] bool is_usable(const RingView& view);

// Initialises a control page the local side owns (a guest does this for both rings of a
// channel before OPENCHANNEL, wire-format.md §5.5): write and read index 0, interrupt_mask 0,
// pending_send_sz 0, reserved bytes 0, feature_bits = `feature_bits` (pass
// wire::kFeaturePendingSendSize to advertise the pending-send-size protocol). Must not run
// while a peer uses the page.
void initialize_control_page(std::byte* control, uint32_t feature_bits);

}  // namespace vmb::ring
