// SPDX-License-Identifier: MIT
// Unit tests for the packet encoder: layouts, each refusal (bad type, flag, range, size,
// buffer), and round trips through parse_packet() for all four accepted types.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "vmbkit/wire/packet_encoder.h"
#include "vmbkit/wire/packet_view.h"

namespace vmb::wire {
namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(LayoutPacket, CountsDescriptorHeaderAndPadding) {
  const PacketLayout layout = layout_packet(0, 5);
  ASSERT_TRUE(layout.valid);
  EXPECT_EQ(layout.offset8, 2);
  EXPECT_EQ(layout.len8, 3);
  EXPECT_EQ(layout.ring_bytes(), 32u);
  const PacketLayout gpa = layout_packet(24, 8);
  EXPECT_EQ(gpa.offset8, 5);
  EXPECT_EQ(gpa.len8, 6);
}

TEST(LayoutPacket, RefusesMisalignedExtendedHeader) { EXPECT_FALSE(layout_packet(12, 0).valid); }

TEST(LayoutPacket, RefusesLen8PastU16) {
  EXPECT_TRUE(layout_packet(0, kMaximumPacketBytes - kDescriptorSize).valid);
  EXPECT_FALSE(layout_packet(0, kMaximumPacketBytes - kDescriptorSize + 1).valid);
}

TEST(EncodePacket, WritesInBandBytesOfWireFormatExample) {
  const auto payload = bytes_of({1, 2, 3, 4, 5});
  PacketSpec spec;
  spec.transaction_id = 0x1122334455667788;
  spec.payload = payload;
  std::array<std::byte, 32> out;
  out.fill(std::byte{0xEE});
  const Result<size_t> written = encode_packet(spec, out);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, 24u);
  const auto expected = bytes_of({6,    0,    2,    0,    3, 0, 0, 0, 0x88, 0x77, 0x66, 0x55,
                                  0x44, 0x33, 0x22, 0x11, 1, 2, 3, 4, 5,    0,    0,    0});
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), out.begin()));
  EXPECT_EQ(out[24], std::byte{0xEE});  // nothing past len8 * 8
}

TEST(EncodePacket, RefusesTypesNotInUse) {
  PacketSpec spec;
  for (const int type : {0, 1, 5, 8, 0xA, 0xC, 0xD, 0xE}) {
    spec.type = static_cast<PacketType>(type);
    EXPECT_EQ(encoded_packet_size(spec).status(), STATUS_INVALID_PARAMETER) << type;
  }
}

TEST(EncodePacket, RefusesUndefinedFlags) {
  PacketSpec spec;
  spec.flags = 2;
  EXPECT_EQ(encoded_packet_size(spec).status(), STATUS_INVALID_PARAMETER);
}

TEST(EncodePacket, RefusesGpaDirectWithoutRanges) {
  PacketSpec spec;
  spec.type = PacketType::kDataUsingGpaDirect;
  EXPECT_EQ(encoded_packet_size(spec).status(), STATUS_INVALID_PARAMETER);
}

TEST(EncodePacket, RefusesGpaRangesTheParserWouldReject) {
  const std::array<uint64_t, 2> pfns{1, 2};
  const GpaRangeSpec wrong_count{100, 0, pfns};  // needs 1 PFN
  const GpaRangeSpec zero_bytes{0, 0, std::span(pfns).first(1)};
  const GpaRangeSpec offset_outside{1, 4096, pfns};
  for (const GpaRangeSpec& range : {wrong_count, zero_bytes, offset_outside}) {
    PacketSpec spec;
    spec.type = PacketType::kDataUsingGpaDirect;
    spec.gpa_ranges = {&range, 1};
    EXPECT_EQ(encoded_packet_size(spec).status(), STATUS_INVALID_PARAMETER);
    std::array<std::byte, 64> header;
    EXPECT_EQ(encode_gpa_direct_header({&range, 1}, header).status(), STATUS_INVALID_PARAMETER);
  }
}

TEST(EncodePacket, RefusesPayloadPastLen8Limit) {
  std::vector<std::byte> payload(kMaximumPacketBytes);
  PacketSpec spec;
  spec.payload = payload;
  EXPECT_EQ(encoded_packet_size(spec).status(), STATUS_INVALID_PARAMETER);
}

