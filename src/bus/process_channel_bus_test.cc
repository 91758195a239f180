// SPDX-License-Identifier: MIT
// HostChannelBus and GuestChannelBus with real Channel endpoints, in one process (the
// fork-based tests are in tests/integration): the open handshake through the VMBus messages,
// packets with completions both ways, many packets through small rings, closing from either
// side, rescind on server Disable, a second guest refused while the first holds the channel,
// and either bus going away under open channels.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "bus/bus_test_support.h"
#include "channel/recording_driver_for_tests.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"
#include "vmbkit/channel/channel.h"

namespace vmb::bus::testing {
namespace {

using vmb::testing::RecordingDriver;

constexpr Guid kType = *Guid::parse("8b6a5a2e-6f2c-4c1e-9f39-0a1b2c3d4e5f");
constexpr Guid kInstance = *Guid::parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");

std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

class ProcessChannelBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HostChannelBus::Options host_options;
    host_options.dispatch_threads = 2;
    auto host = HostChannelBus::listen(directory_.socket_path(), host_options);
    ASSERT_TRUE(host.has_value()) << to_string(host.status());
    host_ = std::move(host.value());
    auto driver = std::make_unique<RecordingDriver>("server");
    server_events_ = driver.get();
    server_ = Channel::create(*host_, EndpointRole::kServer, std::move(driver));
    ASSERT_TRUE(server_->set_offer(kType, kInstance).ok());
  }
  void TearDown() override {
    client_.reset();
    guest_.reset();
    server_.reset();
    host_.reset();
  }
  std::unique_ptr<GuestChannelBus> connect_guest() {
    GuestChannelBus::Options options;
    options.dispatch_threads = 2;
    options.client.memory_pages = 512;
    auto guest = GuestChannelBus::connect(directory_.socket_path(), options);
    EXPECT_TRUE(guest.has_value()) << to_string(guest.status());
    return guest.has_value() ? std::move(guest.value()) : nullptr;
  }
  std::unique_ptr<Channel> make_client(GuestChannelBus& guest, RecordingDriver** events,
                                       const char* name = "client") {
    auto driver = std::make_unique<RecordingDriver>(name);
    *events = driver.get();
    auto client = Channel::create(guest, EndpointRole::kClient, std::move(driver));
    EXPECT_TRUE(client->set_target(kType, std::nullopt).ok());
    return client;
  }
  void open_both() {
    ASSERT_TRUE(server_->enable().ok());
    server_->start();
    guest_ = connect_guest();
    ASSERT_NE(guest_, nullptr);
    client_ = make_client(*guest_, &client_events_);
    ASSERT_TRUE(client_->enable().ok());
    ASSERT_TRUE(server_events_->wait_for_event("post_started"));
    ASSERT_TRUE(client_events_->wait_for_event("post_started"));
  }

  SocketDirectory directory_;
  std::unique_ptr<HostChannelBus> host_;
  std::unique_ptr<Channel> server_;
  RecordingDriver* server_events_ = nullptr;
  std::unique_ptr<GuestChannelBus> guest_;
  std::unique_ptr<Channel> client_;
  RecordingDriver* client_events_ = nullptr;
};

TEST_F(ProcessChannelBusTest, OpensAndEchoesAPacketWithItsCompletion) {
  open_both();
  EXPECT_EQ(client_->interface_instance(), kInstance);
  PacketObject* packet = client_->allocate_packet();
  ASSERT_NE(packet, nullptr);
  ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
  const auto message = bytes_of("across the bus!!");
  ASSERT_TRUE(client_->send(*packet, message, {}, kSendWaitForCompletion).ok());
  ASSERT_TRUE(client_events_->wait_for_completions(1));
  const auto completed = client_events_->completed();
  EXPECT_EQ(completed[0].status, STATUS_SUCCESS);
  ASSERT_EQ(completed[0].payload.size(), 16u);
  EXPECT_EQ(std::memcmp(completed[0].payload.data(), message.data(), message.size()), 0);
  client_->free_packet(*packet);
}

