// SPDX-License-Identifier: MIT
// Unit tests for IncomingRing: every refusal branch the ring itself owns (unusable view, own
// read_index, write_index on each load, too few bytes, packet larger than the buffer), the
// sticky failure, the preferred buffer, batched reads with one commit, rule B edge cases and
// rule C masking.
// Packet-content rejections are covered per branch in src/wire/packet_view_test.cc and end to
// end by the malformed vectors (ring_vectors_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <vector>

#include "testing/ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb::ring {
namespace {

using testing::RingMemory;
using wire::CorruptReason;
using wire::PacketType;

void write_committed(const RingView& view, size_t payload_bytes, int count = 1) {
  OutgoingRing ring(view);
  const std::vector<std::byte> payload(payload_bytes, std::byte{0x42});
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(ring.try_write(PacketType::kDataInBand, 0, static_cast<uint64_t>(i), payload),
              WriteResult::kWritten);
  }
  (void)ring.commit();
}

// Writes a GPA-direct packet with one range (not committed).
void write_gpa_packet(OutgoingRing& outgoing, uint64_t id, const wire::GpaRangeSpec& range,
                      std::span<const std::byte> payload) {
  std::array<std::byte, 24> header;
  const auto header_bytes = wire::encode_gpa_direct_header({&range, 1}, header);
  ASSERT_TRUE(header_bytes);
  const std::span<const std::byte> pieces[] = {payload};
  ASSERT_EQ(outgoing.try_write({PacketType::kDataUsingGpaDirect, 1, id,
                                std::span(header).first(*header_bytes), pieces}),
            WriteResult::kWritten);
}

class IncomingRingTest : public ::testing::Test {
 protected:
  RingMemory memory_{4096, false, wire::kFeaturePendingSendSize};
  std::vector<std::byte> buffer_ = std::vector<std::byte>(4096);
  wire::PacketView view_;
};

TEST_F(IncomingRingTest, RefusesUnusableView) {
  RingView view = memory_.view();
  view.data_size = 100;
  IncomingRing ring(view);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kUnusableView);
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kCorrupt);
  EXPECT_TRUE(ring.has_data());
  EXPECT_TRUE(ring.unmask_and_check());
}

TEST_F(IncomingRingTest, RefusesOwnReadIndexOutOfRange) {
  memory_.set_control_word(wire::kReadIndexOffset, 4096);
  IncomingRing ring(memory_.view());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
}

TEST_F(IncomingRingTest, RefusesOwnReadIndexMisaligned) {
  memory_.set_control_word(wire::kReadIndexOffset, 1);
  IncomingRing ring(memory_.view());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexMisaligned);
}

TEST_F(IncomingRingTest, EmptyRingReadsEmpty) {
  IncomingRing ring(memory_.view());
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kEmpty);
  EXPECT_FALSE(ring.has_data());
  EXPECT_FALSE(ring.commit_read());
  EXPECT_FALSE(ring.corrupt());
}

TEST_F(IncomingRingTest, RefusesWriteIndexOutOfRangeOnHasData) {
  IncomingRing ring(memory_.view());
  memory_.set_control_word(wire::kWriteIndexOffset, 0x2000);
  EXPECT_TRUE(ring.has_data());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
}

TEST_F(IncomingRingTest, RefusesWriteIndexMisalignedOnUnmask) {
  IncomingRing ring(memory_.view());
  memory_.set_control_word(wire::kWriteIndexOffset, 0x22);
  EXPECT_TRUE(ring.unmask_and_check());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexMisaligned);
}

TEST_F(IncomingRingTest, RefusesBadWriteIndexDuringRuleB) {
  write_committed(memory_.view(), 8);
  memory_.set_control_word(wire::kPendingSendSizeOffset, 100);
  IncomingRing ring(memory_.view());
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  memory_.set_control_word(wire::kWriteIndexOffset, 0xFFFFFFF8);
  EXPECT_FALSE(ring.commit_read());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
}

TEST_F(IncomingRingTest, RefusesFewerThan24BytesAvailable) {
  memory_.set_control_word(wire::kWriteIndexOffset, 16);
  IncomingRing ring(memory_.view());
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kTooFewBytesAvailable);
}

