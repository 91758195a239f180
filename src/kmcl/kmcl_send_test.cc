// SPDX-License-Identifier: MIT
// The seed functions through the C API: VmbPacketSend and VmbPacketSendWithExternalMdl with
// every parameter, flag and result (decisions.md §3), plus VmbPacketSendWithExternalPfns and
// packet objects from VmbPacketInitialize.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <vector>

#include "kmcl/kmcl_test_fixture.h"
#include "vmbkit/mdl.h"

namespace vmb::kmcl_testing {
namespace {

class KmclSend : public KmclPair {
 protected:
  // A guest buffer of `bytes` filled with a counting pattern, and its MDL.
  void make_buffer(UINT32 bytes) {
    ASSERT_EQ(VmbKitAllocateGuestBuffer(bus, bytes, &buffer, &mdl), STATUS_SUCCESS);
    auto* data = static_cast<uint8_t*>(buffer);
    for (UINT32 i = 0; i < bytes; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  void TearDown() override {
    // Channels first (nothing in flight refers to the buffer then), the buffer, then the bus.
    VmbChannelCleanup(client);
    VmbChannelCleanup(server);
    client = server = nullptr;
    if (buffer != nullptr) VmbKitFreeGuestBuffer(bus, buffer, mdl);
    VmbKitBusClose(bus);
  }
  // The server maps each external-data packet and keeps a copy of its bytes.
  void server_copies_external_data() {
    server_endpoint.on_packet = [this](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32,
                                       UINT32 flags) {
      std::vector<std::byte> copy;
      if ((flags & VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA) != 0) {
        PMDL chain = nullptr;
        EXPECT_EQ(VmbChannelPacketGetExternalData(packet, 0, &chain), STATUS_SUCCESS);
        for (PMDL each = chain; each != nullptr; each = each->Next) {
          const auto* bytes =
              static_cast<const std::byte*>(MmGetSystemAddressForMdlSafe(each, NormalPagePriority));
          EXPECT_NE(bytes, nullptr);
          if (bytes != nullptr) copy.insert(copy.end(), bytes, bytes + MmGetMdlByteCount(each));
        }
      }
      {
        const std::lock_guard lock(external_mutex);
        external.push_back(copy);
      }
      VmbChannelPacketComplete(packet, nullptr, 0);
    };
  }
  VMBPACKET packet_with_routine(VMBCHANNEL channel) {
    VMBPACKET packet = VmbPacketAllocate(channel);
    EXPECT_NE(packet, nullptr);
    VmbPacketSetCompletionRoutine(packet, RecordCompletion);
    return packet;
  }
  std::vector<std::byte> pattern(size_t offset, size_t length) const {
    const auto* data = static_cast<const std::byte*>(buffer);
    return std::vector<std::byte>(data + offset, data + offset + length);
  }
  bool wait_for_external(size_t count) {
    return client_endpoint.wait([&] {
      const std::lock_guard lock(external_mutex);
      return external.size() >= count;
    });
  }

  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  std::mutex external_mutex;
  std::vector<std::vector<std::byte>> external;
  std::array<char, 8> header{'h', 'e', 'a', 'd', 'e', 'r', '!', '\0'};
};

TEST_F(KmclSend, NullPacketIsInvalid) {
  EXPECT_EQ(VmbPacketSend(nullptr, header.data(), 8, nullptr, 0), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSendWithExternalMdl(nullptr, header.data(), 8, nullptr, 0, 0,
                                         VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
            STATUS_INVALID_PARAMETER);
}

TEST_F(KmclSend, UnknownFlagBitsAreInvalidAndNothingIsSent) {
  open_both();
  VMBPACKET packet = packet_with_routine(client);
  for (const UINT32 flags : {0x8u, 0x10u, 0x80000000u, 0xFFFFFFFFu}) {
    EXPECT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr, flags), STATUS_INVALID_PARAMETER);
  }
  ASSERT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr, 0), STATUS_SUCCESS);
  ASSERT_TRUE(server_endpoint.wait([&] { return server_endpoint.packets.size() == 1; }));
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  EXPECT_EQ(server_endpoint.packets.size(), 1u);  // the refused sends left no trace
  VmbPacketFree(packet);
}

TEST_F(KmclSend, BufferArgumentsAreChecked) {
  open_both();
  VMBPACKET packet = packet_with_routine(client);
  EXPECT_EQ(VmbPacketSend(packet, nullptr, 8, nullptr, 0), STATUS_INVALID_PARAMETER);
  std::vector<char> too_long(4097);
  EXPECT_EQ(VmbPacketSend(packet, too_long.data(), 4097, nullptr, 0), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSend(packet, nullptr, 0, nullptr, 0), STATUS_SUCCESS);  // empty packet
  ASSERT_TRUE(server_endpoint.wait([&] { return server_endpoint.packets.size() == 1; }));
  EXPECT_TRUE(server_endpoint.packets[0].empty());
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, WithoutWaitCompletesOnceWritten) {
  open_both();
  VMBPACKET packet = packet_with_routine(client);
  ASSERT_EQ(VmbPacketSend(packet, header.data(), 7, nullptr, 0), STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  EXPECT_EQ(client_endpoint.completions[0], STATUS_SUCCESS);
  EXPECT_TRUE(client_endpoint.completion_payloads[0].empty());
  ASSERT_TRUE(server_endpoint.wait([&] { return server_endpoint.packets.size() == 1; }));
  EXPECT_EQ(server_endpoint.packets[0].size(), 8u);  // padded to 8 on the wire
  EXPECT_EQ(std::memcmp(server_endpoint.packets[0].data(), header.data(), 7), 0);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, WaitForCompletionDeliversPeerPayload) {
  open_both();
  VMBPACKET packet = packet_with_routine(client);
  ASSERT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr,
                          VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
            STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  EXPECT_EQ(client_endpoint.completions[0], STATUS_SUCCESS);
  ASSERT_EQ(client_endpoint.completion_payloads[0].size(), 8u);
  EXPECT_EQ(std::memcmp(client_endpoint.completion_payloads[0].data(), header.data(), 8), 0);
  // After the routine ran the packet may be sent again.
  ASSERT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr, 0), STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 2; }));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, PagedBufferIsCopiedBeforeReturn) {
  server_endpoint.on_packet = [](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
    VmbChannelPacketComplete(packet, nullptr, 0);
  };
  open_both();
  VMBPACKET packet = packet_with_routine(client);
  std::array<char, 16> data{};
  std::memcpy(data.data(), "original bytes!", 16);
  ASSERT_EQ(VmbPacketSend(packet, data.data(), 16, nullptr,
                          VMBUS_CHANNEL_FORMAT_FLAG_PAGED_BUFFER |
                              VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
            STATUS_SUCCESS);
  data.fill('X');  // the caller may reuse its buffer at once
  ASSERT_TRUE(server_endpoint.wait([&] { return server_endpoint.packets.size() == 1; }));
  EXPECT_EQ(std::memcmp(server_endpoint.packets[0].data(), "original bytes!", 16), 0);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, PacketInFlightCannotBeSentAgain) {
  std::atomic<VMBPACKETCOMPLETION> held{nullptr};
  server_endpoint.on_packet = [&](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
    held = packet;  // completed by the test once the server suspends
  };
  open_both();
  VMBPACKET packet = packet_with_routine(client);
  ASSERT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr,
                          VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
            STATUS_SUCCESS);
  EXPECT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr, 0), STATUS_INVALID_PARAMETER);
  ASSERT_TRUE(server_endpoint.wait([&] { return !server_endpoint.packets.empty(); }));
  VmbChannelDisable(client);  // retires it with STATUS_DEVICE_REMOVED
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  EXPECT_EQ(client_endpoint.completions[0], STATUS_DEVICE_REMOVED);
  ASSERT_TRUE(server_endpoint.wait_for_event("suspend"));
  VmbChannelPacketComplete(held.load(), nullptr, 0);  // the server's Suspend waits for this
  ASSERT_TRUE(server_endpoint.wait_for_event("closed"));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, DisabledChannelIsDeviceRemoved) {
  VMBPACKET packet = packet_with_routine(client);
  EXPECT_EQ(VmbPacketSend(packet, header.data(), 8, nullptr, 0), STATUS_DEVICE_REMOVED);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, ExternalDataNeedsWaitForCompletion) {
  open_both();
  make_buffer(4096);
  VMBPACKET packet = packet_with_routine(client);
  EXPECT_EQ(VmbPacketSend(packet, header.data(), 8, mdl, 0), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSendWithExternalMdl(packet, header.data(), 8, mdl, 0, 0,
                                         VMBUS_CHANNEL_FORMAT_FLAG_PAGED_BUFFER),
            STATUS_INVALID_PARAMETER);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, ServerCannotSendExternalData) {
  open_both();
  make_buffer(4096);
  VMBPACKET packet = packet_with_routine(server);
  EXPECT_EQ(
      VmbPacketSend(packet, header.data(), 8, mdl, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
      STATUS_INVALID_PARAMETER);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, WholeMdlReachesServerZeroCopy) {
  server_copies_external_data();
  open_both();
  make_buffer(8192 + 100);
  VMBPACKET packet = packet_with_routine(client);
  ASSERT_EQ(
      VmbPacketSend(packet, header.data(), 8, mdl, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
      STATUS_SUCCESS);
  ASSERT_TRUE(wait_for_external(1));
  EXPECT_EQ(external[0], pattern(0, 8192 + 100));
  ASSERT_TRUE(server_endpoint.wait([&] { return !server_endpoint.packet_flags.empty(); }));
  EXPECT_EQ(server_endpoint.packet_flags[0], VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  EXPECT_EQ(client_endpoint.completions[0], STATUS_SUCCESS);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, MdlOffsetAndLengthSelectTheRange) {
  server_copies_external_data();
  open_both();
  make_buffer(3 * 4096);
  VMBPACKET packet = packet_with_routine(client);
  const UINT32 wait = VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;
  ASSERT_EQ(VmbPacketSendWithExternalMdl(packet, header.data(), 8, mdl, 100, 5000, wait),
            STATUS_SUCCESS);
  ASSERT_TRUE(wait_for_external(1));
  EXPECT_EQ(external[0], pattern(100, 5000));
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  // MdlLength 0: from MdlOffset to the end of the chain.
  ASSERT_EQ(VmbPacketSendWithExternalMdl(packet, header.data(), 8, mdl, 4000, 0, wait),
            STATUS_SUCCESS);
  ASSERT_TRUE(wait_for_external(2));
  EXPECT_EQ(external[1], pattern(4000, 3 * 4096 - 4000));
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 2; }));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, RangePastTheChainIsInvalid) {
  open_both();
  make_buffer(5000);
  VMBPACKET packet = packet_with_routine(client);
  const UINT32 wait = VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;
  EXPECT_EQ(VmbPacketSendWithExternalMdl(packet, nullptr, 0, mdl, 0, 5001, wait),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSendWithExternalMdl(packet, nullptr, 0, mdl, 5000, 1, wait),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSendWithExternalMdl(packet, nullptr, 0, mdl, 5000, 0, wait),
            STATUS_INVALID_PARAMETER);  // nothing left to describe
  EXPECT_EQ(VmbPacketSendWithExternalMdl(packet, nullptr, 0, nullptr, 0, 0, wait),
            STATUS_INVALID_PARAMETER);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, ForceMdlLengthAllowsTheLastPageOnly) {
  server_copies_external_data();
  open_both();
  make_buffer(5000);  // ByteCount 5000, last byte in page 1: the page ends at 8192
  VMBPACKET packet = packet_with_routine(client);
  const UINT32 force =
      VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION | VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH;
  EXPECT_EQ(VmbPacketSendWithExternalMdl(packet, nullptr, 0, mdl, 0, 8193, force),
            STATUS_INVALID_PARAMETER);
  ASSERT_EQ(VmbPacketSendWithExternalMdl(packet, nullptr, 0, mdl, 0, 8192, force), STATUS_SUCCESS);
  ASSERT_TRUE(wait_for_external(1));
  EXPECT_EQ(external[0].size(), 8192u);
  EXPECT_EQ(std::vector<std::byte>(external[0].begin(), external[0].begin() + 5000),
            pattern(0, 5000));
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, ExternalDataAboveTheChannelLimitIsInvalid) {
  ASSERT_EQ(VmbChannelInitSetMaximumExternalData(client, 4096, 1), STATUS_SUCCESS);
  open_both();
  make_buffer(8192);
  VMBPACKET packet = packet_with_routine(client);
  EXPECT_EQ(VmbPacketSend(packet, nullptr, 0, mdl, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
            STATUS_INVALID_PARAMETER);
  VmbPacketFree(packet);
}

TEST_F(KmclSend, PfnsDescribeWholePages) {
  server_copies_external_data();
  open_both();
  make_buffer(2 * 4096);
  VMBPACKET packet = packet_with_routine(client);
  PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
  const UINT32 wait = VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;
  EXPECT_EQ(VmbPacketSendWithExternalPfns(packet, nullptr, 0, nullptr, 1, wait),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSendWithExternalPfns(packet, nullptr, 0, pfns, 0, wait),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbPacketSendWithExternalPfns(packet, nullptr, 0, pfns, 2, 0),
            STATUS_INVALID_PARAMETER);
  PFN_NUMBER outside = 1u << 30;
  EXPECT_EQ(VmbPacketSendWithExternalPfns(packet, nullptr, 0, &outside, 1, wait),
            STATUS_INVALID_PARAMETER);
  ASSERT_EQ(VmbPacketSendWithExternalPfns(packet, header.data(), 8, pfns, 2, wait), STATUS_SUCCESS);
  ASSERT_TRUE(wait_for_external(1));
  EXPECT_EQ(external[0], pattern(0, 2 * 4096));
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  VmbPacketFree(packet);
}

TEST_F(KmclSend, InitializedPacketNeedsARoutine) {
  open_both();
  const UINT32 size = VmbChannelSizeofPacket(client);
  ASSERT_GT(size, 0u);
  std::vector<uint64_t> storage((size + 7) / 8 + 1);
  auto* memory = reinterpret_cast<VMBPACKET>(storage.data());
  EXPECT_EQ(VmbPacketInitialize(nullptr, memory, size), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbPacketInitialize(client, nullptr, size), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(
      VmbPacketInitialize(
          client, reinterpret_cast<VMBPACKET>(reinterpret_cast<char*>(storage.data()) + 4), size),
      STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbPacketInitialize(client, memory, size - 1), STATUS_INVALID_PARAMETER_3);
  ASSERT_EQ(VmbPacketInitialize(client, memory, size), STATUS_SUCCESS);
  EXPECT_EQ(VmbPacketGetChannel(memory), client);
  EXPECT_EQ(VmbPacketSend(memory, header.data(), 8, nullptr, 0), STATUS_INVALID_PARAMETER);
  VmbPacketSetCompletionRoutine(memory, RecordCompletion);
  VmbPacketSetPointer(memory, &storage);
  EXPECT_EQ(VmbPacketGetPointer(memory), &storage);
  ASSERT_EQ(VmbPacketSend(memory, header.data(), 8, nullptr, 0), STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.completions.size() == 1; }));
  VmbPacketFree(memory);  // not pooled: ignored, the caller owns the memory
}

}  // namespace
}  // namespace vmb::kmcl_testing
