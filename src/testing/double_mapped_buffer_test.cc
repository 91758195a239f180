// SPDX-License-Identifier: MIT
// Tests for the DoubleMappedBuffer fake: the second half aliases the first, both ways, and a
// write across the seam lands at the start of the area.
#include "testing/double_mapped_buffer.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vmb::testing {
namespace {

TEST(DoubleMappedBuffer, SecondHalfAliasesFirst) {
  DoubleMappedBuffer buffer(8192);
  ASSERT_EQ(buffer.size(), 8192u);
  buffer.data()[5] = std::byte{0x42};
  EXPECT_EQ(buffer.data()[8192 + 5], std::byte{0x42});
  buffer.data()[8192 + 100] = std::byte{0x17};
  EXPECT_EQ(buffer.data()[100], std::byte{0x17});
}

TEST(DoubleMappedBuffer, CopyAcrossTheSeamWraps) {
  DoubleMappedBuffer buffer(4096);
  const char text[] = "0123456789abcdef";
  std::memcpy(buffer.data() + 4096 - 6, text, 16);
  EXPECT_EQ(std::memcmp(buffer.data() + 4096 - 6, text, 6), 0);
  EXPECT_EQ(std::memcmp(buffer.data(), text + 6, 10), 0);
}

}  // namespace
}  // namespace vmb::testing