TEST_F(IncomingRingTest, RefusesPacketLargerThanTheBuffer) {
  write_committed(memory_.view(), 100);  // 120-byte packet
  IncomingRing ring(memory_.view());
  std::vector<std::byte> small(112);
  EXPECT_EQ(ring.read(small, &view_), ReadResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kPacketTooLarge);
}

TEST_F(IncomingRingTest, AcceptsPacketExactlyTheBufferSize) {
  write_committed(memory_.view(), 100);
  IncomingRing ring(memory_.view());
  std::vector<std::byte> exact(120);
  EXPECT_EQ(ring.read(exact, &view_), ReadResult::kPacket);
}

TEST_F(IncomingRingTest, PreferredBufferTakesThePacketsThatFit) {
  OutgoingRing outgoing(memory_.view());
  const std::vector<std::byte> small(100, std::byte{0x11});  // a 120-byte packet
  const std::vector<std::byte> large(300, std::byte{0x22});  // a 320-byte packet
  ASSERT_EQ(outgoing.try_write(PacketType::kDataInBand, 0, 1, small), WriteResult::kWritten);
  ASSERT_EQ(outgoing.try_write(PacketType::kDataInBand, 0, 2, large), WriteResult::kWritten);
  const uint64_t pfn = 0x1234;
  write_gpa_packet(outgoing, 3, {64, 0, {&pfn, 1}}, small);
  (void)outgoing.commit();
  IncomingRing ring(memory_.view());
  std::vector<std::byte> preferred(160);
  // Fits: copied into `preferred` only.
  std::fill(buffer_.begin(), buffer_.end(), std::byte{0});
  ASSERT_EQ(ring.read(buffer_, &view_, preferred), ReadResult::kPacket);
  EXPECT_EQ(view_.bytes.data(), preferred.data());
  EXPECT_EQ(view_.bytes.size(), 120u);
  EXPECT_EQ(view_.transaction_id, 1u);
  EXPECT_EQ(view_.payload[99], std::byte{0x11});
  EXPECT_EQ(buffer_[16], std::byte{0});
  // Too large for it: into `buffer`.
  ASSERT_EQ(ring.read(buffer_, &view_, preferred), ReadResult::kPacket);
  EXPECT_EQ(view_.bytes.data(), buffer_.data());
  EXPECT_EQ(view_.transaction_id, 2u);
  EXPECT_EQ(view_.payload[299], std::byte{0x22});
  // External data (read_extended()) fits too, and its ranges point into `preferred`.
  ASSERT_EQ(ring.read(buffer_, &view_, preferred), ReadResult::kPacket);
  EXPECT_EQ(view_.bytes.data(), preferred.data());
  EXPECT_EQ(view_.transaction_id, 3u);
  ASSERT_EQ(view_.gpa_ranges.size(), 1u);
  EXPECT_EQ((*view_.gpa_ranges.begin()).pfns[0], pfn);
  EXPECT_EQ(ring.read(buffer_, &view_, preferred), ReadResult::kEmpty);
}

TEST_F(IncomingRingTest, PreferredBufferDoesNotRaiseTheMaximum) {
  write_committed(memory_.view(), 100);  // 120-byte packet
  IncomingRing ring(memory_.view());
  std::vector<std::byte> small(112);
  std::vector<std::byte> preferred(256);
  EXPECT_EQ(ring.read(small, &view_, preferred), ReadResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kPacketTooLarge);
}

TEST_F(IncomingRingTest, BufferSmallerThanADescriptorRefusesEveryPacket) {
  write_committed(memory_.view(), 0);
  IncomingRing ring(memory_.view());
  std::vector<std::byte> tiny(8);
  EXPECT_EQ(ring.read(tiny, &view_), ReadResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kPacketTooLarge);
}

TEST_F(IncomingRingTest, FailureIsStickyAndKeepsTheFirstReason) {
  write_committed(memory_.view(), 8);
  memory_.data()[0] = std::byte{0};  // type 0
  IncomingRing ring(memory_.view());
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kUnknownType);
  memory_.data()[0] = std::byte{6};  // repaired: still failed
  memory_.set_control_word(wire::kWriteIndexOffset, 3);
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kCorrupt);
  EXPECT_TRUE(ring.has_data());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kUnknownType);
}

