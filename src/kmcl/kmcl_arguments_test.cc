// SPDX-License-Identifier: MIT
// Argument checks of every KMCL and VmbKit function: bad handles, wrong role, wrong state,
// undefined flag bits and out-of-range values return the statuses kmcl.h documents (or, for
// VOID functions, do nothing), and the functions without meaning in user mode return
// STATUS_NOT_IMPLEMENTED after their checks.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "kmcl/kmcl_test_fixture.h"
#include "vmbkit/mdl.h"

namespace vmb::kmcl_testing {
namespace {

using KmclArguments = KmclPair;

TEST_F(KmclArguments, AllocateChecksBusAndOutput) {
  VMBCHANNEL channel = nullptr;
  EXPECT_EQ(VmbChannelAllocate(nullptr, TRUE, &channel), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelAllocate(bus, TRUE, nullptr), STATUS_INVALID_PARAMETER_3);
  std::array<uint64_t, 8> not_a_bus{};
  auto* fake = reinterpret_cast<DEVICE_OBJECT*>(not_a_bus.data());
  EXPECT_EQ(VmbChannelAllocate(fake, FALSE, &channel), STATUS_INVALID_PARAMETER_1);
}

TEST_F(KmclArguments, NullChannelHandles) {
  EXPECT_EQ(VmbChannelEnable(nullptr), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetClientContextSize(nullptr, 8), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetFlags(nullptr, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetFriendlyName(nullptr, nullptr), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetMaximumExternalData(nullptr, 1, 1), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetMaximumPacketSize(nullptr, 1), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetProcessPacketCallbacks(nullptr, RecordPacket, nullptr),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetStateChangeCallbacks(nullptr, nullptr), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbClientChannelInitSetRingBufferPageCount(nullptr, 1, 1), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbClientChannelInitSetTargetPnp(nullptr, &kType, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_1);
  UINT16 latency = 0;
  EXPECT_EQ(VmbChannelSetInterruptLatency(nullptr, 1, &latency), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbPacketInitialize(nullptr, nullptr, 0), STATUS_INVALID_PARAMETER_1);
  UINT32 handle = 0;
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(nullptr, 0, &handle, 8, &handle),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelCreateGpadlFromMdl(nullptr, 0, nullptr, 0, 0, &handle),
            STATUS_INVALID_PARAMETER_1);
  PMDL mdl = nullptr;
  EXPECT_EQ(VmbChannelMapGpadl(nullptr, 0, 1, &mdl), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetFlags(nullptr, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetMmioMegabytes(nullptr, 1, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetTargetInterfaceId(nullptr, kType, kInstance),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetTargetVtl(nullptr, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetVmbusHandle(nullptr, nullptr), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetSaveRestorePacketCallbacks(nullptr, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelSaveBegin(nullptr), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelRestoreFromBuffer(nullptr, nullptr, 0), STATUS_INVALID_PARAMETER_1);
  ULONG filled = 0;
  EXPECT_EQ(VmbChannelSaveContinue(nullptr, nullptr, 0, &filled, &filled),
            STATUS_INVALID_PARAMETER_1);
  // VOID and value functions with a bad handle do nothing.
  GUID instance = kType;
  VmbChannelGetInterfaceInstance(nullptr, &instance);
  EXPECT_EQ(std::memcmp(&instance, &kType, sizeof(GUID)), 0);
  EXPECT_EQ(VmbChannelGetPointer(nullptr), nullptr);
  EXPECT_EQ(VmbChannelSizeofPacket(nullptr), 0u);
  EXPECT_EQ(VmbPacketAllocate(nullptr), nullptr);
  EXPECT_EQ(VmbPacketGetChannel(nullptr), nullptr);
  EXPECT_EQ(VmbPacketGetPointer(nullptr), nullptr);
  VmbChannelCleanup(nullptr);
  VmbChannelDisable(nullptr);
  VmbChannelStart(nullptr);
  VmbChannelPause(nullptr);
  VmbChannelSetPointer(nullptr, nullptr);
  VmbChannelSetIncomingProcessingAtPassive(nullptr, TRUE);
  VmbChannelSetTransactionQuota(nullptr, 4);
  VmbChannelDeleteGpadl(nullptr, 1);
  VmbChannelUnmapGpadl(nullptr, 1);
  VmbChannelSaveEnd(nullptr);
  VmbPacketFree(nullptr);
  VmbPacketSetPointer(nullptr, nullptr);
  VmbPacketSetCompletionRoutine(nullptr, RecordCompletion);
  VmbChannelPacketComplete(nullptr, nullptr, 0);
  VmbChannelPacketDeferToPassive(nullptr);
  VmbChannelPacketFail(nullptr);
  EXPECT_EQ(VmbChannelPacketGetExternalData(nullptr, 0, &mdl), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbPacketRestore(nullptr, nullptr, 0), STATUS_INVALID_PARAMETER_1);
}

TEST_F(KmclArguments, InitValuesAreChecked) {
  EXPECT_EQ(VmbChannelInitSetFlags(client, 0x2), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelInitSetFlags(client, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  EXPECT_EQ(VmbChannelInitSetMaximumPacketSize(client, 0), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelInitSetMaximumExternalData(client, 0, 1), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelInitSetMaximumExternalData(client, 4096, 0), STATUS_INVALID_PARAMETER_3);
  EXPECT_EQ(VmbChannelInitSetProcessPacketCallbacks(client, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelInitSetStateChangeCallbacks(client, nullptr), STATUS_INVALID_PARAMETER_2);
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  callbacks.Version = 2;
  EXPECT_EQ(VmbChannelInitSetStateChangeCallbacks(client, &callbacks), STATUS_INVALID_PARAMETER_2);
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  callbacks.Size = 40;
  EXPECT_EQ(VmbChannelInitSetStateChangeCallbacks(client, &callbacks), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbClientChannelInitSetRingBufferPageCount(client, 0, 1), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbClientChannelInitSetRingBufferPageCount(client, 1, 0), STATUS_INVALID_PARAMETER_3);
  EXPECT_EQ(VmbClientChannelInitSetRingBufferPageCount(client, 65537, 1),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbClientChannelInitSetTargetPnp(client, nullptr, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelInitSetFriendlyName(client, nullptr), STATUS_INVALID_PARAMETER_2);
  WCHAR text[] = {'S', 'C', 'S', 'I'};
  UNICODE_STRING name{8, 8, text};
  EXPECT_EQ(VmbChannelInitSetFriendlyName(client, &name), STATUS_SUCCESS);
  name.Length = 7;  // not whole characters
  EXPECT_EQ(VmbChannelInitSetFriendlyName(client, &name), STATUS_INVALID_PARAMETER_2);
  name = UNICODE_STRING{10, 8, text};  // Length > MaximumLength
  EXPECT_EQ(VmbChannelInitSetFriendlyName(client, &name), STATUS_INVALID_PARAMETER_2);
  name = UNICODE_STRING{2, 2, nullptr};
  EXPECT_EQ(VmbChannelInitSetFriendlyName(client, &name), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelInitSetClientContextSize(client, 64), STATUS_SUCCESS);
  EXPECT_EQ(VmbServerChannelInitSetFlags(server, 0x20), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbServerChannelInitSetFlags(server, VMBUS_SERVER_CHANNEL_INIT_FLAGS), STATUS_SUCCESS);
  EXPECT_EQ(VmbServerChannelInitSetMmioMegabytes(server, 0, 0), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbServerChannelInitSetMmioMegabytes(server, 0, 16), STATUS_SUCCESS);
  EXPECT_EQ(VmbServerChannelInitSetTargetVtl(server, 1), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbServerChannelInitSetTargetVtl(server, 0), STATUS_SUCCESS);
}

TEST_F(KmclArguments, RoleIsChecked) {
  // Server-only functions on a client, client-only functions on a server.
  EXPECT_EQ(VmbServerChannelInitSetTargetInterfaceId(client, kType, kInstance),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetFlags(client, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetMmioMegabytes(client, 1, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetTargetVtl(client, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetSaveRestorePacketCallbacks(client, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetVmbusHandle(client, nullptr), STATUS_INVALID_PARAMETER_1);
  PMDL mdl = nullptr;
  EXPECT_EQ(VmbChannelMapGpadl(client, 0, 1, &mdl), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelSaveBegin(client), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbClientChannelInitSetTargetPnp(server, &kType, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbClientChannelInitSetRingBufferPageCount(server, 1, 1), STATUS_INVALID_PARAMETER_1);
  UINT16 latency = 0;
  EXPECT_EQ(VmbChannelSetInterruptLatency(server, 1, &latency), STATUS_INVALID_PARAMETER_1);
  UINT32 handle = 0;
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(server, 0, &handle, 8, &handle),
            STATUS_INVALID_PARAMETER_1);
}

TEST_F(KmclArguments, InitFunctionsRefuseAnEnabledChannel) {
  open_both();
  EXPECT_EQ(VmbChannelInitSetMaximumPacketSize(client, 64), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetFlags(client, 0), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelInitSetProcessPacketCallbacks(client, RecordPacket, nullptr),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbClientChannelInitSetTargetPnp(client, &kType, nullptr, nullptr),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetTargetInterfaceId(server, kType, kInstance),
            STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbServerChannelInitSetVmbusHandle(server, nullptr), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelEnable(client), STATUS_INVALID_DEVICE_STATE);
}

TEST_F(KmclArguments, EnableNeedsATarget) {
  VMBCHANNEL bare = nullptr;
  ASSERT_EQ(VmbChannelAllocate(bus, FALSE, &bare), STATUS_SUCCESS);
  EXPECT_EQ(VmbChannelEnable(bare), STATUS_INVALID_DEVICE_STATE);
  VmbChannelCleanup(bare);
}

TEST_F(KmclArguments, InterruptLatencyIsRecordedWhileOpen) {
  UINT16 original = 7;
  EXPECT_EQ(VmbChannelSetInterruptLatency(client, 10, nullptr), STATUS_INVALID_PARAMETER_3);
  EXPECT_EQ(VmbChannelSetInterruptLatency(client, 10, &original), STATUS_INVALID_DEVICE_STATE);
  open_both();
  ASSERT_EQ(VmbChannelSetInterruptLatency(client, 10, &original), STATUS_SUCCESS);
  EXPECT_EQ(original, 0u);
  ASSERT_EQ(VmbChannelSetInterruptLatency(client, 20, &original), STATUS_SUCCESS);
  EXPECT_EQ(original, 10u);
}

TEST_F(KmclArguments, NoMeaningInUserMode) {
  UINT64 address = 1;
  UINT64 size = 1;
  VmbChannelGetMmioSpace(client, &address, &size);
  EXPECT_EQ(address, 0u);
  EXPECT_EQ(size, 0u);
  VmbChannelGetMmioSpace(client, nullptr, nullptr);
  HANDLE kernel = &address;
  EXPECT_EQ(VmbConvertVmbusHandleToKernelHandle(nullptr, nullptr), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbConvertVmbusHandleToKernelHandle(&size, &kernel), STATUS_NOT_IMPLEMENTED);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_EQ(VmbServerChannelInitSetVmbusHandle(server, &size), STATUS_NOT_IMPLEMENTED);
  EXPECT_EQ(VmbChannelSaveBegin(server), STATUS_NOT_IMPLEMENTED);
  ULONG filled = 5;
  ULONG required = 5;
  EXPECT_EQ(VmbChannelSaveContinue(server, nullptr, 4, &filled, &required),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelSaveContinue(server, nullptr, 0, nullptr, &required),
            STATUS_INVALID_PARAMETER_4);
  EXPECT_EQ(VmbChannelSaveContinue(server, nullptr, 0, &filled, nullptr),
            STATUS_INVALID_PARAMETER_5);
  EXPECT_EQ(VmbChannelSaveContinue(server, nullptr, 0, &filled, &required), STATUS_NOT_IMPLEMENTED);
  EXPECT_EQ(filled, 0u);
  EXPECT_EQ(required, 0u);
  VmbChannelSaveEnd(server);
  EXPECT_EQ(VmbChannelRestoreFromBuffer(server, nullptr, 8), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelRestoreFromBuffer(server, &filled, 4), STATUS_NOT_IMPLEMENTED);
  VMBPACKET packet = VmbPacketAllocate(server);
  EXPECT_EQ(VmbPacketRestore(packet, nullptr, 4), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbPacketRestore(packet, &filled, 4), STATUS_NOT_IMPLEMENTED);
  VmbPacketFree(packet);
  EXPECT_EQ(VmbServerChannelInitSetSaveRestorePacketCallbacks(server, nullptr, nullptr),
            STATUS_SUCCESS);
}

TEST_F(KmclArguments, GuestBuffersAndBus) {
  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  PDEVICE_OBJECT other = nullptr;
  EXPECT_EQ(VmbKitLoopbackBusCreate(nullptr), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbKitAllocateGuestBuffer(nullptr, 8, &buffer, &mdl), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbKitAllocateGuestBuffer(bus, 0, &buffer, &mdl), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbKitAllocateGuestBuffer(bus, 8, nullptr, &mdl), STATUS_INVALID_PARAMETER_3);
  EXPECT_EQ(VmbKitAllocateGuestBuffer(bus, 8, &buffer, nullptr), STATUS_INVALID_PARAMETER_4);
  ASSERT_EQ(VmbKitAllocateGuestBuffer(bus, 5000, &buffer, &mdl), STATUS_SUCCESS);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer) % 4096, 0u);
  EXPECT_EQ(MmGetMdlByteCount(mdl), 5000u);
  EXPECT_TRUE(VmbKitMdlIsUsable(mdl));
  EXPECT_EQ(static_cast<uint8_t*>(buffer)[4999], 0u);
  VmbKitFreeGuestBuffer(bus, buffer, mdl);
  // A closed bus accepts no new channels; channels still on it keep it alive.
  ASSERT_EQ(VmbKitLoopbackBusCreate(&other), STATUS_SUCCESS);
  VMBCHANNEL channel = nullptr;
  ASSERT_EQ(VmbChannelAllocate(other, TRUE, &channel), STATUS_SUCCESS);
  VmbKitBusClose(other);
  VMBCHANNEL refused = nullptr;
  EXPECT_EQ(VmbChannelAllocate(other, TRUE, &refused), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbChannelSizeofPacket(channel) > 0, true);
  VmbChannelCleanup(channel);  // the last reference: the bus goes away here
}

TEST_F(KmclArguments, FailureReason) {
  NTSTATUS failure = STATUS_UNSUCCESSFUL;
  std::array<char, 32> text{};
  EXPECT_EQ(VmbKitChannelGetFailureReason(client, nullptr, nullptr, 0), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbKitChannelGetFailureReason(client, &failure, nullptr, 4),
            STATUS_INVALID_PARAMETER_3);
  ASSERT_EQ(VmbKitChannelGetFailureReason(client, &failure, text.data(), 32), STATUS_SUCCESS);
  EXPECT_EQ(failure, STATUS_SUCCESS);
  EXPECT_EQ(text[0], '\0');
}

TEST_F(KmclArguments, PacketFailFailsTheChannelWithAReason) {
  server_endpoint.on_packet = [](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
    VmbChannelPacketFail(packet);
  };
  open_both();
  VMBPACKET packet = VmbPacketAllocate(client);
  VmbPacketSetCompletionRoutine(packet, RecordCompletion);
  ASSERT_EQ(
      VmbPacketSend(packet, nullptr, 0, nullptr, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
      STATUS_SUCCESS);
  // The server fails and closes; the client sees the peer go and retires its packet.
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  EXPECT_EQ(client_endpoint.completions[0], STATUS_DEVICE_REMOVED);
  NTSTATUS failure = STATUS_SUCCESS;
  std::array<char, 16> text{};
  ASSERT_EQ(VmbKitChannelGetFailureReason(server, &failure, text.data(), 16), STATUS_SUCCESS);
  EXPECT_EQ(failure, STATUS_DATA_ERROR);
  EXPECT_EQ(std::strlen(text.data()), 15u);  // truncated to fit, NUL-terminated
  VmbPacketFree(packet);
}

}  // namespace
}  // namespace vmb::kmcl_testing
