// SPDX-License-Identifier: MIT
// Attacks through the ring control pages (wire-format.md §1.1, §4.2 item 1): the peer stores
// out-of-range, misaligned, backwards and flickering indices in the words it owns, spoils the
// control pages before the open, and writes the words the victim owns. Indices the victim
// must validate fail the channel with the recorded reason; values the protocol cannot tell
// from legitimate ones (a read index that moves back, a stuck interrupt mask, a huge
// pending-send-size) must only cost the victim throughput, never a crash, a hang or a loss.
#include <atomic>
#include <thread>

#include "hostile_fixture.h"

namespace vmb::testing {
namespace {

using ControlPageAttack = HostileChannelTest;

// ---- The write index of the ring the victim reads (the peer's word) ----

TEST_P(ControlPageAttack, WriteIndexAtDataSize) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  peer->to_victim().store(wire::kWriteIndexOffset, peer->to_victim().data_size());
  peer->signal_victim();
  expect_contained("incoming ring: index out of range");
}

TEST_P(ControlPageAttack, WriteIndexFarOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  peer->to_victim().store(wire::kWriteIndexOffset, 0xFFFFFFF8u);
  peer->signal_victim();
  expect_contained("incoming ring: index out of range");
}

TEST_P(ControlPageAttack, WriteIndexMisaligned) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  peer->to_victim().store(wire::kWriteIndexOffset, 12);
  peer->signal_victim();
  expect_contained("incoming ring: index not a multiple of 8");
}

TEST_P(ControlPageAttack, WriteIndexLeavesFewerThanADescriptor) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_raw({}, 8);  // 8 bytes "published": not even a descriptor and trailer
  peer->signal_victim();
  expect_contained("incoming ring: fewer than 24 bytes available");
}

TEST_P(ControlPageAttack, WriteIndexMovesBackwards) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  expect_victim_still_works();  // one packet read: the victim's read index is past 0
  // Moving the write index back behind the read index claims almost the whole ring is
  // published; the bytes at the read index are zero, which no descriptor may be.
  peer->to_victim().store(wire::kWriteIndexOffset, peer->write_position() - 8);
  peer->signal_victim();
  expect_contained("incoming ring: offset8 < 2");
}

TEST_P(ControlPageAttack, WriteIndexFlickersBetweenReads) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  // A valid packet is published; a thread flips the write index between that value and a
  // misaligned one while signalling. Every load is validated, so the victim either reads the
  // packet or fails on the bad value, and it must end failed.
  const std::vector<std::byte> payload = pattern_bytes(40);
  ASSERT_EQ(peer->send_inband(payload, 0, false), STATUS_SUCCESS);
  const uint32_t good = peer->write_position();
  StoppableThread flipper([&](const std::atomic<bool>& stop) {
    for (uint32_t i = 0; !stop.load(std::memory_order_relaxed) && i < 2'000'000; ++i) {
      peer->to_victim().store(wire::kWriteIndexOffset, (i & 1u) != 0 ? good : good + 4);
      if ((i & 63u) == 0) peer->signal_victim();
    }
    peer->to_victim().store(wire::kWriteIndexOffset, good + 4);
    peer->signal_victim();
  });
  const bool closed = peer->wait_for_victim_close(kPeerWait);
  flipper.stop();
  ASSERT_TRUE(closed);
  expect_contained("incoming ring: index not a multiple of 8");
}

// ---- The read index of the ring the victim writes (the peer's word) ----

// The victim loads the peer's read index only when its cached free space runs out, so the
// attack shows once the victim has written about a ring's worth.
void send_until_refused(Channel& victim, size_t limit, size_t* sent) {
  const std::vector<std::byte> payload = pattern_bytes(200);
  for (*sent = 0; *sent < limit; ++*sent) {
    PacketObject* packet = victim.allocate_packet();
    ASSERT_NE(packet, nullptr);
    const Status status = victim.send(*packet, payload, {}, 0);
    if (!status.ok()) {
      EXPECT_EQ(status, STATUS_DEVICE_REMOVED);
      victim.free_packet(*packet);
      return;
    }
  }
}