TEST(EncodePacket, RefusesSmallBuffer) {
  const auto payload = bytes_of({1});
  PacketSpec spec;
  spec.payload = payload;
  std::array<std::byte, 23> out;
  EXPECT_EQ(encode_packet(spec, out).status(), STATUS_BUFFER_TOO_SMALL);
  const std::array<uint64_t, 1> pfn{1};
  const GpaRangeSpec range{1, 0, pfn};
  std::array<std::byte, 23> header;
  EXPECT_EQ(encode_gpa_direct_header({&range, 1}, header).status(), STATUS_BUFFER_TOO_SMALL);
  const TransferPageRange xfer{1, 0};
  EXPECT_EQ(encode_transfer_page_header(1, 0, {&xfer, 1}, std::span(header).first(15)).status(),
            STATUS_BUFFER_TOO_SMALL);
}

TEST(EncodePacket, GpaDirectRoundTrips) {
  const std::array<uint64_t, 2> first{0x12345, 0x12346};
  const std::array<uint64_t, 1> second{0xABCDEF};
  const std::array<GpaRangeSpec, 2> ranges{GpaRangeSpec{5000, 100, first},
                                           GpaRangeSpec{512, 0, second}};
  const auto payload = bytes_of({9, 8, 7});
  PacketSpec spec;
  spec.type = PacketType::kDataUsingGpaDirect;
  spec.flags = kFlagCompletionRequested;
  spec.transaction_id = 42;
  spec.gpa_ranges = ranges;
  spec.payload = payload;
  EXPECT_EQ(gpa_direct_header_size(ranges), 8u + 24u + 16u);
  std::array<std::byte, 128> out;
  const Result<size_t> written = encode_packet(spec, out);
  ASSERT_TRUE(written);
  PacketView view;
  ASSERT_EQ(parse_packet(std::span(out).first(*written), &view), CorruptReason::kNone);
  EXPECT_EQ(view.type, PacketType::kDataUsingGpaDirect);
  EXPECT_EQ(view.offset8, (16 + 48) / 8);
  ASSERT_EQ(view.gpa_ranges.size(), 2u);
  auto it = view.gpa_ranges.begin();
  EXPECT_EQ((*it).pfns[1], 0x12346u);
  ++it;
  EXPECT_EQ((*it).byte_count, 512u);
  EXPECT_EQ((*it).pfns[0], 0xABCDEFu);
  EXPECT_EQ(view.payload[2], std::byte{7});
  EXPECT_EQ(view.payload[3], std::byte{0});
}

TEST(EncodePacket, TransferPageRoundTrips) {
  const std::array<TransferPageRange, 3> ranges{
      TransferPageRange{60, 0}, TransferPageRange{1514, 0x6C0}, TransferPageRange{128, 0xD80}};
  PacketSpec spec;
  spec.type = PacketType::kDataUsingTransferPages;
  spec.transfer_page_set_id = 0xCAFE;
  spec.sender_owns_set = 1;
  spec.transfer_page_ranges = ranges;
  std::array<std::byte, 64> out;
  const Result<size_t> written = encode_packet(spec, out);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, 48u);
  PacketView view;
  ASSERT_EQ(parse_packet(std::span(out).first(*written), &view), CorruptReason::kNone);
  EXPECT_EQ(view.transfer_page_set_id, 0xCAFE);
  EXPECT_EQ(view.sender_owns_set, 1);
  ASSERT_EQ(view.transfer_page_ranges.size(), 3u);
  EXPECT_EQ(view.transfer_page_ranges[2], ranges[2]);
  EXPECT_TRUE(view.payload.empty());
}

TEST(EncodePacket, CompletionRoundTrips) {
  const auto payload = bytes_of({0xAA, 0xBB, 0xCC, 0xDD});
  PacketSpec spec;
  spec.type = PacketType::kCompletion;
  spec.transaction_id = 0x99;
  spec.payload = payload;
  std::array<std::byte, 24> out;
  const Result<size_t> written = encode_packet(spec, out);
  ASSERT_TRUE(written);
  PacketView view;
  ASSERT_EQ(parse_packet(out, &view), CorruptReason::kNone);
  EXPECT_EQ(view.type, PacketType::kCompletion);
  EXPECT_FALSE(view.completion_requested());
  EXPECT_EQ(view.transaction_id, 0x99u);
  EXPECT_EQ(view.payload.size(), 8u);
}

}  // namespace
}  // namespace vmb::wire
