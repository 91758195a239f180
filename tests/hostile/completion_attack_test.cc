// SPDX-License-Identifier: MIT
// Attacks through completion packets (decisions.md §6): ids never issued, id 0, an id
// completed twice, a stale id from an earlier use of a reused slot, a completion for a packet
// that asked for none, valid completions queued behind a violation, and outsized payloads;
// and for a polling requester that matches its completion without the channel lock, the same
// violations plus the transaction quota. Violations fail the channel; a late completion for a
// cancelled request and an oversized payload are legitimate and must not.
#include <cinttypes>
#include <cstdio>
#include <future>
#include <thread>

#include "hostile_fixture.h"

namespace vmb::testing {
namespace {

using CompletionAttack = HostileChannelTest;

std::string unknown_id_reason(uint64_t id) {
  char text[96];
  std::snprintf(text, sizeof text, "completion for unknown transaction id 0x%" PRIx64, id);
  return text;
}

TEST_P(CompletionAttack, IdNeverIssued) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  ASSERT_EQ(peer->complete(0x12345, {}), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(0x12345));
}

TEST_P(CompletionAttack, IdZero) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  ASSERT_EQ(peer->complete(0, {}), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(0));
}

TEST_P(CompletionAttack, IdWithForgedGeneration) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const std::vector<uint64_t> ids = send_outstanding(2);
  ASSERT_EQ(ids.size(), 2u);
  // The right slot, a future use of it.
  const uint64_t forged = ids[0] + (uint64_t{5} << 32);
  ASSERT_EQ(peer->complete(forged, {}), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(forged));
}

TEST_P(CompletionAttack, CompletedTwice) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const std::vector<uint64_t> ids = send_outstanding(2);
  ASSERT_EQ(ids.size(), 2u);
  ASSERT_EQ(peer->complete(ids[0], pattern_bytes(8)), STATUS_SUCCESS);
  ASSERT_TRUE(victim_driver->wait_for_status(STATUS_SUCCESS, 1));
  --outstanding;
  ++succeeded;
  ASSERT_EQ(peer->complete(ids[0], pattern_bytes(8)), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(ids[0]));
}

TEST_P(CompletionAttack, StaleIdOfAReusedSlot) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const std::vector<uint64_t> first = send_outstanding(1);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(peer->complete(first[0], {}), STATUS_SUCCESS);
  ASSERT_TRUE(victim_driver->wait_for_status(STATUS_SUCCESS, 1));
  --outstanding;
  ++succeeded;
  const std::vector<uint64_t> second = send_outstanding(1);
  ASSERT_EQ(second.size(), 1u);
  // The slot was reused under a new generation: same low half, different id.
  ASSERT_EQ(second[0] & 0xFFFFFFFFu, first[0] & 0xFFFFFFFFu);
  ASSERT_NE(second[0], first[0]);
  ASSERT_EQ(peer->complete(first[0], {}), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(first[0]));
}

TEST_P(CompletionAttack, CompletionForAPacketThatWantedNone) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  PacketObject* packet = victim->allocate_packet();
  ASSERT_NE(packet, nullptr);
  ASSERT_EQ(victim->send(*packet, pattern_bytes(16), {}, 0), STATUS_SUCCESS);
  const std::optional<ReceivedPacket> received = peer->receive(kPeerWait);
  ASSERT_TRUE(received.has_value());
  ASSERT_FALSE(received->completion_requested());
  ASSERT_EQ(peer->complete(received->transaction_id, {}), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(received->transaction_id));
}

