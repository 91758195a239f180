// SPDX-License-Identifier: MIT
// Unit tests for OutgoingRing: every refusal branch (unusable view, bad own index, bad
// read_index on each load, invalid packets, full), two-phase commit with batching and rule A,
// the read-index cache, gather writes, and the pending-send-size request (rule B, producer).
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "testing/ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"

namespace vmb::ring {
namespace {

using testing::RingMemory;
using wire::CorruptReason;
using wire::PacketType;

std::vector<std::byte> pattern(size_t size, uint8_t seed = 0) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i + seed) & 0xFF);
  return bytes;
}

WriteResult write(OutgoingRing& ring, size_t payload_bytes, uint64_t id = 1) {
  const auto payload = pattern(payload_bytes);
  return ring.try_write(PacketType::kDataInBand, 0, id, payload);
}

TEST(OutgoingRing, RefusesUnusableViews) {
  RingMemory memory(4096, false);
  const RingView good = memory.view();
  std::vector<RingView> bad(5, good);
  bad[0].control = nullptr;
  bad[1].data = nullptr;
  bad[2].data_size = 4092;
  bad[3].data_size = 24;
  bad[4].control = good.control + 4;
  for (const RingView& view : bad) {
    OutgoingRing ring(view);
    EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kUnusableView);
    EXPECT_EQ(write(ring, 8), WriteResult::kCorrupt);
    EXPECT_FALSE(ring.commit());
    EXPECT_EQ(ring.request_space(32), SpaceRequest::kCorrupt);
  }
}

TEST(OutgoingRing, RefusesOwnWriteIndexOutOfRange) {
  RingMemory memory(4096, false);
  memory.set_control_word(wire::kWriteIndexOffset, 4096);
  OutgoingRing ring(memory.view());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
  EXPECT_EQ(write(ring, 8), WriteResult::kCorrupt);
}

TEST(OutgoingRing, RefusesOwnWriteIndexMisaligned) {
  RingMemory memory(4096, false);
  memory.set_control_word(wire::kWriteIndexOffset, 12);
  OutgoingRing ring(memory.view());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexMisaligned);
}

TEST(OutgoingRing, RefusesReadIndexOutOfRangeOnWrite) {
  RingMemory memory(4096, false);
  memory.set_control_word(wire::kReadIndexOffset, 8192);
  OutgoingRing ring(memory.view());
  EXPECT_FALSE(ring.corrupt());  // not loaded until needed
  EXPECT_EQ(write(ring, 8), WriteResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
  // Failed for good, even once the index looks sane again.
  memory.set_control_word(wire::kReadIndexOffset, 0);
  EXPECT_EQ(write(ring, 8), WriteResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
  EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), 0u);
}

TEST(OutgoingRing, RefusesReadIndexMisalignedOnWrite) {
  RingMemory memory(4096, false);
  memory.set_control_word(wire::kReadIndexOffset, 4);
  OutgoingRing ring(memory.view());
  EXPECT_EQ(write(ring, 8), WriteResult::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexMisaligned);
}

TEST(OutgoingRing, RefusesBadReadIndexAtCommit) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 8), WriteResult::kWritten);
  memory.set_control_word(wire::kReadIndexOffset, 4100);
  EXPECT_FALSE(ring.commit());
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
  EXPECT_EQ(write(ring, 8), WriteResult::kCorrupt);
}

TEST(OutgoingRing, RefusesBadReadIndexInSpaceRequest) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  memory.set_control_word(wire::kReadIndexOffset, 7);
  EXPECT_EQ(ring.request_space(64), SpaceRequest::kCorrupt);
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexMisaligned);
}

