// SPDX-License-Identifier: MIT
// A peer that stalls: it stops reading with the ring full for a long time, or frees space
// without ever giving the signal the victim asked for (pending-send-size never satisfied). The
// victim must keep accepting sends (queueing them in order, bounded by the packets it
// allocated), lose, duplicate or reorder nothing when the peer resumes, time out and withdraw
// queued synchronous requests exactly as decisions.md §4 says, and still disable promptly.
#include <cstring>
#include <future>
#include <vector>

#include "hostile_fixture.h"

namespace vmb::testing {
namespace {

using StalledPeer = HostileChannelTest;

// A payload that names its sequence number and checks itself: seq, then bytes derived from it.
std::vector<std::byte> numbered_payload(uint64_t sequence, size_t bytes) {
  std::vector<std::byte> payload(bytes);
  std::memcpy(payload.data(), &sequence, sizeof sequence);
  for (size_t i = sizeof sequence; i < bytes; ++i) {
    payload[i] = static_cast<std::byte>((sequence * 31 + i) & 0xff);
  }
  return payload;
}

// The sequence number of a payload built above, or ~0 if any byte is wrong.
uint64_t check_numbered(const std::vector<std::byte>& payload, size_t bytes) {
  if (payload.size() < bytes) return ~uint64_t{0};
  uint64_t sequence;
  std::memcpy(&sequence, payload.data(), sizeof sequence);
  for (size_t i = sizeof sequence; i < bytes; ++i) {
    if (payload[i] != static_cast<std::byte>((sequence * 31 + i) & 0xff)) return ~uint64_t{0};
  }
  return sequence;
}

TEST_P(StalledPeer, RingFullForALongTimeLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  constexpr uint64_t kPackets = 1500;
  constexpr size_t kBytes = 200;
  // The peer reads nothing while the victim sends about ten rings' worth.
  for (uint64_t sequence = 0; sequence < kPackets; ++sequence) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_EQ(victim->send(*packet, numbered_payload(sequence, kBytes), {}, 0), STATUS_SUCCESS);
  }
  EXPECT_NE(peer->from_victim().pending_send_size(), 0u);  // the victim waits for space
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  // The peer resumes: every packet, in order, intact, once.
  for (uint64_t expected = 0; expected < kPackets; ++expected) {
    const std::optional<ReceivedPacket> packet = peer->receive(kPeerWait);
    ASSERT_TRUE(packet.has_value()) << "packet " << expected;
    ASSERT_EQ(check_numbered(packet->payload, kBytes), expected);
  }
  EXPECT_FALSE(peer->receive(std::chrono::milliseconds(0)).has_value());
  EXPECT_EQ(peer->from_victim().pending_send_size(), 0u);
  expect_victim_still_works();
}

// The victim's completions fill its ring and queue behind it: each queued one keeps its own
// copy of the payload (the echo completes with the packet's own buffer), and when the peer
// reads again every completion arrives once, in order, with its request's bytes.
TEST_P(StalledPeer, CompletionsQueuedBehindAFullRingLoseNothing) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  constexpr uint64_t kRequests = 1500;
  constexpr size_t kBytes = 200;
  for (uint64_t sequence = 0; sequence < kRequests; ++sequence) {
    const std::vector<std::byte> request = numbered_payload(sequence, kBytes);
    // The victim reads on while its completions wait: the peer's ring frees up again.
    Status sent;
    ASSERT_TRUE(eventually([&] {
      sent = peer->send_inband(request, sequence + 1, true);
      return sent != STATUS_BUFFER_OVERFLOW;
    }));
    ASSERT_EQ(sent, STATUS_SUCCESS);
  }
  ASSERT_TRUE(eventually([&] { return victim_driver->received().size() == kRequests; }));
  EXPECT_NE(peer->from_victim().pending_send_size(), 0u);  // completions are queued
  for (uint64_t expected = 0; expected < kRequests; ++expected) {
    const std::optional<ReceivedPacket> packet = peer->receive(kPeerWait);
    ASSERT_TRUE(packet.has_value()) << "completion " << expected;
    ASSERT_EQ(packet->type, wire::PacketType::kCompletion);
    ASSERT_EQ(packet->transaction_id, expected + 1);
    ASSERT_EQ(check_numbered(packet->payload, kBytes), expected);
  }
  EXPECT_FALSE(peer->receive(std::chrono::milliseconds(0)).has_value());
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_victim_still_works();
}

