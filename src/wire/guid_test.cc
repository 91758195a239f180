// SPDX-License-Identifier: MIT
// Tests of vmb::Guid: the wire byte order of wire-format.md §5.6 (netvsc and storvsc classes),
// text parsing and formatting, and conversion to and from the C GUID struct.
#include "vmbkit/wire/guid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <sstream>

namespace vmb {
namespace {

constexpr std::array<uint8_t, 16> kNetvscWire = {0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
                                                 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e};
constexpr std::array<uint8_t, 16> kStorvscWire = {0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d,
                                                  0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f};

TEST(Guid, ParsesNetvscClassIntoWireOrder) {
  const auto guid = Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e");
  ASSERT_TRUE(guid.has_value());
  EXPECT_EQ(guid->bytes, kNetvscWire);
}

TEST(Guid, ParsesStorvscClassIntoWireOrder) {
  const auto guid = Guid::parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
  ASSERT_TRUE(guid.has_value());
  EXPECT_EQ(guid->bytes, kStorvscWire);
}

TEST(Guid, ParsesAtCompileTime) {
  static_assert(Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e")->bytes == kNetvscWire);
  static_assert(!Guid::parse("not a guid").has_value());
}

TEST(Guid, FormatsLowerCaseCanonicalText) {
  EXPECT_EQ(Guid{kNetvscWire}.to_string(), "f8615163-df3e-46c5-913f-f2d2f965ed0e");
  EXPECT_EQ(Guid{kStorvscWire}.to_string(), "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
  EXPECT_EQ(Guid{}.to_string(), "00000000-0000-0000-0000-000000000000");
  std::ostringstream stream;
  stream << Guid{kStorvscWire};
  EXPECT_EQ(stream.str(), "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
}

TEST(Guid, AcceptsUpperCaseAndBraces) {
  EXPECT_EQ(Guid::parse("{BA6163D9-04A1-4D29-B605-72E2FFB1DC7F}")->bytes, kStorvscWire);
  EXPECT_EQ(Guid::parse("BA6163D9-04a1-4D29-b605-72E2FFB1DC7F")->bytes, kStorvscWire);
}

TEST(Guid, RejectsMalformedText) {
  for (const char* text : {
           "",
           "ba6163d9-04a1-4d29-b605-72e2ffb1dc7",     // one digit short
           "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f0",   // one digit long
           "ba6163d9x04a1-4d29-b605-72e2ffb1dc7f",    // dash replaced
           "ba6163d9-04a1-4d29-b605-72e2ffb1dc7g",    // non-hex
           "ba6163d9-04a1-4d29-b6-05-72e2ffb1dc7f",   // dash moved
           "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",   // unbalanced brace
           "(ba6163d9-04a1-4d29-b605-72e2ffb1dc7f)",  // wrong brackets
           "ba6163d904a14d29b60572e2ffb1dc7f",        // no dashes
       }) {
    EXPECT_FALSE(Guid::parse(text).has_value()) << text;
  }
}

TEST(Guid, ConvertsToTheCStruct) {
  const GUID nt = Guid{kNetvscWire}.to_nt();
  EXPECT_EQ(nt.Data1, 0xf8615163u);
  EXPECT_EQ(nt.Data2, 0xdf3e);
  EXPECT_EQ(nt.Data3, 0x46c5);
  const uint8_t data4[8] = {0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e};
  EXPECT_TRUE(std::equal(std::begin(data4), std::end(data4), std::begin(nt.Data4)));
}

TEST(Guid, ConvertsFromTheCStruct) {
  const GUID nt = {0xba6163d9, 0x04a1, 0x4d29, {0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f}};
  EXPECT_EQ(Guid::from_nt(nt).bytes, kStorvscWire);
  // On a little-endian machine the C struct's bytes are the wire bytes.
  using Bytes = std::array<uint8_t, 16>;
  EXPECT_EQ(std::bit_cast<Bytes>(nt), kStorvscWire);
  const GUID back = Guid::from_nt(nt).to_nt();
  EXPECT_EQ(std::bit_cast<Bytes>(back), kStorvscWire);
}

TEST(Guid, ComparesByValue) {
  EXPECT_EQ(Guid{kNetvscWire}, *Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e"));
  EXPECT_NE(Guid{kNetvscWire}, Guid{kStorvscWire});
  EXPECT_TRUE(Guid{}.is_zero());
  EXPECT_FALSE(Guid{kNetvscWire}.is_zero());
}

TEST(Guid, RoundTripsThroughText) {
  const Guid original{kStorvscWire};
  EXPECT_EQ(Guid::parse(original.to_string()), original);
}

}  // namespace
}  // namespace vmb
