// SPDX-License-Identifier: MIT
// The cross-process buses of the C API (kmcl/vmbkit_extensions.h): VmbKitBusListen hosts a bus
// that guest processes join, VmbKitBusConnect joins one as a guest partition. Both hand back
// the same kind of device object as VmbKitLoopbackBusCreate, so every KMCL call takes either.
#include <memory>
#include <string>

#include "kmcl/kmcl_shim.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"

using namespace vmb::kmcl;

namespace {

// Checks the arguments shared by both entry points.
NTSTATUS check_arguments(const char* socket_path, PDEVICE_OBJECT* bus) {
  if (socket_path == nullptr || socket_path[0] == '\0') return STATUS_INVALID_PARAMETER_1;
  if (bus == nullptr) return STATUS_INVALID_PARAMETER_2;
  return STATUS_SUCCESS;
}

}  // namespace

extern "C" {

NTSTATUS VmbKitBusListen(const char* SocketPath, PDEVICE_OBJECT* Bus) noexcept {
  return guarded([&]() -> NTSTATUS {
    if (const NTSTATUS status = check_arguments(SocketPath, Bus); !NT_SUCCESS(status)) {
      return status;
    }
    auto bus = vmb::bus::HostChannelBus::listen(SocketPath, {});
    if (!bus) return bus.status().code();
    auto device = std::make_unique<DEVICE_OBJECT>();
    device->bus = std::move(*bus);  // a host has no guest memory of its own
    *Bus = device.release();
    return STATUS_SUCCESS;
  });
}

NTSTATUS VmbKitBusConnect(const char* SocketPath, PDEVICE_OBJECT* Bus) noexcept {
  return guarded([&]() -> NTSTATUS {
    if (const NTSTATUS status = check_arguments(SocketPath, Bus); !NT_SUCCESS(status)) {
      return status;
    }
    auto bus = vmb::bus::GuestChannelBus::connect(SocketPath, {});
    if (!bus) return bus.status().code();
    auto device = std::make_unique<DEVICE_OBJECT>();
    device->guest_memory = &(*bus)->memory();
    device->bus = std::move(*bus);
    *Bus = device.release();
    return STATUS_SUCCESS;
  });
}

}  // extern "C"

extern "C" {

NTSTATUS VmbKitChannelInitSetSubChannelIndex(VMBCHANNEL Channel, UINT16 SubChannelIndex) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return init_status(channel->set_sub_channel_index(SubChannelIndex));
  });
}

}  // extern "C"
