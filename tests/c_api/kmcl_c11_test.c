/* SPDX-License-Identifier: MIT */
/* Compiles vmbkit/kmcl.h as strict C11 (-std=c11 -Wall -Wextra -Wpedantic -Werror) and uses every
 * type, constant, callback type and function pointer type it declares: each PFN_VMB_* is
 * initialised from its export (a mismatched prototype is a compile error), the structure layouts
 * are checked against the x86-64 offsets, and main() checks at run time that the library links,
 * that the query functions fill every slot with the export, and that bad arguments return the
 * documented statuses. Channel behaviour is tested in C++ (src/kmcl, src/channel). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vmbkit/kmcl.h"

/* ---- Layouts (kmcl-api.md §3.3 and the WDM INTERFACE header) ---- */

_Static_assert(sizeof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS) == 48, "state callbacks are 48 bytes");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, Version) == 0, "Version at 0");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, Size) == 4, "Size at 4");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, EvtChannelOpened) == 8, "Opened");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, EvtChannelClosed) == 16, "Closed");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, EvtChannelSuspend) == 24, "Suspend");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, EvtChannelStarted) == 32, "Started");
_Static_assert(offsetof(VMB_CHANNEL_STATE_CHANGE_CALLBACKS, EvtChannelPostStarted) == 40,
               "PostStarted");

_Static_assert(sizeof(INTERFACE) == 32, "WDM INTERFACE header");
_Static_assert(offsetof(INTERFACE, Context) == 8, "INTERFACE.Context");
_Static_assert(offsetof(INTERFACE, InterfaceDereference) == 24, "INTERFACE.InterfaceDereference");
_Static_assert(offsetof(KMCL_CLIENT_INTERFACE_V1, Size) == offsetof(INTERFACE, Size), "Size");
_Static_assert(offsetof(KMCL_CLIENT_INTERFACE_V1, InterfaceDereference) == 24, "header fields");
_Static_assert(offsetof(KMCL_CLIENT_INTERFACE_V1, VmbChannelAllocate) == 32, "first method");
_Static_assert(offsetof(KMCL_CLIENT_INTERFACE_V1, VmbChannelSendSynchronousRequest) == 32 + 22 * 8,
               "method 23");
_Static_assert(offsetof(KMCL_CLIENT_INTERFACE_V1, VmbPacketSetPointer) == 32 + 40 * 8, "method 41");
_Static_assert(sizeof(KMCL_CLIENT_INTERFACE_V1) == 32 + 41 * 8, "41 methods");
_Static_assert(sizeof(KMCL_SERVER_ONLY_METHODS) == 14 * 8, "14 server methods");
_Static_assert(offsetof(KMCL_SERVER_ONLY_METHODS, VmbServerChannelInitSetVmbusHandle) == 13 * 8,
               "server method 14");
_Static_assert(offsetof(KMCL_SERVER_INTERFACE_V1, VmbChannelMapGpadl) ==
                   sizeof(KMCL_CLIENT_INTERFACE_V1),
               "server methods follow the client interface");
_Static_assert(sizeof(KMCL_SERVER_INTERFACE_V1) ==
                   sizeof(KMCL_CLIENT_INTERFACE_V1) + sizeof(KMCL_SERVER_ONLY_METHODS),
               "server interface = client interface + server-only methods");

/* ---- Handles are distinct types (DECLARE_HANDLE) ---- */

_Static_assert(_Generic((VMBCHANNEL)0, VMBPACKET : 0, VMBPACKETCOMPLETION : 0, default : 1),
               "VMBCHANNEL is its own type");
_Static_assert(_Generic((VMBPACKET)0, VMBPACKETCOMPLETION : 0, default : 1),
               "VMBPACKET is its own type");

/* ---- Constants (kmcl-api.md §5) ---- */

