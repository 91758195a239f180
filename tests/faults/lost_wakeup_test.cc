// SPDX-License-Identifier: MIT
// A well-behaved producer that writes at the worst moment: after the victim's drain unmasked
// interrupts (rule C) but before it published its read index. Rule A then says "the ring was
// not empty" (the published read index is stale), so the producer does not signal; the
// consumer must notice the packet itself. Every packet must be delivered. The producer follows
// the rules exactly; only its timing is adversarial.
#include <cstdint>

#include "hostile_fixture.h"

namespace vmb::testing {
namespace {

using LostWakeup = HostileChannelTest;

// Regression test for the lost wake-up fixed in bf64300 (Channel::drain_incoming unmasked
// before it published its read index). Without the fix it fails within a few thousand
// attempts: the packet written in the window waits in the ring for ever.
TEST_P(LostWakeup, PacketBetweenUnmaskAndCommitIsDelivered) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  int caught = 0;
  size_t delivered = 0;
  for (int attempt = 0; attempt < 20000; ++attempt) {
    ASSERT_EQ(peer->send_inband(pattern_bytes(16), 0, false), STATUS_SUCCESS);
    const uint32_t end_of_first = peer->write_position();
    // Watch the victim's drain: interrupts masked, then unmasked with the read index still
    // behind the packet it has (privately) read.
    bool masked = false;
    bool window = false;
    for (int spin = 0; spin < 2'000'000; ++spin) {
      const uint32_t mask = peer->to_victim().interrupt_mask();
      const uint32_t read = peer->to_victim().read_index();
      if (read == end_of_first) break;
      if (mask != 0) masked = true;
      if (masked && mask == 0) {
        window = true;
        break;
      }
    }
    // Rule A decides about the signal, as any producer's would.
    ASSERT_EQ(peer->send_inband(pattern_bytes(24), 0, false), STATUS_SUCCESS);
    if (window) ++caught;
    delivered += 2;
    ASSERT_TRUE(victim_driver->wait_for_received(delivered))
        << "attempt " << attempt << (window ? " (written inside the window)" : "");
  }
  RecordProperty("windows_caught", caught);
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
}

INSTANTIATE_TEST_SUITE_P(Roles, LostWakeup,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);

}  // namespace
}  // namespace vmb::testing
