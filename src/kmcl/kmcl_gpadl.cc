// SPDX-License-Identifier: MIT
// The KMCL GPADL functions (kmcl-api.md §4.7): the client's create and delete, the server's map
// and unmap. Each checks its arguments and forwards to vmb::Channel.
#include "kmcl/kmcl_shim.h"

using namespace vmb::kmcl;

namespace {

// Maps the channel's "not guest memory / bad range" to the argument that holds the memory.
NTSTATUS create_status(const vmb::Result<uint32_t>& result, NTSTATUS bad_memory,
                       PUINT32 GpadlHandle) {
  if (result) {
    *GpadlHandle = *result;
    return STATUS_SUCCESS;
  }
  if (result.status() == STATUS_INVALID_PARAMETER) return bad_memory;
  // STATUS_INVALID_DEVICE_STATE (not open, or from a dispatch callback) passes through.
  return result.status().code();
}

}  // namespace

extern "C" {

NTSTATUS VmbChannelCreateGpadlFromBuffer(VMBCHANNEL Channel, UINT32 Flags, PVOID Buffer,
                                         UINT32 ByteCount, PUINT32 GpadlHandle) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || channel->is_server()) return STATUS_INVALID_PARAMETER_1;
    if ((Flags & ~VMBUS_CHANNEL_GPADL_FLAGS) != 0) return STATUS_INVALID_PARAMETER_2;
    if (Buffer == nullptr) return STATUS_INVALID_PARAMETER_3;
    if (ByteCount == 0) return STATUS_INVALID_PARAMETER_4;
    if (GpadlHandle == nullptr) return STATUS_INVALID_PARAMETER_5;
    return create_status(channel->create_gpadl(static_cast<const void*>(Buffer), ByteCount,
                                               (Flags & VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY) != 0),
                         STATUS_INVALID_PARAMETER_3, GpadlHandle);
  });
}

NTSTATUS VmbChannelCreateGpadlFromMdl(VMBCHANNEL Channel, UINT32 Flags, PMDL Mdl,
                                      UINT32 StartOffsetWithinMdl, UINT32 DataLengthWithinMdl,
                                      PUINT32 GpadlHandle) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || channel->is_server()) return STATUS_INVALID_PARAMETER_1;
    if ((Flags & ~VMBUS_CHANNEL_GPADL_FLAGS) != 0) return STATUS_INVALID_PARAMETER_2;
    if (Mdl == nullptr) return STATUS_INVALID_PARAMETER_3;
    if (GpadlHandle == nullptr) return STATUS_INVALID_PARAMETER_6;
    return create_status(channel->create_gpadl(Mdl, StartOffsetWithinMdl, DataLengthWithinMdl,
                                               (Flags & VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY) != 0),
                         STATUS_INVALID_PARAMETER_4, GpadlHandle);
  });
}

VOID VmbChannelDeleteGpadl(VMBCHANNEL Channel, UINT32 GpadlHandle) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) channel->delete_gpadl(GpadlHandle);
  });
}

NTSTATUS VmbChannelMapGpadl(VMBCHANNEL Channel, UINT32 Flags, UINT32 GpadlHandle,
                            PMDL* Mdl) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr || !channel->is_server()) return STATUS_INVALID_PARAMETER_1;
    if ((Flags & ~VMBUS_CHANNEL_GPADL_FLAGS) != 0) return STATUS_INVALID_PARAMETER_2;
    if (Mdl == nullptr) return STATUS_INVALID_PARAMETER_4;
    const vmb::Result<PMDL> mapped =
        channel->map_gpadl(GpadlHandle, (Flags & VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY) != 0);
    if (!mapped) {
      return mapped.status() == STATUS_INVALID_PARAMETER ? STATUS_INVALID_PARAMETER_3
                                                         : mapped.status().code();
    }
    *Mdl = *mapped;
    return STATUS_SUCCESS;
  });
}

VOID VmbChannelUnmapGpadl(VMBCHANNEL Channel, UINT32 GpadlHandle) noexcept {
  guarded_void([&] {
    if (vmb::Channel* channel = channel_from(Channel)) channel->unmap_gpadl(GpadlHandle);
  });
}

}  // extern "C"