TEST_P(StalledPeer, PendingSendSizeNeverSatisfied) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const std::vector<std::byte> payload = pattern_bytes(1500);
  size_t sent = 0;
  while (peer->from_victim().pending_send_size() == 0 || sent < 40) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    ASSERT_EQ(victim->send(*packet, payload, {}, 0), STATUS_SUCCESS);
    ASSERT_LT(++sent, 1000u);
  }
  // The peer never reads: no space appears and no signal comes.
  const uint32_t written = peer->from_victim().write_index();
  const size_t in_ring = written / wire::layout_packet(0, 1500).ring_bytes();
  ASSERT_LT(in_ring, sent);
  // Disable must not wait for the peer: the queued packets end as removed, the written ones
  // finished when they were written (no completion wanted).
  auto disabled = std::async(std::launch::async, [&] { victim->disable(); });
  ASSERT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready);
  EXPECT_TRUE(victim_driver->wait_for_completions(sent));
  EXPECT_EQ(victim_driver->count(STATUS_SUCCESS), in_ring);
  EXPECT_EQ(victim_driver->count(STATUS_DEVICE_REMOVED), sent - in_ring);
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_bystanders_work();
}

// ---- Synchronous requests on a full ring (client endpoints only) ----

class StalledPeerOnClient : public HostileChannelFixture {
 protected:
  void SetUp() override {
    set_up(EndpointRole::kClient, {});
    ASSERT_NO_FATAL_FAILURE(open_victim());
    // Fill the ring until a send queues.
    while (peer->from_victim().pending_send_size() == 0) {
      PacketObject* packet = victim->allocate_packet();
      ASSERT_NE(packet, nullptr);
      ASSERT_EQ(victim->send(*packet, numbered_payload(filled_, 500), {}, 0), STATUS_SUCCESS);
      ASSERT_LT(++filled_, 1000u);
    }
  }
  // Reads the fill back: every packet in order, intact. Then a probe round trip, whose
  // completion must be the very next packet: anything the victim still had queued would come
  // first (one send queue, FIFO).
  void drain_then_probe() {
    for (uint64_t expected = 0; expected < filled_; ++expected) {
      const std::optional<ReceivedPacket> packet = peer->receive(kPeerWait);
      ASSERT_TRUE(packet.has_value()) << "packet " << expected;
      ASSERT_EQ(check_numbered(packet->payload, 500), expected);
    }
    constexpr uint64_t kProbe = 0x9806e;
    ASSERT_EQ(peer->send_inband(pattern_bytes(24), kProbe, true), STATUS_SUCCESS);
    const std::optional<ReceivedPacket> next = peer->receive(kPeerWait);
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(next->type, wire::PacketType::kCompletion);
    EXPECT_EQ(next->transaction_id, kProbe);
  }
  uint64_t filled_ = 0;
};

TEST_F(StalledPeerOnClient, QueuedSynchronousRequestTimesOutAndIsWithdrawn) {
  const std::vector<std::byte> marker = numbered_payload(0xABCDEF, 500);
  std::vector<std::byte> reply(8);
  const SyncRequestResult result =
      victim->send_synchronous(marker, nullptr, kSendWaitForCompletion, std::span<std::byte>(reply),
                               Deadline::after(std::chrono::milliseconds(20)));
  EXPECT_EQ(result.status, STATUS_CANCELLED);
  // A packet still queued at the deadline is removed: the peer never sees it.
  ASSERT_NO_FATAL_FAILURE(drain_then_probe());
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
}

TEST_F(StalledPeerOnClient, ZeroTimeoutOnAFullRingQueuesNothing) {
  std::vector<std::byte> reply(8);
  const SyncRequestResult result =
      victim->send_synchronous(numbered_payload(0xABCDEF, 500), nullptr, 0,
                               std::span<std::byte>(reply), Deadline::immediate());
  EXPECT_EQ(result.status, STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(result.completion_bytes, 0u);
  // The queued fill packet arrives, the refused request does not.
  ASSERT_NO_FATAL_FAILURE(drain_then_probe());
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
}

TEST_F(StalledPeerOnClient, RequestWaitsThenCompletesWhenThePeerResumes) {
  std::vector<std::byte> reply(16);
  auto result = std::async(std::launch::async, [&] {
    return victim->send_synchronous(numbered_payload(0xABCDEF, 500), nullptr,
                                    kSendWaitForCompletion, std::span<std::byte>(reply),
                                    Deadline::after(2 * kPeerWait));
  });
  // The peer resumes: reads the fill, then the request, and completes it.
  for (uint64_t i = 0;; ++i) {
    std::optional<ReceivedPacket> packet = peer->receive(kPeerWait);
    ASSERT_TRUE(packet.has_value()) << "after " << i;
    if (packet->completion_requested()) {
      EXPECT_EQ(i, filled_);  // after every packet queued before it
      // Written from the send queue once the ring had room again: still the request's bytes.
      EXPECT_EQ(check_numbered(packet->payload, 500), 0xABCDEFu);
      ASSERT_EQ(peer->complete(packet->transaction_id, pattern_bytes(16, 4)), STATUS_SUCCESS);
      break;
    }
  }
  ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready);
  const SyncRequestResult outcome = result.get();
  EXPECT_EQ(outcome.status, STATUS_SUCCESS);
  EXPECT_EQ(reply, pattern_bytes(16, 4));
}

INSTANTIATE_TEST_SUITE_P(Roles, StalledPeer,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);

}  // namespace
}  // namespace vmb::testing
