/* SPDX-License-Identifier: MIT */
/* The interface form of KMCL (kmcl-api.md §2.1): the WDM INTERFACE header, KMCL_CLIENT_INTERFACE_V1
 * (41 function pointers), KMCL_SERVER_ONLY_METHODS (14), KMCL_SERVER_INTERFACE_V1 (both), the
 * interface-type GUIDs and version numbers, and the VmbKit functions that fill the structures
 * (vmbkit's stand-in for WdfFdoQueryForInterface). Windows' GUID and version values are not
 * public; the values here are vmbkit's own and mean nothing to Windows. C11 and C++. */
#ifndef VMBKIT_KMCL_KMCL_INTERFACE_H_
#define VMBKIT_KMCL_KMCL_INTERFACE_H_

#include "vmbkit/kmcl/kmcl_functions.h"
#include "vmbkit/kmcl/kmcl_server_functions.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WDM's reference counting pair of every queried interface. vmbkit's interfaces are static, so
 * the functions it hands out do nothing; callers may still pair them as on Windows. */
typedef VOID INTERFACE_REFERENCE_FN(PVOID Context);
typedef INTERFACE_REFERENCE_FN* PINTERFACE_REFERENCE;
typedef VOID INTERFACE_DEREFERENCE_FN(PVOID Context);
typedef INTERFACE_DEREFERENCE_FN* PINTERFACE_DEREFERENCE;

/* The header every WDM interface structure starts with (x86-64: 32 bytes). */
typedef struct _INTERFACE {
  USHORT Size;
  USHORT Version;
  PVOID Context;
  PINTERFACE_REFERENCE InterfaceReference;
  PINTERFACE_DEREFERENCE InterfaceDereference;
} INTERFACE, *PINTERFACE;

/* Windows declares the structures below with an unnamed INTERFACE member (a Microsoft
 * extension). Standard C11 and C++ have no such member, so the header's fields are spelled out
 * in place: Interface.Size, Interface.VmbChannelAllocate, ... work as on Windows, and the layout
 * is the same, so a pointer to either structure may be passed as a PINTERFACE. */
#define VMBKIT_INTERFACE_HEADER_FIELDS     \
  USHORT Size;                             \
  USHORT Version;                          \
  PVOID Context;                           \
  PINTERFACE_REFERENCE InterfaceReference; \
  PINTERFACE_DEREFERENCE InterfaceDereference;

#define VMBKIT_KMCL_CLIENT_METHODS_V1                                                    \
  PFN_VMB_CHANNEL_ALLOCATE VmbChannelAllocate;                                           \
  PFN_VMB_CHANNEL_CLEANUP VmbChannelCleanup;                                             \
  PFN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER VmbChannelCreateGpadlFromBuffer;              \
  PFN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL VmbChannelCreateGpadlFromMdl;                    \
  PFN_VMB_CHANNEL_DELETE_GPADL VmbChannelDeleteGpadl;                                    \
  PFN_VMB_CHANNEL_DISABLE VmbChannelDisable;                                             \
  PFN_VMB_CHANNEL_ENABLE VmbChannelEnable;                                               \
  PFN_VMB_CHANNEL_GET_INTERFACE_INSTANCE VmbChannelGetInterfaceInstance;                 \
  PFN_VMB_CHANNEL_GET_MMIO_SPACE VmbChannelGetMmioSpace;                                 \
  PFN_VMB_CHANNEL_GET_POINTER VmbChannelGetPointer;                                      \
  PFN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE VmbChannelInitSetClientContextSize;       \
  PFN_VMB_CHANNEL_INIT_SET_FLAGS VmbChannelInitSetFlags;                                 \
  PFN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME VmbChannelInitSetFriendlyName;                  \
  PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA VmbChannelInitSetMaximumExternalData;   \
  PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE VmbChannelInitSetMaximumPacketSize;       \
  PFN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS                                      \
  VmbChannelInitSetProcessPacketCallbacks;                                               \
  PFN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS VmbChannelInitSetStateChangeCallbacks; \
  PFN_VMB_CHANNEL_PACKET_COMPLETE VmbChannelPacketComplete;                              \
  PFN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE VmbChannelPacketDeferToPassive;                \
  PFN_VMB_CHANNEL_PACKET_FAIL VmbChannelPacketFail;                                      \
  PFN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA VmbChannelPacketGetExternalData;              \
  PFN_VMB_CHANNEL_PAUSE VmbChannelPause;                                                 \
  PFN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST VmbChannelSendSynchronousRequest;             \
  PFN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE                                     \
  VmbChannelSetIncomingProcessingAtPassive;                                              \
  PFN_VMB_CHANNEL_SET_INTERRUPT_LATENCY VmbChannelSetInterruptLatency;                   \
  PFN_VMB_CHANNEL_SET_POINTER VmbChannelSetPointer;                                      \
  PFN_VMB_CHANNEL_SET_TRANSACTION_QUOTA VmbChannelSetTransactionQuota;                   \
  PFN_VMB_CHANNEL_SIZEOF_PACKET VmbChannelSizeofPacket;                                  \
  PFN_VMB_CHANNEL_START VmbChannelStart;                                                 \
  PFN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT                                 \
  VmbClientChannelInitSetRingBufferPageCount;                                            \
  PFN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP VmbClientChannelInitSetTargetPnp;           \
  PFN_VMB_PACKET_ALLOCATE VmbPacketAllocate;                                             \
  PFN_VMB_PACKET_FREE VmbPacketFree;                                                     \
  PFN_VMB_PACKET_GET_CHANNEL VmbPacketGetChannel;                                        \
  PFN_VMB_PACKET_GET_POINTER VmbPacketGetPointer;                                        \
  PFN_VMB_PACKET_INITIALIZE VmbPacketInitialize;                                         \
  PFN_VMB_PACKET_SEND VmbPacketSend;                                                     \
  PFN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL VmbPacketSendWithExternalMdl;                    \
  PFN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS VmbPacketSendWithExternalPfns;                  \
  PFN_VMB_PACKET_SET_COMPLETION_ROUTINE VmbPacketSetCompletionRoutine;                   \
  PFN_VMB_PACKET_SET_POINTER VmbPacketSetPointer;

