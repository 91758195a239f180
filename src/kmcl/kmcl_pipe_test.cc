// SPDX-License-Identifier: MIT
// Pipe mode through the C API (kmcl_pipe.cc): the pipe header is added on send and removed on
// delivery (exact lengths despite the 8-byte padding), a non-pipe peer sees the header bytes,
// pipes refuse transactions and external data, and a peer that breaks the framing fails the
// channel with a recorded reason.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kmcl/kmcl_test_fixture.h"

namespace vmb::kmcl_testing {
namespace {

class KmclPipe : public KmclPair {
 protected:
  // Sends `bytes` from `channel` with a pooled packet and no completion.
  static NTSTATUS send_bytes(VMBCHANNEL channel, std::vector<std::byte> bytes, UINT32 flags = 0) {
    VMBPACKET packet = VmbPacketAllocate(channel);
    if (packet == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
    const NTSTATUS status = VmbPacketSend(packet, bytes.empty() ? nullptr : bytes.data(),
                                          static_cast<UINT32>(bytes.size()), nullptr, flags);
    if (status != STATUS_SUCCESS) VmbPacketFree(packet);
    return status;
  }
  static std::vector<std::byte> text(const char* value) {
    const auto* bytes = reinterpret_cast<const std::byte*>(value);
    return {bytes, bytes + std::strlen(value)};
  }
  // Waits for `count` packets at `endpoint`.
  static bool wait_packets(Endpoint& endpoint, size_t count) {
    return endpoint.wait([&] { return endpoint.packets.size() >= count; });
  }
};

TEST_F(KmclPipe, DataArrivesWithItsExactLengthBothWays) {
  ASSERT_EQ(VmbChannelInitSetFlags(server, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  ASSERT_EQ(VmbChannelInitSetFlags(client, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  open_both();
  ASSERT_EQ(send_bytes(client, text("hello")), STATUS_SUCCESS);  // 5: padded to 16 on the ring
  ASSERT_EQ(send_bytes(client, {}), STATUS_SUCCESS);             // an empty message
  ASSERT_EQ(send_bytes(server, text("pipe reply!")), STATUS_SUCCESS);
  ASSERT_TRUE(wait_packets(server_endpoint, 2));
  ASSERT_TRUE(wait_packets(client_endpoint, 1));
  const std::lock_guard lock(server_endpoint.mutex);
  EXPECT_EQ(server_endpoint.packets[0], text("hello"));
  EXPECT_TRUE(server_endpoint.packets[1].empty());
  EXPECT_EQ(client_endpoint.packets[0], text("pipe reply!"));
}

TEST_F(KmclPipe, OfferAsPipeMakesTheServerAPipe) {
  ASSERT_EQ(VmbServerChannelInitSetFlags(server, VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE),
            STATUS_SUCCESS);
  ASSERT_EQ(VmbChannelInitSetFlags(client, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  open_both();
  ASSERT_EQ(send_bytes(client, text("abc")), STATUS_SUCCESS);
  ASSERT_TRUE(wait_packets(server_endpoint, 1));
  const std::lock_guard lock(server_endpoint.mutex);
  EXPECT_EQ(server_endpoint.packets[0], text("abc"));
}

TEST_F(KmclPipe, APeerNotInPipeModeSeesTheHeader) {
  ASSERT_EQ(VmbChannelInitSetFlags(client, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  open_both();
  ASSERT_EQ(send_bytes(client, text("hello")), STATUS_SUCCESS);
  ASSERT_TRUE(wait_packets(server_endpoint, 1));
  const std::lock_guard lock(server_endpoint.mutex);
  const std::vector<std::byte>& packet = server_endpoint.packets[0];
  ASSERT_EQ(packet.size(), 16u);  // header + 5 bytes, padded to 8
  uint32_t header[2];
  std::memcpy(header, packet.data(), sizeof header);
  EXPECT_EQ(header[0], 1u);  // data
  EXPECT_EQ(header[1], 5u);
  EXPECT_EQ(std::memcmp(packet.data() + 8, "hello", 5), 0);
}

TEST_F(KmclPipe, PipesRefuseTransactionsExternalDataAndOversizedMessages) {
  ASSERT_EQ(VmbChannelInitSetFlags(client, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  ASSERT_EQ(VmbChannelInitSetMaximumPacketSize(client, 16384 + 8), STATUS_SUCCESS);
  open_both();
  EXPECT_EQ(send_bytes(client, text("x"), VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION),
            STATUS_INVALID_PARAMETER);
  uint64_t request = 1;
  UINT32 size = 0;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, &request, sizeof request, nullptr,
                                             VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, nullptr,
                                             &size, nullptr),
            STATUS_INVALID_PARAMETER);
  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  ASSERT_EQ(VmbKitAllocateGuestBuffer(bus, 4096, &buffer, &mdl), STATUS_SUCCESS);
  VMBPACKET packet = VmbPacketAllocate(client);
  ASSERT_NE(packet, nullptr);
  EXPECT_EQ(VmbPacketSend(packet, &request, sizeof request, mdl, 0), STATUS_INVALID_PARAMETER);
  VmbPacketFree(packet);
  VmbKitFreeGuestBuffer(bus, buffer, mdl);
  EXPECT_EQ(send_bytes(client, std::vector<std::byte>(16385)), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(send_bytes(client, std::vector<std::byte>(16384)), STATUS_SUCCESS);  // the limit
  EXPECT_TRUE(wait_packets(server_endpoint, 1));
}

// The server is a pipe; the client is not, so its payload is what a peer wrote raw.
class KmclPipeViolation : public KmclPipe,
                          public ::testing::WithParamInterface<std::vector<uint32_t>> {};

TEST_P(KmclPipeViolation, FailsTheChannelWithTheReason) {
  ASSERT_EQ(VmbChannelInitSetFlags(server, VMBUS_CHANNEL_INIT_FLAG_IS_PIPE), STATUS_SUCCESS);
  open_both();
  const std::vector<uint32_t>& words = GetParam();
  std::vector<std::byte> raw(words.size() * 4);
  if (!raw.empty()) std::memcpy(raw.data(), words.data(), raw.size());
  ASSERT_EQ(send_bytes(client, raw), STATUS_SUCCESS);
  ASSERT_TRUE(server_endpoint.wait_for_event("closed"));
  NTSTATUS failure = STATUS_SUCCESS;
  char reason[128] = {};
  ASSERT_EQ(VmbKitChannelGetFailureReason(server, &failure, reason, sizeof reason), STATUS_SUCCESS);
  EXPECT_EQ(failure, STATUS_DATA_ERROR);
  EXPECT_EQ(std::strncmp(reason, "pipe: ", 6), 0) << reason;
  const std::lock_guard lock(server_endpoint.mutex);
  EXPECT_TRUE(server_endpoint.packets.empty());  // nothing reached the driver
}

INSTANTIATE_TEST_SUITE_P(
    BrokenFraming, KmclPipeViolation,
    ::testing::Values(std::vector<uint32_t>{},      // an empty packet: no pipe header
                      std::vector<uint32_t>{3, 0},  // GPA-direct setup: unsupported
                      std::vector<uint32_t>{0, 0},  // type 0
                      std::vector<uint32_t>{1, 9, 0x41414141, 0x42424242}));  // size too big

}  // namespace
}  // namespace vmb::kmcl_testing
