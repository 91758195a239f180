// SPDX-License-Identifier: MIT
// VmbKitChannelInitSetPolling and VmbKitChannelGetStatistics through the C API: argument and
// state checks, polled synchronous requests, and counters that match the traffic exactly.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "kmcl/kmcl_test_fixture.h"

namespace vmb::kmcl_testing {
namespace {

constexpr UINT32 kWait = VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION;

VMBKIT_CHANNEL_STATISTICS statistics_of(VMBCHANNEL channel) {
  VMBKIT_CHANNEL_STATISTICS statistics;
  std::memset(&statistics, 0xEE, sizeof statistics);
  statistics.Size = sizeof statistics;
  EXPECT_EQ(VmbKitChannelGetStatistics(channel, &statistics), STATUS_SUCCESS);
  return statistics;
}

using KmclPolling = KmclPair;

TEST_F(KmclPolling, SetPollingChecksArgumentsAndState) {
  EXPECT_EQ(VmbKitChannelInitSetPolling(nullptr, TRUE), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbKitChannelInitSetPolling(client, TRUE), STATUS_SUCCESS);
  EXPECT_EQ(VmbKitChannelInitSetPolling(server, TRUE), STATUS_SUCCESS);
  open_both();
  EXPECT_EQ(VmbKitChannelInitSetPolling(client, FALSE), STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(VmbKitChannelInitSetPolling(server, FALSE), STATUS_INVALID_DEVICE_STATE);
}

TEST_F(KmclPolling, GetStatisticsChecksArguments) {
  VMBKIT_CHANNEL_STATISTICS statistics{};
  statistics.Size = sizeof statistics;
  EXPECT_EQ(VmbKitChannelGetStatistics(nullptr, &statistics), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbKitChannelGetStatistics(client, nullptr), STATUS_INVALID_PARAMETER_2);
  statistics.Size = sizeof statistics - 8;
  EXPECT_EQ(VmbKitChannelGetStatistics(client, &statistics), STATUS_BUFFER_TOO_SMALL);
  // A newer caller's larger structure: the known part is filled, Size says how much.
  struct Larger {
    VMBKIT_CHANNEL_STATISTICS known;
    UINT64 later;
  } larger{};
  larger.known.Size = sizeof larger;
  larger.later = 42;
  EXPECT_EQ(VmbKitChannelGetStatistics(client, &larger.known), STATUS_SUCCESS);
  EXPECT_EQ(larger.known.Size, sizeof(VMBKIT_CHANNEL_STATISTICS));
  EXPECT_EQ(larger.known.Version, VMBKIT_CHANNEL_STATISTICS_VERSION);
  EXPECT_EQ(larger.known.PacketsSent, 0u);
  EXPECT_EQ(larger.later, 42u);
}

TEST_F(KmclPolling, PolledRequestsAreCountedExactly) {
  ASSERT_EQ(VmbKitChannelInitSetPolling(client, TRUE), STATUS_SUCCESS);
  ASSERT_EQ(VmbKitChannelInitSetPolling(server, TRUE), STATUS_SUCCESS);
  open_both();
  constexpr UINT32 kCount = 500;
  std::array<std::byte, 64> request{};
  std::array<std::byte, 64> reply{};
  for (UINT32 i = 0; i < kCount; ++i) {
    std::memcpy(request.data(), &i, sizeof i);
    UINT32 size = static_cast<UINT32>(reply.size());
    ASSERT_EQ(VmbChannelSendSynchronousRequest(client, request.data(), 64, nullptr, kWait,
                                               reply.data(), &size, nullptr),
              STATUS_SUCCESS);
    ASSERT_EQ(size, 64u);
    ASSERT_EQ(reply, request);
  }
  const VMBKIT_CHANNEL_STATISTICS sent = statistics_of(client);
  EXPECT_EQ(sent.Size, sizeof sent);
  EXPECT_EQ(sent.Version, VMBKIT_CHANNEL_STATISTICS_VERSION);
  EXPECT_EQ(sent.PacketsSent, kCount);
  EXPECT_EQ(sent.BytesSent, 64u * kCount);
  EXPECT_EQ(sent.CompletionsSent, 0u);
  EXPECT_EQ(sent.PacketsReceived, kCount);
  EXPECT_EQ(sent.CompletionsReceived, kCount);
  EXPECT_EQ(sent.BytesReceived, 64u * kCount);
  const VMBKIT_CHANNEL_STATISTICS served = statistics_of(server);
  EXPECT_EQ(served.PacketsReceived, kCount);
  EXPECT_EQ(served.BytesReceived, 64u * kCount);
  EXPECT_EQ(served.CompletionsSent, kCount);
  EXPECT_EQ(served.PacketsSent, kCount);
  // Every signal the client sent (from its own thread, before each request returned) reached
  // the server: the loopback bus delivers at once.
  EXPECT_EQ(sent.SignalsSent, served.SignalsReceived);
}

}  // namespace
}  // namespace vmb::kmcl_testing