TEST_P(CompletionAttack, NothingAfterTheViolationIsProcessed) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const std::vector<uint64_t> ids = send_outstanding(4);
  ASSERT_EQ(ids.size(), 4u);
  // One batch: a bad completion, then valid completions for every outstanding request and a
  // data packet. The victim stops at the violation: none of these may succeed or arrive.
  wire::PacketSpec bad;
  bad.type = wire::PacketType::kCompletion;
  bad.transaction_id = 0xdead;
  ASSERT_EQ(peer->send_quietly(bad), STATUS_SUCCESS);
  for (const uint64_t id : ids) {
    wire::PacketSpec good;
    good.type = wire::PacketType::kCompletion;
    good.transaction_id = id;
    ASSERT_EQ(peer->send_quietly(good), STATUS_SUCCESS);
  }
  const std::vector<std::byte> data = pattern_bytes(24);
  wire::PacketSpec packet;
  packet.payload = data;
  ASSERT_EQ(peer->send_quietly(packet), STATUS_SUCCESS);
  peer->signal_victim();
  expect_contained(unknown_id_reason(0xdead));
  EXPECT_TRUE(victim_driver->received().empty());
}

TEST_P(CompletionAttack, CompletionStorm) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  // Fill the ring with completions of random ids, published as fast as the victim frees room.
  uint64_t id = 0x9e3779b97f4a7c15;
  int written = 0;
  for (int i = 0; i < 5000 && !peer->victim_closed(); ++i) {
    id = id * 6364136223846793005u + 1442695040888963407u;
    if (peer->complete(id | (uint64_t{1} << 63), pattern_bytes(8)) == STATUS_SUCCESS) ++written;
  }
  EXPECT_GT(written, 0);
  expect_contained("completion for unknown transaction id 0x");
}

TEST_P(CompletionAttack, OversizedCompletionPayloadIsDelivered) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const std::vector<uint64_t> ids = send_outstanding(1);
  ASSERT_EQ(ids.size(), 1u);
  // Far larger than the 24-byte request, and than the victim's maximum packet size.
  const std::vector<std::byte> payload = pattern_bytes(16 * 1024, 3);
  ASSERT_EQ(peer->complete(ids[0], payload), STATUS_SUCCESS);
  ASSERT_TRUE(victim_driver->wait_for_status(STATUS_SUCCESS, 1));
  const auto log = victim_driver->completion_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].second, payload);
  expect_victim_still_works();
}

// ---- Synchronous requests (client endpoints only) ----

class CompletionAttackOnClient : public HostileChannelFixture {
 protected:
  void SetUp() override { set_up(EndpointRole::kClient, {}); }
  // Starts a synchronous request on another thread.
  std::future<SyncRequestResult> request(std::vector<std::byte>* reply, Deadline deadline) {
    return std::async(std::launch::async, [this, reply, deadline] {
      return victim->send_synchronous(pattern_bytes(32), nullptr, kSendWaitForCompletion,
                                      std::span<std::byte>(*reply), deadline);
    });
  }
};

TEST_F(CompletionAttackOnClient, LateCompletionOfATimedOutRequestIsDropped) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  std::vector<std::byte> reply(32);
  auto result = request(&reply, Deadline::after(std::chrono::milliseconds(50)));
  const std::optional<ReceivedPacket> received = peer->receive(kPeerWait);
  ASSERT_TRUE(received.has_value());
  // The peer answers only after the caller gave up, however long that took.
  ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready);
  EXPECT_EQ(result.get().status, STATUS_CANCELLED);
  ASSERT_EQ(peer->complete(received->transaction_id, pattern_bytes(32)), STATUS_SUCCESS);
  expect_victim_still_works();  // dropped silently: no failure
  // The slot was freed by the late completion: the same id again is now unknown.
  ASSERT_EQ(peer->complete(received->transaction_id, {}), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(received->transaction_id));
}

TEST_F(CompletionAttackOnClient, OversizedCompletionOfASynchronousRequest) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  std::vector<std::byte> reply(8);
  auto result = request(&reply, Deadline::after(kPeerWait));
  const std::optional<ReceivedPacket> received = peer->receive(kPeerWait);
  ASSERT_TRUE(received.has_value());
  const std::vector<std::byte> payload = pattern_bytes(4096, 1);
  ASSERT_EQ(peer->complete(received->transaction_id, payload), STATUS_SUCCESS);
  ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready);
  const SyncRequestResult outcome = result.get();
  EXPECT_EQ(outcome.status, STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(outcome.completion_bytes, 8u);
  EXPECT_EQ(reply, std::vector<std::byte>(payload.begin(), payload.begin() + 8));
  expect_victim_still_works();
}

