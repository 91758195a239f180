// SPDX-License-Identifier: MIT
// BasicChannelPairTest<Driver>: the fixture the channel tests share — a server and a client
// Channel on one LoopbackBus (1024 guest pages, two dispatch and two passive threads), each with
// a Driver (RecordingDriver here, VictimDriver in tests/faults), the server offering kPairType/
// kPairInstance and the client targeting the type. open_both() enables and starts both and
// waits (bounded) until both post-started; make_pair() replaces the pair with new, Disabled
// channels. ChannelPairTest is the RecordingDriver flavour. Test-only; header-only so it never
// enters the library.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "channel/recording_driver_for_tests.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/loopback_bus.h"

namespace vmb::testing {

inline constexpr Guid kPairType = *Guid::parse("8b6a5a2e-6f2c-4c1e-9f39-0a1b2c3d4e5f");
inline constexpr Guid kPairInstance = *Guid::parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

template <class Driver>
class BasicChannelPairTest : public ::testing::Test {
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
    auto server_driver = std::make_unique<Driver>("server");
    auto client_driver = std::make_unique<Driver>("client");
    server_events = server_driver.get();
    client_events = client_driver.get();
    server = Channel::create(*bus, EndpointRole::kServer, std::move(server_driver));
    client = Channel::create(*bus, EndpointRole::kClient, std::move(client_driver));
    ASSERT_TRUE(server->set_offer(kPairType, kPairInstance).ok());
    ASSERT_TRUE(client->set_target(kPairType, std::nullopt).ok());
  }
  // Destroys the pair (client first). A fixture whose drivers may hold packets releases them
  // here first, or Disable would wait for them.
  virtual void release_pair() {
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

  std::unique_ptr<LoopbackBus> bus;
  std::unique_ptr<Channel> server;
  std::unique_ptr<Channel> client;
  Driver* server_events = nullptr;
  Driver* client_events = nullptr;
};

using ChannelPairTest = BasicChannelPairTest<RecordingDriver>;

}  // namespace vmb::testing
