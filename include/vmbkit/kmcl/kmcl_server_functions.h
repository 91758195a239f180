/* SPDX-License-Identifier: MIT */
/* The 14 server-only KMCL functions (KMCL_SERVER_ONLY_METHODS, kmcl-api.md §2.3, §4), each as a
 * function type FN_VMB_<NAME>, a pointer type PFN_VMB_<NAME> and a plain export, in the
 * structure's order. Calling one on a client endpoint returns STATUS_INVALID_PARAMETER_1 (or
 * does nothing). What has no meaning in user mode (VMBus handles, save/restore) checks its
 * arguments and returns STATUS_NOT_IMPLEMENTED. C11 and C++. */
#ifndef VMBKIT_KMCL_KMCL_SERVER_FUNCTIONS_H_
#define VMBKIT_KMCL_KMCL_SERVER_FUNCTIONS_H_

#include "vmbkit/kmcl/kmcl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Maps a client's GPADL by handle and returns an MDL over the server's mapping of guest memory
 * (owned by the library until VmbChannelUnmapGpadl). At most one mapping per GPADL.
 * _1 bad channel or client, _2 undefined flag, _3 unknown handle or already mapped, _4 NULL Mdl,
 * STATUS_ACCESS_DENIED write access to a read-only GPADL. */
typedef NTSTATUS FN_VMB_CHANNEL_MAP_GPADL(VMBCHANNEL Channel, UINT32 Flags, UINT32 GpadlHandle,
                                          PMDL* Mdl) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_MAP_GPADL* PFN_VMB_CHANNEL_MAP_GPADL;
VMBKIT_API FN_VMB_CHANNEL_MAP_GPADL VmbChannelMapGpadl;

/* Save/restore has no meaning in vmbkit: _1 bad channel or client, _2 NULL Buffer with a
 * non-zero size, otherwise STATUS_NOT_IMPLEMENTED. */
typedef NTSTATUS FN_VMB_CHANNEL_RESTORE_FROM_BUFFER(VMBCHANNEL Channel, PVOID Buffer,
                                                    ULONG BufferSize) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_RESTORE_FROM_BUFFER* PFN_VMB_CHANNEL_RESTORE_FROM_BUFFER;
VMBKIT_API FN_VMB_CHANNEL_RESTORE_FROM_BUFFER VmbChannelRestoreFromBuffer;