_Static_assert(VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION == 0x1, "format flag");
_Static_assert(VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH == 0x2, "format flag");
_Static_assert(VMBUS_CHANNEL_FORMAT_FLAG_PAGED_BUFFER == 0x4, "format flag");
_Static_assert(VMBUS_CHANNEL_FORMAT_FLAGS == 0x7, "format mask");
_Static_assert(VMBUS_CHANNEL_INIT_FLAG_IS_PIPE == 0x1 && VMBUS_CHANNEL_INIT_FLAGS == 0x1, "init");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_FLAG_LOOPBACK_OFFER == 0x1, "server flag");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_FLAG_ENUMERATE_DEVICE_INTERFACE == 0x2, "server flag");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE == 0x4, "server flag");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_FLAG_FORCE_NEW_CHANNEL == 0x8, "server flag");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_FLAG_TLNPI_PROVIDER_OFFER == 0x10, "server flag");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_FLAGS == 0x1F, "server mask");
_Static_assert(VMBUS_SERVER_CHANNEL_INIT_MAXIMUM_OFFER_DATA == 120, "offer data");
_Static_assert(VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY == 0x1 && VMBUS_CHANNEL_GPADL_FLAGS == 0x1, "");
_Static_assert(VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA == 0x1, "process flag");
_Static_assert(VMBUS_CHANNEL_PROCESS_PACKET_FLAGS == 0x1, "process mask");
_Static_assert(VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY == 0x1, "external flag");
_Static_assert(VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAGS == 0x1, "external mask");
_Static_assert(VMBKIT_STATE_CHANGE_CALLBACKS_VERSION_1 == 1, "callbacks version");
_Static_assert(KMCL_CLIENT_INTERFACE_VERSION_LATEST == KMCL_CLIENT_INTERFACE_VERSION_V1, "");
_Static_assert(KMCL_SERVER_INTERFACE_VERSION_LATEST == KMCL_SERVER_INTERFACE_VERSION_V1, "");
_Static_assert(VmbKitLogLevelError < VmbKitLogLevelWarning &&
                   VmbKitLogLevelInfo < VmbKitLogLevelDebug,
               "log levels ordered");

/* ---- One implementation of every callback type ---- */

static EVT_VMB_CHANNEL_PROCESS_PACKET TestProcessPacket;
static EVT_VMB_CHANNEL_PROCESSING_COMPLETE TestProcessingComplete;
static EVT_VMB_PACKET_COMPLETION_ROUTINE TestCompletion;
static EVT_VMB_CHANNEL_OPENED TestOpened;
static EVT_VMB_CHANNEL_CLOSED TestClosed;
static EVT_VMB_CHANNEL_SUSPEND TestSuspend;
static EVT_VMB_CHANNEL_STARTED TestStarted;
static EVT_VMB_CHANNEL_POST_STARTED TestPostStarted;
static EVT_VMB_CHANNEL_PNP_FAILURE TestPnpFailure;
static EVT_VMB_CHANNEL_SAVE_PACKET TestSavePacket;
static EVT_VMB_CHANNEL_RESTORE_PACKET TestRestorePacket;
static VMBKIT_LOG_CALLBACK TestLog;
static INTERFACE_REFERENCE_FN TestReference;
static INTERFACE_DEREFERENCE_FN TestDereference;

