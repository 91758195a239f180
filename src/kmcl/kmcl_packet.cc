// SPDX-License-Identifier: MIT
// The KMCL outgoing-packet functions: packet objects, the three sends and the synchronous
// request (kmcl-api.md §4.4, decisions.md §3–§4). Each checks its arguments and forwards to
// vmb::Channel.
#include <optional>
#include <span>

#include "kmcl/kmcl_shim.h"

using vmb::ExternalData;
using vmb::PacketObject;
using namespace vmb::kmcl;

namespace {

std::span<const std::byte> inband_of(PVOID buffer, UINT32 length) {
  return std::span<const std::byte>(static_cast<const std::byte*>(buffer), length);
}

NTSTATUS send(VMBPACKET handle, PVOID buffer, UINT32 length, const ExternalData& external,
              UINT32 flags) {
  PacketObject* packet = packet_from(handle);
  if (packet == nullptr) return STATUS_INVALID_PARAMETER;
  if (buffer == nullptr && length != 0) return STATUS_INVALID_PARAMETER;
  if (driver_of(packet->channel()).pipe.load(std::memory_order_acquire)) {
    return send_pipe(*packet, inband_of(buffer, length), external, flags);
  }
  return packet->channel().send(*packet, inband_of(buffer, length), external, flags).code();
}

}  // namespace

extern "C" {

VMBPACKET VmbPacketAllocate(VMBCHANNEL Channel) noexcept {
  return guarded_value<VMBPACKET>(nullptr, [&]() -> VMBPACKET {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return nullptr;
    PacketObject* packet = channel->allocate_packet();
    return packet != nullptr ? handle_of(*packet) : nullptr;
  });
}

NTSTATUS VmbPacketInitialize(VMBCHANNEL Channel, VMBPACKET VmbPacket, UINT32 ByteCount) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return channel->initialize_packet(VmbPacket, ByteCount).status().code();
  });
}

VOID VmbPacketFree(VMBPACKET VmbPacket) noexcept {
  guarded_void([&] {
    if (PacketObject* packet = packet_from(VmbPacket)) packet->channel().free_packet(*packet);
  });
}

VMBCHANNEL VmbPacketGetChannel(VMBPACKET PacketObject) noexcept {
  vmb::PacketObject* packet = packet_from(PacketObject);
  return packet != nullptr ? handle_of(packet->channel()) : nullptr;
}

PVOID VmbPacketGetPointer(VMBPACKET PacketObject) noexcept {
  vmb::PacketObject* packet = packet_from(PacketObject);
  return packet != nullptr ? packet->pointer() : nullptr;
}

VOID VmbPacketSetPointer(VMBPACKET PacketObject, PVOID Pointer) noexcept {
  if (vmb::PacketObject* packet = packet_from(PacketObject)) packet->set_pointer(Pointer);
}

VOID VmbPacketSetCompletionRoutine(VMBPACKET PacketObject,
                                   PFN_VMB_PACKET_COMPLETION_ROUTINE CompletionRoutine) noexcept {
  vmb::PacketObject* packet = packet_from(PacketObject);
  if (packet == nullptr) return;
  const bool installed =
      packet->set_completion(CompletionRoutine != nullptr ? PacketObject::Completion::kDriver
                                                          : PacketObject::Completion::kNone,
                             reinterpret_cast<PacketObject::GenericRoutine>(CompletionRoutine));
  if (!installed) {
    vmb::log_message(vmb::LogLevel::kWarning,
                     "VmbPacketSetCompletionRoutine on a packet in flight is ignored");
  }
}

NTSTATUS VmbPacketSend(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
                       PMDL ExternalDataMdl, UINT32 Flags) noexcept {
  return guarded([&]() -> NTSTATUS {
    ExternalData external;
    if (ExternalDataMdl != nullptr) {
      external.kind = ExternalData::Kind::kMdlChain;
      external.mdl = ExternalDataMdl;
    }
    return send(PacketObject, Buffer, BufferLength, external, Flags);
  });
}

NTSTATUS VmbPacketSendWithExternalMdl(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
                                      PMDL ExternalDataMdl, UINT32 MdlOffset, UINT32 MdlLength,
                                      UINT32 Flags) noexcept {
  return guarded([&]() -> NTSTATUS {
    if (ExternalDataMdl == nullptr) return STATUS_INVALID_PARAMETER;
    ExternalData external;
    external.kind = ExternalData::Kind::kMdlRange;
    external.mdl = ExternalDataMdl;
    external.mdl_offset = MdlOffset;
    external.mdl_length = MdlLength;
    return send(PacketObject, Buffer, BufferLength, external, Flags);
  });
}

NTSTATUS VmbPacketSendWithExternalPfns(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
                                       PPFN_NUMBER ExternalDataPfns, UINT32 PfnLength,
                                       UINT32 Flags) noexcept {
  return guarded([&]() -> NTSTATUS {
    if (ExternalDataPfns == nullptr || PfnLength == 0) return STATUS_INVALID_PARAMETER;
    ExternalData external;
    external.kind = ExternalData::Kind::kPfns;
    external.pfns = ExternalDataPfns;
    external.pfn_count = PfnLength;
    return send(PacketObject, Buffer, BufferLength, external, Flags);
  });
}

NTSTATUS VmbChannelSendSynchronousRequest(VMBCHANNEL Channel, PVOID Buffer, UINT32 BufferSize,
                                          PMDL ExternalDataMdl, UINT32 Flags,
                                          PVOID CompletionBuffer, PUINT32 CompletionBufferSize,
                                          PLARGE_INTEGER Timeout) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER;
    if (Buffer == nullptr && BufferSize != 0) return STATUS_INVALID_PARAMETER;
    if (CompletionBuffer != nullptr && CompletionBufferSize == nullptr) {
      return STATUS_INVALID_PARAMETER;
    }
    // A pipe has no transactions: nothing could answer the request.
    if (driver_of(*channel).pipe.load(std::memory_order_acquire)) return STATUS_INVALID_PARAMETER;
    // Without a buffer the completion data is discarded (and the size reported as 0).
    std::optional<std::span<std::byte>> completion;
    if (CompletionBuffer != nullptr) {
      completion =
          std::span<std::byte>(static_cast<std::byte*>(CompletionBuffer), *CompletionBufferSize);
    }
    const vmb::SyncRequestResult result = channel->send_synchronous(
        inband_of(Buffer, BufferSize), ExternalDataMdl, Flags, completion,
        vmb::Deadline::from_timeout_pointer(Timeout != nullptr ? &Timeout->QuadPart : nullptr));
    // Invalid arguments leave the caller's size alone; every other outcome reports the bytes
    // copied (0 when nothing was: overflow, cancelled, removed).
    if (CompletionBufferSize != nullptr && result.status != STATUS_INVALID_PARAMETER) {
      *CompletionBufferSize = result.completion_bytes;
    }
    return result.status.code();
  });
}

}  // extern "C"
