// SPDX-License-Identifier: MIT
// Handle conversions and KmclDriver, which calls a driver's C callbacks with C handles (see
// kmcl_shim.h).
#include "kmcl/kmcl_shim.h"

namespace vmb::kmcl {

DEVICE_OBJECT* bus_from(PDEVICE_OBJECT handle) {
  if (handle == nullptr || handle->magic != DEVICE_OBJECT::kMagic ||
      handle->closed.load(std::memory_order_acquire)) {
    return nullptr;
  }
  return handle;
}

void release_bus(DEVICE_OBJECT* device) {
  // acq_rel: every use of the bus by the releasing thread happens before the deletion.
  if (device->references.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    device->magic = 0;
    delete device;
  }
}

Channel* channel_from(VMBCHANNEL handle) {
  auto* channel = reinterpret_cast<Channel*>(handle);
  return channel != nullptr && channel->valid() ? channel : nullptr;
}

PacketObject* packet_from(VMBPACKET handle) {
  auto* packet = reinterpret_cast<PacketObject*>(handle);
  return packet != nullptr && packet->valid() ? packet : nullptr;
}

IncomingPacket* incoming_from(VMBPACKETCOMPLETION handle) {
  auto* packet = reinterpret_cast<IncomingPacket*>(handle);
  return packet != nullptr && packet->valid() ? packet : nullptr;
}

NTSTATUS init_status(Status status) {
  if (status == STATUS_INVALID_DEVICE_STATE || status == STATUS_INVALID_DEVICE_REQUEST) {
    return STATUS_INVALID_PARAMETER_1;
  }
  return status.code();
}

void KmclDriver::process_packet(Channel& channel, IncomingPacket& packet,
                                std::span<std::byte> payload, bool external_data) {
  if (pipe.load(std::memory_order_acquire)) {
    const std::optional<std::span<std::byte>> data =
        receive_pipe(channel, packet, payload, external_data);
    if (!data) return;  // the channel failed; the packet is released
    payload = *data;
  }
  if (process_packet_callback == nullptr) {
    channel.complete(packet, {});
    return;
  }
  process_packet_callback(handle_of(channel), handle_of(packet), payload.data(),
                          static_cast<UINT32>(payload.size()),
                          external_data ? VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA : 0);
}

void KmclDriver::processing_complete(Channel& channel, uint32_t packets) {
  if (processing_complete_callback != nullptr) {
    processing_complete_callback(handle_of(channel), packets);
  }
}

void KmclDriver::packet_completed(PacketObject& packet, Status status,
                                  std::span<std::byte> payload) {
  auto routine = reinterpret_cast<PFN_VMB_PACKET_COMPLETION_ROUTINE>(packet.driver_routine());
  if (routine != nullptr) {
    routine(handle_of(packet), status.code(), payload.data(), static_cast<UINT32>(payload.size()));
  }
}

Status KmclDriver::opened(Channel& channel) {
  if (state_callbacks.EvtChannelOpened == nullptr) return Status{};
  const NTSTATUS status = state_callbacks.EvtChannelOpened(handle_of(channel));
  // The driver speaks Windows: any success-class status (severity bits 00 or 01) is success.
  return status >= 0 ? Status{} : Status{status};
}

void KmclDriver::closed(Channel& channel) {
  if (state_callbacks.EvtChannelClosed != nullptr) {
    state_callbacks.EvtChannelClosed(handle_of(channel));
  }
}

void KmclDriver::suspend(Channel& channel) {
  if (state_callbacks.EvtChannelSuspend != nullptr) {
    state_callbacks.EvtChannelSuspend(handle_of(channel));
  }
}

void KmclDriver::started(Channel& channel) {
  if (state_callbacks.EvtChannelStarted != nullptr) {
    state_callbacks.EvtChannelStarted(handle_of(channel));
  }
}

void KmclDriver::post_started(Channel& channel) {
  if (state_callbacks.EvtChannelPostStarted != nullptr) {
    state_callbacks.EvtChannelPostStarted(handle_of(channel));
  }
}

void KmclDriver::pnp_failure(Channel& channel, Status status) {
  if (pnp_failure_callback != nullptr) pnp_failure_callback(handle_of(channel), status.code());
}

}  // namespace vmb::kmcl