TEST_F(IncomingRingTest, ReadsABatchAndPublishesOnce) {
  write_committed(memory_.view(), 24, 3);  // 3 x 48 ring bytes
  IncomingRing ring(memory_.view());
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
    EXPECT_EQ(view_.transaction_id, i);
    EXPECT_EQ(view_.payload.size(), 24u);
  }
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kEmpty);
  EXPECT_EQ(memory_.control_word(wire::kReadIndexOffset), 0u) << "published before commit";
  EXPECT_EQ(ring.uncommitted_bytes(), 144u);
  EXPECT_FALSE(ring.commit_read());  // producer not waiting
  EXPECT_EQ(memory_.control_word(wire::kReadIndexOffset), 144u);
  EXPECT_FALSE(ring.commit_read());
}

TEST_F(IncomingRingTest, RewindGivesUnpublishedReadsBack) {
  write_committed(memory_.view(), 24, 3);  // 3 x 48 ring bytes
  IncomingRing ring(memory_.view());
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_FALSE(ring.commit_read());
  const uint32_t mark = ring.read_position();
  EXPECT_EQ(mark, 48u);
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_EQ(view_.transaction_id, 2u);
  ring.rewind_to(mark);
  EXPECT_EQ(ring.uncommitted_bytes(), 0u);
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_EQ(view_.transaction_id, 1u) << "the packets taken back come again, in order";
  EXPECT_FALSE(ring.commit_read());
  EXPECT_EQ(memory_.control_word(wire::kReadIndexOffset), 96u);
}

TEST_F(IncomingRingTest, RewindIgnoresPositionsItCannotGoBackTo) {
  write_committed(memory_.view(), 24, 3);
  IncomingRing ring(memory_.view());
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_FALSE(ring.commit_read());  // 96 published: 0 and 48 are gone
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  for (const uint32_t position : {0u, 48u, 100u, 4096u, 4104u, 144u + 8u}) {
    ring.rewind_to(position);
    EXPECT_EQ(ring.read_position(), 144u) << position;
  }
  EXPECT_FALSE(ring.corrupt());
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kEmpty);
}

TEST_F(IncomingRingTest, RuleBSignalsOnceWhenBatchCrossesThreshold) {
  write_committed(memory_.view(), 992, 4);  // 4 x 1016 ring bytes: 32 bytes stay free
  memory_.set_control_word(wire::kPendingSendSizeOffset, 1500);
  IncomingRing ring(memory_.view());
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_FALSE(ring.commit_read());  // free 32 -> 1048: not above 1500
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_TRUE(ring.commit_read());  // 1048 -> 2064
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_FALSE(ring.commit_read());  // already above
}

TEST_F(IncomingRingTest, RuleBIgnoresInterruptMask) {
  write_committed(memory_.view(), 992, 4);
  memory_.set_control_word(wire::kPendingSendSizeOffset, 100);
  IncomingRing ring(memory_.view());
  ring.mask_interrupts();
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_TRUE(ring.commit_read());
}

TEST_F(IncomingRingTest, MaskAndUnmaskFollowRuleC) {
  IncomingRing ring(memory_.view());
  ring.mask_interrupts();
  EXPECT_EQ(memory_.control_word(wire::kInterruptMaskOffset), 1u);
  EXPECT_FALSE(ring.unmask_and_check());
  EXPECT_EQ(memory_.control_word(wire::kInterruptMaskOffset), 0u);
  ring.mask_interrupts();
  write_committed(memory_.view(), 8);  // arrives while masked: no signal was due
  EXPECT_TRUE(ring.unmask_and_check());
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_FALSE(ring.unmask_and_check());  // read (even uncommitted) means drained
}

