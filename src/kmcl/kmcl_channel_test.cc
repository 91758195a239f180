// SPDX-License-Identifier: MIT
// Channel behaviour through the C API: callback order on open, Pause and Start, the interface
// instance, GPADLs from client to server, PASSIVE delivery and DeferToPassive, the transaction
// quota, read-only external data, and the queried interface structures driving a channel.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>

#include "kmcl/kmcl_test_fixture.h"
#include "vmbkit/mdl.h"

namespace vmb::kmcl_testing {
namespace {

using KmclChannel = KmclPair;
constexpr UINT32 kWait = VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;

TEST_F(KmclChannel, OpenRunsCallbacksInKmclOrder) {
  open_both();
  EXPECT_EQ(server_endpoint.events,
            (std::vector<std::string>{"opened", "started", "post_started"}));
  EXPECT_EQ(client_endpoint.events,
            (std::vector<std::string>{"opened", "started", "post_started"}));
  GUID instance{};
  VmbChannelGetInterfaceInstance(client, &instance);
  EXPECT_EQ(std::memcmp(&instance, &kInstance, sizeof(GUID)), 0);
  VmbChannelGetInterfaceInstance(server, &instance);
  EXPECT_EQ(std::memcmp(&instance, &kInstance, sizeof(GUID)), 0);
}

TEST_F(KmclChannel, PauseSuspendsAndStartResumes) {
  open_both();
  VmbChannelPause(server);
  EXPECT_EQ(server_endpoint.events.back(), "suspend");
  // While paused nothing is delivered; the request waits in the ring.
  std::atomic<NTSTATUS> status{STATUS_PENDING};
  std::thread requester([&] {
    status = VmbChannelSendSynchronousRequest(client, nullptr, 0, nullptr, kWait, nullptr, nullptr,
                                              nullptr);
  });
  VmbChannelStart(server);
  requester.join();
  EXPECT_EQ(status.load(), STATUS_SUCCESS);
  ASSERT_TRUE(server_endpoint.wait([&] {
    return std::count(server_endpoint.events.begin(), server_endpoint.events.end(),
                      std::string("post_started")) == 2;
  }));
}

TEST_F(KmclChannel, PauseBeforeEnableComesUpPaused) {
  VmbChannelPause(client);
  ASSERT_EQ(VmbChannelEnable(server), STATUS_SUCCESS);
  VmbChannelStart(server);
  ASSERT_EQ(VmbChannelEnable(client), STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait_for_event("opened"));
  VmbChannelStart(client);
  ASSERT_TRUE(client_endpoint.wait_for_event("post_started"));
  EXPECT_EQ(client_endpoint.events,
            (std::vector<std::string>{"opened", "started", "post_started"}));
}

TEST_F(KmclChannel, GpadlFromClientToServer) {
  open_both();
  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  ASSERT_EQ(VmbKitAllocateGuestBuffer(bus, 3 * 4096, &buffer, &mdl), STATUS_SUCCESS);
  std::memset(buffer, 0x5A, 3 * 4096);
  UINT32 handle = 0;
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(client, 0x2, buffer, 4096, &handle),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(client, 0, nullptr, 4096, &handle),
            STATUS_INVALID_PARAMETER_3);
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(client, 0, buffer, 0, &handle),
            STATUS_INVALID_PARAMETER_4);
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(client, 0, buffer, 4096, nullptr),
            STATUS_INVALID_PARAMETER_5);
  std::array<char, 64> not_guest{};
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(client, 0, not_guest.data(), 64, &handle),
            STATUS_INVALID_PARAMETER_3);
  ASSERT_EQ(VmbChannelCreateGpadlFromBuffer(client, VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY, buffer,
                                            3 * 4096, &handle),
            STATUS_SUCCESS);
  EXPECT_NE(handle, 0u);
  PMDL mapped = nullptr;
  EXPECT_EQ(VmbChannelMapGpadl(server, 0x4, handle, &mapped), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbChannelMapGpadl(server, 0, handle + 100, &mapped), STATUS_INVALID_PARAMETER_3);
  EXPECT_EQ(VmbChannelMapGpadl(server, 0, handle, nullptr), STATUS_INVALID_PARAMETER_4);
  EXPECT_EQ(VmbChannelMapGpadl(server, 0, handle, &mapped), STATUS_ACCESS_DENIED);
  ASSERT_EQ(VmbChannelMapGpadl(server, VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY, handle, &mapped),
            STATUS_SUCCESS);
  EXPECT_EQ(VmbChannelMapGpadl(server, VMBUS_CHANNEL_GPADL_FLAG_READ_ONLY, handle, &mapped),
            STATUS_INVALID_PARAMETER_3);  // one mapping at a time
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(MmGetMdlByteCount(mapped), 3u * 4096);
  const auto* view = static_cast<const uint8_t*>(
      MmGetSystemAddressForMdlSafe(mapped, NormalPagePriority | MdlMappingNoWrite));
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view[0], 0x5A);
  EXPECT_EQ(view[3 * 4096 - 1], 0x5A);
  // Delete waits while the server has it mapped.
  std::atomic<bool> deleted{false};
  std::thread deleter([&] {
    VmbChannelDeleteGpadl(client, handle);
    deleted = true;
  });
  EXPECT_FALSE(deleted.load());
  VmbChannelUnmapGpadl(server, handle);
  deleter.join();
  EXPECT_TRUE(deleted.load());
  EXPECT_EQ(VmbChannelMapGpadl(server, 0, handle, &mapped), STATUS_INVALID_PARAMETER_3);
  // From an MDL range, and on a closed channel.
  ASSERT_EQ(VmbChannelCreateGpadlFromMdl(client, 0, mdl, 4096, 4096, &handle), STATUS_SUCCESS);
  EXPECT_EQ(VmbChannelCreateGpadlFromMdl(client, 0, mdl, 0, 4 * 4096, &handle),
            STATUS_INVALID_PARAMETER_4);
  VmbChannelDeleteGpadl(client, handle);
  VmbChannelDisable(client);
  EXPECT_EQ(VmbChannelCreateGpadlFromBuffer(client, 0, buffer, 4096, &handle),
            STATUS_INVALID_DEVICE_STATE);
  VmbKitFreeGuestBuffer(bus, buffer, mdl);
}

