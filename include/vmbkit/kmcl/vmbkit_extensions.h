/* SPDX-License-Identifier: MIT */
/* vmbkit's own C functions next to KMCL (prefix VmbKit): creating (in one process or between
 * processes) and closing a bus, allocating guest memory that external data and GPADLs can
 * describe, the reason a channel failed, and the library's log callback. KMCL has no counterpart
 * for these; on Windows the bus and guest memory come from the system. C11 and C++. */
#ifndef VMBKIT_KMCL_VMBKIT_EXTENSIONS_H_
#define VMBKIT_KMCL_VMBKIT_EXTENSIONS_H_

#include "vmbkit/kmcl/kmcl_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates an in-process bus that pairs server and client channels of this process. The returned
 * device object is the ParentDeviceObject of VmbChannelAllocate and owns the guest memory of its
 * client endpoints. STATUS_INVALID_PARAMETER NULL Bus, STATUS_INSUFFICIENT_RESOURCES. */
VMBKIT_API NTSTATUS VmbKitLoopbackBusCreate(PDEVICE_OBJECT* Bus) VMBKIT_NOEXCEPT;

/* Hosts a bus between processes at SocketPath (a Unix socket, created with mode 0600; its
 * directory is created 0700 if missing and must otherwise be private to the caller). Guest
 * processes join it with VmbKitBusConnect; each is one partition with its own guest memory.
 * Server channels allocated on this bus are offered to every guest, now or when it connects;
 * the first guest whose client channel targets an offer opens it. Client channels and guest
 * buffers are refused on a host bus (it has no guest memory). Only processes of the caller's
 * user may connect. STATUS_INVALID_PARAMETER_1 NULL or empty SocketPath,
 * STATUS_INVALID_PARAMETER_2 NULL Bus, STATUS_INVALID_PARAMETER path without a directory part or
 * too long, STATUS_ACCESS_DENIED directory not private, STATUS_OBJECT_NAME_COLLISION a server
 * already listens there, STATUS_INSUFFICIENT_RESOURCES. */
VMBKIT_API NTSTATUS VmbKitBusListen(const char* SocketPath, PDEVICE_OBJECT* Bus) VMBKIT_NOEXCEPT;

/* Joins the bus hosted at SocketPath as a guest partition, bringing a fresh guest memory (for
 * VmbKitAllocateGuestBuffer, external data and GPADLs), and waits until the host's offers are
 * known. Client channels allocated on it open matching offers of the host; server channels are
 * refused. If the host goes away, every channel on the bus is closed as by the peer
 * (outstanding requests end with STATUS_DEVICE_REMOVED). STATUS_INVALID_PARAMETER_1,
 * STATUS_INVALID_PARAMETER_2 as above, STATUS_CONNECTION_REFUSED nobody listens or the host
 * refused the caller, STATUS_ACCESS_DENIED, STATUS_REVISION_MISMATCH no common protocol
 * version, STATUS_TIMEOUT, STATUS_DEVICE_REMOVED the host left meanwhile,
 * STATUS_INSUFFICIENT_RESOURCES. */
VMBKIT_API NTSTATUS VmbKitBusConnect(const char* SocketPath, PDEVICE_OBJECT* Bus) VMBKIT_NOEXCEPT;

/* Disabled only. Sub-channels (docs/kmcl.md "Sub-channels"): a server channel is offered with
 * this sub_channel_index (0 = the device's primary channel; 1, 2, ... more channels of the same
 * interface type and instance, offered only while the primary is); a client channel opens only
 * the offer with this index. Default 0. STATUS_INVALID_PARAMETER_1 bad channel or not
 * Disabled. */
VMBKIT_API NTSTATUS VmbKitChannelInitSetSubChannelIndex(VMBCHANNEL Channel,
                                                        UINT16 SubChannelIndex) VMBKIT_NOEXCEPT;

/* Closes a bus. Channels still allocated on it keep it alive until their VmbChannelCleanup; the
 * caller must not use the Bus pointer afterwards. NULL is ignored. */
VMBKIT_API VOID VmbKitBusClose(PDEVICE_OBJECT Bus) VMBKIT_NOEXCEPT;

/* Allocates ByteCount bytes of zeroed, page-aligned guest memory of the bus and an MDL over them
 * (for external data and GPADLs). Free with VmbKitFreeGuestBuffer. Any thread.
 * _1 bad bus, _2 ByteCount 0, _3 NULL Buffer, _4 NULL Mdl, STATUS_INSUFFICIENT_RESOURCES guest
 * memory exhausted. */
VMBKIT_API NTSTATUS VmbKitAllocateGuestBuffer(PDEVICE_OBJECT Bus, UINT32 ByteCount, PVOID* Buffer,
                                              PMDL* Mdl) VMBKIT_NOEXCEPT;

