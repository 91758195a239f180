// SPDX-License-Identifier: MIT
// Unit tests for validate_descriptor() and parse_packet(): one test per rejection branch of
// wire-format.md §4.2 items 3–5, the accepted shapes, and the range accessors. Packets are
// built by hand here so malformed ones can be expressed; golden vectors are in
// packet_vectors_test.cc.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "vmbkit/wire/packet_view.h"

namespace vmb::wire {
namespace {

// A packet image built field by field (little-endian, as on the wire).
class RawPacket {
 public:
  RawPacket(uint16_t type, uint16_t offset8, uint16_t len8, uint16_t flags = 0)
      : bytes_(size_t{len8} * 8 < 16 ? 16 : size_t{len8} * 8) {
    put16(0, type);
    put16(2, offset8);
    put16(4, len8);
    put16(6, flags);
    put64(8, 0x1122334455667788);
  }
  void put16(size_t at, uint16_t v) { std::memcpy(bytes_.data() + at, &v, 2); }
  void put32(size_t at, uint32_t v) { std::memcpy(bytes_.data() + at, &v, 4); }
  void put64(size_t at, uint64_t v) { std::memcpy(bytes_.data() + at, &v, 8); }
  std::span<const std::byte> span() const { return bytes_; }
  CorruptReason parse(PacketView* view = nullptr) const {
    PacketView local;
    return parse_packet(bytes_, view != nullptr ? view : &local);
  }

 private:
  std::vector<std::byte> bytes_;
};

PacketDescriptor descriptor(uint16_t type, uint16_t offset8, uint16_t len8, uint16_t flags = 0) {
  return {type, offset8, len8, flags, 7};
}

constexpr uint16_t kInBand = 6;
constexpr uint16_t kTransfer = 7;
constexpr uint16_t kGpa = 9;
constexpr uint16_t kCompletion = 0xB;

TEST(ValidateDescriptor, AcceptsSmallestPacket) {
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 2), 24, 4096), CorruptReason::kNone);
}

TEST(ValidateDescriptor, RejectsOffset8BelowTwo) {
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 1, 3), 32, 4096),
            CorruptReason::kOffset8BelowMinimum);
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 0, 3), 32, 4096),
            CorruptReason::kOffset8BelowMinimum);
}

TEST(ValidateDescriptor, RejectsOffset8AboveLen8) {
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 4, 3), 32, 4096),
            CorruptReason::kOffset8AboveLen8);
}

TEST(ValidateDescriptor, RejectsPacketWithoutRoomForTrailer) {
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 3), 24, 4096),
            CorruptReason::kPacketBeyondAvailable);
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 3), 32, 4096), CorruptReason::kNone);
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 0xFFFF), 4088, 1u << 20),
            CorruptReason::kPacketBeyondAvailable);
}

TEST(ValidateDescriptor, RejectsPacketLargerThanMaximum) {
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 513), 8192, 4096),
            CorruptReason::kPacketTooLarge);
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 512), 8192, 4096), CorruptReason::kNone);
}

TEST(ValidateDescriptor, RejectsEveryTypeButTheFourInUse) {
  const std::set<uint16_t> accepted{kInBand, kTransfer, kGpa, kCompletion};
  for (uint32_t type = 0; type <= 0xFFFF; ++type) {
    const auto reason =
        validate_descriptor(descriptor(static_cast<uint16_t>(type), 2, 2), 24, 4096);
    EXPECT_EQ(reason, accepted.count(static_cast<uint16_t>(type)) != 0
                          ? CorruptReason::kNone
                          : CorruptReason::kUnknownType)
        << "type " << type;
  }
}

TEST(ValidateDescriptor, RejectsEveryUndefinedFlagBit) {
  EXPECT_EQ(validate_descriptor(descriptor(kInBand, 2, 2, 1), 24, 4096), CorruptReason::kNone);
  for (int bit = 1; bit < 16; ++bit) {
    EXPECT_EQ(
        validate_descriptor(descriptor(kInBand, 2, 2, static_cast<uint16_t>(1u << bit)), 24, 4096),
        CorruptReason::kUndefinedFlag)
        << "bit " << bit;
  }
}

TEST(ParsePacket, RejectsCopyShorterThanDescriptor) {
  std::vector<std::byte> bytes(15);
  PacketView view;
  EXPECT_EQ(parse_packet(bytes, &view), CorruptReason::kPacketBeyondAvailable);
}

