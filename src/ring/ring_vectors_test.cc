// SPDX-License-Identifier: MIT
// Golden-vector tests of the rings (../shared/vectors, read at run time), each run over a
// double-mapped and a split-copy data area: ring-write vectors through OutgoingRing (bytes,
// indices, rule A signal, "full" writes nothing) and back through IncomingRing; malformed
// ring-read vectors refused for their stated reason; signal-read vectors' rule B answers.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "testing/packet_vector.h"
#include "testing/ring_memory.h"
#include "testing/vector_file.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb::ring {
namespace {

using testing::load_vectors;
using testing::PacketVector;
using testing::parse_number;
using testing::required_number;
using testing::RingMemory;
using testing::Vector;
using wire::CorruptReason;

const std::vector<std::string> kRingWriteFiles{
    "ring-inband.vec", "ring-completion.vec", "ring-gpa-direct.vec", "ring-transfer-page.vec",
    "ring-wrap.vec",   "ring-capacity.vec",   "signal-write.vec"};

class RingVectors : public ::testing::TestWithParam<bool> {
 protected:
  bool doubled() const { return GetParam(); }
};

uint32_t data_size(const Vector& vector) {
  return static_cast<uint32_t>(parse_number(vector.header("ring_data_size")));
}

void apply_before(const Vector& vector, RingMemory* memory) {
  const auto before = testing::ring_before(vector);
  memory->set_control_word(wire::kWriteIndexOffset, before.write_index);
  memory->set_control_word(wire::kReadIndexOffset, before.read_index);
  memory->set_control_word(wire::kInterruptMaskOffset, before.interrupt_mask);
  memory->set_control_word(wire::kPendingSendSizeOffset, before.pending_send_size);
  memory->set_control_word(wire::kFeatureBitsOffset, before.feature_bits);
}

// Writes the vector's packet with the payload split into pieces of `piece` bytes (0 = one).
WriteResult write_packet(const PacketVector& packet, size_t piece, OutgoingRing* ring) {
  const wire::PacketSpec& spec = packet.spec();
  std::vector<std::byte> header(4096);
  size_t header_bytes = 0;
  if (spec.type == wire::PacketType::kDataUsingGpaDirect) {
    header_bytes = *wire::encode_gpa_direct_header(spec.gpa_ranges, header);
  } else if (spec.type == wire::PacketType::kDataUsingTransferPages) {
    header_bytes = *wire::encode_transfer_page_header(
        spec.transfer_page_set_id, spec.sender_owns_set, spec.transfer_page_ranges, header);
  }
  std::vector<std::span<const std::byte>> pieces;
  const size_t step = piece == 0 ? spec.payload.size() + 1 : piece;
  for (size_t at = 0; at < spec.payload.size(); at += step) {
    pieces.push_back(spec.payload.subspan(at, std::min(step, spec.payload.size() - at)));
  }
  const OutgoingPacket outgoing{spec.type, spec.flags, spec.transaction_id,
                                std::span(header).first(header_bytes), pieces};
  return ring->try_write(outgoing);
}

std::vector<uint8_t> data_bytes(const RingMemory& memory) {
  const auto* data = reinterpret_cast<const uint8_t*>(memory.data());
  return {data, data + memory.data_size()};
}

TEST_P(RingVectors, RingWriteVectorsProduceIdenticalBytesIndicesAndSignals) {
  size_t checked = 0;
  for (const std::string& file : kRingWriteFiles) {
    for (const Vector& vector : load_vectors(file)) {
      for (const size_t piece : {size_t{0}, size_t{3}}) {
        SCOPED_TRACE(file + ": " + vector.name + " piece " + std::to_string(piece));
        const PacketVector packet(vector);
        RingMemory memory(data_size(vector), doubled());
        apply_before(vector, &memory);
        OutgoingRing ring(memory.view());
        const auto after = static_cast<uint32_t>(required_number(vector, "after", "write_index"));
        const std::string expect = vector.header("expect");
        if (expect == "reject: full") {
          EXPECT_EQ(write_packet(packet, piece, &ring), WriteResult::kFull);
          EXPECT_FALSE(ring.commit());
          EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), after);
          EXPECT_EQ(data_bytes(memory), std::vector<uint8_t>(memory.data_size(), 0));
          EXPECT_FALSE(ring.corrupt());
          continue;
        }
        ASSERT_EQ(expect, "accept");
        ASSERT_EQ(write_packet(packet, piece, &ring), WriteResult::kWritten);
        EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset),
                  testing::ring_before(vector).write_index)
            << "published before commit";
        EXPECT_EQ(ring.commit(), parse_number(vector.header("signal")) == 1);
        EXPECT_EQ(memory.control_word(wire::kWriteIndexOffset), after);
        EXPECT_EQ(data_bytes(memory), vector.image(memory.data_size()));

        // Decode back from the packet's start.
        memory.set_control_word(wire::kReadIndexOffset, testing::ring_before(vector).write_index);
        IncomingRing incoming(memory.view());
        std::vector<std::byte> buffer(memory.data_size());
        wire::PacketView view;
        ASSERT_EQ(incoming.read(buffer, &view), ReadResult::kPacket);
        EXPECT_EQ(view.type, packet.spec().type);
        EXPECT_EQ(view.flags, packet.spec().flags);
        EXPECT_EQ(view.transaction_id, packet.spec().transaction_id);
        EXPECT_EQ(view.len8, required_number(vector, "decoded", "len8"));
        EXPECT_EQ(view.payload.size(), required_number(vector, "decoded", "payload_len"));
        EXPECT_TRUE(
            std::equal(packet.payload().begin(), packet.payload().end(), view.payload.begin()));
        EXPECT_EQ(view.gpa_ranges.size(), packet.gpa_ranges().size());
        EXPECT_EQ(view.transfer_page_ranges.size(), packet.spec().transfer_page_ranges.size());
        EXPECT_EQ(incoming.read(buffer, &view), ReadResult::kEmpty);
        (void)incoming.commit_read();
        EXPECT_EQ(memory.control_word(wire::kReadIndexOffset), after);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * 30u);
}

