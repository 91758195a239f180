// SPDX-License-Identifier: MIT
// RingMapping: control page then data pages, the doubled data pages aliasing the first copy
// (so a wrapping packet is contiguous), the single mapping on request and as the fallback, and
// the rejected page lists.
#include "vmbkit/memory/ring_mapping.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

namespace vmb {
namespace {

class RingMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto region = SharedRegion::create(kPages, "ring-test");
    ASSERT_TRUE(region);
    region_storage_.emplace(std::move(*region));
    region_ = &*region_storage_;
    auto linear = region_->map(0, kPages, false);
    ASSERT_TRUE(linear);
    linear_ = std::move(*linear);
  }
  std::byte* page(uint64_t index) { return linear_.data() + index * 4096; }

  static constexpr uint64_t kPages = 700;
  std::optional<SharedRegion> region_storage_;
  SharedRegion* region_ = nullptr;
  RegionMapping linear_;
};

TEST_F(RingMappingTest, DoubledDataAliasesTheFirstCopy) {
  const std::vector<uint64_t> pages{10, 11, 12, 13};  // control + 3 data pages
  auto ring = RingMapping::map(*region_, pages);
  ASSERT_TRUE(ring);
  const RingMemory& memory = ring->memory();
  EXPECT_TRUE(memory.data_doubled);
  EXPECT_EQ(memory.data_size, 3u * 4096);
  EXPECT_EQ(memory.data, memory.control + 4096);
  memory.control[0] = std::byte{0xC0};
  EXPECT_EQ(page(10)[0], std::byte{0xC0});
  // A write that runs past the end of the data area lands at its start.
  std::memset(memory.data + memory.data_size - 4, 0xAB, 8);
  EXPECT_EQ(page(13)[4095], std::byte{0xAB});
  EXPECT_EQ(page(11)[0], std::byte{0xAB});
  EXPECT_EQ(page(11)[3], std::byte{0xAB});
  EXPECT_EQ(page(11)[4], std::byte{0});
}

TEST_F(RingMappingTest, ScatteredPagesKeepRingOrder) {
  const std::vector<uint64_t> pages{40, 7, 3, 20};
  for (const uint64_t p : pages) page(p)[0] = std::byte(p);
  auto ring = RingMapping::map(*region_, pages);
  ASSERT_TRUE(ring);
  const RingMemory& memory = ring->memory();
  EXPECT_EQ(memory.control[0], std::byte{40});
  EXPECT_EQ(memory.data[0], std::byte{7});
  EXPECT_EQ(memory.data[4096], std::byte{3});
  EXPECT_EQ(memory.data[2 * 4096], std::byte{20});
  EXPECT_EQ(memory.data[3 * 4096], std::byte{7});  // second copy
}

TEST_F(RingMappingTest, MapSingleNeverDoubles) {
  const std::vector<uint64_t> pages{0, 1};
  auto ring = RingMapping::map_single(*region_, pages);
  ASSERT_TRUE(ring);
  EXPECT_FALSE(ring->memory().data_doubled);
  EXPECT_EQ(ring->memory().data_size, 4096u);
}

TEST_F(RingMappingTest, FallsBackToSingleWhenDoublingIsRefused) {
  // 600 scattered data pages: doubled they need more runs than one mapping may have, single
  // they do not.
  std::vector<uint64_t> pages{0};
  for (uint64_t i = 0; i < 600; ++i) pages.push_back(1 + (i * 7) % 601);
  auto ring = RingMapping::map(*region_, pages);
  ASSERT_TRUE(ring);
  EXPECT_FALSE(ring->memory().data_doubled);
  EXPECT_EQ(ring->memory().data_size, 600u * 4096);
}

TEST_F(RingMappingTest, RejectsBadPageLists) {
  const std::vector<uint64_t> control_only{0};
  const std::vector<uint64_t> outside{0, kPages};
  EXPECT_EQ(RingMapping::map(*region_, {}).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RingMapping::map(*region_, control_only).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RingMapping::map(*region_, outside).status(), STATUS_INVALID_PARAMETER);
  const std::vector<uint64_t> too_many(kMaximumRingDataPages + 2, 1);
  EXPECT_EQ(RingMapping::map(*region_, too_many).status(), STATUS_INVALID_PARAMETER);
}

TEST_F(RingMappingTest, MovedRingKeepsItsPointers) {
  const std::vector<uint64_t> pages{2, 3};
  auto ring = RingMapping::map(*region_, pages);
  ASSERT_TRUE(ring);
  const RingMemory before = ring->memory();
  RingMapping moved = std::move(*ring);
  EXPECT_EQ(moved.memory().control, before.control);
  moved.memory().data[0] = std::byte{1};
  EXPECT_EQ(page(3)[0], std::byte{1});
}

}  // namespace
}  // namespace vmb
