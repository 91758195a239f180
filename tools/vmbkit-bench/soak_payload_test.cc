// SPDX-License-Identifier: MIT
// Tests of the soak's payload checks: the soak can only report 0 corrupted packets if a
// corrupted packet would be noticed. Every kind of damage here must be caught.
#include "soak_payload.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vmb::soak {
namespace {

std::vector<std::byte> packet(uint32_t channel, uint64_t sequence) {
  const Shape shape = shape_of(channel, sequence);
  std::vector<std::byte> bytes(shape.inband_bytes);
  fill_inband(channel, sequence, shape, bytes);
  return bytes;
}

TEST(SoakPayload, IntactPacketsPassWithTheirPadding) {
  for (uint64_t sequence = 0; sequence < 200; ++sequence) {
    std::vector<std::byte> bytes = packet(7, sequence);
    bytes.resize((bytes.size() + 7) / 8 * 8);  // the receiver sees the wire's padding
    PayloadHeader header{};
    ASSERT_EQ(check_inband(7, bytes, &header), Verdict::kIntact) << sequence;
    EXPECT_EQ(header.sequence, sequence);
  }
}

TEST(SoakPayload, EveryFlippedByteIsCaught) {
  const std::vector<std::byte> good = packet(3, 41);
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<std::byte> bad = good;
    bad[i] ^= std::byte{0x10};
    PayloadHeader header{};
    EXPECT_EQ(check_inband(3, bad, &header), Verdict::kCorrupt) << "byte " << i;
  }
}

TEST(SoakPayload, AnotherChannelsOrTruncatedPacketIsCaught) {
  PayloadHeader header{};
  const std::vector<std::byte> other = packet(4, 10);
  EXPECT_EQ(check_inband(5, other, &header), Verdict::kCorrupt);
  const std::vector<std::byte> good = packet(5, 10);
  EXPECT_EQ(check_inband(5, std::span(good).first(good.size() - 1), &header), Verdict::kCorrupt);
  EXPECT_EQ(check_inband(5, std::span(good).first(16), &header), Verdict::kCorrupt);
}

TEST(SoakPayload, ExternalDataAndRepliesAreChecked) {
  uint64_t sequence = 0;
  while (shape_of(9, sequence).kind != Kind::kExternal) ++sequence;
  const Shape shape = shape_of(9, sequence);
  std::vector<std::byte> inband = packet(9, sequence);
  PayloadHeader header{};
  ASSERT_EQ(check_inband(9, inband, &header), Verdict::kIntact);
  std::vector<std::byte> external(shape.external_bytes);
  fill_external(9, sequence, external);
  EXPECT_EQ(check_external(header, external), Verdict::kIntact);
  external.back() ^= std::byte{1};
  EXPECT_EQ(check_external(header, external), Verdict::kCorrupt);
  const Reply reply{sequence, checksum_of(9, sequence)};
  EXPECT_TRUE(reply_matches(9, sequence, std::as_bytes(std::span(&reply, 1))));
  EXPECT_FALSE(reply_matches(9, sequence + 1, std::as_bytes(std::span(&reply, 1))));
}

}  // namespace
}  // namespace vmb::soak