static VOID TestProcessPacket(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet, PVOID Buffer,
                              UINT32 BufferLength, UINT32 Flags) {
  (void)Channel;
  (void)Buffer;
  (void)BufferLength;
  (void)Flags;
  VmbChannelPacketComplete(Packet, NULL, 0);
}
static VOID TestProcessingComplete(VMBCHANNEL Channel, UINT32 PacketsProcessed) {
  (void)Channel;
  (void)PacketsProcessed;
}
static VOID TestCompletion(VMBPACKET Packet, NTSTATUS Status, PVOID Buffer, UINT32 BufferLength) {
  (void)Packet;
  (void)Status;
  (void)Buffer;
  (void)BufferLength;
}
static NTSTATUS TestOpened(VMBCHANNEL Channel) {
  (void)Channel;
  return STATUS_SUCCESS;
}
static VOID TestClosed(VMBCHANNEL Channel) { (void)Channel; }
static VOID TestSuspend(VMBCHANNEL Channel) { (void)Channel; }
static VOID TestStarted(VMBCHANNEL Channel) { (void)Channel; }
static VOID TestPostStarted(VMBCHANNEL Channel) { (void)Channel; }
static VOID TestPnpFailure(VMBCHANNEL Channel, NTSTATUS FailureStatus) {
  (void)Channel;
  (void)FailureStatus;
}
static NTSTATUS TestSavePacket(VMBCHANNEL Channel, VMBPACKET Packet, PVOID SaveBuf,
                               UINT32 SaveBufSize, PUINT32 BytesNeeded) {
  (void)Channel;
  (void)Packet;
  (void)SaveBuf;
  (void)SaveBufSize;
  *BytesNeeded = 0;
  return STATUS_SUCCESS;
}
static NTSTATUS TestRestorePacket(VMBCHANNEL Channel, PVOID LibBuf, UINT32 LibBufSize,
                                  PVOID SaveBuf, UINT32 SaveBufSize) {
  (void)Channel;
  (void)LibBuf;
  (void)LibBufSize;
  (void)SaveBuf;
  (void)SaveBufSize;
  return STATUS_SUCCESS;
}
static unsigned log_messages;
static VOID TestLog(PVOID Context, VMBKIT_LOG_LEVEL Level, const char* Message) {
  (void)Context;
  (void)Level;
  (void)Message;
  ++log_messages;
}
static VOID TestReference(PVOID Context) { (void)Context; }
static VOID TestDereference(PVOID Context) { (void)Context; }

/* Defined in kmcl_c11_pointers.c: every PFN type initialised from its export. */
int CheckClientInterface(const KMCL_CLIENT_INTERFACE_V1* Interface);
int CheckServerInterface(const KMCL_SERVER_INTERFACE_V1* Interface);

static int failures;
#define EXPECT(condition)                                                     \
  do {                                                                        \
    if (!(condition)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                             \
    }                                                                         \
  } while (0)
#define EXPECT_STATUS(expected, call) EXPECT((call) == (expected))

static void TestStateChangeCallbacksInit(void) {
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
  memset(&callbacks, 0xAB, sizeof(callbacks));
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  EXPECT(callbacks.Version == 1);
  EXPECT(callbacks.Size == 48);
  EXPECT(callbacks.EvtChannelOpened == NULL && callbacks.EvtChannelPostStarted == NULL);
  callbacks.EvtChannelOpened = TestOpened;
  callbacks.EvtChannelClosed = TestClosed;
  callbacks.EvtChannelSuspend = TestSuspend;
  callbacks.EvtChannelStarted = TestStarted;
  callbacks.EvtChannelPostStarted = TestPostStarted;
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1,
                VmbChannelInitSetStateChangeCallbacks(NULL, &callbacks));
}

static void TestQueries(void) {
  KMCL_CLIENT_INTERFACE_V1 client;
  KMCL_SERVER_INTERFACE_V1 server;
  memset(&client, 0, sizeof(client));
  memset(&server, 0, sizeof(server));
  EXPECT_STATUS(STATUS_SUCCESS, VmbKitQueryClientInterface(&client, (USHORT)sizeof(client),
                                                           KMCL_CLIENT_INTERFACE_VERSION_V1));
  EXPECT(CheckClientInterface(&client) == 0);
  EXPECT(client.Size == sizeof(client) && client.Version == KMCL_CLIENT_INTERFACE_VERSION_V1);
  client.InterfaceReference(client.Context);
  client.InterfaceDereference(client.Context);
  EXPECT_STATUS(STATUS_SUCCESS,
                VmbKitQueryInterface(&KMCL_SERVER_INTERFACE_TYPE, (PINTERFACE)&server,
                                     (USHORT)sizeof(server), KMCL_SERVER_INTERFACE_VERSION_V1));
  EXPECT(CheckServerInterface(&server) == 0);
  EXPECT_STATUS(STATUS_BUFFER_TOO_SMALL,
                VmbKitQueryServerInterface(&server, (USHORT)(sizeof(server) - 8),
                                           KMCL_SERVER_INTERFACE_VERSION_V1));
  EXPECT_STATUS(STATUS_NOT_SUPPORTED,
                VmbKitQueryClientInterface(&client, (USHORT)sizeof(client), (USHORT)99));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1,
                VmbKitQueryInterface(NULL, (PINTERFACE)&client, (USHORT)sizeof(client), 1));
  EXPECT(memcmp(&KMCL_CLIENT_INTERFACE_TYPE, &KMCL_SERVER_INTERFACE_TYPE, sizeof(GUID)) != 0);
  (void)TestReference;
  (void)TestDereference;
}