// commit_and_unmask() gives the answers commit_read() then unmask_and_check() give, and
// leaves the same control page, in each case that changes an answer; so does
// commit_unmask_and_release(), which also clears the owner's flag and, having let go, leaves
// a bad write_index for the next read() to fail the ring with.
TEST(IncomingRingIdle, CommitAndUnmaskAnswersAsThePair) {
  struct Case {
    const char* name;
    int packets;                        // written, 992 bytes of payload each (1016 ring bytes)
    int reads;                          // read before going idle
    uint32_t pending;                   // pending_send_sz the producer set
    uint32_t write_index = UINT32_MAX;  // forced after writing (UINT32_MAX: as written)
    bool signal;
    bool more;
  };
  const Case cases[] = {
      {"empty", 0, 0, 0, UINT32_MAX, false, false},
      {"drained, producer not waiting", 2, 2, 0, UINT32_MAX, false, false},
      {"data left", 3, 1, 0, UINT32_MAX, false, true},
      {"nothing read, data left", 1, 0, 0, UINT32_MAX, false, true},
      {"crosses pending_send_sz", 4, 2, 1500, UINT32_MAX, true, true},
      {"below pending_send_sz", 4, 1, 1500, UINT32_MAX, false, true},
      {"nothing published, producer waiting", 4, 0, 100, UINT32_MAX, false, true},
      {"bad write_index", 2, 1, 0, 4100, false, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RingMemory pair_memory{4096, false, wire::kFeaturePendingSendSize};
    RingMemory combined_memory{4096, false, wire::kFeaturePendingSendSize};
    RingMemory released_memory{4096, false, wire::kFeaturePendingSendSize};
    std::vector<std::byte> buffer(4096);
    wire::PacketView view;
    for (RingMemory* memory : {&pair_memory, &combined_memory, &released_memory}) {
      if (c.packets > 0) write_committed(memory->view(), 992, c.packets);
      memory->set_control_word(wire::kPendingSendSizeOffset, c.pending);
    }
    IncomingRing pair(pair_memory.view());
    IncomingRing combined(combined_memory.view());
    IncomingRing released(released_memory.view());
    for (IncomingRing* ring : {&pair, &combined, &released}) {
      ring->mask_interrupts();
      for (int i = 0; i < c.reads; ++i) ASSERT_EQ(ring->read(buffer, &view), ReadResult::kPacket);
    }
    if (c.write_index != UINT32_MAX) {
      for (RingMemory* memory : {&pair_memory, &combined_memory, &released_memory}) {
        memory->set_control_word(wire::kWriteIndexOffset, c.write_index);
      }
    }
    const bool signal = pair.commit_read();
    const bool more = pair.unmask_and_check();
    const IncomingRing::Idle idle = combined.commit_and_unmask();
    std::atomic<bool> owner{true};
    const IncomingRing::Idle let_go = released.commit_unmask_and_release(owner);
    EXPECT_EQ(signal, c.signal);
    EXPECT_EQ(more, c.more);
    EXPECT_EQ(idle.signal, signal);
    EXPECT_EQ(idle.more, more);
    EXPECT_EQ(let_go.signal, signal);
    EXPECT_EQ(let_go.more, more);
    EXPECT_FALSE(owner.load());
    for (const size_t offset : {wire::kReadIndexOffset, wire::kInterruptMaskOffset}) {
      EXPECT_EQ(combined_memory.control_word(offset), pair_memory.control_word(offset))
          << "control word at " << offset;
      EXPECT_EQ(released_memory.control_word(offset), pair_memory.control_word(offset))
          << "control word at " << offset;
    }
    EXPECT_EQ(combined.corrupt_reason(), pair.corrupt_reason());
    EXPECT_EQ(combined.uncommitted_bytes(), 0u);
    EXPECT_EQ(released.uncommitted_bytes(), 0u);
    // The next owner reads what is left, then finds the ring empty or fails it for the same
    // reason the pair did.
    EXPECT_EQ(released.corrupt_reason(), CorruptReason::kNone);
    int left = 0;
    ReadResult next;
    while ((next = released.read(buffer, &view)) == ReadResult::kPacket) ++left;
    EXPECT_EQ(released.corrupt_reason(), pair.corrupt_reason());
    EXPECT_EQ(left == 0 && next == ReadResult::kEmpty, !more);
  }
}

TEST_F(IncomingRingTest, CommitAndUnmaskLeavesACorruptRingAlone) {
  write_committed(memory_.view(), 24, 2);
  IncomingRing ring(memory_.view());
  ring.mask_interrupts();
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  memory_.set_control_word(wire::kWriteIndexOffset, 12);  // misaligned
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kCorrupt);
  const IncomingRing::Idle idle = ring.commit_and_unmask();
  EXPECT_FALSE(idle.signal);
  EXPECT_TRUE(idle.more) << "read() reports the failure";
  EXPECT_EQ(memory_.control_word(wire::kReadIndexOffset), 0u) << "nothing published";
  EXPECT_EQ(memory_.control_word(wire::kInterruptMaskOffset), 1u);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexMisaligned);
  std::atomic<bool> owner{true};
  const IncomingRing::Idle let_go = ring.commit_unmask_and_release(owner);
  EXPECT_FALSE(let_go.signal);
  EXPECT_TRUE(let_go.more);
  EXPECT_FALSE(owner.load()) << "let go all the same";
  EXPECT_EQ(memory_.control_word(wire::kInterruptMaskOffset), 1u);
}