TEST_F(CompletionAttackOnClient, WaitingRequestEndsWhenThePeerViolates) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  std::vector<std::byte> reply(32);
  auto result = request(&reply, Deadline::after(2 * kPeerWait));  // bounded, in case it fails
  ASSERT_TRUE(peer->receive(kPeerWait).has_value());
  ASSERT_EQ(peer->complete(0x7777, {}), STATUS_SUCCESS);
  ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready);
  EXPECT_EQ(result.get().status, STATUS_DEVICE_REMOVED);
  expect_contained(unknown_id_reason(0x7777));
}

// The victim polls for its synchronous requests' completions (poll mode): a requester that
// owns the drain takes its completion from the ring without the channel lock, and its packet
// and transaction id go back at the next allocation. The peer writes what the requester will
// find before the request is sent, quietly (no signal) while the victim's drain is idle, so
// the requester owns the drain from its send and reads those packets first, every run.
class CompletionAttackOnPollingClient : public CompletionAttackOnClient {
 protected:
  void SetUp() override {
    CompletionAttackOnClient::SetUp();
    ASSERT_TRUE(victim->set_polling(true).ok());
  }
  // Opens the victim, then makes sure its dispatch task has run since the start and gone
  // idle: a packet the peer sends is received, and its completion read.
  void open_victim_and_settle() {
    ASSERT_NO_FATAL_FAILURE(open_victim());
    ASSERT_EQ(peer->send_inband(pattern_bytes(16), 0x51, true), STATUS_SUCCESS);
    ASSERT_TRUE(victim_driver->wait_for_received(1));
    ASSERT_TRUE(receive_completion(0x51));
  }
  // True once the victim's ring has stayed unmasked for 20 ms: no dispatch run and no
  // requester is draining or polling it (both mask it while they do), and none is pending
  // (a run that finds more work keeps it masked for the next).
  bool drain_idle() {
    const auto limit = std::chrono::steady_clock::now() + kPeerWait;
    auto unmasked_since = std::chrono::steady_clock::now();
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (peer->to_victim().interrupt_mask() != 0) unmasked_since = now;
      if (now - unmasked_since >= std::chrono::milliseconds(20)) return true;
      if (now >= limit) return false;
      std::this_thread::yield();
    }
  }
  // Writes a completion for `id` without signalling the victim.
  Status complete_quietly(uint64_t id, std::span<const std::byte> payload) {
    wire::PacketSpec spec;
    spec.type = wire::PacketType::kCompletion;
    spec.transaction_id = id;
    spec.payload = payload;
    return peer->send_quietly(spec);
  }
  // The transaction id of the victim's next synchronous request (its channel has none
  // outstanding): slot 0 of the table, `generation` uses on (decisions.md §6's numbering).
  static uint64_t slot_zero_id(uint32_t generation) { return (uint64_t{generation} << 32) | 1; }
};