TEST_F(KmclChannel, PassiveDeliveryMayBlockOnASynchronousRequest) {
  VmbChannelSetIncomingProcessingAtPassive(server, TRUE);
  std::atomic<NTSTATUS> nested{STATUS_PENDING};
  server_endpoint.on_packet = [&](VMBCHANNEL channel, VMBPACKETCOMPLETION packet, PVOID, UINT32,
                                  UINT32) {
    // A server may not wait, but a passive callback may do a zero-timeout try-send.
    LARGE_INTEGER zero{};
    if (nested.load() == STATUS_PENDING) {  // once: the client answers with a request of its own
      nested = VmbChannelSendSynchronousRequest(channel, nullptr, 0, nullptr, 0, nullptr, nullptr,
                                                &zero);
    }
    VmbChannelPacketComplete(packet, nullptr, 0);
  };
  VmbChannelSetIncomingProcessingAtPassive(client, TRUE);
  std::atomic<NTSTATUS> client_nested{STATUS_PENDING};
  client_endpoint.on_packet = [&](VMBCHANNEL channel, VMBPACKETCOMPLETION packet, PVOID, UINT32,
                                  UINT32) {
    // At PASSIVE a client may wait for a completion from inside its callback.
    client_nested = VmbChannelSendSynchronousRequest(channel, nullptr, 0, nullptr, kWait, nullptr,
                                                     nullptr, nullptr);
    client_endpoint.notify();  // the test waits for client_nested
    VmbChannelPacketComplete(packet, nullptr, 0);
  };
  open_both();
  ASSERT_EQ(VmbChannelSendSynchronousRequest(client, nullptr, 0, nullptr, kWait, nullptr, nullptr,
                                             nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(nested.load(), STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_nested.load() != STATUS_PENDING; }));
  EXPECT_EQ(client_nested.load(), STATUS_SUCCESS);
}

