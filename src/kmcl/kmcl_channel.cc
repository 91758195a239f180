// SPDX-License-Identifier: MIT
// The KMCL channel functions: allocation and cleanup, Enable/Disable/Start/Pause, the Init
// functions of both roles' common part and of the client, and the runtime setters and queries
// (kmcl-api.md §4.1–§4.3). Each checks its arguments and forwards to vmb::Channel.
#include <cstring>
#include <string>

#include "kmcl/kmcl_shim.h"

using vmb::Channel;
using vmb::Guid;
using vmb::Status;
using namespace vmb::kmcl;

extern "C" {

NTSTATUS VmbChannelAllocate(PDEVICE_OBJECT ParentDeviceObject, BOOLEAN IsServer,
                            VMBCHANNEL* Channel) noexcept {
  return guarded([&]() -> NTSTATUS {
    DEVICE_OBJECT* device = bus_from(ParentDeviceObject);
    if (device == nullptr) return STATUS_INVALID_PARAMETER_1;
    if (Channel == nullptr) return STATUS_INVALID_PARAMETER_3;
    auto driver = std::make_unique<KmclDriver>(device);
    std::unique_ptr<vmb::Channel> channel = vmb::Channel::create(
        *device->bus, IsServer != FALSE ? vmb::EndpointRole::kServer : vmb::EndpointRole::kClient,
        std::move(driver));
    device->references.fetch_add(1, std::memory_order_relaxed);  // the channel's reference
    *Channel = handle_of(*channel.release());
    return STATUS_SUCCESS;
  });
}

VOID VmbChannelCleanup(VMBCHANNEL Channel) noexcept {
  guarded_void([&] {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return;
    DEVICE_OBJECT* device = driver_of(*channel).device();
    delete channel;  // disables first if needed (blocks)
    release_bus(device);
  });
}

NTSTATUS VmbChannelEnable(VMBCHANNEL Channel) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    // Pipe framing is fixed for this Enable (Init setters are refused once enabled).
    if (channel->is_disabled()) {
      driver_of(*channel).pipe.store(configured_as_pipe(*channel), std::memory_order_release);
    }
    return channel->enable().code();
  });
}

VOID VmbChannelDisable(VMBCHANNEL Channel) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) channel->disable();
  });
}

VOID VmbChannelStart(VMBCHANNEL Channel) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) channel->start();
  });
}

VOID VmbChannelPause(VMBCHANNEL Channel) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) channel->pause();
  });
}

NTSTATUS VmbChannelInitSetClientContextSize(VMBCHANNEL Channel, UINT32 ContextSize) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_client_context_size(ContextSize));
  });
}

NTSTATUS VmbChannelInitSetFlags(VMBCHANNEL Channel, UINT32 Flags) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || !channel->is_disabled()) return STATUS_INVALID_PARAMETER_1;
    if ((Flags & ~VMBUS_CHANNEL_INIT_FLAGS) != 0) return STATUS_INVALID_PARAMETER_2;
    return init_status(channel->set_pipe_mode((Flags & VMBUS_CHANNEL_INIT_FLAG_IS_PIPE) != 0));
  });
}

NTSTATUS VmbChannelInitSetFriendlyName(VMBCHANNEL Channel, PCUNICODE_STRING Name) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || !channel->is_disabled()) return STATUS_INVALID_PARAMETER_1;
    // Length and MaximumLength count bytes of UTF-16; Length must be whole characters.
    if (Name == nullptr || Name->Length % 2 != 0 || Name->Length > Name->MaximumLength ||
        (Name->Buffer == nullptr && Name->Length != 0)) {
      return STATUS_INVALID_PARAMETER_2;
    }
    std::u16string name(Name->Length / 2, u'\0');
    if (!name.empty()) std::memcpy(name.data(), Name->Buffer, Name->Length);
    return init_status(channel->set_friendly_name(std::move(name)));
  });
}

NTSTATUS VmbChannelInitSetMaximumExternalData(VMBCHANNEL Channel, UINT32 DataSize,
                                              UINT32 ChainLength) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_maximum_external_data(DataSize, ChainLength));
  });
}

NTSTATUS VmbChannelInitSetMaximumPacketSize(VMBCHANNEL Channel, UINT32 PacketSize) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_maximum_packet_size(PacketSize));
  });
}