// Each polled request finds its completion waiting and takes it without the lock, and gets
// slot 0 of the transaction table again, one generation on: the slot went back at the next
// allocation. A second completion for an id, after its request returned, is a violation as
// ever (the packet still waits for that allocation: the check must not finish its waiter).
TEST_F(CompletionAttackOnPollingClient, PolledRequestsReuseTheirSlotAndASecondCompletionFails) {
  ASSERT_NO_FATAL_FAILURE(open_victim_and_settle());
  uint64_t id = 0;
  for (uint32_t generation = 0; generation < 3; ++generation) {
    SCOPED_TRACE(generation);
    id = slot_zero_id(generation);
    const std::vector<std::byte> answer = pattern_bytes(32, static_cast<uint8_t>(generation));
    ASSERT_TRUE(drain_idle());
    ASSERT_EQ(complete_quietly(id, answer), STATUS_SUCCESS);
    std::vector<std::byte> reply(32);
    const SyncRequestResult outcome =
        victim->send_synchronous(pattern_bytes(32), nullptr, kSendWaitForCompletion,
                                 std::span<std::byte>(reply), Deadline::after(kPeerWait));
    EXPECT_EQ(outcome.status, STATUS_SUCCESS);
    EXPECT_EQ(outcome.completion_bytes, 32u);
    EXPECT_EQ(reply, answer);
    const std::optional<ReceivedPacket> received = peer->receive(kPeerWait);
    ASSERT_TRUE(received.has_value());
    ASSERT_EQ(received->transaction_id, id);
  }
  ASSERT_EQ(peer->complete(id, pattern_bytes(32)), STATUS_SUCCESS);
  expect_contained(unknown_id_reason(id));
}

// A violation waits in front of a polling request's completion: the requester's own drain
// fails the channel, which retires the request it polls for; it ends with
// STATUS_DEVICE_REMOVED, as the other outstanding requests do.
TEST_F(CompletionAttackOnPollingClient, PollingRequestEndsWhenThePeerViolates) {
  ASSERT_NO_FATAL_FAILURE(open_victim_and_settle());
  send_outstanding(2);
  ASSERT_TRUE(drain_idle());
  ASSERT_EQ(complete_quietly(0x7777, {}), STATUS_SUCCESS);
  std::vector<std::byte> reply(32);
  const SyncRequestResult outcome =
      victim->send_synchronous(pattern_bytes(32), nullptr, kSendWaitForCompletion,
                               std::span<std::byte>(reply), Deadline::after(kPeerWait));
  EXPECT_EQ(outcome.status, STATUS_DEVICE_REMOVED);
  expect_contained(unknown_id_reason(0x7777));
}

// The victim's transaction quota is full (its driver holds the one packet it allows) when the
// polling requester finds its completion behind that packet: the completion stays in the ring
// like any packet (decisions.md: nothing is taken from the ring at the quota) until the driver
// completes the held packet; then the request succeeds.
TEST_F(CompletionAttackOnPollingClient, CompletionWaitsInTheRingWhileTheQuotaIsFull) {
  ASSERT_NO_FATAL_FAILURE(open_victim_and_settle());
  victim_driver->set_mode(VictimDriver::Mode::kHold);
  victim->set_transaction_quota(1);
  ASSERT_TRUE(drain_idle());
  const std::vector<std::byte> ahead = pattern_bytes(24, 1);
  wire::PacketSpec data;
  data.payload = ahead;
  ASSERT_EQ(peer->send_quietly(data), STATUS_SUCCESS);
  const std::vector<std::byte> answer = pattern_bytes(32, 2);
  ASSERT_EQ(complete_quietly(slot_zero_id(0), answer), STATUS_SUCCESS);
  std::vector<std::byte> reply(32);
  auto result = request(&reply, Deadline::after(kPeerWait));
  ASSERT_TRUE(victim_driver->wait_for_received(2));  // the settling packet and the one ahead
  // Far beyond the poll window (kPollWindow): the requester polled, then slept, and never took
  // the completion. Not a timing assertion: a correct channel never returns here.
  EXPECT_EQ(result.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  victim_driver->set_mode(VictimDriver::Mode::kEcho);
  for (IncomingPacket* held : victim_driver->take_held()) victim->complete(*held, {});
  ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready);
  const SyncRequestResult outcome = result.get();
  EXPECT_EQ(outcome.status, STATUS_SUCCESS);
  EXPECT_EQ(reply, answer);
  const std::optional<ReceivedPacket> received = peer->receive(kPeerWait);
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(received->transaction_id, slot_zero_id(0));
  expect_victim_still_works();
}

INSTANTIATE_TEST_SUITE_P(Roles, CompletionAttack,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);

}  // namespace
}  // namespace vmb::testing