TEST(ParsePacket, RejectsLen8BeyondCopy) {
  RawPacket packet(kInBand, 2, 3);
  PacketView view;
  EXPECT_EQ(parse_packet(packet.span().first(16), &view), CorruptReason::kPacketBeyondAvailable);
}

TEST(ParsePacket, RejectsDescriptorFaultsLikeValidateDescriptor) {
  EXPECT_EQ(RawPacket(kInBand, 1, 2).parse(), CorruptReason::kOffset8BelowMinimum);
  EXPECT_EQ(RawPacket(kInBand, 3, 2).parse(), CorruptReason::kOffset8AboveLen8);
  EXPECT_EQ(RawPacket(0xA, 2, 2).parse(), CorruptReason::kUnknownType);
  EXPECT_EQ(RawPacket(kInBand, 2, 2, 0x8000).parse(), CorruptReason::kUndefinedFlag);
}

TEST(ParsePacket, AcceptsInBandAndExposesFields) {
  RawPacket packet(kInBand, 2, 4, 1);
  packet.put64(16, 0xAABBCCDDEEFF0011);
  PacketView view;
  ASSERT_EQ(packet.parse(&view), CorruptReason::kNone);
  EXPECT_EQ(view.type, PacketType::kDataInBand);
  EXPECT_TRUE(view.completion_requested());
  EXPECT_EQ(view.transaction_id, 0x1122334455667788u);
  EXPECT_EQ(view.bytes.size(), 32u);
  EXPECT_EQ(view.payload.size(), 16u);
  EXPECT_EQ(view.payload[0], std::byte{0x11});
  EXPECT_TRUE(view.gpa_ranges.empty());
  EXPECT_TRUE(view.transfer_page_ranges.empty());
}

TEST(ParsePacket, InBandPayloadStartsAtOffset8) {
  RawPacket packet(kInBand, 3, 4);
  packet.put64(24, 0x0807060504030201);
  PacketView view;
  ASSERT_EQ(packet.parse(&view), CorruptReason::kNone);
  ASSERT_EQ(view.payload.size(), 8u);
  EXPECT_EQ(view.payload[0], std::byte{1});
}

TEST(ParsePacket, IgnoresBytesPastLen8) {
  RawPacket packet(kCompletion, 2, 3);
  PacketView view;
  std::vector<std::byte> longer(packet.span().begin(), packet.span().end());
  longer.resize(64, std::byte{0xFF});
  ASSERT_EQ(parse_packet(longer, &view), CorruptReason::kNone);
  EXPECT_EQ(view.bytes.size(), 24u);
  EXPECT_EQ(view.type, PacketType::kCompletion);
}

TEST(ParsePacket, RejectsGpaHeaderTooShort) {
  EXPECT_EQ(RawPacket(kGpa, 2, 3).parse(), CorruptReason::kGpaHeaderTooShort);
}

TEST(ParsePacket, RejectsGpaZeroRangeCount) {
  RawPacket packet(kGpa, 3, 3);
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaZeroRangeCount);
}

TEST(ParsePacket, RejectsGpaZeroByteCount) {
  RawPacket packet(kGpa, 5, 5);
  packet.put32(20, 1);
  packet.put32(24, 0);
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaZeroByteCount);
}

TEST(ParsePacket, RejectsGpaByteOffsetOutsidePage) {
  RawPacket packet(kGpa, 5, 5);
  packet.put32(20, 1);
  packet.put32(24, 1);
  packet.put32(28, 4096);
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaByteOffsetNotInPage);
  packet.put32(28, 4095);
  EXPECT_EQ(packet.parse(), CorruptReason::kNone);
}

TEST(ParsePacket, RejectsGpaRangeHeaderPastOffset8) {
  RawPacket packet(kGpa, 5, 5);  // room for one range with one PFN
  packet.put32(20, 2);
  packet.put32(24, 1);
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaRangesBeyondOffset8);
}

TEST(ParsePacket, RejectsGpaPfnsPastOffset8) {
  RawPacket packet(kGpa, 5, 5);
  packet.put32(20, 1);
  packet.put32(24, 4097);  // two PFNs, room for one
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaRangesBeyondOffset8);
}

TEST(ParsePacket, GpaPfnCountDoesNotOverflow32Bits) {
  RawPacket packet(kGpa, 5, 5);
  packet.put32(20, 1);
  packet.put32(24, 0xFFFFFFFF);
  packet.put32(28, 4095);
  EXPECT_EQ(pfn_count(4095, 0xFFFFFFFF), 0x100001u);
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaRangesBeyondOffset8);
}

