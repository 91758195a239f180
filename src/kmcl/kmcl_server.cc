// SPDX-License-Identifier: MIT
// The KMCL server-only functions (KMCL_SERVER_ONLY_METHODS): the offer's Init functions, and
// the functions with no meaning in user mode (VMBus handles, save/restore), which check their
// arguments and return STATUS_NOT_IMPLEMENTED. GPADL mapping is in kmcl_gpadl.cc.
#include "kmcl/kmcl_shim.h"

using vmb::Guid;
using namespace vmb::kmcl;

namespace {

// A server channel handle, or null for a bad handle or a client.
vmb::Channel* server_from(VMBCHANNEL handle) {
  vmb::Channel* channel = channel_from(handle);
  return channel != nullptr && channel->is_server() ? channel : nullptr;
}

}  // namespace

extern "C" {

NTSTATUS VmbChannelRestoreFromBuffer(VMBCHANNEL Channel, PVOID Buffer, ULONG BufferSize) noexcept {
  if (server_from(Channel) == nullptr) return STATUS_INVALID_PARAMETER_1;
  if (Buffer == nullptr && BufferSize != 0) return STATUS_INVALID_PARAMETER_2;
  return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS VmbChannelSaveBegin(VMBCHANNEL Channel) noexcept {
  if (server_from(Channel) == nullptr) return STATUS_INVALID_PARAMETER_1;
  return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS VmbChannelSaveContinue(VMBCHANNEL Channel, PVOID SaveBuffer, ULONG SaveBufferSize,
                                PULONG BytesFilled, PULONG BytesRequired) noexcept {
  if (server_from(Channel) == nullptr) return STATUS_INVALID_PARAMETER_1;
  if (SaveBuffer == nullptr && SaveBufferSize != 0) return STATUS_INVALID_PARAMETER_2;
  if (BytesFilled == nullptr) return STATUS_INVALID_PARAMETER_4;
  if (BytesRequired == nullptr) return STATUS_INVALID_PARAMETER_5;
  *BytesFilled = 0;
  *BytesRequired = 0;
  return STATUS_NOT_IMPLEMENTED;
}

VOID VmbChannelSaveEnd(VMBCHANNEL Channel) noexcept { (void)Channel; }

NTSTATUS VmbConvertVmbusHandleToKernelHandle(HANDLE VmbusHandle, PHANDLE KernelHandle) noexcept {
  (void)VmbusHandle;
  if (KernelHandle == nullptr) return STATUS_INVALID_PARAMETER_2;
  *KernelHandle = nullptr;
  return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS VmbPacketRestore(VMBPACKET PacketObject, PVOID Buffer, ULONG BufferSize) noexcept {
  if (packet_from(PacketObject) == nullptr) return STATUS_INVALID_PARAMETER_1;
  if (Buffer == nullptr && BufferSize != 0) return STATUS_INVALID_PARAMETER_2;
  return STATUS_NOT_IMPLEMENTED;
}

NTSTATUS VmbServerChannelInitSetFlags(VMBCHANNEL Channel, UINT32 Flags) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = server_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_server_flags(Flags));
  });
}

NTSTATUS VmbServerChannelInitSetMmioMegabytes(VMBCHANNEL Channel, UINT16 MmioMegabytes,
                                              UINT16 MmioMegabytesOptional) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = server_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_mmio(MmioMegabytes, MmioMegabytesOptional));
  });
}

NTSTATUS VmbServerChannelInitSetSaveRestorePacketCallbacks(
    VMBCHANNEL Channel, PFN_VMB_CHANNEL_SAVE_PACKET SavePacketCallback,
    PFN_VMB_CHANNEL_RESTORE_PACKET RestorePacketCallback) noexcept {
  vmb::Channel* channel = server_from(Channel);
  if (channel == nullptr || !channel->is_disabled()) return STATUS_INVALID_PARAMETER_1;
  KmclDriver& driver = driver_of(*channel);
  driver.save_packet_callback = SavePacketCallback;
  driver.restore_packet_callback = RestorePacketCallback;
  return STATUS_SUCCESS;
}

NTSTATUS VmbServerChannelInitSetTargetInterfaceId(VMBCHANNEL Channel, GUID InterfaceType,
                                                  GUID InterfaceInstance) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = server_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(
        channel->set_offer(Guid::from_nt(InterfaceType), Guid::from_nt(InterfaceInstance)));
  });
}

NTSTATUS VmbServerChannelInitSetTargetVtl(VMBCHANNEL Channel, UINT8 TargetVtl) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = server_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_target_vtl(TargetVtl));
  });
}

NTSTATUS VmbServerChannelInitSetVmbusHandle(VMBCHANNEL Channel, HANDLE VmbusHandle) noexcept {
  (void)VmbusHandle;
  vmb::Channel* channel = server_from(Channel);
  if (channel == nullptr || !channel->is_disabled()) return STATUS_INVALID_PARAMETER_1;
  return STATUS_NOT_IMPLEMENTED;
}

}  // extern "C"
