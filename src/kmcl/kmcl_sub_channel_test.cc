// SPDX-License-Identifier: MIT
// VmbKitChannelInitSetSubChannelIndex through the C API on a loopback bus: a client opens the
// sub-channel whose index it names, not the primary; duplicates and late calls are refused.
#include <gtest/gtest.h>

#include "kmcl/kmcl_test_fixture.h"

namespace vmb::kmcl_testing {
namespace {

class KmclSubChannel : public KmclPair {
 protected:
  void TearDown() override {
    if (sub_server != nullptr) VmbChannelCleanup(sub_server);
    KmclPair::TearDown();
  }
  VMBCHANNEL sub_server = nullptr;
  Endpoint sub_endpoint;
};

TEST_F(KmclSubChannel, AClientOpensTheIndexItNames) {
  ASSERT_EQ(VmbChannelAllocate(bus, TRUE, &sub_server), STATUS_SUCCESS);
  configure(sub_server, sub_endpoint);
  ASSERT_EQ(VmbServerChannelInitSetTargetInterfaceId(sub_server, kType, kInstance), STATUS_SUCCESS);
  ASSERT_EQ(VmbKitChannelInitSetSubChannelIndex(sub_server, 1), STATUS_SUCCESS);
  ASSERT_EQ(VmbKitChannelInitSetSubChannelIndex(client, 1), STATUS_SUCCESS);
  ASSERT_EQ(VmbChannelEnable(server), STATUS_SUCCESS);  // the primary, index 0
  VmbChannelStart(server);
  ASSERT_EQ(VmbChannelEnable(sub_server), STATUS_SUCCESS);
  VmbChannelStart(sub_server);
  ASSERT_EQ(VmbChannelEnable(client), STATUS_SUCCESS);
  ASSERT_TRUE(sub_endpoint.wait_for_event("post_started"));
  ASSERT_TRUE(client_endpoint.wait_for_event("post_started"));
  uint64_t request = 0x5ab;
  uint64_t reply = 0;
  UINT32 size = sizeof reply;
  ASSERT_EQ(VmbChannelSendSynchronousRequest(client, &request, sizeof request, nullptr,
                                             VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, &reply,
                                             &size, nullptr),
            STATUS_SUCCESS);
  EXPECT_EQ(reply, request);
  {
    const std::lock_guard lock(sub_endpoint.mutex);
    EXPECT_EQ(sub_endpoint.packets.size(), 1u);
  }
  const std::lock_guard lock(server_endpoint.mutex);
  EXPECT_TRUE(server_endpoint.packets.empty());  // the primary saw nothing
  EXPECT_TRUE(server_endpoint.events.empty());   // and was never opened
}

TEST_F(KmclSubChannel, DuplicatesAndLateCallsAreRefused) {
  EXPECT_EQ(VmbKitChannelInitSetSubChannelIndex(nullptr, 1), STATUS_INVALID_PARAMETER_1);
  ASSERT_EQ(VmbChannelAllocate(bus, TRUE, &sub_server), STATUS_SUCCESS);
  configure(sub_server, sub_endpoint);
  ASSERT_EQ(VmbServerChannelInitSetTargetInterfaceId(sub_server, kType, kInstance), STATUS_SUCCESS);
  // Same type, instance and index (0) as the primary: one offer only.
  ASSERT_EQ(VmbChannelEnable(server), STATUS_SUCCESS);
  EXPECT_EQ(VmbChannelEnable(sub_server), STATUS_OBJECT_NAME_COLLISION);
  // Enabled channels refuse the setting.
  EXPECT_EQ(VmbKitChannelInitSetSubChannelIndex(server, 2), STATUS_INVALID_PARAMETER_1);
}

}  // namespace
}  // namespace vmb::kmcl_testing