#define VMBKIT_KMCL_SERVER_ONLY_METHODS_V1                                             \
  PFN_VMB_CHANNEL_MAP_GPADL VmbChannelMapGpadl;                                        \
  PFN_VMB_CHANNEL_RESTORE_FROM_BUFFER VmbChannelRestoreFromBuffer;                     \
  PFN_VMB_CHANNEL_SAVE_BEGIN VmbChannelSaveBegin;                                      \
  PFN_VMB_CHANNEL_SAVE_CONTINUE VmbChannelSaveContinue;                                \
  PFN_VMB_CHANNEL_SAVE_END VmbChannelSaveEnd;                                          \
  PFN_VMB_CHANNEL_UNMAP_GPADL VmbChannelUnmapGpadl;                                    \
  PFN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE VmbConvertVmbusHandleToKernelHandle;   \
  PFN_VMB_PACKET_RESTORE VmbPacketRestore;                                             \
  PFN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS VmbServerChannelInitSetFlags;                  \
  PFN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES VmbServerChannelInitSetMmioMegabytes; \
  PFN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS                        \
  VmbServerChannelInitSetSaveRestorePacketCallbacks;                                   \
  PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID                                  \
  VmbServerChannelInitSetTargetInterfaceId;                                            \
  PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL VmbServerChannelInitSetTargetVtl;         \
  PFN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE VmbServerChannelInitSetVmbusHandle;

/* The library's functions for either endpoint role. */
typedef struct _KMCL_CLIENT_INTERFACE_V1 {
  VMBKIT_INTERFACE_HEADER_FIELDS
  VMBKIT_KMCL_CLIENT_METHODS_V1
} KMCL_CLIENT_INTERFACE_V1, *PKMCL_CLIENT_INTERFACE_V1;

/* The functions only a server endpoint may call. */
typedef struct _KMCL_SERVER_ONLY_METHODS {
  VMBKIT_KMCL_SERVER_ONLY_METHODS_V1
} KMCL_SERVER_ONLY_METHODS, *PKMCL_SERVER_ONLY_METHODS;

/* KMCL_CLIENT_INTERFACE_V1 followed by KMCL_SERVER_ONLY_METHODS, with the same flat member
 * names (Interface.VmbChannelMapGpadl). A pointer to it may be used as a
 * PKMCL_CLIENT_INTERFACE_V1. */
typedef struct _KMCL_SERVER_INTERFACE_V1 {
  VMBKIT_INTERFACE_HEADER_FIELDS
  VMBKIT_KMCL_CLIENT_METHODS_V1
  VMBKIT_KMCL_SERVER_ONLY_METHODS_V1
} KMCL_SERVER_INTERFACE_V1, *PKMCL_SERVER_INTERFACE_V1;

/* Interface types (vmbkit values): client {f38f4fa2-6df8-43b4-ae5c-34cb3b56a094}, server
 * {a06a881e-4e24-4161-8e2b-11eafa627797}. */
VMBKIT_API extern const GUID KMCL_CLIENT_INTERFACE_TYPE;
VMBKIT_API extern const GUID KMCL_SERVER_INTERFACE_TYPE;

#define KMCL_CLIENT_INTERFACE_VERSION_V1 1u
#define KMCL_CLIENT_INTERFACE_VERSION_LATEST KMCL_CLIENT_INTERFACE_VERSION_V1
#define KMCL_SERVER_INTERFACE_VERSION_V1 1u
#define KMCL_SERVER_INTERFACE_VERSION_LATEST KMCL_SERVER_INTERFACE_VERSION_V1

/* Fills the interface structure of InterfaceType (KMCL_CLIENT_INTERFACE_TYPE or
 * KMCL_SERVER_INTERFACE_TYPE) at Interface, as WdfFdoQueryForInterface would: Size and Version
 * as filled, Context NULL, no-op reference functions, every function pointer. Any thread.
 * _1 NULL InterfaceType, _2 NULL Interface, STATUS_NOT_SUPPORTED unknown type or Version,
 * STATUS_BUFFER_TOO_SMALL Size below the structure's size (nothing written). */
VMBKIT_API NTSTATUS VmbKitQueryInterface(LPCGUID InterfaceType, PINTERFACE Interface, USHORT Size,
                                         USHORT Version) VMBKIT_NOEXCEPT;

/* VmbKitQueryInterface for KMCL_CLIENT_INTERFACE_TYPE. */
VMBKIT_API NTSTATUS VmbKitQueryClientInterface(PKMCL_CLIENT_INTERFACE_V1 Interface, USHORT Size,
                                               USHORT Version) VMBKIT_NOEXCEPT;

/* VmbKitQueryInterface for KMCL_SERVER_INTERFACE_TYPE. */
VMBKIT_API NTSTATUS VmbKitQueryServerInterface(PKMCL_SERVER_INTERFACE_V1 Interface, USHORT Size,
                                               USHORT Version) VMBKIT_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* VMBKIT_KMCL_KMCL_INTERFACE_H_ */