/* _1 bad channel or client, otherwise STATUS_NOT_IMPLEMENTED. */
typedef NTSTATUS FN_VMB_CHANNEL_SAVE_BEGIN(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SAVE_BEGIN* PFN_VMB_CHANNEL_SAVE_BEGIN;
VMBKIT_API FN_VMB_CHANNEL_SAVE_BEGIN VmbChannelSaveBegin;

/* _1 bad channel or client, _2 NULL SaveBuffer with a non-zero size, _4/_5 NULL BytesFilled /
 * BytesRequired, otherwise STATUS_NOT_IMPLEMENTED with both counts set to 0. */
typedef NTSTATUS FN_VMB_CHANNEL_SAVE_CONTINUE(VMBCHANNEL Channel, PVOID SaveBuffer,
                                              ULONG SaveBufferSize, PULONG BytesFilled,
                                              PULONG BytesRequired) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SAVE_CONTINUE* PFN_VMB_CHANNEL_SAVE_CONTINUE;
VMBKIT_API FN_VMB_CHANNEL_SAVE_CONTINUE VmbChannelSaveContinue;

/* Does nothing (no save is ever in progress). */
typedef VOID FN_VMB_CHANNEL_SAVE_END(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SAVE_END* PFN_VMB_CHANNEL_SAVE_END;
VMBKIT_API FN_VMB_CHANNEL_SAVE_END VmbChannelSaveEnd;

/* Ends the mapping made by VmbChannelMapGpadl; the MDL becomes invalid. Unknown or unmapped
 * handles are ignored. */
typedef VOID FN_VMB_CHANNEL_UNMAP_GPADL(VMBCHANNEL Channel, UINT32 GpadlHandle) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_UNMAP_GPADL* PFN_VMB_CHANNEL_UNMAP_GPADL;
VMBKIT_API FN_VMB_CHANNEL_UNMAP_GPADL VmbChannelUnmapGpadl;

/* No VM worker process exists: _2 NULL KernelHandle (otherwise set to NULL),
 * STATUS_NOT_IMPLEMENTED. */
typedef NTSTATUS FN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE(HANDLE VmbusHandle,
                                                              PHANDLE KernelHandle) VMBKIT_NOEXCEPT;
typedef FN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE* PFN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE;
VMBKIT_API FN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE VmbConvertVmbusHandleToKernelHandle;

/* _1 NULL packet, _2 NULL Buffer with a non-zero size, otherwise STATUS_NOT_IMPLEMENTED. */
typedef NTSTATUS FN_VMB_PACKET_RESTORE(VMBPACKET PacketObject, PVOID Buffer,
                                       ULONG BufferSize) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_RESTORE* PFN_VMB_PACKET_RESTORE;
VMBKIT_API FN_VMB_PACKET_RESTORE VmbPacketRestore;

/* Disabled only. Offer flags, recorded in the offer; _2 undefined bit. */
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS(VMBCHANNEL Channel,
                                                      UINT32 Flags) VMBKIT_NOEXCEPT;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS* PFN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS;
VMBKIT_API FN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS VmbServerChannelInitSetFlags;

/* Disabled only. Recorded in the offer; the guest gets no MMIO space in user mode
 * (VmbChannelGetMmioSpace reports none). STATUS_INVALID_PARAMETER when both are 0. */
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES(
    VMBCHANNEL Channel, UINT16 MmioMegabytes, UINT16 MmioMegabytesOptional) VMBKIT_NOEXCEPT;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES*
    PFN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES;
VMBKIT_API FN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES VmbServerChannelInitSetMmioMegabytes;

/* Disabled only. Recorded; never called (no save/restore). */
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS(
    VMBCHANNEL Channel, PFN_VMB_CHANNEL_SAVE_PACKET SavePacketCallback,
    PFN_VMB_CHANNEL_RESTORE_PACKET RestorePacketCallback) VMBKIT_NOEXCEPT;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS*
    PFN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS;
VMBKIT_API FN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS
    VmbServerChannelInitSetSaveRestorePacketCallbacks;

/* Disabled only. The offer's interface type (protocol) and instance GUIDs, by value; a client
 * targets them with VmbClientChannelInitSetTargetPnp. */
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID(
    VMBCHANNEL Channel, GUID InterfaceType, GUID InterfaceInstance) VMBKIT_NOEXCEPT;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID*
    PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID;
VMBKIT_API FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID
    VmbServerChannelInitSetTargetInterfaceId;

/* Disabled only. Every vmbkit client runs at VTL 0, so only 0 is accepted; _2 otherwise. */
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL(VMBCHANNEL Channel,
                                                           UINT8 TargetVtl) VMBKIT_NOEXCEPT;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL* PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL;
VMBKIT_API FN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL VmbServerChannelInitSetTargetVtl;

/* A channel's bus is its ParentDeviceObject, so VMBus handles have no meaning: _1 bad channel,
 * client or not Disabled, otherwise STATUS_NOT_IMPLEMENTED. */
typedef NTSTATUS FN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE(VMBCHANNEL Channel,
                                                             HANDLE VmbusHandle) VMBKIT_NOEXCEPT;
typedef FN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE* PFN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE;
VMBKIT_API FN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE VmbServerChannelInitSetVmbusHandle;

#ifdef __cplusplus
}
#endif

#endif /* VMBKIT_KMCL_KMCL_SERVER_FUNCTIONS_H_ */
