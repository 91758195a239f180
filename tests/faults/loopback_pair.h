// SPDX-License-Identifier: MIT
// LoopbackPairTest: a server and a client channel on one LoopbackBus, each with a VictimDriver,
// for the race tests where both sides run the real channel code. Bounded waits only.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "hostile_fixture.h"
#include "vmbkit/channel/loopback_bus.h"

namespace vmb::testing {

class LoopbackPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = LoopbackBus::create(LoopbackBus::Options{1024, 2, 2});
    ASSERT_TRUE(created);
    bus = std::move(*created);
    ASSERT_NO_FATAL_FAILURE(make_pair());
  }
  void TearDown() override {
    release_pair();
    bus.reset();
  }
  // Replaces the pair with two new, Disabled channels (and new drivers).
  void make_pair() {
    release_pair();
    auto server_driver = std::make_unique<VictimDriver>("server");
    auto client_driver = std::make_unique<VictimDriver>("client");
    server_events = server_driver.get();
    client_events = client_driver.get();
    server = Channel::create(*bus, EndpointRole::kServer, std::move(server_driver));
    client = Channel::create(*bus, EndpointRole::kClient, std::move(client_driver));
    ASSERT_TRUE(server->set_offer(kVictimType, kVictimInstance).ok());
    ASSERT_TRUE(client->set_target(kVictimType, std::nullopt).ok());
  }
  void release_pair() {
    // A test that failed half-way may leave packets held: Disable would wait for them.
    for (auto [channel, events] :
         {std::pair{server.get(), server_events}, std::pair{client.get(), client_events}}) {
      if (channel == nullptr) continue;
      events->set_mode(VictimDriver::Mode::kEcho);
      for (IncomingPacket* packet : events->take_held()) channel->complete(*packet, {});
    }
    client.reset();
    server.reset();
  }
  // Enables both (again) and waits until both run: `opens` counts the opens so far.
  void open_both(size_t opens = 1) {
    ASSERT_TRUE(server->enable().ok());
    server->start();
    ASSERT_TRUE(client->enable().ok());
    ASSERT_TRUE(server_events->wait_for_event("post_started", opens));
    ASSERT_TRUE(client_events->wait_for_event("post_started", opens));
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

  std::unique_ptr<LoopbackBus> bus;
  std::unique_ptr<Channel> server;
  std::unique_ptr<Channel> client;
  VictimDriver* server_events = nullptr;
  VictimDriver* client_events = nullptr;
};

}  // namespace vmb::testing
