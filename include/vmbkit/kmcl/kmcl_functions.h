/* SPDX-License-Identifier: MIT */
/* The 41 functions of KMCL_CLIENT_INTERFACE_V1 (kmcl-api.md §2.2, §4), each as a function type
 * FN_VMB_<NAME>, a pointer type PFN_VMB_<NAME> and a plain export, in the interface's order.
 * "Client" here means "client of the library": both endpoint roles use these functions. The
 * comments give what the prototypes do not: who may call, whether the call blocks, and which
 * statuses come back (the choices where KMCL is silent are vmbkit's, see docs/kmcl.md). Calls
 * marked "blocks" return STATUS_INVALID_DEVICE_STATE (or do nothing, for VOID functions) when
 * made from a callback that runs on a dispatch context. C11 and C++. */
#ifndef VMBKIT_KMCL_KMCL_FUNCTIONS_H_
#define VMBKIT_KMCL_KMCL_FUNCTIONS_H_

#include "vmbkit/kmcl/kmcl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1. Creates a Disabled channel on a vmbkit bus (ParentDeviceObject, from
 * VmbKitLoopbackBusCreate). _1 bad bus, _3 NULL Channel, STATUS_INSUFFICIENT_RESOURCES. */
typedef NTSTATUS FN_VMB_CHANNEL_ALLOCATE(PDEVICE_OBJECT ParentDeviceObject, BOOLEAN IsServer,
                                         VMBCHANNEL* Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_ALLOCATE* PFN_VMB_CHANNEL_ALLOCATE;
VMBKIT_API FN_VMB_CHANNEL_ALLOCATE VmbChannelAllocate;

/* 2. Destroys a channel and every packet object allocated from it. A channel that is not
 * Disabled is disabled first (blocks). */
typedef VOID FN_VMB_CHANNEL_CLEANUP(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_CLEANUP* PFN_VMB_CHANNEL_CLEANUP;
VMBKIT_API FN_VMB_CHANNEL_CLEANUP VmbChannelCleanup;

/* 3. Client, open channel; blocks. Describes a guest buffer (VmbKitAllocateGuestBuffer) to the
 * server. _1 bad channel or server, _2 undefined flag, _3 buffer not in guest memory, _4
 * ByteCount 0, _5 NULL GpadlHandle, STATUS_INVALID_DEVICE_STATE not open. */
typedef NTSTATUS FN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER(VMBCHANNEL Channel, UINT32 Flags,
                                                         PVOID Buffer, UINT32 ByteCount,
                                                         PUINT32 GpadlHandle) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER* PFN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER;
VMBKIT_API FN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER VmbChannelCreateGpadlFromBuffer;

/* 4. Client, open channel; blocks. As 3 for a range of an MDL chain over guest memory
 * (DataLengthWithinMdl 0 = to the end). _3 bad MDL, _4/_5 range outside the chain, _6 NULL
 * GpadlHandle. */
typedef NTSTATUS FN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL(VMBCHANNEL Channel, UINT32 Flags, PMDL Mdl,
                                                      UINT32 StartOffsetWithinMdl,
                                                      UINT32 DataLengthWithinMdl,
                                                      PUINT32 GpadlHandle) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL* PFN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL;
VMBKIT_API FN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL VmbChannelCreateGpadlFromMdl;

/* 5. Client; blocks while the server has the GPADL mapped. Unknown handles are ignored. */
typedef VOID FN_VMB_CHANNEL_DELETE_GPADL(VMBCHANNEL Channel, UINT32 GpadlHandle) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_DELETE_GPADL* PFN_VMB_CHANNEL_DELETE_GPADL;
VMBKIT_API FN_VMB_CHANNEL_DELETE_GPADL VmbChannelDeleteGpadl;

/* 6. Blocks. Closes (client) or rescinds (server); returns when Suspend and Closed have run and
 * every delivered packet is completed. Outstanding and queued sends complete with
 * STATUS_DEVICE_REMOVED. */
typedef VOID FN_VMB_CHANNEL_DISABLE(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_DISABLE* PFN_VMB_CHANNEL_DISABLE;
VMBKIT_API FN_VMB_CHANNEL_DISABLE VmbChannelDisable;

/* 7. Attaches the channel to its bus without waiting for the peer: a server offers, a client
 * opens a matching offer now or when one appears (and is started). _1 bad channel,
 * STATUS_INVALID_DEVICE_STATE not Disabled or no target set, STATUS_OBJECT_NAME_COLLISION an
 * offer with the same type and instance exists. */
typedef NTSTATUS FN_VMB_CHANNEL_ENABLE(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_ENABLE* PFN_VMB_CHANNEL_ENABLE;
VMBKIT_API FN_VMB_CHANNEL_ENABLE VmbChannelEnable;

/* 8. Writes the instance GUID of the channel's offer (all zero while a client has none). */
typedef VOID FN_VMB_CHANNEL_GET_INTERFACE_INSTANCE(VMBCHANNEL Channel,
                                                   LPGUID InterfaceInstance) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_GET_INTERFACE_INSTANCE* PFN_VMB_CHANNEL_GET_INTERFACE_INSTANCE;
VMBKIT_API FN_VMB_CHANNEL_GET_INTERFACE_INSTANCE VmbChannelGetInterfaceInstance;

/* 9. User mode has no MMIO: always writes address 0 and size 0. */
typedef VOID FN_VMB_CHANNEL_GET_MMIO_SPACE(VMBCHANNEL Channel, UINT64* MmioAddress,
                                           UINT64* MmioSize) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_GET_MMIO_SPACE* PFN_VMB_CHANNEL_GET_MMIO_SPACE;
VMBKIT_API FN_VMB_CHANNEL_GET_MMIO_SPACE VmbChannelGetMmioSpace;

/* 10. The pointer stored with VmbChannelSetPointer (NULL initially). Any thread. */
typedef PVOID FN_VMB_CHANNEL_GET_POINTER(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_GET_POINTER* PFN_VMB_CHANNEL_GET_POINTER;
VMBKIT_API FN_VMB_CHANNEL_GET_POINTER VmbChannelGetPointer;

/* 11. Disabled only. Recorded; V1 has no accessor for the area, so none is allocated. */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE(VMBCHANNEL Channel,
                                                             UINT32 ContextSize) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE* PFN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE VmbChannelInitSetClientContextSize;

/* 12. Disabled only. _2 undefined bit (only VMBUS_CHANNEL_INIT_FLAG_IS_PIPE exists). */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_FLAGS(VMBCHANNEL Channel, UINT32 Flags) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_FLAGS* PFN_VMB_CHANNEL_INIT_SET_FLAGS;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_FLAGS VmbChannelInitSetFlags;

/* 13. Disabled only; the name is copied. _2 NULL or malformed UNICODE_STRING. */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME(VMBCHANNEL Channel,
                                                       PCUNICODE_STRING Name) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME* PFN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME VmbChannelInitSetFriendlyName;

/* 14. Disabled only. Limits of one packet's external data. _2 DataSize 0, _3 ChainLength 0. */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA(VMBCHANNEL Channel, UINT32 DataSize,
                                                               UINT32 ChainLength) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA*
    PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA VmbChannelInitSetMaximumExternalData;

/* 15. Disabled only. Largest in-band payload the driver sends. _2 zero or too large for a
 * packet. */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE(VMBCHANNEL Channel,
                                                             UINT32 PacketSize) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE* PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE VmbChannelInitSetMaximumPacketSize;

/* 16. Disabled only. _2 NULL ProcessPacketCallback (ProcessingCompleteCallback may be NULL). */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS(
    VMBCHANNEL Channel, PFN_VMB_CHANNEL_PROCESS_PACKET ProcessPacketCallback,
    PFN_VMB_CHANNEL_PROCESSING_COMPLETE ProcessingCompleteCallback) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS*
    PFN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS VmbChannelInitSetProcessPacketCallbacks;

/* 17. Disabled only; the structure is copied. _2 NULL, or Version/Size wrong. */
typedef NTSTATUS FN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS(
    VMBCHANNEL Channel, PVMB_CHANNEL_STATE_CHANGE_CALLBACKS StateChangeCallbacks) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS*
    PFN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS;
VMBKIT_API FN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS VmbChannelInitSetStateChangeCallbacks;

/* 18. Exactly once per delivered packet, any thread, never blocks. Sends a completion with BufSize
 * bytes of PacketCompletionBuffer only if the sender asked for one (queued when the ring is
 * full); ends the packet's Buffer and external-data MDL. */
typedef VOID FN_VMB_CHANNEL_PACKET_COMPLETE(VMBPACKETCOMPLETION PacketCompletionContext,
                                            PVOID PacketCompletionBuffer,
                                            UINT32 BufSize) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_PACKET_COMPLETE* PFN_VMB_CHANNEL_PACKET_COMPLETE;
VMBKIT_API FN_VMB_CHANNEL_PACKET_COMPLETE VmbChannelPacketComplete;

/* 19. Only inside the process-packet callback: the packet is delivered again on a worker where
 * blocking is allowed. */
typedef VOID FN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE(VMBPACKETCOMPLETION PacketCompletionContext)
    VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE* PFN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE;
VMBKIT_API FN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE VmbChannelPacketDeferToPassive;

/* 20. The driver declares the packet malformed: the packet is released without a completion and
 * the channel fails as on a protocol violation (VmbKitChannelGetFailureReason). */
typedef VOID FN_VMB_CHANNEL_PACKET_FAIL(VMBPACKETCOMPLETION PacketCompletionContext)
    VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_PACKET_FAIL* PFN_VMB_CHANNEL_PACKET_FAIL;
VMBKIT_API FN_VMB_CHANNEL_PACKET_FAIL VmbChannelPacketFail;

/* 21. An MDL over the packet's external data, owned by the library, valid until
 * VmbChannelPacketComplete. Never STATUS_PENDING in vmbkit (guest memory is always mapped).
 * _1 bad context or no external data, _2 undefined flag, _3 NULL Mdl. */
typedef NTSTATUS FN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA(
    VMBPACKETCOMPLETION PacketCompletionContext, UINT32 Flags, PMDL* Mdl) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA* PFN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA;
VMBKIT_API FN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA VmbChannelPacketGetExternalData;

/* 22. Blocks. Returns when Suspend has run and every delivered packet is completed; on a Disabled
 * channel, the next Enable comes up paused. Never from a state-change callback. */
typedef VOID FN_VMB_CHANNEL_PAUSE(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_PAUSE* PFN_VMB_CHANNEL_PAUSE;
VMBKIT_API FN_VMB_CHANNEL_PAUSE VmbChannelPause;

/* 23. Sends one packet and waits for its outcome (decisions.md §4). Timeout: 100 ns units,
 * negative relative, positive absolute Windows time, NULL no limit; it bounds the whole call.
 * STATUS_SUCCESS, STATUS_BUFFER_OVERFLOW (*Timeout == 0 and no ring space: not queued),
 * STATUS_CANCELLED (deadline passed), STATUS_DEVICE_REMOVED (channel closed, failed or peer
 * gone), STATUS_BUFFER_TOO_SMALL (completion truncated; the request did run),
 * STATUS_INVALID_PARAMETER (bad argument or flag, *CompletionBufferSize not a multiple of 8,
 * a server call that could wait), STATUS_INVALID_DEVICE_STATE (a wait from a dispatch
 * callback). */
typedef NTSTATUS FN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST(VMBCHANNEL Channel, PVOID Buffer,
                                                         UINT32 BufferSize, PMDL ExternalDataMdl,
                                                         UINT32 Flags, PVOID CompletionBuffer,
                                                         PUINT32 CompletionBufferSize,
                                                         PLARGE_INTEGER Timeout) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST* PFN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST;
VMBKIT_API FN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST VmbChannelSendSynchronousRequest;

/* 24. TRUE: process-packet callbacks run on a worker thread that may block (completion routines
 * stay on the dispatch context). Takes effect at the next delivery. */
typedef VOID FN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE(
    VMBCHANNEL Channel, BOOLEAN RequirePassive) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE*
    PFN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE;
VMBKIT_API FN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE
    VmbChannelSetIncomingProcessingAtPassive;

/* 25. Client, open channel. Recorded and returned, no effect (user mode has no monitored
 * notifications). _1 bad channel or server, _3 NULL OriginalLatency,
 * STATUS_INVALID_DEVICE_STATE not open. */
typedef NTSTATUS FN_VMB_CHANNEL_SET_INTERRUPT_LATENCY(VMBCHANNEL Channel, UINT16 Latency,
                                                      PUINT16 OriginalLatency) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SET_INTERRUPT_LATENCY* PFN_VMB_CHANNEL_SET_INTERRUPT_LATENCY;
VMBKIT_API FN_VMB_CHANNEL_SET_INTERRUPT_LATENCY VmbChannelSetInterruptLatency;

/* 26. Stores one driver pointer on the channel. Any thread. */
typedef VOID FN_VMB_CHANNEL_SET_POINTER(VMBCHANNEL Channel, PVOID Pointer) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SET_POINTER* PFN_VMB_CHANNEL_SET_POINTER;
VMBKIT_API FN_VMB_CHANNEL_SET_POINTER VmbChannelSetPointer;

/* 27. Delivered-but-uncompleted packets allowed at once; 0 is ignored. A lower quota never
 * restarts a stalled queue by itself; a completion does. */
typedef VOID FN_VMB_CHANNEL_SET_TRANSACTION_QUOTA(VMBCHANNEL Channel, UINT32 Quota) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SET_TRANSACTION_QUOTA* PFN_VMB_CHANNEL_SET_TRANSACTION_QUOTA;
VMBKIT_API FN_VMB_CHANNEL_SET_TRANSACTION_QUOTA VmbChannelSetTransactionQuota;

/* 28. Bytes VmbPacketInitialize needs for one packet object (0 for a bad channel). */
typedef UINT32 FN_VMB_CHANNEL_SIZEOF_PACKET(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_SIZEOF_PACKET* PFN_VMB_CHANNEL_SIZEOF_PACKET;
VMBKIT_API FN_VMB_CHANNEL_SIZEOF_PACKET VmbChannelSizeofPacket;

/* 29. Leaves the Paused run state (Started and PostStarted follow once open). Never from a
 * state-change callback. */
typedef VOID FN_VMB_CHANNEL_START(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_CHANNEL_START* PFN_VMB_CHANNEL_START;
VMBKIT_API FN_VMB_CHANNEL_START VmbChannelStart;

/* 30. Client, Disabled only. Data pages of each ring (the 4 KiB control page comes on top).
 * _2/_3 zero or above 65536. */
typedef NTSTATUS FN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT(
    VMBCHANNEL Channel, UINT32 IncomingPageCount, UINT32 OutgoingPageCount) VMBKIT_NOEXCEPT;
typedef FN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT*
    PFN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT;
VMBKIT_API FN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT
    VmbClientChannelInitSetRingBufferPageCount;

/* 31. Client, Disabled only. The offer to open: InterfaceType required, InterfaceInstance NULL =
 * any instance. _1 bad channel or server, _2 NULL InterfaceType. */
typedef NTSTATUS FN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP(
    VMBCHANNEL Channel, LPCGUID InterfaceType, LPCGUID InterfaceInstance,
    PFN_VMB_CHANNEL_PNP_FAILURE PnpFailureCallback) VMBKIT_NOEXCEPT;
typedef FN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP* PFN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP;
VMBKIT_API FN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP VmbClientChannelInitSetTargetPnp;

/* 32. A packet object from the channel's pool with the default completion routine (frees the
 * packet); NULL on failure. Never blocks. */
typedef VMBPACKET FN_VMB_PACKET_ALLOCATE(VMBCHANNEL Channel) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_ALLOCATE* PFN_VMB_PACKET_ALLOCATE;
VMBKIT_API FN_VMB_PACKET_ALLOCATE VmbPacketAllocate;

/* 33. Returns an allocated packet to its channel. Ignored for a packet that is in flight or came
 * from VmbPacketInitialize. */
typedef VOID FN_VMB_PACKET_FREE(VMBPACKET VmbPacket) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_FREE* PFN_VMB_PACKET_FREE;
VMBKIT_API FN_VMB_PACKET_FREE VmbPacketFree;

/* 34. The packet's channel. */
typedef VMBCHANNEL FN_VMB_PACKET_GET_CHANNEL(VMBPACKET PacketObject) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_GET_CHANNEL* PFN_VMB_PACKET_GET_CHANNEL;
VMBKIT_API FN_VMB_PACKET_GET_CHANNEL VmbPacketGetChannel;

/* 35. The pointer stored with VmbPacketSetPointer. */
typedef PVOID FN_VMB_PACKET_GET_POINTER(VMBPACKET PacketObject) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_GET_POINTER* PFN_VMB_PACKET_GET_POINTER;
VMBKIT_API FN_VMB_PACKET_GET_POINTER VmbPacketGetPointer;

/* 36. Makes ByteCount bytes of caller memory (8-byte aligned, valid until the packet is no longer
 * used) a packet object without a completion routine. _1 bad channel, _2 NULL or misaligned,
 * _3 ByteCount < VmbChannelSizeofPacket(Channel). */
typedef NTSTATUS FN_VMB_PACKET_INITIALIZE(VMBCHANNEL Channel, VMBPACKET VmbPacket,
                                          UINT32 ByteCount) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_INITIALIZE* PFN_VMB_PACKET_INITIALIZE;
VMBKIT_API FN_VMB_PACKET_INITIALIZE VmbPacketInitialize;

/* 37. Sends Buffer in-band and, with ExternalDataMdl, the whole MDL chain as external data (then
 * WAIT_FOR_COMPLETION is required; client endpoints only). The buffer is copied before the call
 * returns; a full ring queues the packet. On STATUS_SUCCESS the packet belongs to the library
 * until its completion routine runs. STATUS_INVALID_PARAMETER (bad argument, undefined flag,
 * too long, external data without WAIT_FOR_COMPLETION or from a server, packet in flight),
 * STATUS_DEVICE_REMOVED (channel Disabled or failed); on failure nothing is sent. */
typedef NTSTATUS FN_VMB_PACKET_SEND(VMBPACKET PacketObject, PVOID Buffer, UINT32 BufferLength,
                                    PMDL ExternalDataMdl, UINT32 Flags) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_SEND* PFN_VMB_PACKET_SEND;
VMBKIT_API FN_VMB_PACKET_SEND VmbPacketSend;

/* 38. As 37 for the range MdlOffset..MdlOffset+MdlLength of the chain (MdlLength 0 = to the
 * end); FORCE_MDL_LENGTH allows the first MDL's last page (decisions.md §3). */
typedef NTSTATUS FN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL(VMBPACKET PacketObject, PVOID Buffer,
                                                      UINT32 BufferLength, PMDL ExternalDataMdl,
                                                      UINT32 MdlOffset, UINT32 MdlLength,
                                                      UINT32 Flags) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL* PFN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL;
VMBKIT_API FN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL VmbPacketSendWithExternalMdl;

/* 39. As 37 with PfnLength whole guest pages as external data (6-parameter form). */
typedef NTSTATUS FN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS(VMBPACKET PacketObject, PVOID Buffer,
                                                       UINT32 BufferLength,
                                                       PPFN_NUMBER ExternalDataPfns,
                                                       UINT32 PfnLength,
                                                       UINT32 Flags) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS* PFN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS;
VMBKIT_API FN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS VmbPacketSendWithExternalPfns;

/* 40. Installs the routine called when the packet's transaction ends; after it ran the packet may
 * be sent again or freed. Ignored while the packet is in flight. */
typedef VOID FN_VMB_PACKET_SET_COMPLETION_ROUTINE(
    VMBPACKET PacketObject, PFN_VMB_PACKET_COMPLETION_ROUTINE CompletionRoutine) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_SET_COMPLETION_ROUTINE* PFN_VMB_PACKET_SET_COMPLETION_ROUTINE;
VMBKIT_API FN_VMB_PACKET_SET_COMPLETION_ROUTINE VmbPacketSetCompletionRoutine;

/* 41. Stores one driver pointer on the packet. */
typedef VOID FN_VMB_PACKET_SET_POINTER(VMBPACKET PacketObject, PVOID Pointer) VMBKIT_NOEXCEPT;
typedef FN_VMB_PACKET_SET_POINTER* PFN_VMB_PACKET_SET_POINTER;
VMBKIT_API FN_VMB_PACKET_SET_POINTER VmbPacketSetPointer;

#ifdef __cplusplus
}
#endif

#endif /* VMBKIT_KMCL_KMCL_FUNCTIONS_H_ */