TEST_P(ControlPageAttack, ReadIndexOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  peer->from_victim().store(wire::kReadIndexOffset, peer->from_victim().data_size() + 8);
  size_t sent = 0;
  ASSERT_NO_FATAL_FAILURE(send_until_refused(*victim, 100'000, &sent));
  EXPECT_LT(sent, 100'000u);
  expect_contained("the peer corrupted the outgoing ring");
}

// The bad read_index is found by a completion: the victim's echo loads read_index when it
// publishes (rule A) or when its ring looks full (the peer reads nothing back).
TEST_P(ControlPageAttack, ReadIndexOutOfRangeFoundByACompletion) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  peer->from_victim().store(wire::kReadIndexOffset, peer->from_victim().data_size() + 8);
  const std::vector<std::byte> request = pattern_bytes(200);
  uint64_t id = 0;
  ASSERT_TRUE(eventually([&] {
    if (recorded_failure(*victim).status != STATUS_SUCCESS) return true;
    const Status sent = peer->send_inband(request, ++id, true);
    EXPECT_TRUE(sent == STATUS_SUCCESS || sent == STATUS_BUFFER_OVERFLOW) << sent.code();
    return false;
  }));
  EXPECT_GE(victim_driver->received().size(), 1u);
  expect_contained("the peer corrupted the outgoing ring");
}

TEST_P(ControlPageAttack, ReadIndexMisaligned) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  peer->from_victim().store(wire::kReadIndexOffset, 4);
  size_t sent = 0;
  ASSERT_NO_FATAL_FAILURE(send_until_refused(*victim, 100'000, &sent));
  EXPECT_LT(sent, 100'000u);
  expect_contained("the peer corrupted the outgoing ring");
}

TEST_P(ControlPageAttack, ReadIndexInvalidWhileVictimWaitsForSpace) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  // Fill the ring (the peer reads nothing) until sends queue and the victim asks for space.
  const std::vector<std::byte> payload = pattern_bytes(1000);
  for (int i = 0; i < 64; ++i) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    ASSERT_EQ(victim->send(*packet, payload, {}, 0), STATUS_SUCCESS);
  }
  ASSERT_NE(peer->from_victim().pending_send_size(), 0u);
  // Packets in the ring finished (no completion wanted); the queued ones wait. Each took 1024
  // ring bytes after the two 48-byte requests, and nothing was consumed: the write index says
  // how many were written.
  const size_t written = (peer->from_victim().write_index() - 2 * 48) / 1024;
  ASSERT_GT(written, 0u);
  ASSERT_LT(written, 64u);
  // The "space freed" signal comes with a read index the victim must refuse.
  peer->from_victim().store(wire::kReadIndexOffset, 0xFFFFFFF0u);
  peer->signal_victim();
  expect_failed_with("the peer corrupted the outgoing ring");
  // The outstanding requests and every queued packet end with STATUS_DEVICE_REMOVED.
  const size_t removed = outstanding + (64 - written);
  EXPECT_TRUE(victim_driver->wait_for_completions(written + removed));
  EXPECT_EQ(victim_driver->count(STATUS_SUCCESS), written);
  EXPECT_EQ(victim_driver->count(STATUS_DEVICE_REMOVED), removed);
  expect_bystanders_work();
}

TEST_P(ControlPageAttack, ReadIndexMovedBackwardsOnlyDelaysSends) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  // The peer consumes some packets, then claims (by moving its read index back to where it
  // was) that it did not. The protocol cannot tell this from a slow peer: the victim must
  // queue, not fail, and deliver everything once the peer catches up.
  const std::vector<std::byte> payload = pattern_bytes(100);
  for (int i = 0; i < 4; ++i) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_EQ(victim->send(*packet, payload, {}, 0), STATUS_SUCCESS);
  }
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(peer->receive(kPeerWait).has_value());
  EXPECT_FALSE(peer->receive(std::chrono::milliseconds(0)).has_value());  // publishes reads
  const uint32_t consumed = peer->from_victim().read_index();
  peer->from_victim().store(wire::kReadIndexOffset, 0);
  for (int i = 0; i < 600; ++i) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_EQ(victim->send(*packet, payload, {}, 0), STATUS_SUCCESS);
  }
  // Catching up: the true read index again, and the signal a consumer owes a producer
  // that asked for space (without it the victim would rightly wait for ever).
  peer->from_victim().store(wire::kReadIndexOffset, consumed);
  peer->signal_victim();
  int received = 0;
  while (received < 600 && peer->receive(kPeerWait).has_value()) ++received;
  EXPECT_EQ(received, 600);
  expect_victim_still_works();
  expect_bystanders_work();
}

// ---- Words whose values the protocol cannot police ----

TEST_P(ControlPageAttack, InterruptMaskStuckSuppressesSignalsOnly) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  peer->from_victim().store(wire::kInterruptMaskOffset, 1);
  const uint64_t before = peer->signals_from_victim();
  const std::vector<std::byte> payload = pattern_bytes(64);
  for (int i = 0; i < 20; ++i) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_EQ(victim->send(*packet, payload, {}, 0), STATUS_SUCCESS);
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(peer->receive(kPeerWait).has_value());
  // Rule A: a masked consumer is never signalled.
  EXPECT_EQ(peer->signals_from_victim(), before);
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
}

TEST_P(ControlPageAttack, PendingSendSizeNeverSatisfiable) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  // The peer, as producer, asks for more space than the ring has: rule B never fires.
  peer->to_victim().store(wire::kPendingSendSizeOffset, 0xFFFFFFFFu);
  for (int i = 0; i < 50; ++i) expect_victim_still_works();
  peer->to_victim().store(wire::kPendingSendSizeOffset, 0);
  expect_bystanders_work();
}

