/* SPDX-License-Identifier: MIT */
/* The KMCL handles, constants, callback types and the state-change callback structure, with the
 * names and values of Microsoft's vmbuskernelmodeclientlibapi.h (kmcl-api.md §3, §5). C11 and
 * C++. This header declares no functions; include vmbkit/kmcl.h, which pulls in this file, the
 * function declarations, the interface structures and vmbkit's own additions. */
#ifndef VMBKIT_KMCL_KMCL_TYPES_H_
#define VMBKIT_KMCL_KMCL_TYPES_H_

#include <string.h>

#include "vmbkit/nt_types.h"

/* Every exported KMCL and VmbKit function carries this (default visibility in a shared build). */
#if defined(__GNUC__)
#define VMBKIT_API __attribute__((visibility("default")))
#else
#define VMBKIT_API
#endif

/* KMCL declares its handles with DECLARE_HANDLE: each is a pointer to its own incomplete struct,
 * so a VMBPACKET cannot be passed where a VMBCHANNEL is expected. */
/* A value conversion that compiles without warnings in C11 and in C++ (-Wold-style-cast). */
#ifdef __cplusplus
#define VMBKIT_KMCL_CAST(type, value) static_cast<type>(value)
#else
#define VMBKIT_KMCL_CAST(type, value) ((type)(value))
#endif

/* Every library function is noexcept in C++ (no exception crosses the C API). */
#ifdef __cplusplus
#define VMBKIT_NOEXCEPT noexcept
#else
#define VMBKIT_NOEXCEPT
#endif

#define VMBKIT_DECLARE_HANDLE(name) \
  struct name##__;                  \
  typedef struct name##__* name