TEST_F(IncomingRingTest, ProducerSeesMaskWhileConsumerDrains) {
  IncomingRing incoming(memory_.view());
  OutgoingRing outgoing(memory_.view());
  const std::vector<std::byte> payload(8);
  incoming.mask_interrupts();
  ASSERT_EQ(outgoing.try_write(PacketType::kDataInBand, 0, 1, payload), WriteResult::kWritten);
  EXPECT_FALSE(outgoing.commit());  // masked
  EXPECT_TRUE(incoming.unmask_and_check());
  ASSERT_EQ(incoming.read(buffer_, &view_), ReadResult::kPacket);
  (void)incoming.commit_read();
  ASSERT_EQ(outgoing.try_write(PacketType::kDataInBand, 0, 2, payload), WriteResult::kWritten);
  EXPECT_TRUE(outgoing.commit());  // unmasked and empty
}

TEST_F(IncomingRingTest, RefusesMalformedGpaPacketThatWrapsInASplitArea) {
  // Descriptor in the last 16 bytes, GPA header (range_count 0) at offset 0: the split-copy
  // path must find the same fault as the contiguous one.
  const uint32_t start = 4096 - 16;
  const wire::PacketDescriptor descriptor{9, 3, 4, 1, 5};
  std::memcpy(memory_.data() + start, &descriptor, sizeof descriptor);
  memory_.set_control_word(wire::kReadIndexOffset, start);
  memory_.set_control_word(wire::kWriteIndexOffset, 24);  // 16 + 24 = 40 = 32 + trailer
  IncomingRing ring(memory_.view());
  EXPECT_EQ(ring.read(buffer_, &view_), ReadResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kGpaZeroRangeCount);
}

TEST_F(IncomingRingTest, ReadsGpaPacketThatWrapsInASplitArea) {
  const uint32_t start = 4096 - 24;
  memory_.set_control_word(wire::kReadIndexOffset, start);
  memory_.set_control_word(wire::kWriteIndexOffset, start);
  OutgoingRing outgoing(memory_.view());
  const uint64_t pfn = 0xABCDE;
  const std::vector<std::byte> payload(12, std::byte{0x33});
  write_gpa_packet(outgoing, 77, {100, 8, {&pfn, 1}}, payload);
  (void)outgoing.commit();
  IncomingRing ring(memory_.view());
  ASSERT_EQ(ring.read(buffer_, &view_), ReadResult::kPacket);
  EXPECT_EQ(view_.transaction_id, 77u);
  ASSERT_EQ(view_.gpa_ranges.size(), 1u);
  EXPECT_EQ((*view_.gpa_ranges.begin()).pfns[0], pfn);
  EXPECT_EQ(view_.payload[11], std::byte{0x33});
}

TEST_F(IncomingRingTest, ReadsPacketsAcrossManyWraps) {
  OutgoingRing outgoing(memory_.view());
  IncomingRing incoming(memory_.view());
  for (uint64_t i = 0; i < 1000; ++i) {
    std::vector<std::byte> payload(i % 200 + 1, static_cast<std::byte>(i));
    ASSERT_EQ(outgoing.try_write(PacketType::kDataInBand, 0, i, payload), WriteResult::kWritten);
    (void)outgoing.commit();
    ASSERT_EQ(incoming.read(buffer_, &view_), ReadResult::kPacket);
    EXPECT_EQ(view_.transaction_id, i);
    EXPECT_EQ(view_.payload[payload.size() - 1], static_cast<std::byte>(i));
    (void)incoming.commit_read();
  }
  EXPECT_FALSE(incoming.corrupt());
  EXPECT_FALSE(outgoing.corrupt());
}

}  // namespace
}  // namespace vmb::ring