TEST(OutgoingRing, InvalidPacketsLeaveTheRingUsable) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  const auto payload = pattern(8);
  EXPECT_EQ(ring.try_write(PacketType::kCancelRequest, 0, 1, payload), WriteResult::kInvalidPacket);
  EXPECT_EQ(ring.try_write(PacketType::kDataInBand, 2, 1, payload), WriteResult::kInvalidPacket);
  const std::array<std::byte, 12> header{};
  const std::span<const std::byte> pieces[] = {payload};
  EXPECT_EQ(ring.try_write({PacketType::kDataUsingGpaDirect, 1, 1, header, pieces}),
            WriteResult::kInvalidPacket);
  const auto huge = pattern(wire::kMaximumPacketBytes);
  EXPECT_EQ(ring.try_write(PacketType::kDataInBand, 0, 1, huge), WriteResult::kInvalidPacket);
  EXPECT_FALSE(ring.corrupt());
  EXPECT_EQ(ring.uncommitted_bytes(), 0u);
  EXPECT_EQ(write(ring, 8), WriteResult::kWritten);
}

// A ring larger than the biggest packet: a payload that fits the ring but not len8 (u16) is
// refused by the inline path too, not written with a truncated length.
TEST(OutgoingRing, PacketPastLen8IsInvalidEvenWhenTheRingHasRoom) {
  RingMemory memory(1u << 20, false);
  OutgoingRing ring(memory.view());
  // A first write loads read_index, so the cache shows the whole ring free: the next writes
  // take the inline path.
  ASSERT_EQ(write(ring, 8), WriteResult::kWritten);
  const uint32_t first = ring.uncommitted_bytes();
  const uint32_t largest_payload = wire::kMaximumPacketBytes - wire::kDescriptorSize;
  EXPECT_EQ(write(ring, largest_payload + 1), WriteResult::kInvalidPacket);
  EXPECT_EQ(ring.try_write(PacketType::kCompletion, 0, 1, pattern(largest_payload + 8)),
            WriteResult::kInvalidPacket);
  EXPECT_EQ(ring.uncommitted_bytes(), first);
  ASSERT_EQ(write(ring, largest_payload), WriteResult::kWritten);
  EXPECT_EQ(ring.uncommitted_bytes(), first + wire::kMaximumPacketBytes + wire::kTrailerSize);
  EXPECT_FALSE(ring.corrupt());
}

TEST(OutgoingRing, FullWhenFreeSpaceEqualsNeed) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  // max_ring_bytes() = 4088: a packet of 4080 bytes (payload 4064) fits, 4088 does not.
  EXPECT_EQ(ring.max_ring_bytes(), 4088u);
  EXPECT_EQ(write(ring, 4065), WriteResult::kFull);
  EXPECT_EQ(write(ring, 4064), WriteResult::kWritten);
  EXPECT_EQ(write(ring, 0), WriteResult::kFull);
  EXPECT_TRUE(ring.commit());
  EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), 4088u);
}

TEST(OutgoingRing, CommitPublishesABatchWithOneSignal) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(write(ring, 10), WriteResult::kWritten);
  EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), 0u);
  EXPECT_EQ(ring.uncommitted_bytes(), 3u * 40u);
  EXPECT_TRUE(ring.commit());  // the ring was empty before the first of them
  EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), 120u);
  EXPECT_EQ(ring.uncommitted_bytes(), 0u);
  EXPECT_FALSE(ring.commit());  // nothing new
  ASSERT_EQ(write(ring, 10), WriteResult::kWritten);
  EXPECT_FALSE(ring.commit());  // not empty before this batch
}

TEST(OutgoingRing, CommitHonoursInterruptMask) {
  RingMemory memory(4096, false);
  memory.set_control_word(wire::kInterruptMaskOffset, 0xFFFFFFFF);  // any non-zero value
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 10), WriteResult::kWritten);
  EXPECT_FALSE(ring.commit());
}

TEST(OutgoingRing, DiscardForgetsUncommittedPackets) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 10), WriteResult::kWritten);
  ring.discard_uncommitted();
  EXPECT_EQ(ring.uncommitted_bytes(), 0u);
  EXPECT_FALSE(ring.commit());
  EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), 0u);
}