#ifdef __cplusplus
extern "C" {
#endif

/* One channel endpoint (server or client), from VmbChannelAllocate to VmbChannelCleanup. */
VMBKIT_DECLARE_HANDLE(VMBCHANNEL);
/* The sender's handle for one outgoing packet and the transaction it starts. */
VMBKIT_DECLARE_HANDLE(VMBPACKET);
/* The receiver's handle for one incoming packet, valid until VmbChannelPacketComplete. */
VMBKIT_DECLARE_HANDLE(VMBPACKETCOMPLETION);

/* ---- Send ("format") flags: Flags of VmbPacketSend* and VmbChannelSendSynchronousRequest ---- */

/* The transaction ends when the peer completes the packet (wire: COMPLETION_REQUESTED). Required
 * whenever external data is sent. */
#define VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION 0x1u
/* VmbPacketSendWithExternalMdl: MdlLength may pass the first MDL's ByteCount up to the end of the
 * page holding its last byte; only the first MDL of a chain is used. */
#define VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH 0x2u
/* The in-band buffer is pageable. vmbkit always copies the in-band buffer before a send returns,
 * so this flag is accepted and changes nothing. */
#define VMBUS_CHANNEL_FORMAT_FLAG_PAGED_BUFFER 0x4u
/* Every defined send flag; any other bit makes a send return STATUS_INVALID_PARAMETER. */
#define VMBUS_CHANNEL_FORMAT_FLAGS 0x7u

/* ---- Channel initialisation flags ---- */

/* VmbChannelInitSetFlags: the channel runs in pipe mode (either role). */
#define VMBUS_CHANNEL_INIT_FLAG_IS_PIPE 0x1u
#define VMBUS_CHANNEL_INIT_FLAGS 0x1u

/* VmbServerChannelInitSetFlags: offer flags. */
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_LOOPBACK_OFFER 0x1u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_ENUMERATE_DEVICE_INTERFACE 0x2u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE 0x4u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_FORCE_NEW_CHANNEL 0x8u
#define VMBUS_SERVER_CHANNEL_INIT_FLAG_TLNPI_PROVIDER_OFFER 0x10u
#define VMBUS_SERVER_CHANNEL_INIT_FLAGS 0x1Fu

/* Bytes of user data an offer carries (no V1 function sets it). */
#define VMBUS_SERVER_CHANNEL_INIT_MAXIMUM_OFFER_DATA 120u

/* ---- GPADL, incoming-packet and external-data flags ---- */

/* VmbChannelCreateGpadlFrom*, VmbChannelMapGpadl: the server may not write (a hint, not a
 * security boundary). */
#define VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY 0x1u
#define VMBUS_CHANNEL_GPADL_FLAGS 0x1u

/* Flags of EvtVmbChannelProcessPacket: the packet carries external data
 * (VmbChannelPacketGetExternalData). */
#define VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA 0x1u
#define VMBUS_CHANNEL_PROCESS_PACKET_FLAGS 0x1u

/* VmbChannelPacketGetExternalData: a read-only mapping is enough. */
#define VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY 0x1u
#define VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAGS 0x1u

/* ---- Callback function types (EVT_VMB_*) and their pointer types (PFN_VMB_*) ---- */

/* One incoming packet: Buffer/BufferLength is the sender's in-band payload (a multiple of 8
 * bytes, padding included), valid until VmbChannelPacketComplete(Packet, ...), which the driver
 * must call exactly once, here or later from any thread. Runs on the channel's dispatch context
 * (must not block) unless VmbChannelSetIncomingProcessingAtPassive(TRUE). Never two at once for
 * one channel. */
typedef VOID EVT_VMB_CHANNEL_PROCESS_PACKET(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet,
                                            PVOID Buffer, UINT32 BufferLength, UINT32 Flags);
typedef EVT_VMB_CHANNEL_PROCESS_PACKET* PFN_VMB_CHANNEL_PROCESS_PACKET;

/* The end of a delivery batch (the incoming ring ran empty or the transaction quota was hit),
 * after the batch's last process-packet callback. */
typedef VOID EVT_VMB_CHANNEL_PROCESSING_COMPLETE(VMBCHANNEL Channel, UINT32 PacketsProcessed);
typedef EVT_VMB_CHANNEL_PROCESSING_COMPLETE* PFN_VMB_CHANNEL_PROCESSING_COMPLETE;

/* The transaction of an outgoing packet ended. Status: STATUS_SUCCESS (the peer completed it, or
 * without WAIT_FOR_COMPLETION: it reached the ring), STATUS_CANCELLED, or STATUS_DEVICE_REMOVED
 * (the channel was disabled, closed or failed, or the peer went away). Buffer/BufferLength: the
 * peer's completion payload, valid only during the call. Never runs inside the send call; runs
 * on the channel's dispatch context and must not block. */
typedef VOID EVT_VMB_PACKET_COMPLETION_ROUTINE(VMBPACKET Packet, NTSTATUS Status, PVOID Buffer,
                                               UINT32 BufferLength);
typedef EVT_VMB_PACKET_COMPLETION_ROUTINE* PFN_VMB_PACKET_COMPLETION_ROUTINE;

/* The channel opened (both endpoints). A status other than STATUS_SUCCESS rolls the channel back
 * to a state without traffic. The state-change callbacks below run on a thread that may block. */
typedef NTSTATUS EVT_VMB_CHANNEL_OPENED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_OPENED* PFN_VMB_CHANNEL_OPENED;

/* The channel closed (local Disable, or the peer closed or rescinded). Destroy every GPADL of the
 * channel here. */
typedef VOID EVT_VMB_CHANNEL_CLOSED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_CLOSED* PFN_VMB_CHANNEL_CLOSED;

/* The channel stops running (Pause, Disable, or the peer closing): stop sending and complete
 * every packet delivered so far. */
typedef VOID EVT_VMB_CHANNEL_SUSPEND(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_SUSPEND* PFN_VMB_CHANNEL_SUSPEND;

/* The channel is open and started; the incoming queue is not running yet, so do not wait for
 * packets or completions here. */
typedef VOID EVT_VMB_CHANNEL_STARTED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_STARTED* PFN_VMB_CHANNEL_STARTED;

/* The incoming queue runs; the place for synchronous protocol negotiation. Process-packet
 * callbacks may run before or during it. */
typedef VOID EVT_VMB_CHANNEL_POST_STARTED(VMBCHANNEL Channel);
typedef EVT_VMB_CHANNEL_POST_STARTED* PFN_VMB_CHANNEL_POST_STARTED;

/* Client endpoint: the targeted offer was found but the channel could not be opened. */
typedef VOID EVT_VMB_CHANNEL_PNP_FAILURE(VMBCHANNEL Channel, NTSTATUS FailureStatus);
typedef EVT_VMB_CHANNEL_PNP_FAILURE* PFN_VMB_CHANNEL_PNP_FAILURE;

/* Server save/restore hooks (registered, never called: vmbkit has no save/restore). */
typedef NTSTATUS EVT_VMB_CHANNEL_SAVE_PACKET(VMBCHANNEL Channel, VMBPACKET Packet, PVOID SaveBuf,
                                             UINT32 SaveBufSize, PUINT32 BytesNeeded);
typedef EVT_VMB_CHANNEL_SAVE_PACKET* PFN_VMB_CHANNEL_SAVE_PACKET;
typedef NTSTATUS EVT_VMB_CHANNEL_RESTORE_PACKET(VMBCHANNEL Channel, PVOID LibBuf, UINT32 LibBufSize,
                                                PVOID SaveBuf, UINT32 SaveBufSize);
typedef EVT_VMB_CHANNEL_RESTORE_PACKET* PFN_VMB_CHANNEL_RESTORE_PACKET;

/* ---- State-change callbacks ---- */

/* The only Version defined (the name is vmbkit's; KMCL's INIT helper writes 1). */
#define VMBKIT_STATE_CHANGE_CALLBACKS_VERSION_1 1u

/* Registered with VmbChannelInitSetStateChangeCallbacks. Every callback may be NULL. Version must
 * be 1 and Size sizeof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS) (48 on x86-64). */
typedef struct _VMB_CHANNEL_STATE_CHANGE_CALLBACKS {
  ULONG Version;
  ULONG Size;
  PFN_VMB_CHANNEL_OPENED EvtChannelOpened;
  PFN_VMB_CHANNEL_CLOSED EvtChannelClosed;
  PFN_VMB_CHANNEL_SUSPEND EvtChannelSuspend;
  PFN_VMB_CHANNEL_STARTED EvtChannelStarted;
  PFN_VMB_CHANNEL_POST_STARTED EvtChannelPostStarted;
} VMB_CHANNEL_STATE_CHANGE_CALLBACKS, *PVMB_CHANNEL_STATE_CHANGE_CALLBACKS;

/* Zeroes the structure and sets Version = 1 and Size = sizeof. */
static inline VOID VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(
    PVMB_CHANNEL_STATE_CHANGE_CALLBACKS StateChangeCallbacks) {
  memset(StateChangeCallbacks, 0, sizeof(*StateChangeCallbacks));
  StateChangeCallbacks->Version = VMBKIT_STATE_CHANGE_CALLBACKS_VERSION_1;
  StateChangeCallbacks->Size = VMBKIT_KMCL_CAST(ULONG, sizeof(*StateChangeCallbacks));
}

#ifdef __cplusplus
}
#endif

#endif /* VMBKIT_KMCL_KMCL_TYPES_H_ */
