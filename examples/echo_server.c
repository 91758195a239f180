/* SPDX-License-Identifier: MIT */
/* The echo device's server (VSP): one server channel offered on a bus, requests handled in the
 * process-packet callback and answered with VmbChannelPacketComplete. */
#include <stdio.h>

#include "echo_device.h"

/* {6c3c4d2a-4b61-4e0f-9a55-6563686f0001} and ...0002. */
const GUID kEchoInterfaceType = {
    0x6c3c4d2a, 0x4b61, 0x4e0f, {0x9a, 0x55, 0x65, 0x63, 0x68, 0x6f, 0x00, 0x01}};
const GUID kEchoInterfaceInstance = {
    0x6c3c4d2a, 0x4b61, 0x4e0f, {0x9a, 0x55, 0x65, 0x63, 0x68, 0x6f, 0x00, 0x02}};

static UINT64 SumOfExternalData(VMBPACKETCOMPLETION Packet, UINT64* ByteCount) {
  PMDL mdl = NULL;
  UINT64 sum = 0;
  *ByteCount = 0;
  /* The client's buffer, mapped read-only: this server only reads it. */
  if (VmbChannelPacketGetExternalData(Packet, VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY,
                                      &mdl) != STATUS_SUCCESS) {
    return 0;
  }
  /* The data may arrive as a chain of MDLs, one per GPA range. */
  for (PMDL piece = mdl; piece != NULL; piece = piece->Next) {
    const unsigned char* bytes = (const unsigned char*)MmGetSystemAddressForMdlSafe(
        piece, (ULONG)NormalPagePriority | MdlMappingNoWrite);
    if (bytes == NULL) return 0;
    for (ULONG i = 0; i < MmGetMdlByteCount(piece); ++i) sum += bytes[i];
    *ByteCount += MmGetMdlByteCount(piece);
  }
  return sum;
}

static VOID EchoServerProcessPacket(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet, PVOID Buffer,
                                    UINT32 BufferLength, UINT32 Flags) {
  (void)Channel;
  const ECHO_REQUEST* request = (const ECHO_REQUEST*)Buffer;
  if (BufferLength < sizeof(ECHO_REQUEST)) {
    VmbChannelPacketComplete(Packet, NULL, 0); /* not ours: complete it empty */
    return;
  }
  if (request->Operation == ECHO_OPERATION_SUM &&
      (Flags & VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA) != 0) {
    ECHO_SUM_RESPONSE response;
    response.Sum = SumOfExternalData(Packet, &response.ByteCount);
    VmbChannelPacketComplete(Packet, &response, sizeof(response));
    return;
  }
  ECHO_REQUEST reply = *request;
  if (reply.TextLength > ECHO_TEXT_BYTES) reply.TextLength = ECHO_TEXT_BYTES;
  for (UINT32 i = 0; i < reply.TextLength; ++i) {
    if (reply.Text[i] >= 'a' && reply.Text[i] <= 'z') reply.Text[i] = (char)(reply.Text[i] - 32);
  }
  VmbChannelPacketComplete(Packet, &reply, sizeof(reply));
}

NTSTATUS EchoServerStart(PDEVICE_OBJECT Bus, VMBCHANNEL* Channel) {
  VMBCHANNEL channel = NULL;
  NTSTATUS status = VmbChannelAllocate(Bus, TRUE, &channel);
  if (status != STATUS_SUCCESS) return status;
  status =
      VmbServerChannelInitSetTargetInterfaceId(channel, kEchoInterfaceType, kEchoInterfaceInstance);
  if (status == STATUS_SUCCESS) {
    /* External data up to 1 MiB in up to 16 MDLs: what the client may send. */
    status = VmbChannelInitSetMaximumExternalData(channel, 1u << 20, 16);
  }
  if (status == STATUS_SUCCESS) {
    status = VmbChannelInitSetProcessPacketCallbacks(channel, EchoServerProcessPacket, NULL);
  }
  if (status == STATUS_SUCCESS) status = VmbChannelEnable(channel); /* offers the channel */
  if (status != STATUS_SUCCESS) {
    fprintf(stderr, "echo server: setting up the channel failed: %s\n", VmbKitStatusName(status));
    VmbChannelCleanup(channel);
    return status;
  }
  VmbChannelStart(channel); /* a server starts its channel itself */
  *Channel = channel;
  return STATUS_SUCCESS;
}

void EchoServerStop(VMBCHANNEL Channel) {
  VmbChannelDisable(Channel); /* rescinds the offer; waits for callbacks in progress */
  VmbChannelCleanup(Channel);
}
