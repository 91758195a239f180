// SPDX-License-Identifier: MIT
// The identifiers the bus's control protocol hands out: channel relids (OFFERCHANNEL
// child_relid), GPADL handles (chosen by the guest in GPADL_HEADER) and the number of file
// descriptors a control datagram may carry. Strong enum types so a relid is never passed where a
// handle is meant. Not here: who allocates them (host_control_plane.h, guest_control_plane.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmb::bus {

// A channel's relid in one guest's view (OFFERCHANNEL child_relid). 0 is never a valid relid.
enum class Relid : uint32_t {};
// A GPADL's handle, chosen by the guest. Any u32 may be used; unique per guest while it lives.
enum class GpadlHandle : uint32_t {};

constexpr uint32_t to_u32(Relid relid) { return static_cast<uint32_t>(relid); }
constexpr uint32_t to_u32(GpadlHandle handle) { return static_cast<uint32_t>(handle); }

// The "message connection id" a host returns in VERSION_RESPONSE for protocol >= 5.0 (Hyper-V's
// VMBUS_MESSAGE_CONNECTION_ID_4). It has no meaning over a socket but travels as on Hyper-V.
inline constexpr uint32_t kMessageConnectionId = 4;

}  // namespace vmb::bus
