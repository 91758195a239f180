// SPDX-License-Identifier: MIT
// The peer dies at every phase of a channel's life: while the open is in flight, with
// requests outstanding, queued and waiting synchronously, while the victim holds delivered
// packets, racing the victim's own Disable, and (on a loopback pair) while a client waits to
// tear down a GPADL the server has mapped. A peer going away is not a failure: no reason is
// recorded, every outstanding transaction ends with STATUS_DEVICE_REMOVED exactly once, every
// blocked call returns, and nothing hangs.
#include <algorithm>
#include <future>
#include <thread>

#include "hostile_fixture.h"
#include "vmbkit/channel/loopback_bus.h"

namespace vmb::testing {
namespace {

using PeerDeath = HostileChannelTest;

bool contains(const std::vector<std::string>& events, const std::string& event) {
  return std::find(events.begin(), events.end(), event) != events.end();
}

TEST_P(PeerDeath, WhileOpening) {
  ASSERT_TRUE(victim->enable().ok());
  if (victim->is_server()) victim->start();
  peer = bus->wait_for_peer(*victim, kPeerWait);
  ASSERT_NE(peer, nullptr);
  peer->close();  // the open request is still queued on the victim's control task
  // Either the victim opens and then sees the close, or it sees both in order: it must end
  // closed, with every state callback paired.
  ASSERT_TRUE(peer->wait_for_victim_close(kPeerWait));
  ASSERT_TRUE(victim_driver->wait_for_event("closed"));
  EXPECT_FALSE(victim->is_open());
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_bystanders_work();
}

TEST_P(PeerDeath, WithRequestsOutstandingAndQueued) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  // Fill the ring (the peer reads no more) so that later sends queue.
  const std::vector<std::byte> payload = pattern_bytes(1000);
  size_t sent = 0;
  while (peer->from_victim().pending_send_size() == 0 && sent < 200) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    ASSERT_EQ(victim->send(*packet, payload, {}, kSendWaitForCompletion), STATUS_SUCCESS);
    ++sent;
  }
  ASSERT_NE(peer->from_victim().pending_send_size(), 0u);
  outstanding += sent;
  peer->close();
  EXPECT_TRUE(victim_driver->wait_for_status(STATUS_DEVICE_REMOVED, outstanding));
  ASSERT_TRUE(victim_driver->wait_for_event("closed"));
  EXPECT_EQ(victim_driver->count(STATUS_DEVICE_REMOVED), outstanding);
  EXPECT_EQ(victim_driver->completions(), outstanding);
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_bystanders_work();
}

using PeerDeathOnClient = HostileChannelFixture;

TEST_F(PeerDeathOnClient, EndsAWaitingSynchronousRequest) {
  set_up(EndpointRole::kClient, {});
  ASSERT_NO_FATAL_FAILURE(open_victim());
  std::vector<std::byte> reply(16);
  auto result = std::async(std::launch::async, [&] {
    return victim->send_synchronous(pattern_bytes(16), nullptr, kSendWaitForCompletion,
                                    std::span<std::byte>(reply), Deadline::after(2 * kPeerWait));
  });
  ASSERT_TRUE(peer->receive(kPeerWait).has_value());
  peer->close();
  ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready);
  EXPECT_EQ(result.get().status, STATUS_DEVICE_REMOVED);
  expect_bystanders_work();
}

TEST_P(PeerDeath, WhileTheVictimHoldsDeliveredPackets) {
  victim_driver->set_mode(VictimDriver::Mode::kHold);
  ASSERT_NO_FATAL_FAILURE(open_victim());
  for (uint64_t id = 1; id <= 5; ++id) {
    ASSERT_EQ(peer->send_inband(pattern_bytes(32), id, true), STATUS_SUCCESS);
  }
  ASSERT_TRUE(victim_driver->wait_for_received(5));
  peer->close();
  // The close sequence suspends, then waits for every delivered packet to be completed.
  ASSERT_TRUE(victim_driver->wait_for_event("suspend"));
  EXPECT_FALSE(contains(victim_driver->events(), "victim:closed"));
  std::vector<IncomingPacket*> held = victim_driver->take_held();
  ASSERT_EQ(held.size(), 5u);
  // Completed from another thread, after the peer is gone: released, not written.
  std::thread completer([&] {
    for (IncomingPacket* packet : held) victim->complete(*packet, pattern_bytes(8));
  });
  completer.join();
  ASSERT_TRUE(victim_driver->wait_for_event("closed"));
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_bystanders_work();
}

TEST_P(PeerDeath, RacingTheVictimsDisable) {
  for (int round = 0; round < 20; ++round) {
    if (round != 0) {
      TearDown();
      outstanding = 0;
      ASSERT_NO_FATAL_FAILURE(set_up(GetParam(), {}));
    }
    ASSERT_NO_FATAL_FAILURE(open_victim());
    send_outstanding(4);
    std::thread killer([&] { peer->close(); });
    auto disabled = std::async(std::launch::async, [&] { victim->disable(); });
    killer.join();
    ASSERT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready) << "round " << round;
    EXPECT_TRUE(victim->is_disabled());
    // Exactly once each, whichever side won.
    EXPECT_TRUE(victim_driver->wait_for_status(STATUS_DEVICE_REMOVED, outstanding));
    EXPECT_EQ(victim_driver->completions(), outstanding);
    EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  }
  expect_bystanders_work();
}

INSTANTIATE_TEST_SUITE_P(Roles, PeerDeath,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);

// ---- GPADL teardown waiting for a server that goes away (a real loopback pair) ----

TEST(PeerDeathLoopback, ServerGoesAwayWhileTheClientTearsDownAMappedGpadl) {
  auto created = LoopbackBus::create(LoopbackBus::Options{1024, 2, 2});
  ASSERT_TRUE(created);
  std::unique_ptr<LoopbackBus> bus = std::move(*created);
  auto server_driver = std::make_unique<VictimDriver>("server");
  auto client_driver = std::make_unique<VictimDriver>("client");
  VictimDriver* server_events = server_driver.get();
  VictimDriver* client_events = client_driver.get();
  auto server = Channel::create(*bus, EndpointRole::kServer, std::move(server_driver));
  auto client = Channel::create(*bus, EndpointRole::kClient, std::move(client_driver));
  ASSERT_TRUE(server->set_offer(kVictimType, kVictimInstance).ok());
  ASSERT_TRUE(client->set_target(kVictimType, std::nullopt).ok());
  ASSERT_TRUE(server->enable().ok());
  server->start();
  ASSERT_TRUE(client->enable().ok());
  ASSERT_TRUE(server_events->wait_for_event("post_started"));
  ASSERT_TRUE(client_events->wait_for_event("post_started"));

  Result<GuestBuffer> buffer = bus->memory().allocate_pages(4);
  ASSERT_TRUE(buffer);
  const Result<uint32_t> handle = client->create_gpadl(buffer->address, 4 * wire::kPageSize, false);
  ASSERT_TRUE(handle);
  ASSERT_TRUE(server->map_gpadl(*handle, false));
  // KMCL: teardown waits while the server has the GPADL mapped, or until the server is gone.
  auto teardown = std::async(std::launch::async, [&] { client->delete_gpadl(*handle); });
  server->disable();
  ASSERT_EQ(teardown.wait_for(kPeerWait), std::future_status::ready);
  client.reset();
  server.reset();
  EXPECT_TRUE(bus->memory().free(buffer->address).ok());
}

}  // namespace
}  // namespace vmb::testing
