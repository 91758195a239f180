/* SPDX-License-Identifier: MIT */
/* The echo device's client (VSC): opens the echo channel, waits until it runs, then sends
 * synchronous requests (VmbChannelSendSynchronousRequest) and one packet with external data
 * from guest memory (VmbPacketSendWithExternalMdl), checking every answer. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "echo_device.h"

enum { kOpenSeconds = 10, kExternalBytes = 3 * 4096 + 100 };

/* What the callbacks tell the thread that waits: the channel runs, or failed to open; the
 * external-data packet completed. */
typedef struct _ECHO_CLIENT {
  pthread_mutex_t Mutex;
  pthread_cond_t Changed;
  int Running;
  NTSTATUS OpenFailure;
  int SumDone;
  NTSTATUS SumStatus;
  ECHO_SUM_RESPONSE Sum;
} ECHO_CLIENT;

static ECHO_CLIENT* ClientOf(VMBCHANNEL Channel) {
  return (ECHO_CLIENT*)VmbChannelGetPointer(Channel);
}

static void Notify(ECHO_CLIENT* Client, void (*Change)(ECHO_CLIENT*, const void*),
                   const void* Arg) {
  pthread_mutex_lock(&Client->Mutex);
  Change(Client, Arg);
  pthread_cond_broadcast(&Client->Changed);
  pthread_mutex_unlock(&Client->Mutex);
}

static void SetRunning(ECHO_CLIENT* Client, const void* Arg) {
  (void)Arg;
  Client->Running = 1;
}
static void SetOpenFailure(ECHO_CLIENT* Client, const void* Arg) {
  Client->OpenFailure = *(const NTSTATUS*)Arg;
}

/* The channel is open and its incoming queue runs: requests may be sent from now on. */
static VOID EchoClientPostStarted(VMBCHANNEL Channel) {
  Notify(ClientOf(Channel), SetRunning, NULL);
}

static VOID EchoClientPnpFailure(VMBCHANNEL Channel, NTSTATUS FailureStatus) {
  Notify(ClientOf(Channel), SetOpenFailure, &FailureStatus);
}

/* The server never sends requests to the client; complete anything so the library reclaims it. */
static VOID EchoClientProcessPacket(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet, PVOID Buffer,
                                    UINT32 BufferLength, UINT32 Flags) {
  (void)Channel;
  (void)Buffer;
  (void)BufferLength;
  (void)Flags;
  VmbChannelPacketComplete(Packet, NULL, 0);
}

typedef struct _SUM_RESULT {
  NTSTATUS Status;
  const void* Buffer;
  UINT32 Length;
} SUM_RESULT;

static void SetSum(ECHO_CLIENT* Client, const void* Arg) {
  const SUM_RESULT* result = (const SUM_RESULT*)Arg;
  Client->SumStatus = result->Status;
  if (result->Status == STATUS_SUCCESS && result->Length >= sizeof(ECHO_SUM_RESPONSE)) {
    memcpy(&Client->Sum, result->Buffer, sizeof(ECHO_SUM_RESPONSE));
  } else if (result->Status == STATUS_SUCCESS) {
    Client->SumStatus = STATUS_BUFFER_TOO_SMALL;
  }
  Client->SumDone = 1;
}

/* Runs when the server completed the external-data packet (never inside the send call). */
static VOID EchoClientSumCompleted(VMBPACKET Packet, NTSTATUS Status, PVOID Buffer,
                                   UINT32 BufferLength) {
  ECHO_CLIENT* client = (ECHO_CLIENT*)VmbPacketGetPointer(Packet);
  SUM_RESULT result = {Status, Buffer, BufferLength};
  VmbPacketFree(Packet);
  Notify(client, SetSum, &result);
}

/* Waits until Done(Client) or kOpenSeconds pass; the mutex is held around the check. */
static int WaitFor(ECHO_CLIENT* Client, int (*Done)(const ECHO_CLIENT*)) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += kOpenSeconds;
  pthread_mutex_lock(&Client->Mutex);
  int result = 0;
  while (!(result = Done(Client))) {
    if (pthread_cond_timedwait(&Client->Changed, &Client->Mutex, &deadline) != 0) break;
  }
  pthread_mutex_unlock(&Client->Mutex);
  return result;
}
static int OpenSettled(const ECHO_CLIENT* Client) {
  return Client->Running || Client->OpenFailure != STATUS_SUCCESS;
}
static int SumSettled(const ECHO_CLIENT* Client) { return Client->SumDone; }

static int Fail(const char* What, NTSTATUS Status) {
  fprintf(stderr, "echo client: %s: %s\n", What, VmbKitStatusName(Status));
  return 1;
}

/* One synchronous request: "hello, vmbus" comes back upper-cased. */
static int CheckEcho(VMBCHANNEL Channel) {
  ECHO_REQUEST request;
  ECHO_REQUEST reply;
  memset(&request, 0, sizeof(request));
  memset(&reply, 0, sizeof(reply));
  request.Operation = ECHO_OPERATION_ECHO;
  request.TextLength = (UINT32)strlen("hello, vmbus");
  memcpy(request.Text, "hello, vmbus", request.TextLength);
  UINT32 replySize = sizeof(reply);
  LARGE_INTEGER timeout;
  timeout.QuadPart = -10LL * 1000 * 1000 * kOpenSeconds; /* relative, 100 ns units */
  const NTSTATUS status = VmbChannelSendSynchronousRequest(
      Channel, &request, sizeof(request), NULL, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION,
      &reply, &replySize, &timeout);
  if (status != STATUS_SUCCESS) return Fail("synchronous request", status);
  if (replySize != sizeof(reply) || reply.TextLength != request.TextLength ||
      memcmp(reply.Text, "HELLO, VMBUS", reply.TextLength) != 0) {
    fprintf(stderr, "echo client: wrong echo (%u bytes)\n", replySize);
    return 1;
  }
  printf("echo client: sent \"hello, vmbus\", the server answered \"%.*s\"\n",
         (int)reply.TextLength, reply.Text);
  return 0;
}