static void TestNullHandles(void) {
  GUID type = {0x12345678u, 0x1234u, 0x5678u, {1, 2, 3, 4, 5, 6, 7, 8}};
  UINT16 latency = 0;
  NTSTATUS failure = STATUS_SUCCESS;
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbChannelAllocate(NULL, TRUE, NULL));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbChannelEnable(NULL));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbChannelInitSetMaximumPacketSize(NULL, 64));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbChannelInitSetProcessPacketCallbacks(
                                                NULL, TestProcessPacket, TestProcessingComplete));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1,
                VmbClientChannelInitSetTargetPnp(NULL, &type, NULL, TestPnpFailure));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1,
                VmbServerChannelInitSetTargetInterfaceId(NULL, type, type));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbServerChannelInitSetSaveRestorePacketCallbacks(
                                                NULL, TestSavePacket, TestRestorePacket));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbChannelSetInterruptLatency(NULL, 1, &latency));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER, VmbPacketSend(NULL, NULL, 0, NULL, 0));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER,
                VmbChannelSendSynchronousRequest(NULL, NULL, 0, NULL, 0, NULL, NULL, NULL));
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_1, VmbKitChannelGetFailureReason(NULL, &failure, NULL, 0));
  EXPECT(VmbPacketAllocate(NULL) == NULL);
  EXPECT(VmbChannelGetPointer(NULL) == NULL);
  EXPECT(VmbChannelSizeofPacket(NULL) == 0);
  VmbPacketSetCompletionRoutine(NULL, TestCompletion);
  VmbChannelCleanup(NULL);
  VmbKitBusClose(NULL);
}

static void TestBusAndChannel(void) {
  PDEVICE_OBJECT bus = NULL;
  VMBCHANNEL channel = NULL;
  PVOID buffer = NULL;
  PMDL mdl = NULL;
  EXPECT_STATUS(STATUS_SUCCESS, VmbKitLoopbackBusCreate(&bus));
  EXPECT(bus != NULL);
  EXPECT_STATUS(STATUS_SUCCESS, VmbChannelAllocate(bus, FALSE, &channel));
  EXPECT(channel != NULL);
  EXPECT(VmbChannelSizeofPacket(channel) > 0);
  VmbChannelSetPointer(channel, &failures);
  EXPECT(VmbChannelGetPointer(channel) == &failures);
  EXPECT_STATUS(STATUS_INVALID_PARAMETER_2, VmbChannelInitSetFlags(channel, 0x2));
  EXPECT_STATUS(STATUS_SUCCESS, VmbKitAllocateGuestBuffer(bus, 4096, &buffer, &mdl));
  VmbKitFreeGuestBuffer(bus, buffer, mdl);
  VmbChannelCleanup(channel);
  VmbKitBusClose(bus);
}

int main(void) {
  VmbKitSetLogCallback(TestLog, NULL, VmbKitLogLevelDebug);
  TestStateChangeCallbacksInit();
  TestQueries();
  TestNullHandles();
  TestBusAndChannel();
  VmbKitSetLogCallback(NULL, NULL, VmbKitLogLevelWarning);
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("kmcl C11 checks passed\n");
  return 0;
}
