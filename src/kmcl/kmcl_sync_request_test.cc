// SPDX-License-Identifier: MIT
// VmbChannelSendSynchronousRequest through the C API with every parameter and result of
// decisions.md §4: success with the completion copied and its size reported, truncation
// (STATUS_BUFFER_TOO_SMALL), the multiple-of-8 rule, zero timeout (no queueing,
// STATUS_BUFFER_OVERFLOW), relative and absolute deadlines (STATUS_CANCELLED), teardown
// (STATUS_DEVICE_REMOVED), the server restriction, and a wait from a dispatch callback
// (STATUS_INVALID_DEVICE_STATE).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "kmcl/kmcl_test_fixture.h"
#include "vmbkit/channel/deadline.h"

namespace vmb::kmcl_testing {
namespace {

constexpr UINT32 kWait = VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;

class KmclSyncRequest : public KmclPair {
 protected:
  // The server keeps every packet uncompleted until release_held().
  void server_holds_packets() {
    server_endpoint.on_packet = [this](VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32,
                                       UINT32) {
      {
        const std::lock_guard lock(held_mutex);
        if (holding) {
          held.push_back(packet);
          return;
        }
      }
      VmbChannelPacketComplete(packet, nullptr, 0);
    };
  }
  // Completes what is held; with `stop`, packets delivered from now on are completed at once.
  void release_held(bool stop = false) {
    const std::lock_guard lock(held_mutex);
    if (stop) holding = false;
    for (VMBPACKETCOMPLETION packet : held) VmbChannelPacketComplete(packet, nullptr, 0);
    held.clear();
  }
  void TearDown() override {
    release_held(true);
    KmclPair::TearDown();
  }

  std::mutex held_mutex;
  std::vector<VMBPACKETCOMPLETION> held;
  bool holding = true;  // guarded by held_mutex
  std::array<char, 16> request{'r', 'e', 'q', 'u', 'e', 's', 't', '-',
                               '0', '1', '2', '3', '4', '5', '6', '7'};
};

TEST_F(KmclSyncRequest, SuccessCopiesTheCompletion) {
  open_both();
  std::array<char, 32> reply{};
  UINT32 size = 32;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait,
                                             reply.data(), &size, nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(size, 16u);
  EXPECT_EQ(std::memcmp(reply.data(), request.data(), 16), 0);
}

TEST_F(KmclSyncRequest, LargerCompletionIsTruncated) {
  open_both();
  std::array<char, 8> reply{};
  UINT32 size = 8;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait,
                                             reply.data(), &size, nullptr),
            STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(size, 8u);
  EXPECT_EQ(std::memcmp(reply.data(), request.data(), 8), 0);
}

TEST_F(KmclSyncRequest, NoCompletionBufferDiscardsTheData) {
  open_both();
  UINT32 size = 64;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait, nullptr,
                                             &size, nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(size, 0u);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait, nullptr,
                                             nullptr, nullptr),
            STATUS_SUCCESS);
}

TEST_F(KmclSyncRequest, ArgumentsAreChecked) {
  open_both();
  std::array<char, 16> reply{};
  UINT32 size = 12;  // not a multiple of 8
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait,
                                             reply.data(), &size, nullptr),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait,
                                             reply.data(), nullptr, nullptr),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, nullptr, 16, nullptr, kWait, nullptr, nullptr,
                                             nullptr),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, 0x8, nullptr,
                                             nullptr, nullptr),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(nullptr, request.data(), 16, nullptr, kWait, nullptr,
                                             nullptr, nullptr),
            STATUS_INVALID_PARAMETER);
  // None of them was sent: the server has seen nothing.
  EXPECT_TRUE(server_endpoint.packets.empty());
}

TEST_F(KmclSyncRequest, ServerMayOnlyTrySend) {
  open_both();
  LARGE_INTEGER zero{};
  LARGE_INTEGER one_second{};
  one_second.QuadPart = -10'000'000;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(server, request.data(), 16, nullptr, kWait, nullptr,
                                             nullptr, &zero),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(server, request.data(), 16, nullptr, 0, nullptr,
                                             nullptr, nullptr),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(server, request.data(), 16, nullptr, 0, nullptr,
                                             nullptr, &one_second),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(server, request.data(), 16, nullptr, 0, nullptr,
                                             nullptr, &zero),
            STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.packets.size() == 1; }));
}