/* Frees what VmbKitAllocateGuestBuffer returned. The memory must no longer be described by a
 * packet in flight or a GPADL. Mismatched or NULL arguments are ignored. */
VMBKIT_API VOID VmbKitFreeGuestBuffer(PDEVICE_OBJECT Bus, PVOID Buffer, PMDL Mdl) VMBKIT_NOEXCEPT;

/* Why a channel failed (decisions.md §7). *FailureStatus: STATUS_SUCCESS while the channel has
 * not failed, else the recorded status (STATUS_DATA_ERROR for a peer's protocol violation).
 * Description (optional, DescriptionSize bytes) receives a NUL-terminated explanation, truncated
 * to fit. Any thread. _1 bad channel, _2 NULL FailureStatus, _3 NULL Description with a non-zero
 * DescriptionSize. */
VMBKIT_API NTSTATUS VmbKitChannelGetFailureReason(VMBCHANNEL Channel, NTSTATUS* FailureStatus,
                                                  char* Description,
                                                  UINT32 DescriptionSize) VMBKIT_NOEXCEPT;

/* Severity of a log message. */
typedef enum _VMBKIT_LOG_LEVEL {
  VmbKitLogLevelError = 0,
  VmbKitLogLevelWarning = 1,
  VmbKitLogLevelInfo = 2,
  VmbKitLogLevelDebug = 3
} VMBKIT_LOG_LEVEL;

/* Receives the library's log messages (NUL-terminated, no trailing newline). May be called from
 * any library thread, concurrently; must not call back into the library. */
typedef VOID VMBKIT_LOG_CALLBACK(PVOID Context, VMBKIT_LOG_LEVEL Level, const char* Message);
typedef VMBKIT_LOG_CALLBACK* PVMBKIT_LOG_CALLBACK;

/* Replaces the log callback for the whole process; messages above MaximumLevel are not
 * formatted. NULL Callback restores the default (warnings and errors to stderr). The library
 * never prints anything else. */
VMBKIT_API VOID VmbKitSetLogCallback(PVMBKIT_LOG_CALLBACK Callback, PVOID Context,
                                     VMBKIT_LOG_LEVEL MaximumLevel) VMBKIT_NOEXCEPT;

/* Busy-poll mode (docs/kmcl.md "Poll mode"), before VmbChannelEnable: TRUE makes the channel's
 * dispatch keep polling its empty incoming ring for a short while before it waits for a signal,
 * and a thread waiting in VmbChannelSendSynchronousRequest poll the ring itself instead of
 * sleeping: lower latency for more CPU. The peer still signals only a side that stopped
 * polling. Default FALSE. STATUS_INVALID_PARAMETER_1 bad channel, STATUS_INVALID_DEVICE_STATE
 * the channel is not Disabled. */
VMBKIT_API NTSTATUS VmbKitChannelInitSetPolling(VMBCHANNEL Channel, BOOLEAN Enable) VMBKIT_NOEXCEPT;

/* Counters of one channel since it was allocated (over every open). Each is exact for what
 * this endpoint did; a snapshot taken during traffic may mix moments. */
typedef struct _VMBKIT_CHANNEL_STATISTICS {
  UINT32 Size;                /* in: bytes of the caller's structure; out: bytes filled */
  UINT32 Version;             /* out: VMBKIT_CHANNEL_STATISTICS_VERSION */
  UINT64 PacketsSent;         /* written to the outgoing ring, completions included */
  UINT64 BytesSent;           /* their in-band payload bytes */
  UINT64 CompletionsSent;     /* completion packets written (VmbChannelPacketComplete) */
  UINT64 PacketsReceived;     /* read from the incoming ring, completions included */
  UINT64 BytesReceived;       /* their payload bytes */
  UINT64 CompletionsReceived; /* completion packets read */
  UINT64 SignalsSent;         /* interrupts sent to the peer */
  UINT64 SignalsReceived;     /* interrupts received from the peer */
} VMBKIT_CHANNEL_STATISTICS, *PVMBKIT_CHANNEL_STATISTICS;

#define VMBKIT_CHANNEL_STATISTICS_VERSION 1u

/* Fills *Statistics; set Statistics->Size to sizeof(VMBKIT_CHANNEL_STATISTICS) first (a larger
 * Size from a newer header is accepted; only the known fields are written). Any thread.
 * STATUS_INVALID_PARAMETER_1 bad channel, STATUS_INVALID_PARAMETER_2 NULL Statistics,
 * STATUS_BUFFER_TOO_SMALL Size smaller than version 1 of the structure. */
VMBKIT_API NTSTATUS VmbKitChannelGetStatistics(
    VMBCHANNEL Channel, PVMBKIT_CHANNEL_STATISTICS Statistics) VMBKIT_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* VMBKIT_KMCL_VMBKIT_EXTENSIONS_H_ */