TEST_P(ControlPageAttack, PendingSendSizeAndFeatureBitsFlicker) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  StoppableThread flipper([&](const std::atomic<bool>& stop) {
    for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      peer->to_victim().store(wire::kPendingSendSizeOffset, i * 2654435761u);
      peer->to_victim().store(wire::kFeatureBitsOffset, i);
      peer->from_victim().store(wire::kInterruptMaskOffset, i & 1u);
    }
  });
  for (int i = 0; i < 200; ++i) {
    const std::vector<std::byte> request = pattern_bytes(48, static_cast<uint8_t>(i));
    const uint64_t id = 1000 + static_cast<uint64_t>(i);
    ASSERT_EQ(peer->send_inband(request, id, true), STATUS_SUCCESS);
    std::vector<std::byte> reply;
    // The stuck-mask moments may swallow the victim's signal: poll in short slices instead
    // of relying on it (the reply is there or comes; no signal is needed to read it).
    bool got = false;
    for (int attempt = 0; attempt < 2000 && !got; ++attempt) {
      std::optional<ReceivedPacket> packet = peer->receive(std::chrono::milliseconds(10));
      got = packet && packet->type == wire::PacketType::kCompletion && packet->transaction_id == id;
      if (got) reply = packet->payload;
    }
    ASSERT_TRUE(got) << "request " << i;
    EXPECT_EQ(reply, request);
  }
  flipper.stop();
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_bystanders_work();
}

// ---- Words the victim owns, written by the peer ----

TEST_P(ControlPageAttack, PeerOverwritesTheVictimsOwnIndices) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  // The victim keeps private copies of the indices it owns and never reads them back.
  peer->to_victim().store(wire::kReadIndexOffset, 0x12345);
  peer->from_victim().store(wire::kWriteIndexOffset, 0x54321);
  peer->from_victim().store(wire::kPendingSendSizeOffset, 0xFFFF);
  const std::vector<std::byte> request = pattern_bytes(32, 9);
  wire::PacketSpec spec;
  spec.type = wire::PacketType::kDataInBand;
  spec.flags = wire::kFlagCompletionRequested;
  spec.transaction_id = 77;
  spec.payload = request;
  std::vector<std::byte> bytes(64);
  const Result<size_t> size = wire::encode_packet(spec, bytes);
  ASSERT_TRUE(size);
  bytes.resize(*size);
  const uint64_t seen = peer->signals_from_victim();
  peer->publish_packet_bytes(bytes);  // the peer's send() would refuse the bogus read index
  // The completion's publish restores the victim's write index and signals (rule A: the
  // peer had consumed nothing); only then may the peer's reader load that index.
  ASSERT_TRUE(peer->wait_for_signal(seen, kPeerWait));
  ASSERT_TRUE(receive_completion(77));
  // The victim publishes its read index once the drain that read the packet ends.
  ASSERT_TRUE(eventually([&] { return peer->to_victim().read_index() == peer->write_position(); }));
  expect_victim_still_works();
}

// ---- Control pages spoiled before the open ----

class SpoiledOpenAttack : public HostileChannelTest {
 protected:
  void SetUp() override {}
  void expect_refused() {
    ASSERT_NO_FATAL_FAILURE(open_victim_expecting_refusal());
    if (victim->is_server()) {
      const std::optional<Status> reply = peer->wait_for_open_reply(kPeerWait);
      ASSERT_TRUE(reply.has_value());
      EXPECT_EQ(*reply, STATUS_DATA_ERROR);
    }
    // A client refuses the connection by closing it; a server answers the open.
    ASSERT_TRUE(peer->wait_for_victim_close(kPeerWait));
    EXPECT_EQ(victim_driver->events(), std::vector<std::string>{});
    expect_bystanders_work();
  }
};

TEST_P(SpoiledOpenAttack, WriteIndexOfTheIncomingRingInvalid) {
  set_up(GetParam(), HostileBus::Attack{8, 8, [](RawRing& to, RawRing&) {
                                          to.store(wire::kWriteIndexOffset, 0x7FFFFFF8u);
                                        }});
  // The incoming ring's write index is checked on the first read, not at the open: the
  // victim opens and fails on the first signal.
  ASSERT_NO_FATAL_FAILURE(open_victim());
  peer->signal_victim();
  expect_contained("incoming ring: index out of range");
}

TEST_P(SpoiledOpenAttack, ReadIndexOfTheIncomingRingInvalid) {
  set_up(GetParam(), HostileBus::Attack{8, 8, [](RawRing& to, RawRing&) {
                                          to.store(wire::kReadIndexOffset, 13);
                                        }});
  expect_refused();
}

TEST_P(SpoiledOpenAttack, WriteIndexOfTheOutgoingRingInvalid) {
  set_up(GetParam(), HostileBus::Attack{8, 8, [](RawRing&, RawRing& from) {
                                          from.store(wire::kWriteIndexOffset, 0xFFFFFFFFu);
                                        }});
  expect_refused();
}

INSTANTIATE_TEST_SUITE_P(Roles, ControlPageAttack,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);
INSTANTIATE_TEST_SUITE_P(Roles, SpoiledOpenAttack,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);

}  // namespace
}  // namespace vmb::testing
