// SPDX-License-Identifier: MIT
// PacketObject's few out-of-line members (see packet_object.h).
#include "vmbkit/channel/packet_object.h"

#include "vmbkit/channel/channel.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb {

PacketObject::PacketObject(Channel& channel, bool from_pool, uint32_t inband_capacity,
                           uint32_t external_header_capacity)
    : channel_(&channel),
      inband_capacity_(inband_capacity),
      inband_room_(static_cast<uint32_t>(wire::align8(inband_capacity))),
      external_header_capacity_(external_header_capacity),
      completion_(from_pool ? Completion::kFreeAutomatically : Completion::kNone),
      from_pool_(from_pool) {}

size_t PacketObject::storage_bytes(uint32_t inband_capacity, uint32_t external_header_capacity) {
  return wire::align8(inband_capacity) + wire::align8(external_header_capacity);
}

}  // namespace vmb