// The reason each malformed vector must be refused for (wire-format.md §4.2).
const std::map<std::string, CorruptReason> kMalformedReasons{
    {"offset8_below_2", CorruptReason::kOffset8BelowMinimum},
    {"offset8_zero", CorruptReason::kOffset8BelowMinimum},
    {"offset8_above_len8", CorruptReason::kOffset8AboveLen8},
    {"len8_beyond_available", CorruptReason::kPacketBeyondAvailable},
    {"len8_missing_trailer", CorruptReason::kPacketBeyondAvailable},
    {"len8_larger_than_ring", CorruptReason::kPacketBeyondAvailable},
    {"available_less_than_descriptor", CorruptReason::kTooFewBytesAvailable},
    {"unknown_type_0", CorruptReason::kUnknownType},
    {"undefined_flag_bit", CorruptReason::kUndefinedFlag},
    {"gpa_offset8_2", CorruptReason::kGpaHeaderTooShort},
    {"gpa_range_count_0", CorruptReason::kGpaZeroRangeCount},
    {"gpa_pfns_beyond_offset8", CorruptReason::kGpaRangesBeyondOffset8},
    {"gpa_byte_offset_not_in_page", CorruptReason::kGpaByteOffsetNotInPage},
    {"gpa_byte_count_0", CorruptReason::kGpaZeroByteCount},
    {"xfer_offset8_too_small_for_ranges", CorruptReason::kTransferPageRangesBeyondOffset8},
    {"xfer_offset8_2", CorruptReason::kTransferPageHeaderTooShort},
    {"write_index_beyond_data_area", CorruptReason::kIndexOutOfRange},
    {"write_index_unaligned", CorruptReason::kIndexMisaligned},
};

TEST_P(RingVectors, MalformedVectorsAreRefusedForTheirReason) {
  size_t checked = 0;
  for (const Vector& vector : load_vectors("malformed.vec")) {
    SCOPED_TRACE(vector.name);
    ASSERT_EQ(vector.header("kind"), "ring-read");
    ASSERT_EQ(vector.header("expect"), "reject: corrupt");
    const auto reason = kMalformedReasons.find(vector.name);
    ASSERT_NE(reason, kMalformedReasons.end()) << "no stated reason for this vector";
    RingMemory memory(data_size(vector), doubled(), wire::kFeaturePendingSendSize);
    apply_before(vector, &memory);
    const std::vector<uint8_t> image = vector.image(memory.data_size());
    std::memcpy(memory.data(), image.data(), image.size());
    IncomingRing ring(memory.view());
    std::vector<std::byte> buffer(memory.data_size());
    wire::PacketView view;
    EXPECT_EQ(ring.read(buffer, &view), ReadResult::kCorrupt);
    EXPECT_EQ(ring.corrupt_reason(), reason->second) << wire::to_string(ring.corrupt_reason());
    // Failed for good: nothing delivered, nothing published, the first reason kept.
    EXPECT_EQ(ring.read(buffer, &view), ReadResult::kCorrupt);
    EXPECT_FALSE(ring.commit_read());
    EXPECT_EQ(ring.corrupt_reason(), reason->second);
    EXPECT_EQ(memory.control_word(wire::kReadIndexOffset), testing::ring_before(vector).read_index);
    ++checked;
  }
  EXPECT_EQ(checked, kMalformedReasons.size());
}

TEST_P(RingVectors, SignalReadVectorsGiveRuleBAnswers) {
  size_t checked = 0;
  for (const Vector& vector : load_vectors("signal-read.vec")) {
    SCOPED_TRACE(vector.name);
    RingMemory memory(data_size(vector), doubled());
    apply_before(vector, &memory);
    const auto consumed = static_cast<uint32_t>(required_number(vector, "action", "bytes"));
    // One in-band packet of exactly `consumed` ring bytes at read_index, as the vectors'
    // DPDK check did.
    std::vector<std::byte> packet(consumed - wire::kTrailerSize);
    wire::PacketSpec spec;
    std::vector<std::byte> payload(packet.size() - wire::kDescriptorSize, std::byte{0x5A});
    spec.payload = payload;
    ASSERT_TRUE(wire::encode_packet(spec, packet));
    const auto read_index = testing::ring_before(vector).read_index;
    std::memcpy(memory.data() + read_index, packet.data(), packet.size());
    IncomingRing ring(memory.view());
    std::vector<std::byte> buffer(4096);
    wire::PacketView view;
    ASSERT_EQ(ring.read(buffer, &view), ReadResult::kPacket);
    EXPECT_EQ(ring.uncommitted_bytes(), consumed);
    EXPECT_EQ(ring.commit_read(), parse_number(vector.header("signal")) == 1);
    EXPECT_EQ(memory.control_word(wire::kReadIndexOffset),
              required_number(vector, "after", "read_index"));
    EXPECT_FALSE(ring.corrupt());
    ++checked;
  }
  EXPECT_EQ(checked, 6u);
}

INSTANTIATE_TEST_SUITE_P(DataArea, RingVectors, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "DoubleMapped" : "SplitCopy";
                         });

}  // namespace
}  // namespace vmb::ring
