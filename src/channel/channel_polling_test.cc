// SPDX-License-Identifier: MIT
// Busy-poll mode and channel statistics over LoopbackBus: polled synchronous requests (either
// side or both polling), packets the peer sends to a requester that polls its ring inline,
// process-packet callbacks never overlapping, Disable while requests poll, no lost packets,
// and exact counters (including signals) where the scenario fixes them. No timing assertions.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "channel/channel_pair_for_tests.h"
#include "channel/recording_driver_for_tests.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/loopback_bus.h"

namespace vmb {
namespace {

using testing::RecordingDriver;

constexpr auto kBound = std::chrono::seconds(30);

std::vector<std::byte> numbered(uint32_t value, size_t bytes) {
  std::vector<std::byte> payload(bytes, std::byte{0x77});
  std::memcpy(payload.data(), &value, sizeof value);
  return payload;
}

// Whether the first `count` payloads are numbered 0, 1, ... count - 1 (see numbered()).
::testing::AssertionResult numbered_in_order(const std::vector<std::vector<std::byte>>& received,
                                             uint32_t count) {
  if (received.size() < count) {
    return ::testing::AssertionFailure() << received.size() << " packets, expected " << count;
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t value;
    std::memcpy(&value, received[i].data(), sizeof value);
    if (value != i) return ::testing::AssertionFailure() << "packet " << i << " is " << value;
  }
  return ::testing::AssertionSuccess();
}

// Waits (bounded) until `predicate` holds, re-checking as the channels work.
template <typename Predicate>
bool eventually(Predicate predicate) {
  const auto until = std::chrono::steady_clock::now() + kBound;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

class PollMode : public testing::ChannelPairTest {
 protected:
  void open_both(bool server_polls, bool client_polls) {
    ASSERT_TRUE(server->set_polling(server_polls).ok());
    ASSERT_TRUE(client->set_polling(client_polls).ok());
    testing::ChannelPairTest::open_both();
  }
  // Opens both, the server paused (open, not started): what the client sends waits in the ring.
  void open_with_server_paused(bool polled) {
    server->pause();  // the next Enable comes up paused
    ASSERT_TRUE(server->set_polling(polled).ok());
    ASSERT_TRUE(client->set_polling(polled).ok());
    ASSERT_TRUE(server->enable().ok());
    ASSERT_TRUE(client->enable().ok());
    ASSERT_TRUE(client_events->wait_for_event("post_started"));
    ASSERT_TRUE(server_events->wait_for_event("opened"));
  }
  // Runs `body` twice on fresh channels opened by open_with_server_paused: in event mode,
  // then polled.
  void with_server_paused_in_both_modes(const std::function<void()>& body) {
    for (const bool polled : {false, true}) {
      SCOPED_TRACE(polled ? "polled" : "event");
      if (polled) {
        TearDown();
        SetUp();
      }
      ASSERT_NO_FATAL_FAILURE(open_with_server_paused(polled));
      ASSERT_NO_FATAL_FAILURE(body());
    }
  }
  // `count` synchronous requests of 32 bytes, each answered with its own payload.
  void round_trips(uint32_t count) {
    std::vector<std::byte> reply(32);
    for (uint32_t i = 0; i < count; ++i) {
      const std::vector<std::byte> request = numbered(i, 32);
      const SyncRequestResult result =
          client->send_synchronous(request, nullptr, kSendWaitForCompletion,
                                   std::span<std::byte>(reply), Deadline::after(kBound));
      ASSERT_EQ(result.status, STATUS_SUCCESS) << "request " << i;
      ASSERT_EQ(result.completion_bytes, 32u);
      ASSERT_EQ(reply, request) << "request " << i;
    }
  }
};

TEST_F(PollMode, SetOnlyWhileDisabled) {
  EXPECT_FALSE(client->polling());
  ASSERT_TRUE(client->set_polling(true).ok());
  EXPECT_TRUE(client->polling());
  open_both(true, true);
  EXPECT_EQ(client->set_polling(false), STATUS_INVALID_DEVICE_STATE);
  EXPECT_EQ(server->set_polling(false), STATUS_INVALID_DEVICE_STATE);
  EXPECT_TRUE(client->polling());
  client->disable();
  EXPECT_TRUE(client->set_polling(false).ok());
  EXPECT_FALSE(client->polling());
}

TEST_F(PollMode, RoundTripsWithBothSidesPolling) {
  open_both(true, true);
  constexpr uint32_t kCount = 5000;
  round_trips(kCount);
  const ChannelStatistics sent = client->statistics();
  EXPECT_EQ(sent.packets_sent, kCount);
  EXPECT_EQ(sent.bytes_sent, 32u * kCount);
  EXPECT_EQ(sent.completions_received, kCount);
  EXPECT_EQ(sent.packets_received, kCount);
  EXPECT_EQ(sent.bytes_received, 32u * kCount);
  EXPECT_EQ(sent.completions_sent, 0u);
  const ChannelStatistics served = server->statistics();
  EXPECT_EQ(served.packets_received, kCount);
  EXPECT_EQ(served.completions_sent, kCount);
  EXPECT_EQ(served.packets_sent, kCount);
  EXPECT_TRUE(client->failure(nullptr).ok());
  EXPECT_TRUE(server->failure(nullptr).ok());
}

TEST_F(PollMode, RoundTripsWithOnlyTheClientPolling) {
  open_both(false, true);
  round_trips(3000);
}

TEST_F(PollMode, RoundTripsWithOnlyTheServerPolling) {
  open_both(true, false);
  round_trips(3000);
}

// One-page rings wrap every few dozen requests: polled requests match their completions in
// packets that wrap the ring.
TEST_F(PollMode, RoundTripsThroughOnePageRingsWrapThem) {
  ASSERT_TRUE(client->set_ring_page_counts(1, 1).ok());
  open_both(true, true);
  constexpr uint32_t kCount = 3000;
  round_trips(kCount);
  EXPECT_EQ(client->statistics().completions_received, kCount);
  EXPECT_TRUE(client->failure(nullptr).ok());
  EXPECT_TRUE(server->failure(nullptr).ok());
}

// A requester that polls its ring inline also delivers what the server sends on its own,
// in order, one process-packet callback at a time.
TEST_F(PollMode, ServerPacketsReachAPollingRequesterInOrderWithoutOverlap) {
  // Shared with the callback: the driver records a packet before its callback runs, so the
  // last callback may still run as the test ends.
  struct Counts {
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
  };
  const auto counts = std::make_shared<Counts>();
  client_events->on_packet = [counts](Channel& channel, IncomingPacket& packet,
                                      std::span<std::byte>) {
    if (counts->inside.fetch_add(1) != 0) counts->overlaps.fetch_add(1);
    std::this_thread::yield();
    counts->inside.fetch_sub(1);
    channel.complete(packet, {});
  };
  open_both(true, true);
  constexpr uint32_t kPushed = 3000;
  std::thread pusher([&] {
    for (uint32_t i = 0; i < kPushed; ++i) {
      PacketObject* packet = server->allocate_packet();
      if (packet == nullptr) return;
      if (!server->send(*packet, numbered(i, 24), {}, 0).ok()) return;
    }
  });
  round_trips(2000);
  pusher.join();
  ASSERT_TRUE(client_events->wait_for_packets(kPushed));
  const auto received = client_events->received();
  ASSERT_EQ(received.size(), kPushed);
  ASSERT_TRUE(numbered_in_order(received, kPushed));
  EXPECT_EQ(counts->overlaps.load(), 0);
  EXPECT_TRUE(client->failure(nullptr).ok());
}

// The server sends a packet of its own before each completion, so a polling requester finds
// that packet in front of its completion: it is delivered (in order, none lost), and the
// completion still finishes the request.
TEST_F(PollMode, APacketAheadOfTheCompletionIsDeliveredToo) {
  server_events->on_packet = [](Channel& channel, IncomingPacket& packet,
                                std::span<std::byte> payload) {
    PacketObject* ahead = channel.allocate_packet();
    ASSERT_NE(ahead, nullptr);
    ASSERT_TRUE(channel.send(*ahead, payload, {}, 0).ok());
    channel.complete(packet, payload);
  };
  open_both(true, true);
  constexpr uint32_t kCount = 2000;
  round_trips(kCount);
  ASSERT_TRUE(client_events->wait_for_packets(kCount));
  const auto received = client_events->received();
  ASSERT_EQ(received.size(), kCount);
  ASSERT_TRUE(numbered_in_order(received, kCount));
  EXPECT_EQ(client->statistics().completions_received, kCount);
  EXPECT_TRUE(client->failure(nullptr).ok());
}

// After a polled request the requester's ring is left as an idle channel's: its read_index
// published and interrupts unmasked, so a packet the server sends next is signalled and
// delivered (a stale read_index would make the ring look non-empty to the server, which would
// then not signal).
TEST_F(PollMode, APacketAfterAPolledRequestIsSignalledAndDelivered) {
  open_both(true, true);
  constexpr uint32_t kRounds = 50;
  for (uint32_t i = 0; i < kRounds; ++i) {
    round_trips(1);
    PacketObject* packet = server->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(server->send(*packet, numbered(i, 24), {}, 0).ok());
    ASSERT_TRUE(client_events->wait_for_packets(i + 1)) << "round " << i;
  }
  EXPECT_TRUE(client->failure(nullptr).ok());
}

TEST_F(PollMode, ManyPacketsThroughASmallRingArriveInOrder) {
  ASSERT_TRUE(client->set_ring_page_counts(1, 1).ok());
  open_both(true, true);
  constexpr uint32_t kCount = 5000;
  for (uint32_t i = 0; i < kCount; ++i) {
    PacketObject* packet = client->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(client->send(*packet, numbered(i, 200), {}, 0).ok());
  }
  ASSERT_TRUE(server_events->wait_for_packets(kCount));
  const auto received = server_events->received();
  ASSERT_TRUE(numbered_in_order(received, kCount));
  EXPECT_EQ(server->statistics().packets_received, kCount);
}

// The client's dispatch task holds the drain (it is inside a process-packet callback) when a
// polled request is sent: the requester waits for the drain and asks for it, and whoever ends
// up with the completion finishes the request. Nothing is lost: the server's next packet is
// signalled and delivered (a task that let go but left the ring masked would strand it).
TEST_F(PollMode, ARequestWaitingForTheDrainCompletesAndLosesNothing) {
  // Shared with the callback: the driver records a packet before its callback runs, so the
  // last callback may still run as the test ends.
  struct Gate {
    std::atomic<bool> hold{false};
    std::atomic<bool> inside{false};
    std::atomic<bool> let_go{false};
  };
  const auto gate = std::make_shared<Gate>();
  std::atomic<bool>& hold = gate->hold;
  std::atomic<bool>& inside = gate->inside;
  std::atomic<bool>& let_go = gate->let_go;
  client_events->on_packet = [gate](Channel& channel, IncomingPacket& packet,
                                    std::span<std::byte>) {
    if (gate->hold.exchange(false)) {
      gate->inside.store(true);
      EXPECT_TRUE(eventually([&] { return gate->let_go.load(); }));
    }
    channel.complete(packet, {});
  };
  open_both(true, true);
  constexpr uint32_t kRounds = 20;
  for (uint32_t i = 0; i < kRounds; ++i) {
    SCOPED_TRACE(i);
    inside.store(false);
    let_go.store(false);
    hold.store(true);
    PacketObject* packet = server->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(server->send(*packet, numbered(2 * i, 24), {}, 0).ok());
    ASSERT_TRUE(eventually([&] { return inside.load(); }));
    const std::vector<std::byte> request = numbered(i, 32);
    std::vector<std::byte> reply(32);
    // A future, not a thread: a failed assertion below waits for the request instead of
    // leaving a joinable thread (the request and the held callback are both bounded).
    auto requester = std::async(std::launch::async, [&] {
      return client->send_synchronous(request, nullptr, kSendWaitForCompletion,
                                      std::span<std::byte>(reply), Deadline::after(kBound));
    });
    // The server has answered: the completion waits in the ring the task is draining.
    ASSERT_TRUE(eventually([&] { return server->statistics().completions_sent == i + 1; }));
    let_go.store(true);
    EXPECT_EQ(requester.get().status, STATUS_SUCCESS);
    EXPECT_EQ(reply, request);
    packet = server->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(server->send(*packet, numbered(2 * i + 1, 24), {}, 0).ok());
    ASSERT_TRUE(client_events->wait_for_packets(2 * i + 2));
  }
  const auto received = client_events->received();
  ASSERT_TRUE(numbered_in_order(received, 2 * kRounds));
  EXPECT_TRUE(client->failure(nullptr).ok());
}

// A dispatch run delivers at most 64 packets, then yields its pool thread and runs again: 200
// packets waiting in the ring arrive as batches of 64, 64, 64 and 8 (processing_complete
// reports each), polled or not.
TEST_F(PollMode, ADispatchRunDeliversAtMost64Packets) {
  with_server_paused_in_both_modes([&] {
    constexpr uint32_t kCount = 200;
    for (uint32_t i = 0; i < kCount; ++i) {
      PacketObject* packet = client->allocate_packet();
      ASSERT_NE(packet, nullptr);
      ASSERT_TRUE(client->send(*packet, numbered(i, 40), {}, 0).ok());
    }
    server->start();
    ASSERT_TRUE(server_events->wait_for_batched(kCount));
    EXPECT_EQ(server_events->batches(), (std::vector<uint32_t>{64, 64, 64, 8}));
    ASSERT_EQ(server_events->received().size(), kCount);
  });
}

// Disable (of either side) while a thread polls in synchronous requests: every request ends
// with SUCCESS or STATUS_DEVICE_REMOVED, Disable returns, nothing is recorded as a failure.
TEST_F(PollMode, DisableWhileRequestsPoll) {
  for (const bool disable_client : {false, true}) {
    SCOPED_TRACE(disable_client ? "client disabled" : "server disabled");
    if (disable_client) {
      TearDown();
      SetUp();
    }
    open_both(true, true);
    std::atomic<bool> stop{false};
    std::atomic<int> other{0};
    std::atomic<int> succeeded{0};
    std::thread requester([&] {
      while (!stop.load()) {
        const SyncRequestResult result =
            client->send_synchronous(numbered(1, 16), nullptr, kSendWaitForCompletion, std::nullopt,
                                     Deadline::after(kBound));
        if (result.status == STATUS_SUCCESS) {
          succeeded.fetch_add(1);
        } else if (result.status == STATUS_DEVICE_REMOVED) {
          std::this_thread::yield();
        } else {
          other.fetch_add(1);
        }
      }
    });
    ASSERT_TRUE(eventually([&] { return succeeded.load() >= 200; }));
    auto disabled = std::async(std::launch::async, [&] {
      if (disable_client) {
        client->disable();
      } else {
        server->disable();
      }
    });
    const bool done = disabled.wait_for(kBound) == std::future_status::ready;
    stop.store(true);
    requester.join();
    ASSERT_TRUE(done);
    EXPECT_EQ(other.load(), 0);
    std::string reason;
    EXPECT_TRUE(client->failure(&reason).ok()) << reason;
    EXPECT_TRUE(server->failure(&reason).ok()) << reason;
  }
}

// Five packets to a server that is open but not started: the ring is empty and unmasked
// before the first (rule A: one signal) and not empty before the others (none). No completion
// is asked for, so the server signals nothing back when it drains them (rule B is not armed).
TEST_F(PollMode, StatisticsCountExactlyOneSignalForABatch) {
  with_server_paused_in_both_modes([&] {
    for (uint32_t i = 0; i < 5; ++i) {
      PacketObject* packet = client->allocate_packet();
      ASSERT_NE(packet, nullptr);
      ASSERT_TRUE(client->send(*packet, numbered(i, 40), {}, 0).ok());
    }
    const ChannelStatistics sent = client->statistics();
    EXPECT_EQ(sent.packets_sent, 5u);
    EXPECT_EQ(sent.bytes_sent, 200u);
    EXPECT_EQ(sent.signals_sent, 1u);
    EXPECT_EQ(sent.completions_sent, 0u);
    EXPECT_EQ(server->statistics().signals_received, 1u);  // the loopback signals at once
    EXPECT_EQ(server->statistics().packets_received, 0u);
    server->start();
    ASSERT_TRUE(server_events->wait_for_packets(5));
    ASSERT_TRUE(eventually([&] { return server->statistics().packets_received == 5; }));
    const ChannelStatistics served = server->statistics();
    EXPECT_EQ(served.bytes_received, 200u);
    EXPECT_EQ(served.signals_sent, 0u);
    EXPECT_EQ(served.packets_sent, 0u);
    EXPECT_EQ(served.completions_received, 0u);
    EXPECT_EQ(client->statistics().signals_received, 0u);
  });
}

}  // namespace
}  // namespace vmb