TEST(ParsePacket, GpaHugeRangeCountStopsAtOffset8) {
  RawPacket packet(kGpa, 9, 9);
  packet.put32(20, 0xFFFFFFFF);
  for (size_t at = 24; at < 72; at += 16) packet.put32(at, 1);
  EXPECT_EQ(packet.parse(), CorruptReason::kGpaRangesBeyondOffset8);
}

TEST(ParsePacket, GpaRangesIterateWithTheirPfns) {
  RawPacket packet(kGpa, 8, 9, 1);
  packet.put32(16, 0xDEAD);  // reserved: may be non-zero; ignore
  packet.put32(20, 2);
  packet.put32(24, 5000);  // range 0: 5000 bytes at 100 -> 2 PFNs
  packet.put32(28, 100);
  packet.put64(32, 0x12345);
  packet.put64(40, 0x12346);
  packet.put32(48, 16);  // range 1: 16 bytes at 0 -> 1 PFN
  packet.put32(52, 0);
  packet.put64(56, 0xABC);
  PacketView view;
  ASSERT_EQ(packet.parse(&view), CorruptReason::kNone);
  ASSERT_EQ(view.gpa_ranges.size(), 2u);
  std::vector<GpaRange> ranges(view.gpa_ranges.begin(), view.gpa_ranges.end());
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].byte_count, 5000u);
  EXPECT_EQ(ranges[0].byte_offset, 100u);
  ASSERT_EQ(ranges[0].pfns.size(), 2u);
  EXPECT_EQ(ranges[0].pfns[0], 0x12345u);
  EXPECT_EQ(ranges[0].pfns[1], 0x12346u);
  ASSERT_EQ(ranges[1].pfns.size(), 1u);
  EXPECT_EQ(ranges[1].pfns[0], 0xABCu);
  EXPECT_EQ(view.payload.size(), 8u);
}

TEST(ParsePacket, RejectsTransferPageHeaderTooShort) {
  EXPECT_EQ(RawPacket(kTransfer, 2, 3).parse(), CorruptReason::kTransferPageHeaderTooShort);
}

TEST(ParsePacket, RejectsTransferPageRangesPastOffset8) {
  RawPacket packet(kTransfer, 4, 4);
  packet.put32(20, 2);
  EXPECT_EQ(packet.parse(), CorruptReason::kTransferPageRangesBeyondOffset8);
  packet.put32(20, 0xFFFFFFFF);
  EXPECT_EQ(packet.parse(), CorruptReason::kTransferPageRangesBeyondOffset8);
}

TEST(ParsePacket, AcceptsTransferPageAndExposesRanges) {
  RawPacket packet(kTransfer, 5, 6, 1);
  packet.put16(16, 0xCAFE);
  packet.put16(18, 0xFF01);  // sender_owns_set 1, reserved 0xFF (ignored)
  packet.put32(20, 2);
  packet.put32(24, 1514);
  packet.put32(28, 0x1000);
  packet.put32(32, 60);
  packet.put32(36, 0);
  PacketView view;
  ASSERT_EQ(packet.parse(&view), CorruptReason::kNone);
  EXPECT_EQ(view.transfer_page_set_id, 0xCAFE);
  EXPECT_EQ(view.sender_owns_set, 1);
  ASSERT_EQ(view.transfer_page_ranges.size(), 2u);
  EXPECT_EQ(view.transfer_page_ranges[0], (TransferPageRange{1514, 0x1000}));
  EXPECT_EQ(view.transfer_page_ranges[1], (TransferPageRange{60, 0}));
  EXPECT_EQ(view.payload.size(), 8u);
}

TEST(ParsePacket, AcceptsTransferPageWithNoRanges) {
  RawPacket packet(kTransfer, 3, 3);
  PacketView view;
  ASSERT_EQ(packet.parse(&view), CorruptReason::kNone);
  EXPECT_TRUE(view.transfer_page_ranges.empty());
}

TEST(CorruptReason, EveryReasonHasItsOwnName) {
  std::set<std::string> names;
  for (size_t i = 0; i < kCorruptReasonCount; ++i) {
    const std::string name(to_string(static_cast<CorruptReason>(i)));
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "unknown corrupt reason") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kCorruptReasonCount);
  EXPECT_EQ(to_string(static_cast<CorruptReason>(kCorruptReasonCount)), "unknown corrupt reason");
}

}  // namespace
}  // namespace vmb::wire
