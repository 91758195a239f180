// SPDX-License-Identifier: MIT
// Golden-vector tests of the packet encoder and parser (../shared/vectors, read at run time):
// every ring-write vector's packet encodes to exactly the bytes at its write index and
// parses back to the same fields; the signal vectors' rule A / rule B answers come out of
// the pure decision functions. Ring placement, trailers and indices: src/ring/ tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/packet_vector.h"
#include "testing/vector_file.h"
#include "vmbkit/wire/packet_encoder.h"
#include "vmbkit/wire/packet_view.h"

namespace vmb::wire {
namespace {

using vmb::testing::load_vectors;
using vmb::testing::PacketVector;
using vmb::testing::required_number;
using vmb::testing::Vector;

const std::vector<std::string> kRingWriteFiles{
    "ring-inband.vec", "ring-completion.vec", "ring-gpa-direct.vec", "ring-transfer-page.vec",
    "ring-wrap.vec",   "ring-capacity.vec",   "signal-write.vec"};

uint32_t data_size(const Vector& vector) {
  return static_cast<uint32_t>(vmb::testing::parse_number(vector.header("ring_data_size")));
}

// The `length` ring bytes from `start` of the vector's data image, in ring order.
std::vector<std::byte> in_ring_order(const Vector& vector, uint32_t start, uint32_t length) {
  const uint32_t size = data_size(vector);
  const std::vector<uint8_t> image = vector.image(size);
  std::vector<std::byte> out;
  for (uint32_t i = 0; i < length; ++i) out.push_back(std::byte{image[(start + i) % size]});
  return out;
}

TEST(PacketVectors, EveryRingWritePacketEncodesAndDecodesIdentically) {
  size_t checked = 0;
  for (const std::string& file : kRingWriteFiles) {
    for (const Vector& vector : load_vectors(file)) {
      SCOPED_TRACE(file + ": " + vector.name);
      const PacketVector packet(vector);
      const Result<size_t> size = encoded_packet_size(packet.spec());
      ASSERT_TRUE(size);
      if (vector.header("expect") != "accept") continue;  // full: nothing in the image
      std::vector<std::byte> encoded(*size);
      ASSERT_TRUE(encode_packet(packet.spec(), encoded));
      const auto start = static_cast<uint32_t>(required_number(vector, "before", "write_index"));
      EXPECT_EQ(encoded, in_ring_order(vector, start, static_cast<uint32_t>(*size)));

      PacketView view;
      ASSERT_EQ(parse_packet(encoded, &view), CorruptReason::kNone);
      EXPECT_EQ(view.type, packet.spec().type);
      EXPECT_EQ(view.flags, packet.spec().flags);
      EXPECT_EQ(view.transaction_id, packet.spec().transaction_id);
      EXPECT_EQ(view.offset8, required_number(vector, "decoded", "offset8"));
      EXPECT_EQ(view.len8, required_number(vector, "decoded", "len8"));
      EXPECT_EQ(view.payload.size(), required_number(vector, "decoded", "payload_len"));
      const auto& payload = packet.payload();
      ASSERT_GE(view.payload.size(), payload.size());
      EXPECT_TRUE(std::equal(payload.begin(), payload.end(), view.payload.begin()));
      for (size_t i = payload.size(); i < view.payload.size(); ++i) {
        EXPECT_EQ(view.payload[i], std::byte{0});
      }
      ASSERT_EQ(view.gpa_ranges.size(), packet.gpa_ranges().size());
      size_t index = 0;
      for (const GpaRange range : view.gpa_ranges) {
        const auto& want = packet.gpa_ranges()[index++];
        EXPECT_EQ(range.byte_count, want.byte_count);
        EXPECT_EQ(range.byte_offset, want.byte_offset);
        ASSERT_EQ(range.pfns.size(), want.pfns.size());
        for (uint32_t i = 0; i < range.pfns.size(); ++i) EXPECT_EQ(range.pfns[i], want.pfns[i]);
      }
      if (view.type == PacketType::kDataUsingTransferPages) {
        EXPECT_EQ(view.transfer_page_set_id, packet.spec().transfer_page_set_id);
        EXPECT_EQ(view.sender_owns_set, packet.spec().sender_owns_set);
        ASSERT_EQ(view.transfer_page_ranges.size(), packet.spec().transfer_page_ranges.size());
        for (uint32_t i = 0; i < view.transfer_page_ranges.size(); ++i) {
          EXPECT_EQ(view.transfer_page_ranges[i], packet.spec().transfer_page_ranges[i]);
        }
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 30u);  // every accepted ring-write vector (33 minus 3 full)
}

TEST(PacketVectors, RuleAMatchesSignalWriteVectors) {
  for (const Vector& vector : load_vectors("signal-write.vec")) {
    SCOPED_TRACE(vector.name);
    const auto before = vmb::testing::ring_before(vector);
    EXPECT_EQ(producer_should_signal(before.interrupt_mask, before.read_index, before.write_index),
              vmb::testing::parse_number(vector.header("signal")) == 1);
  }
}

TEST(PacketVectors, RuleBMatchesSignalReadVectors) {
  size_t checked = 0;
  for (const Vector& vector : load_vectors("signal-read.vec")) {
    SCOPED_TRACE(vector.name);
    const auto before = vmb::testing::ring_before(vector);
    const auto free_before = static_cast<uint32_t>(required_number(vector, "free", "before"));
    const auto free_after = static_cast<uint32_t>(required_number(vector, "free", "after"));
    EXPECT_EQ(ring_free_bytes(data_size(vector), before.write_index, before.read_index),
              free_before);
    const auto after_read = static_cast<uint32_t>(required_number(vector, "after", "read_index"));
    EXPECT_EQ(ring_free_bytes(data_size(vector), before.write_index, after_read), free_after);
    EXPECT_EQ(consumer_should_signal(before.feature_bits, before.pending_send_size, free_before,
                                     free_after),
              vmb::testing::parse_number(vector.header("signal")) == 1);
    ++checked;
  }
  EXPECT_EQ(checked, 6u);
}

}  // namespace
}  // namespace vmb::wire
