// SPDX-License-Identifier: MIT
// End-to-end tests of Channel over LoopbackBus: the open handshake and callback order, in-band
// packets with and without completions, synchronous requests (success, truncation, timeout,
// zero timeout), queueing behind a full ring, and teardown retiring outstanding sends.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "channel/channel_pair_for_tests.h"
#include "channel/recording_driver_for_tests.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/loopback_bus.h"

namespace vmb {
namespace {

using testing::RecordingDriver;

constexpr Guid kType = testing::kPairType;
constexpr Guid kInstance = testing::kPairInstance;

std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

// A server and a client channel on one loopback bus, each with a RecordingDriver.
using LoopbackPair = testing::ChannelPairTest;

TEST_F(LoopbackPair, OpenRunsCallbacksInOrder) {
  open_both();
  const auto server_log = server_events->events();
  const auto client_log = client_events->events();
  EXPECT_EQ(server_log,
            (std::vector<std::string>{"server:opened", "server:started", "server:post_started"}));
  EXPECT_EQ(client_log,
            (std::vector<std::string>{"client:opened", "client:started", "client:post_started"}));
  EXPECT_TRUE(server->is_open());
  EXPECT_TRUE(client->is_open());
  EXPECT_EQ(client->interface_instance(), kInstance);
  EXPECT_EQ(bus->link_count(), 1u);
}

TEST_F(LoopbackPair, ClientWaitsForALaterOffer) {
  ASSERT_TRUE(client->enable().ok());
  EXPECT_FALSE(client->is_open());
  ASSERT_TRUE(server->enable().ok());
  server->start();
  EXPECT_TRUE(client_events->wait_for_event("post_started"));
}

TEST_F(LoopbackPair, ServerNotStartedOpensButDoesNotStart) {
  ASSERT_TRUE(server->enable().ok());
  ASSERT_TRUE(client->enable().ok());
  ASSERT_TRUE(client_events->wait_for_event("post_started"));
  ASSERT_TRUE(server_events->wait_for_event("opened"));
  EXPECT_EQ(server_events->events(), (std::vector<std::string>{"server:opened"}));
  server->start();
  EXPECT_TRUE(server_events->wait_for_event("post_started"));
}

TEST_F(LoopbackPair, DuplicateOfferCollides) {
  ASSERT_TRUE(server->enable().ok());
  auto second = Channel::create(*bus, EndpointRole::kServer, nullptr);
  ASSERT_TRUE(second->set_offer(kType, kInstance).ok());
  EXPECT_EQ(second->enable(), STATUS_OBJECT_NAME_COLLISION);
  EXPECT_TRUE(second->is_disabled());
}

TEST_F(LoopbackPair, ServerOpenedFailureReachesClientAsPnpFailure) {
  server_events->opened_status = Status{STATUS_INSUFFICIENT_RESOURCES};
  ASSERT_TRUE(server->enable().ok());
  ASSERT_TRUE(client->enable().ok());
  ASSERT_TRUE(client_events->wait_for_event("pnp_failure:STATUS_INSUFFICIENT_RESOURCES"));
  EXPECT_FALSE(client->is_open());
  EXPECT_FALSE(server->is_open());
}

TEST_F(LoopbackPair, InBandPacketIsEchoedAsCompletion) {
  open_both();
  PacketObject* packet = client->allocate_packet();
  ASSERT_NE(packet, nullptr);
  ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
  const auto message = bytes_of("hello, vmbus!");
  ASSERT_TRUE(client->send(*packet, message, {}, kSendWaitForCompletion).ok());
  ASSERT_TRUE(client_events->wait_for_completions(1));
  const auto completed = client_events->completed();
  EXPECT_EQ(completed[0].packet, packet);
  EXPECT_EQ(completed[0].status, STATUS_SUCCESS);
  // The receiver sees the payload padded to 8 bytes; the echo carries it back.
  ASSERT_EQ(completed[0].payload.size(), 16u);
  EXPECT_EQ(std::memcmp(completed[0].payload.data(), message.data(), message.size()), 0);
  EXPECT_FALSE(packet->in_flight());
  client->free_packet(*packet);
}

TEST_F(LoopbackPair, PacketWithoutCompletionFinishesWhenWritten) {
  open_both();
  PacketObject* packet = server->allocate_packet();
  ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
  ASSERT_TRUE(server->send(*packet, bytes_of("12345678"), {}, 0).ok());
  ASSERT_TRUE(server_events->wait_for_completions(1));
  EXPECT_EQ(server_events->completed()[0].status, STATUS_SUCCESS);
  EXPECT_TRUE(server_events->completed()[0].payload.empty());
  ASSERT_TRUE(client_events->wait_for_packets(1));
}

TEST_F(LoopbackPair, SynchronousRequestCopiesCompletion) {
  open_both();
  std::vector<std::byte> reply(32);
  const auto request = bytes_of("ping....");
  const SyncRequestResult result = client->send_synchronous(
      request, nullptr, kSendWaitForCompletion, std::span<std::byte>(reply), Deadline::infinite());
  EXPECT_EQ(result.status, STATUS_SUCCESS);
  EXPECT_EQ(result.completion_bytes, 8u);
  EXPECT_EQ(std::memcmp(reply.data(), request.data(), 8), 0);
}

TEST_F(LoopbackPair, SynchronousRequestTruncatesLargeCompletion) {
  open_both();
  std::vector<std::byte> reply(8);
  const auto request = bytes_of("0123456789abcdef");
  const SyncRequestResult result = client->send_synchronous(
      request, nullptr, kSendWaitForCompletion, std::span<std::byte>(reply), Deadline::infinite());
  EXPECT_EQ(result.status, STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(result.completion_bytes, 8u);
  EXPECT_EQ(std::memcmp(reply.data(), request.data(), 8), 0);
}

// A completion larger than any packet can be (len8 is a u16), on a ring with room for it: it
// goes out without data (and an error is logged) instead of corrupting the ring or waiting
// for ever at the head of the queue; the next request is answered normally.
TEST_F(LoopbackPair, CompletionPastThePacketLimitIsSentWithoutData) {
  ASSERT_TRUE(client->set_ring_page_counts(256, 16).ok());  // server -> client: 1 MiB
  const std::vector<std::byte> huge(wire::kMaximumPacketBytes, std::byte{0x77});
  server_events->on_packet = [&](Channel& channel, IncomingPacket& packet,
                                 std::span<std::byte> payload) {
    if (payload.size() == 8) {
      channel.complete(packet, huge);
    } else {
      channel.complete(packet, payload);
    }
  };
  open_both();
  std::vector<std::byte> reply(wire::kMaximumPacketBytes);
  SyncRequestResult result = client->send_synchronous(
      bytes_of("huge...."), nullptr, kSendWaitForCompletion, std::span<std::byte>(reply),
      Deadline::after(std::chrono::seconds(20)));
  EXPECT_EQ(result.status, STATUS_SUCCESS);
  EXPECT_EQ(result.completion_bytes, 0u);
  const auto request = bytes_of("0123456789abcdef");
  result = client->send_synchronous(request, nullptr, kSendWaitForCompletion,
                                    std::span<std::byte>(reply),
                                    Deadline::after(std::chrono::seconds(20)));
  EXPECT_EQ(result.status, STATUS_SUCCESS);
  ASSERT_EQ(result.completion_bytes, request.size());
  EXPECT_EQ(std::memcmp(reply.data(), request.data(), request.size()), 0);
  EXPECT_EQ(client->failure(nullptr), STATUS_SUCCESS);
  EXPECT_EQ(server->failure(nullptr), STATUS_SUCCESS);
}

TEST_F(LoopbackPair, SynchronousRequestRejectsBadArguments) {
  open_both();
  std::vector<std::byte> reply(12);
  EXPECT_EQ(client
                ->send_synchronous({}, nullptr, kSendWaitForCompletion, std::span<std::byte>(reply),
                                   Deadline::infinite())
                .status,
            STATUS_INVALID_PARAMETER);  // not a multiple of 8
  EXPECT_EQ(client->send_synchronous({}, nullptr, 0x8, std::nullopt, Deadline::infinite()).status,
            STATUS_INVALID_PARAMETER);  // undefined flag
  // A server may only try-send without waiting.
  EXPECT_EQ(server
                ->send_synchronous({}, nullptr, kSendWaitForCompletion, std::nullopt,
                                   Deadline::immediate())
                .status,
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(server->send_synchronous({}, nullptr, 0, std::nullopt, Deadline::infinite()).status,
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(
      server
          ->send_synchronous(bytes_of("try-send"), nullptr, 0, std::nullopt, Deadline::immediate())
          .status,
      STATUS_SUCCESS);
}

TEST_F(LoopbackPair, SynchronousRequestTimesOutAndLateCompletionIsDropped) {
  // Shared with the callback: the driver records a packet before its callback runs, so the
  // callback may still run after wait_for_packets returns (or as the test ends).
  struct Held {
    std::mutex mutex;
    std::condition_variable changed;
    IncomingPacket* packet = nullptr;
  };
  const auto held = std::make_shared<Held>();
  server_events->on_packet = [held](Channel&, IncomingPacket& packet, std::span<std::byte>) {
    const std::lock_guard lock(held->mutex);
    held->packet = &packet;      // complete later, after the requester gave up
    held->changed.notify_all();  // under the lock: the test resets on_packet once it looks
  };
  open_both();
  const SyncRequestResult result =
      client->send_synchronous(bytes_of("slow...."), nullptr, kSendWaitForCompletion, std::nullopt,
                               Deadline::after(std::chrono::milliseconds(20)));
  EXPECT_EQ(result.status, STATUS_CANCELLED);
  ASSERT_TRUE(server_events->wait_for_packets(1));
  {
    std::unique_lock lock(held->mutex);
    ASSERT_TRUE(held->changed.wait_for(lock, std::chrono::seconds(30),
                                       [&] { return held->packet != nullptr; }));
    server->complete(*held->packet, bytes_of("late...."));
  }
  // The late completion is dropped, not a violation: the channel still works.
  server_events->on_packet = nullptr;
  const SyncRequestResult next = client->send_synchronous(
      bytes_of("again..."), nullptr, kSendWaitForCompletion, std::nullopt, Deadline::infinite());
  EXPECT_EQ(next.status, STATUS_SUCCESS);
  EXPECT_TRUE(client->failure(nullptr).ok());
}

TEST_F(LoopbackPair, ManySynchronousRoundTripsNeverLoseAWakeup) {
  // Regression: the receiver once unmasked interrupts before publishing read_index, so a
  // request written in between was never signalled. Each wait is bounded: a lost wakeup shows
  // as STATUS_CANCELLED instead of a hang.
  open_both();
  const auto request = bytes_of("round...trip....");
  for (int i = 0; i < 20000; ++i) {
    const SyncRequestResult result =
        client->send_synchronous(request, nullptr, kSendWaitForCompletion, std::nullopt,
                                 Deadline::after(std::chrono::seconds(30)));
    ASSERT_EQ(result.status, STATUS_SUCCESS) << "round trip " << i;
  }
}

TEST_F(LoopbackPair, ManyPacketsThroughSmallRingArriveInOrder) {
  ASSERT_TRUE(client->set_ring_page_counts(1, 1).ok());
  open_both();
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    PacketObject* packet = client->allocate_packet();
    ASSERT_NE(packet, nullptr);
    std::vector<std::byte> payload(200, std::byte{0});
    std::memcpy(payload.data(), &i, sizeof i);
    ASSERT_TRUE(client->send(*packet, payload, {}, 0).ok());
  }
  ASSERT_TRUE(server_events->wait_for_packets(kCount));
  const auto received = server_events->received();
  for (int i = 0; i < kCount; ++i) {
    int value;
    std::memcpy(&value, received[static_cast<size_t>(i)].data(), sizeof value);
    ASSERT_EQ(value, i);
  }
}

TEST_F(LoopbackPair, HeldPacketsKeepTheirBytesWhileRecordsAreReused) {
  // Packets are read straight into the record they are delivered in when they fit its buffer,
  // and copied into it when not. Packets the server holds must keep their bytes while later
  // ones arrive, in each round the records come back with buffers of other sizes.
  struct Held {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::pair<IncomingPacket*, std::span<std::byte>>> packets;
  };
  const auto held = std::make_shared<Held>();
  server_events->on_packet = [held](Channel&, IncomingPacket& packet,
                                    std::span<std::byte> payload) {
    const std::lock_guard lock(held->mutex);
    held->packets.emplace_back(&packet, payload);
    held->changed.notify_all();
  };
  open_both();
  // Completes whatever is held, also when an assertion ends the test early (a held packet
  // would keep the close waiting).
  const auto complete_held = [&] {
    const std::lock_guard lock(held->mutex);
    for (const auto& [packet, payload] : held->packets) server->complete(*packet, {});
    held->packets.clear();
  };
  const std::shared_ptr<void> at_exit(nullptr, [&](void*) { complete_held(); });
  const std::vector<size_t> sizes = {8, 512, 16, 2048, 24, 64, 4096, 8};
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      PacketObject* packet = client->allocate_packet();
      ASSERT_NE(packet, nullptr);
      const auto fill = static_cast<std::byte>(round * 16 + static_cast<int>(i) + 1);
      // Each round in another order, so a record meets both larger and smaller packets.
      const size_t size = sizes[(i + static_cast<size_t>(round) * 3) % sizes.size()];
      ASSERT_TRUE(client->send(*packet, std::vector<std::byte>(size, fill), {}, 0).ok());
    }
    // The driver records a packet before its callback runs: wait for the callbacks.
    std::unique_lock lock(held->mutex);
    ASSERT_TRUE(held->changed.wait_for(lock, std::chrono::seconds(30),
                                       [&] { return held->packets.size() == sizes.size(); }));
    for (size_t i = 0; i < sizes.size(); ++i) {
      const auto fill = static_cast<std::byte>(round * 16 + static_cast<int>(i) + 1);
      const std::span<std::byte> payload = held->packets[i].second;
      ASSERT_EQ(payload.size(), sizes[(i + static_cast<size_t>(round) * 3) % sizes.size()]);
      EXPECT_TRUE(
          std::all_of(payload.begin(), payload.end(), [&](std::byte b) { return b == fill; }))
          << "round " << round << ", packet " << i;
      EXPECT_EQ(held->packets[i].first->payload().data(), payload.data());
    }
    lock.unlock();
    complete_held();
  }
  EXPECT_TRUE(server->failure(nullptr).ok());
}

TEST_F(LoopbackPair, ClientDisableClosesServerAndRetiresOutstanding) {
  IncomingPacket* held = nullptr;
  std::mutex held_mutex;
  server_events->on_packet = [&](Channel&, IncomingPacket& packet, std::span<std::byte>) {
    const std::lock_guard lock(held_mutex);
    held = &packet;
  };
  open_both();
  PacketObject* packet = client->allocate_packet();
  ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
  ASSERT_TRUE(client->send(*packet, bytes_of("pending."), {}, kSendWaitForCompletion).ok());
  ASSERT_TRUE(server_events->wait_for_packets(1));
  client->disable();  // does not wait for the server
  EXPECT_TRUE(client->is_disabled());
  const auto completed = client_events->completed();
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].status, STATUS_DEVICE_REMOVED);
  EXPECT_EQ(client_events->events(),
            (std::vector<std::string>{"client:opened", "client:started", "client:post_started",
                                      "client:suspend", "client:closed"}));
  // The server suspends and waits for its delivered packet before Closed.
  ASSERT_TRUE(server_events->wait_for_event("suspend"));
  {
    const std::lock_guard lock(held_mutex);
    server->complete(*held, {});  // nobody to send the completion to: released only
  }
  ASSERT_TRUE(server_events->wait_for_event("closed"));
  server->pause();  // waits for the server's control events, so the close has finished
  EXPECT_FALSE(server->is_open());
  EXPECT_FALSE(server->is_disabled());  // still offered
}

TEST_F(LoopbackPair, ReopenAfterClientDisable) {
  open_both();
  client->disable();
  ASSERT_TRUE(server_events->wait_for_event("closed"));
  ASSERT_TRUE(client->enable().ok());
  ASSERT_TRUE(client_events->wait_for_event("post_started", 2));
  const SyncRequestResult result = client->send_synchronous(
      bytes_of("again..."), nullptr, kSendWaitForCompletion, std::nullopt, Deadline::infinite());
  EXPECT_EQ(result.status, STATUS_SUCCESS);
}

TEST_F(LoopbackPair, SendOnDisabledChannelIsDeviceRemoved) {
  PacketObject* packet = client->allocate_packet();
  EXPECT_EQ(client->send(*packet, bytes_of("nobody.."), {}, 0), STATUS_DEVICE_REMOVED);
  EXPECT_FALSE(packet->in_flight());
  client->free_packet(*packet);
}

}  // namespace
}  // namespace vmb