TEST(OutgoingRing, UsesCachedReadIndexWhileSpaceSuffices) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 10), WriteResult::kWritten);      // loads read_index 0
  memory.set_control_word(wire::kReadIndexOffset, 4100);  // not looked at while space suffices
  EXPECT_EQ(write(ring, 10), WriteResult::kWritten);
  EXPECT_FALSE(ring.corrupt());
  EXPECT_FALSE(ring.commit());  // commit loads it and notices
  EXPECT_EQ(ring.corrupt_reason(), CorruptReason::kIndexOutOfRange);
}

TEST(OutgoingRing, RefreshesReadIndexWhenCacheShowsTooLittleSpace) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 2100), WriteResult::kWritten);  // 2128 ring bytes
  ASSERT_EQ(write(ring, 2100), WriteResult::kFull);
  ASSERT_TRUE(ring.commit());
  memory.set_control_word(wire::kReadIndexOffset, 2128);  // the consumer read the packet
  EXPECT_EQ(write(ring, 2100), WriteResult::kWritten);
}

TEST(OutgoingRing, GatherPiecesLandBackToBack) {
  RingMemory memory(4096, false);
  OutgoingRing ring(memory.view());
  const auto whole = pattern(29);
  const std::span<const std::byte> pieces[] = {
      std::span(whole).first(5), std::span(whole).subspan(5, 0), std::span(whole).subspan(5)};
  ASSERT_EQ(ring.try_write({PacketType::kDataInBand, 1, 9, {}, pieces}), WriteResult::kWritten);
  ASSERT_TRUE(ring.commit());
  IncomingRing incoming(memory.view());
  std::vector<std::byte> buffer(256);
  wire::PacketView view;
  ASSERT_EQ(incoming.read(buffer, &view), ReadResult::kPacket);
  ASSERT_EQ(view.payload.size(), 32u);
  EXPECT_TRUE(std::equal(whole.begin(), whole.end(), view.payload.begin()));
}

TEST(OutgoingRing, SpaceRequestAvailableWhenItFits) {
  RingMemory memory(4096, false, wire::kFeaturePendingSendSize);
  OutgoingRing ring(memory.view());
  EXPECT_EQ(ring.request_space(1000), SpaceRequest::kAvailable);
  EXPECT_EQ(memory.control_word(wire::kPendingSendSizeOffset), 1000u);
  ring.clear_space_request();
  EXPECT_EQ(memory.control_word(wire::kPendingSendSizeOffset), 0u);
}

TEST(OutgoingRing, SpaceRequestCountsUncommittedBytesAndWaits) {
  RingMemory memory(4096, false, wire::kFeaturePendingSendSize);
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 3000), WriteResult::kWritten);  // 3024 ring bytes, not committed
  EXPECT_EQ(ring.request_space(1072), SpaceRequest::kWaitForSignal);
  EXPECT_EQ(memory.control_word(wire::kPendingSendSizeOffset), 1072u + 3024u);
  EXPECT_TRUE(ring.commit());  // rule A: the ring was empty before the batch
}

TEST(OutgoingRing, SpaceRequestSeesSpaceFreedBeforeTheFence) {
  RingMemory memory(4096, false, wire::kFeaturePendingSendSize);
  OutgoingRing ring(memory.view());
  ASSERT_EQ(write(ring, 3000), WriteResult::kWritten);
  (void)ring.commit();
  EXPECT_EQ(ring.request_space(2000), SpaceRequest::kWaitForSignal);
  memory.set_control_word(wire::kReadIndexOffset, 3024);
  EXPECT_EQ(ring.request_space(2000), SpaceRequest::kAvailable);
  EXPECT_EQ(write(ring, 1970), WriteResult::kWritten);
  ring.clear_space_request();
}

}  // namespace
}  // namespace vmb::ring