/* One packet whose data lives in guest memory: the server sums the bytes it reads there. */
static int CheckSum(PDEVICE_OBJECT Bus, VMBCHANNEL Channel, ECHO_CLIENT* Client) {
  PVOID buffer = NULL;
  PMDL mdl = NULL;
  NTSTATUS status = VmbKitAllocateGuestBuffer(Bus, kExternalBytes, &buffer, &mdl);
  if (status != STATUS_SUCCESS) return Fail("VmbKitAllocateGuestBuffer", status);
  UINT64 expected = 0;
  for (UINT32 i = 0; i < kExternalBytes; ++i) {
    ((unsigned char*)buffer)[i] = (unsigned char)(i * 7 + 1);
    expected += (unsigned char)(i * 7 + 1);
  }
  VMBPACKET packet = VmbPacketAllocate(Channel);
  if (packet == NULL) {
    VmbKitFreeGuestBuffer(Bus, buffer, mdl);
    return Fail("VmbPacketAllocate", STATUS_INSUFFICIENT_RESOURCES);
  }
  VmbPacketSetPointer(packet, Client);
  VmbPacketSetCompletionRoutine(packet, EchoClientSumCompleted);
  ECHO_REQUEST request;
  memset(&request, 0, sizeof(request));
  request.Operation = ECHO_OPERATION_SUM;
  /* MdlOffset 100, MdlLength 0 = the rest of the MDL after the offset. */
  status = VmbPacketSendWithExternalMdl(packet, &request, sizeof(request), mdl, 100, 0,
                                        VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION);
  if (status != STATUS_SUCCESS) {
    VmbPacketFree(packet);
    VmbKitFreeGuestBuffer(Bus, buffer, mdl);
    return Fail("VmbPacketSendWithExternalMdl", status);
  }
  for (UINT32 i = 0; i < 100; ++i) expected -= (unsigned char)(i * 7 + 1);
  const int done = WaitFor(Client, SumSettled);
  /* The buffer may be freed only once the server has completed the packet. */
  if (done) VmbKitFreeGuestBuffer(Bus, buffer, mdl);
  if (!done) return Fail("external data packet", STATUS_TIMEOUT);
  if (Client->SumStatus != STATUS_SUCCESS) return Fail("external data packet", Client->SumStatus);
  if (Client->Sum.ByteCount != kExternalBytes - 100 || Client->Sum.Sum != expected) {
    fprintf(stderr,
            "echo client: the server read %llu bytes summing to %llu, expected %u and %llu\n",
            (unsigned long long)Client->Sum.ByteCount, (unsigned long long)Client->Sum.Sum,
            kExternalBytes - 100, (unsigned long long)expected);
    return 1;
  }
  printf("echo client: the server read %llu bytes of guest memory, sum %llu: correct\n",
         (unsigned long long)Client->Sum.ByteCount, (unsigned long long)Client->Sum.Sum);
  return 0;
}

int EchoClientRun(PDEVICE_OBJECT Bus) {
  ECHO_CLIENT client;
  memset(&client, 0, sizeof(client));
  pthread_mutex_init(&client.Mutex, NULL);
  pthread_cond_init(&client.Changed, NULL);

  VMBCHANNEL channel = NULL;
  NTSTATUS status = VmbChannelAllocate(Bus, FALSE, &channel);
  if (status != STATUS_SUCCESS) return Fail("VmbChannelAllocate", status);
  VmbChannelSetPointer(channel, &client);
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  callbacks.EvtChannelPostStarted = EchoClientPostStarted;
  status = VmbClientChannelInitSetTargetPnp(channel, &kEchoInterfaceType, &kEchoInterfaceInstance,
                                            EchoClientPnpFailure);
  if (status == STATUS_SUCCESS) status = VmbChannelInitSetStateChangeCallbacks(channel, &callbacks);
  if (status == STATUS_SUCCESS) {
    status = VmbChannelInitSetProcessPacketCallbacks(channel, EchoClientProcessPacket, NULL);
  }
  if (status == STATUS_SUCCESS) status = VmbChannelEnable(channel); /* opens when offered */
  int failed = 0;
  if (status != STATUS_SUCCESS) {
    failed = Fail("setting up the channel", status);
  } else if (!WaitFor(&client, OpenSettled) || !client.Running) {
    failed = Fail("opening the echo channel",
                  client.OpenFailure != STATUS_SUCCESS ? client.OpenFailure : STATUS_TIMEOUT);
  } else {
    failed = CheckEcho(channel) || CheckSum(Bus, channel, &client);
  }
  VmbChannelDisable(channel);
  VmbChannelCleanup(channel);
  pthread_cond_destroy(&client.Changed);
  pthread_mutex_destroy(&client.Mutex);
  return failed;
}