TEST_F(KmclSyncRequest, ZeroTimeoutNeverQueues) {
  server_holds_packets();
  VmbChannelSetTransactionQuota(server, 1);  // the server stops reading after one packet
  ASSERT_EQ(VmbClientChannelInitSetRingBufferPageCount(client, 1, 1), STATUS_SUCCESS);
  open_both();
  std::vector<char> big(1000, 'x');
  LARGE_INTEGER zero{};
  NTSTATUS status = STATUS_SUCCESS;
  int sent = 0;
  // Fill the 4 KiB ring: the first packet is taken and held, the rest stay in the ring.
  while (sent < 16) {
    UINT32 size = 64;
    status = VmbChannelSendSynchronousRequest(client, big.data(), 1000, nullptr, 0, nullptr, &size,
                                              &zero);
    if (status != STATUS_SUCCESS) {
      EXPECT_EQ(size, 0u);
      break;
    }
    ++sent;
  }
  EXPECT_EQ(status, STATUS_BUFFER_OVERFLOW);
  EXPECT_GE(sent, 3);
  // Zero timeout with WAIT_FOR_COMPLETION does not queue either.
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, big.data(), 1000, nullptr, kWait, nullptr,
                                             nullptr, &zero),
            STATUS_BUFFER_OVERFLOW);
}

TEST_F(KmclSyncRequest, ZeroTimeoutWithWaitWaitsForTheCompletion) {
  open_both();
  LARGE_INTEGER zero{};
  std::array<char, 16> reply{};
  UINT32 size = 16;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait,
                                             reply.data(), &size, &zero),
            STATUS_SUCCESS);
  EXPECT_EQ(size, 16u);
}

TEST_F(KmclSyncRequest, RelativeDeadlineCancels) {
  server_holds_packets();
  open_both();
  LARGE_INTEGER twenty_ms{};
  twenty_ms.QuadPart = -200'000;
  UINT32 size = 16;
  std::array<char, 16> reply{};
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait,
                                             reply.data(), &size, &twenty_ms),
            STATUS_CANCELLED);
  EXPECT_EQ(size, 0u);
  // The late completion is dropped silently; the channel keeps working.
  ASSERT_TRUE(server_endpoint.wait([&] { return server_endpoint.packets.size() == 1; }));
  release_held(true);
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait, nullptr,
                                             nullptr, nullptr),
            STATUS_SUCCESS);
  NTSTATUS failure = STATUS_UNSUCCESSFUL;
  ASSERT_EQ(VmbKitChannelGetFailureReason(client, &failure, nullptr, 0), STATUS_SUCCESS);
  EXPECT_EQ(failure, STATUS_SUCCESS);
}

TEST_F(KmclSyncRequest, AbsoluteDeadlineInThePastCancels) {
  server_holds_packets();
  open_both();
  LARGE_INTEGER past{};
  past.QuadPart = to_windows_time(std::chrono::system_clock::now()) - 10'000'000;
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait, nullptr,
                                             nullptr, &past),
            STATUS_CANCELLED);
}

TEST_F(KmclSyncRequest, TeardownIsDeviceRemoved) {
  server_holds_packets();
  open_both();
  std::atomic<NTSTATUS> status{STATUS_PENDING};
  std::thread requester([&] {
    status = VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait, nullptr,
                                              nullptr, nullptr);
  });
  ASSERT_TRUE(server_endpoint.wait([&] { return server_endpoint.packets.size() == 1; }));
  VmbChannelDisable(client);  // the request's own channel closes before the completion
  requester.join();
  EXPECT_EQ(status.load(), STATUS_DEVICE_REMOVED);
  // A request on a Disabled channel is refused the same way.
  EXPECT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 16, nullptr, kWait, nullptr,
                                             nullptr, nullptr),
            STATUS_DEVICE_REMOVED);
}

TEST_F(KmclSyncRequest, WaitFromADispatchCallbackIsRefused) {
  std::atomic<NTSTATUS> blocking{STATUS_PENDING};
  std::atomic<NTSTATUS> try_send{STATUS_PENDING};
  client_endpoint.on_packet = [&](VMBCHANNEL channel, VMBPACKETCOMPLETION packet, PVOID, UINT32,
                                  UINT32) {
    LARGE_INTEGER zero{};
    blocking = VmbChannelSendSynchronousRequest(channel, nullptr, 0, nullptr, kWait, nullptr,
                                                nullptr, nullptr);
    try_send =
        VmbChannelSendSynchronousRequest(channel, nullptr, 0, nullptr, 0, nullptr, nullptr, &zero);
    client_endpoint.notify();  // the test waits for try_send
    VmbChannelPacketComplete(packet, nullptr, 0);
  };
  open_both();
  LARGE_INTEGER zero{};
  ASSERT_EQ(VmbChannelSendSynchronousRequest(server, request.data(), 16, nullptr, 0, nullptr,
                                             nullptr, &zero),
            STATUS_SUCCESS);
  ASSERT_TRUE(client_endpoint.wait([&] { return client_endpoint.packets.size() == 1; }));
  ASSERT_TRUE(client_endpoint.wait([&] { return try_send.load() != STATUS_PENDING; }));
  EXPECT_EQ(blocking.load(), STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(try_send.load(), STATUS_SUCCESS);
}

}  // namespace
}  // namespace vmb::kmcl_testing