TEST_F(ProcessChannelBusTest, ManyPacketsThroughSmallRingsArriveInOrder) {
  ASSERT_TRUE(server_->enable().ok());
  server_->start();
  guest_ = connect_guest();
  ASSERT_NE(guest_, nullptr);
  client_ = make_client(*guest_, &client_events_);
  ASSERT_TRUE(client_->set_ring_page_counts(1, 1).ok());
  ASSERT_TRUE(client_->enable().ok());
  ASSERT_TRUE(client_events_->wait_for_event("post_started"));
  constexpr uint32_t kPackets = 3000;
  for (uint32_t i = 0; i < kPackets; ++i) {
    PacketObject* packet = client_->allocate_packet();
    ASSERT_NE(packet, nullptr);
    std::vector<std::byte> payload(24);
    std::memcpy(payload.data(), &i, sizeof i);
    ASSERT_TRUE(client_->send(*packet, payload, {}, 0).ok());
  }
  ASSERT_TRUE(server_events_->wait_for_packets(kPackets)) << server_events_->received().size();
  const auto received = server_events_->received();
  for (uint32_t i = 0; i < kPackets; ++i) {
    uint32_t value = 0;
    std::memcpy(&value, received[i].data(), sizeof value);
    ASSERT_EQ(value, i);
  }
}

TEST_F(ProcessChannelBusTest, ServerToClientTrafficWithCompletions) {
  open_both();
  for (int i = 0; i < 50; ++i) {
    PacketObject* packet = server_->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    ASSERT_TRUE(server_->send(*packet, bytes_of("hostdata"), {}, kSendWaitForCompletion).ok());
  }
  ASSERT_TRUE(client_events_->wait_for_packets(50)) << client_events_->received().size();
  ASSERT_TRUE(server_events_->wait_for_completions(50)) << server_events_->completed().size();
  for (const auto& completed : server_events_->completed()) {
    EXPECT_EQ(completed.status, STATUS_SUCCESS);
  }
}

TEST_F(ProcessChannelBusTest, ClientDisableClosesTheServerAndAReopenWorks) {
  open_both();
  client_->disable();
  ASSERT_TRUE(server_events_->wait_for_event("closed"));
  ASSERT_TRUE(client_->enable().ok());
  ASSERT_TRUE(server_events_->wait_for_event("opened", 2));
  ASSERT_TRUE(client_events_->wait_for_event("opened", 2));
}

