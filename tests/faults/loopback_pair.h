// SPDX-License-Identifier: MIT
// LoopbackPairTest: the channel tests' pair fixture (channel/channel_pair_for_tests.h) with a
// VictimDriver on each side, for the race tests where both sides run the real channel code:
// held packets are released before the pair goes, and a synchronous echo round trip checks
// the pair still works. Bounded waits only.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "channel/channel_pair_for_tests.h"
#include "hostile_fixture.h"

namespace vmb::testing {

class LoopbackPairTest : public BasicChannelPairTest<VictimDriver> {
 protected:
  void release_pair() override {
    // A test that failed half-way may leave packets held: Disable would wait for them.
    for (auto [channel, events] :
         {std::pair{server.get(), server_events}, std::pair{client.get(), client_events}}) {
      if (channel == nullptr) continue;
      events->set_mode(VictimDriver::Mode::kEcho);
      for (IncomingPacket* packet : events->take_held()) channel->complete(*packet, {});
    }
    BasicChannelPairTest::release_pair();
  }
  // A synchronous echo round trip from the client.
  void expect_round_trip() {
    const std::vector<std::byte> request = pattern_bytes(64, 21);
    std::vector<std::byte> reply(64);
    const SyncRequestResult result =
        client->send_synchronous(request, nullptr, kSendWaitForCompletion,
                                 std::span<std::byte>(reply), Deadline::after(kPeerWait));
    EXPECT_EQ(result.status, STATUS_SUCCESS);
    EXPECT_EQ(reply, request);
  }
};

}  // namespace vmb::testing