TEST_F(KmclChannel, DeferToPassiveRedeliversOnAWorker) {
  std::atomic<int> deliveries{0};
  server_endpoint.on_packet = [&](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
    if (deliveries.fetch_add(1) == 0) {
      VmbChannelPacketDeferToPassive(packet);  // first time, on the dispatch context
      return;
    }
    VmbChannelPacketComplete(packet, nullptr, 0);
  };
  open_both();
  ASSERT_EQ(VmbChannelSendSynchronousRequest(client, nullptr, 0, nullptr, kWait, nullptr, nullptr,
                                             nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(deliveries.load(), 2);
  EXPECT_EQ(server_endpoint.packets.size(), 2u);  // the same packet, delivered twice
}

TEST_F(KmclChannel, QuotaStallsUntilACompletion) {
  std::mutex mutex;
  std::vector<VMBPACKETCOMPLETION> held;
  server_endpoint.on_packet = [&](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
    {
      const std::lock_guard lock(mutex);
      held.push_back(packet);
    }
    server_endpoint.changed.notify_all();
  };
  auto held_count = [&] {
    const std::lock_guard lock(mutex);
    return held.size();
  };
  auto complete_held = [&](size_t first, size_t end) {
    const std::lock_guard lock(mutex);
    for (size_t i = first; i < end; ++i) VmbChannelPacketComplete(held[i], nullptr, 0);
  };
  VmbChannelSetTransactionQuota(server, 2);
  open_both();
  for (int i = 0; i < 5; ++i) {
    VMBPACKET packet = VmbPacketAllocate(client);
    ASSERT_EQ(VmbPacketSend(packet, nullptr, 0, nullptr, 0), STATUS_SUCCESS);
  }
  ASSERT_TRUE(server_endpoint.wait([&] { return held_count() == 2; }));
  // A third delivery would exceed the quota; completing one lets exactly one more through.
  complete_held(0, 1);
  ASSERT_TRUE(server_endpoint.wait([&] { return held_count() == 3; }));
  complete_held(1, 2);
  ASSERT_TRUE(server_endpoint.wait([&] { return held_count() == 4; }));
  complete_held(2, 4);
  ASSERT_TRUE(server_endpoint.wait([&] { return held_count() == 5; }));
  EXPECT_EQ(server_endpoint.packets.size(), 5u);
  complete_held(4, 5);
}

TEST_F(KmclChannel, ExternalDataReadOnlyView) {
  std::atomic<NTSTATUS> read_only{STATUS_PENDING};
  std::atomic<uint8_t> first_byte{0};
  server_endpoint.on_packet = [&](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32,
                                  UINT32 flags) {
    PMDL mdl = nullptr;
    EXPECT_EQ(VmbChannelPacketGetExternalData(packet, 0x2, &mdl), STATUS_INVALID_PARAMETER_2);
    EXPECT_EQ(VmbChannelPacketGetExternalData(packet, 0, nullptr), STATUS_INVALID_PARAMETER_3);
    EXPECT_EQ(flags, VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA);
    read_only = VmbChannelPacketGetExternalData(
        packet, VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY, &mdl);
    if (mdl != nullptr) {
      const auto* bytes =
          static_cast<const uint8_t*>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority));
      if (bytes != nullptr) first_byte = bytes[0];
    }
    VmbChannelPacketComplete(packet, nullptr, 0);
  };
  open_both();
  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  ASSERT_EQ(VmbKitAllocateGuestBuffer(bus, 100, &buffer, &mdl), STATUS_SUCCESS);
  static_cast<uint8_t*>(buffer)[0] = 0xC3;
  ASSERT_EQ(
      VmbChannelSendSynchronousRequest(client, nullptr, 0, mdl, kWait, nullptr, nullptr, nullptr),
      STATUS_SUCCESS);
  EXPECT_EQ(read_only.load(), STATUS_SUCCESS);
  EXPECT_EQ(first_byte.load(), 0xC3);
  VmbChannelCleanup(client);
  client = nullptr;
  VmbKitFreeGuestBuffer(bus, buffer, mdl);
}

TEST_F(KmclChannel, QueriedInterfaceDrivesAChannel) {
  KMCL_SERVER_INTERFACE_V1 kmcl;
  ASSERT_EQ(VmbKitQueryServerInterface(&kmcl, sizeof(kmcl), KMCL_SERVER_INTERFACE_VERSION_V1),
            STATUS_SUCCESS);
  ASSERT_EQ(kmcl.VmbChannelEnable(server), STATUS_SUCCESS);
  kmcl.VmbChannelStart(server);
  ASSERT_EQ(kmcl.VmbChannelEnable(client), STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait_for_event("post_started"));
  ASSERT_TRUE(server_endpoint.wait_for_event("post_started"));
  std::array<char, 8> reply{};
  UINT32 size = 8;
  EXPECT_EQ(kmcl.VmbChannelSendSynchronousRequest(client, reply.data(), 8, nullptr, kWait,
                                                  reply.data(), &size, nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(size, 8u);
  kmcl.InterfaceDereference(kmcl.Context);
}

}  // namespace
}  // namespace vmb::kmcl_testing