TEST_F(ProcessChannelBusTest, AClientReopeningAtOnceFindsALiveServerEachTime) {
  // Disable and Enable back to back: the guest's CLOSECHANNEL and its next OPENCHANNEL can both
  // reach the host before the server channel has run its close sequence. That late close must
  // end only the old connection, not the new one (nor rescind the offer under it). A slow
  // closed() callback on the server widens that window.
  server_events_->on_closed = [](Channel&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  open_both();
  constexpr size_t kRounds = 20;
  for (size_t round = 0; round < kRounds; ++round) {
    client_->disable();
    ASSERT_TRUE(client_->enable().ok());
    ASSERT_TRUE(client_events_->wait_for_event("post_started", round + 2)) << "round " << round;
    PacketObject* packet = client_->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    ASSERT_TRUE(client_->send(*packet, bytes_of("round trip"), {}, kSendWaitForCompletion).ok());
    ASSERT_TRUE(client_events_->wait_for_completions(round + 1)) << "round " << round;
    EXPECT_EQ(client_events_->completed().back().status, STATUS_SUCCESS) << "round " << round;
    client_->free_packet(*packet);
  }
  for (const std::string& event : client_events_->events()) {
    EXPECT_EQ(event.find("pnp_failure"), std::string::npos) << event;
  }
}

TEST_F(ProcessChannelBusTest, AGuestReusesItsRingPagesOnlyAfterTheServerLetGoOfThem) {
  // The guest's close waits for the ring GPADL's teardown, and the host answers it only once
  // the server channel's connection is gone: until then the server may still touch the rings,
  // and a guest that reused the pages for a new open would see them written.
  // The gate outlives this body: the server closes again in TearDown (the client's destructor
  // disables it), and a failed assertion ends the body early. Once released, it stays open.
  struct Gate {
    std::mutex mutex;
    std::condition_variable changed;
    bool released = false;
    std::atomic<int> closes{0};
    void release() {
      {
        const std::lock_guard lock(mutex);
        released = true;
      }
      changed.notify_all();
    }
  };
  const auto gate = std::make_shared<Gate>();
  server_events_->on_closed = [gate](Channel&) {
    gate->closes.fetch_add(1);
    std::unique_lock lock(gate->mutex);
    gate->changed.wait_for(lock, kTestDeadline, [&] { return gate->released; });
  };
  open_both();
  std::atomic<bool> disabled{false};
  std::thread disabling([this, &disabled] {
    client_->disable();
    disabled.store(true);
  });
  // Whatever happens below, the disabling thread is let go and joined before the body ends.
  struct Joiner {
    Gate& gate;
    std::thread& thread;
    ~Joiner() {
      gate.release();
      if (thread.joinable()) thread.join();
    }
  } joiner{*gate, disabling};
  ASSERT_TRUE(server_events_->wait_for_event("closed"));
  // The server is inside closed(), its connection still alive: the guest's Disable waits.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(disabled.load());
  gate->release();
  disabling.join();
  EXPECT_TRUE(disabled.load());
  ASSERT_TRUE(client_->enable().ok());
  ASSERT_TRUE(client_events_->wait_for_event("post_started", 2));
  PacketObject* packet = client_->allocate_packet();
  ASSERT_NE(packet, nullptr);
  ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
  ASSERT_TRUE(client_->send(*packet, bytes_of("after reuse"), {}, kSendWaitForCompletion).ok());
  ASSERT_TRUE(client_events_->wait_for_completions(1));
  EXPECT_EQ(client_events_->completed()[0].status, STATUS_SUCCESS);
  client_->free_packet(*packet);
  EXPECT_EQ(gate->closes.load(), 1);
}

TEST_F(ProcessChannelBusTest, ServerDisableRescindsAndTheClientCloses) {
  open_both();
  server_->disable();
  ASSERT_TRUE(client_events_->wait_for_event("closed"));
  // Enabled again, the server offers anew; the client, disabled and enabled again while it may
  // be opening the new offer, still opens it (regression: docs/reliability.md §5).
  ASSERT_TRUE(server_->enable().ok());
  server_->start();
  client_->disable();
  ASSERT_TRUE(client_->enable().ok());
  ASSERT_TRUE(client_events_->wait_for_event("opened", 2)) << [&] {
    std::string log;
    for (const auto& event : client_events_->events()) log += event + " ";
    return log;
  }();
}

TEST_F(ProcessChannelBusTest, ASecondGuestIsRefusedWhileTheFirstHoldsTheChannel) {
  open_both();
  auto second_guest = connect_guest();
  ASSERT_NE(second_guest, nullptr);
  RecordingDriver* second_events = nullptr;
  auto second = make_client(*second_guest, &second_events, "second");
  ASSERT_TRUE(second->enable().ok());
  // The host's refusal (OPENCHANNEL_RESULT failure) reaches the driver as a PnP failure.
  ASSERT_TRUE(second_events->wait_for_event("pnp_failure:STATUS_UNSUCCESSFUL"));
  EXPECT_TRUE(client_->is_open());
  second.reset();
}

TEST_F(ProcessChannelBusTest, TheGuestBusGoingAwayClosesTheServer) {
  open_both();
  client_.reset();  // Disable + destroy
  guest_.reset();
  ASSERT_TRUE(server_events_->wait_for_event("closed"));
  // A new guest can open the offer again.
  guest_ = connect_guest();
  ASSERT_NE(guest_, nullptr);
  client_ = make_client(*guest_, &client_events_);
  ASSERT_TRUE(client_->enable().ok());
  ASSERT_TRUE(client_events_->wait_for_event("post_started"));
}

TEST_F(ProcessChannelBusTest, LosingTheHostEndsOutstandingRequestsWithDeviceRemoved) {
  std::mutex held_mutex;
  std::condition_variable held_changed;
  IncomingPacket* held = nullptr;
  server_events_->on_packet = [&](Channel&, IncomingPacket& packet, std::span<std::byte>) {
    {
      const std::lock_guard lock(held_mutex);
      held = &packet;  // not completed: the request stays outstanding
    }
    held_changed.notify_all();
  };
  open_both();
  PacketObject* packet = client_->allocate_packet();
  ASSERT_NE(packet, nullptr);
  ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
  ASSERT_TRUE(client_->send(*packet, bytes_of("pending."), {}, kSendWaitForCompletion).ok());
  {
    std::unique_lock lock(held_mutex);
    ASSERT_TRUE(held_changed.wait_for(lock, kTestDeadline, [&] { return held != nullptr; }));
  }
  const auto guests = host_->server().guests();
  ASSERT_EQ(guests.size(), 1u);
  ASSERT_TRUE(host_->server().disconnect_guest(guests[0], "test drops the guest").ok());
  ASSERT_TRUE(client_events_->wait_for_event("closed"));
  ASSERT_TRUE(client_events_->wait_for_completions(1));
  EXPECT_EQ(client_events_->completed()[0].status, STATUS_DEVICE_REMOVED);
  server_->complete(*held, {});  // lets the server's close sequence finish
  ASSERT_TRUE(server_events_->wait_for_event("closed"));
}

}  // namespace
}  // namespace vmb::bus::testing
