// SPDX-License-Identifier: MIT
// The KMCL incoming-packet functions (kmcl-api.md §4.5): completing, deferring and failing a
// delivered packet, and its external data. Each checks its arguments and forwards to
// vmb::Channel.
#include <span>

#include "kmcl/kmcl_shim.h"

using vmb::IncomingPacket;
using namespace vmb::kmcl;

extern "C" {

VOID VmbChannelPacketComplete(VMBPACKETCOMPLETION PacketCompletionContext,
                              PVOID PacketCompletionBuffer, UINT32 BufSize) noexcept {
  guarded_void([&] {
    IncomingPacket* packet = incoming_from(PacketCompletionContext);
    if (packet == nullptr) {
      vmb::log_message(vmb::LogLevel::kError, "VmbChannelPacketComplete: bad packet handle");
      return;
    }
    packet->channel().complete(
        *packet,
        std::span<const std::byte>(static_cast<const std::byte*>(PacketCompletionBuffer), BufSize));
  });
}

VOID VmbChannelPacketDeferToPassive(VMBPACKETCOMPLETION PacketCompletionContext) noexcept {
  guarded_void([&] {
    if (IncomingPacket* packet = incoming_from(PacketCompletionContext)) {
      packet->channel().defer_to_passive(*packet);
    }
  });
}

VOID VmbChannelPacketFail(VMBPACKETCOMPLETION PacketCompletionContext) noexcept {
  guarded_void([&] {
    if (IncomingPacket* packet = incoming_from(PacketCompletionContext)) {
      packet->channel().fail_packet(*packet);
    }
  });
}

NTSTATUS VmbChannelPacketGetExternalData(VMBPACKETCOMPLETION PacketCompletionContext, UINT32 Flags,
                                         PMDL* Mdl) noexcept {
  return guarded([&]() -> NTSTATUS {
    IncomingPacket* packet = incoming_from(PacketCompletionContext);
    if (packet == nullptr) return STATUS_INVALID_PARAMETER_1;
    if ((Flags & ~VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAGS) != 0) {
      return STATUS_INVALID_PARAMETER_2;
    }
    if (Mdl == nullptr) return STATUS_INVALID_PARAMETER_3;
    const vmb::Result<PMDL> mdl = packet->channel().external_data(
        *packet, (Flags & VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY) != 0);
    if (!mdl) {
      return mdl.status() == STATUS_INVALID_PARAMETER ? STATUS_INVALID_PARAMETER_1
                                                      : mdl.status().code();
    }
    *Mdl = *mdl;
    return STATUS_SUCCESS;
  });
}

}  // extern "C"
