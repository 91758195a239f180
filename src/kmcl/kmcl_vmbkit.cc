// SPDX-License-Identifier: MIT
// vmbkit's own C functions (kmcl/vmbkit_extensions.h): loopback buses, guest buffers with their
// MDLs, a channel's failure reason, and the log callback.
#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>

#include "kmcl/kmcl_shim.h"
#include "vmbkit/channel/loopback_bus.h"
#include "vmbkit/mdl.h"

using namespace vmb::kmcl;

namespace {

// The C callback and context behind the log sink. Every registration is kept (a sink being
// replaced may still receive a message in flight, so its context must stay valid).
struct LogTarget {
  PVMBKIT_LOG_CALLBACK callback;
  PVOID context;
};
std::mutex log_targets_mutex;
std::deque<LogTarget> log_targets;

void forward_log(void* context, vmb::LogLevel level, const char* message) {
  const auto* target = static_cast<const LogTarget*>(context);
  target->callback(target->context, static_cast<VMBKIT_LOG_LEVEL>(level), message);
}

}  // namespace

extern "C" {

NTSTATUS VmbKitLoopbackBusCreate(PDEVICE_OBJECT* Bus) noexcept {
  return guarded([&]() -> NTSTATUS {
    if (Bus == nullptr) return STATUS_INVALID_PARAMETER;
    vmb::Result<std::unique_ptr<vmb::LoopbackBus>> bus = vmb::LoopbackBus::create();
    if (!bus) return bus.status().code();
    auto device = std::make_unique<DEVICE_OBJECT>();
    device->guest_memory = &(*bus)->memory();
    device->bus = std::move(*bus);
    *Bus = device.release();
    return STATUS_SUCCESS;
  });
}

VOID VmbKitBusClose(PDEVICE_OBJECT Bus) noexcept {
  DEVICE_OBJECT* device = bus_from(Bus);
  if (device == nullptr) return;
  if (device->closed.exchange(true, std::memory_order_acq_rel)) return;  // closed already
  release_bus(device);  // the creator's reference; channels keep theirs
}

NTSTATUS VmbKitAllocateGuestBuffer(PDEVICE_OBJECT Bus, UINT32 ByteCount, PVOID* Buffer,
                                   PMDL* Mdl) noexcept {
  return guarded([&]() -> NTSTATUS {
    DEVICE_OBJECT* device = bus_from(Bus);
    if (device == nullptr) return STATUS_INVALID_PARAMETER_1;
    if (ByteCount == 0 || ByteCount > VMBKIT_MAXIMUM_MDL_LENGTH) return STATUS_INVALID_PARAMETER_2;
    if (Buffer == nullptr) return STATUS_INVALID_PARAMETER_3;
    if (Mdl == nullptr) return STATUS_INVALID_PARAMETER_4;
    // A host bus has no guest memory of its own: its servers reach the guests' memory only
    // through what the guests describe.
    if (device->guest_memory == nullptr) return STATUS_INVALID_DEVICE_REQUEST;
    vmb::GuestMemory& memory = *device->guest_memory;
    // Whole pages: the buffer starts page-aligned, as kmcl.h promises.
    const uint64_t pages = (uint64_t{ByteCount} + VMBKIT_PAGE_SIZE - 1) / VMBKIT_PAGE_SIZE;
    vmb::Result<vmb::GuestBuffer> buffer = memory.allocate_pages(pages);
    if (!buffer) return STATUS_INSUFFICIENT_RESOURCES;
    PMDL mdl = IoAllocateMdl(buffer->address, ByteCount, FALSE, FALSE, nullptr);
    if (mdl == nullptr) {
      (void)memory.free(buffer->address);
      return STATUS_INSUFFICIENT_RESOURCES;
    }
    MmBuildMdlForNonPagedPool(mdl);
    *Buffer = buffer->address;
    *Mdl = mdl;
    return STATUS_SUCCESS;
  });
}

VOID VmbKitFreeGuestBuffer(PDEVICE_OBJECT Bus, PVOID Buffer, PMDL Mdl) noexcept {
  guarded_void([&] {
    auto* device = Bus != nullptr && Bus->magic == DEVICE_OBJECT::kMagic ? Bus : nullptr;
    if (device == nullptr) return;
    if (Mdl != nullptr) IoFreeMdl(Mdl);
    if (Buffer != nullptr &&
        (device->guest_memory == nullptr || !device->guest_memory->free(Buffer).ok())) {
      vmb::log_message(vmb::LogLevel::kWarning, "VmbKitFreeGuestBuffer: unknown buffer ignored");
    }
  });
}

NTSTATUS VmbKitChannelGetFailureReason(VMBCHANNEL Channel, NTSTATUS* FailureStatus,
                                       char* Description, UINT32 DescriptionSize) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    if (FailureStatus == nullptr) return STATUS_INVALID_PARAMETER_2;
    if (Description == nullptr && DescriptionSize != 0) return STATUS_INVALID_PARAMETER_3;
    std::string reason;
    *FailureStatus = channel->failure(&reason).code();
    if (DescriptionSize != 0) {
      const size_t length = std::min<size_t>(reason.size(), DescriptionSize - 1);
      std::memcpy(Description, reason.data(), length);
      Description[length] = '\0';
    }
    return STATUS_SUCCESS;
  });
}

VOID VmbKitSetLogCallback(PVMBKIT_LOG_CALLBACK Callback, PVOID Context,
                          VMBKIT_LOG_LEVEL MaximumLevel) noexcept {
  guarded_void([&] {
    if (Callback == nullptr) {
      vmb::set_log_sink(nullptr, nullptr, vmb::LogLevel::kWarning);
      return;
    }
    LogTarget* target;
    {
      const std::lock_guard lock(log_targets_mutex);
      target = &log_targets.emplace_back(LogTarget{Callback, Context});
    }
    const auto level = static_cast<vmb::LogLevel>(
        std::clamp(static_cast<int>(MaximumLevel), 0, static_cast<int>(vmb::LogLevel::kDebug)));
    vmb::set_log_sink(forward_log, target, level);
  });
}

}  // extern "C"