NTSTATUS VmbChannelInitSetProcessPacketCallbacks(
    VMBCHANNEL Channel, PFN_VMB_CHANNEL_PROCESS_PACKET ProcessPacketCallback,
    PFN_VMB_CHANNEL_PROCESSING_COMPLETE ProcessingCompleteCallback) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || !channel->is_disabled()) return STATUS_INVALID_PARAMETER_1;
    if (ProcessPacketCallback == nullptr) return STATUS_INVALID_PARAMETER_2;
    KmclDriver& driver = driver_of(*channel);
    driver.process_packet_callback = ProcessPacketCallback;
    driver.processing_complete_callback = ProcessingCompleteCallback;
    return STATUS_SUCCESS;
  });
}

NTSTATUS VmbChannelInitSetStateChangeCallbacks(
    VMBCHANNEL Channel, PVMB_CHANNEL_STATE_CHANGE_CALLBACKS StateChangeCallbacks) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || !channel->is_disabled()) return STATUS_INVALID_PARAMETER_1;
    if (StateChangeCallbacks == nullptr ||
        StateChangeCallbacks->Version != VMBKIT_STATE_CHANGE_CALLBACKS_VERSION_1 ||
        StateChangeCallbacks->Size != sizeof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS)) {
      return STATUS_INVALID_PARAMETER_2;
    }
    driver_of(*channel).state_callbacks = *StateChangeCallbacks;
    return STATUS_SUCCESS;
  });
}

NTSTATUS VmbClientChannelInitSetRingBufferPageCount(VMBCHANNEL Channel, UINT32 IncomingPageCount,
                                                    UINT32 OutgoingPageCount) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_ring_page_counts(IncomingPageCount, OutgoingPageCount));
  });
}

NTSTATUS VmbClientChannelInitSetTargetPnp(VMBCHANNEL Channel, LPCGUID InterfaceType,
                                          LPCGUID InterfaceInstance,
                                          PFN_VMB_CHANNEL_PNP_FAILURE PnpFailureCallback) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || channel->is_server() || !channel->is_disabled()) {
      return STATUS_INVALID_PARAMETER_1;
    }
    if (InterfaceType == nullptr) return STATUS_INVALID_PARAMETER_2;
    std::optional<Guid> instance;
    if (InterfaceInstance != nullptr) instance = Guid::from_nt(*InterfaceInstance);
    const NTSTATUS status =
        init_status(channel->set_target(Guid::from_nt(*InterfaceType), instance));
    if (status == STATUS_SUCCESS) driver_of(*channel).pnp_failure_callback = PnpFailureCallback;
    return status;
  });
}

VOID VmbChannelGetInterfaceInstance(VMBCHANNEL Channel, LPGUID InterfaceInstance) noexcept {
  guarded_void([&] {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || InterfaceInstance == nullptr) return;
    *InterfaceInstance = channel->interface_instance().to_nt();
  });
}

VOID VmbChannelGetMmioSpace(VMBCHANNEL Channel, UINT64* MmioAddress, UINT64* MmioSize) noexcept {
  (void)Channel;  // user mode reserves no MMIO for any channel
  if (MmioAddress != nullptr) *MmioAddress = 0;
  if (MmioSize != nullptr) *MmioSize = 0;
}

PVOID VmbChannelGetPointer(VMBCHANNEL Channel) noexcept {
  vmb::Channel* channel = channel_from(Channel);
  return channel != nullptr ? channel->pointer() : nullptr;
}

VOID VmbChannelSetPointer(VMBCHANNEL Channel, PVOID Pointer) noexcept {
  if (vmb::Channel* channel = channel_from(Channel)) channel->set_pointer(Pointer);
}

VOID VmbChannelSetIncomingProcessingAtPassive(VMBCHANNEL Channel, BOOLEAN RequirePassive) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) {
      channel->set_incoming_at_passive(RequirePassive != FALSE);
    }
  });
}

NTSTATUS VmbChannelSetInterruptLatency(VMBCHANNEL Channel, UINT16 Latency,
                                       PUINT16 OriginalLatency) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || channel->is_server()) return STATUS_INVALID_PARAMETER_1;
    if (OriginalLatency == nullptr) return STATUS_INVALID_PARAMETER_3;
    return channel->set_interrupt_latency(Latency, OriginalLatency).code();
  });
}

VOID VmbChannelSetTransactionQuota(VMBCHANNEL Channel, UINT32 Quota) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) channel->set_transaction_quota(Quota);
  });
}

UINT32 VmbChannelSizeofPacket(VMBCHANNEL Channel) noexcept {
  return guarded_value<UINT32>(0, [&]() -> UINT32 {
    vmb::Channel* channel = channel_from(Channel);
    return channel != nullptr ? channel->packet_object_size() : 0;
  });
}

}  // extern "C"
