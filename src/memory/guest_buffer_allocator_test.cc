// SPDX-License-Identifier: MIT
// GuestBufferAllocator: size classes, alignment, slots never crossing pages, best fit and
// coalescing, every rejected free, a long random run that must return to zero use with one
// free extent, and a multi-threaded run (for TSan).
#include "vmbkit/memory/guest_buffer_allocator.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vmb {
namespace {

constexpr uint64_t kPage = 4096;

TEST(GuestBufferAllocator, SmallBuffersGetTheirPowerOfTwoClass) {
  GuestBufferAllocator allocator(16);
  const std::vector<std::pair<uint64_t, uint64_t>> cases{{1, 16},    {16, 16},     {17, 32},
                                                         {100, 128}, {1000, 1024}, {2048, 2048}};
  for (const auto& [request, slot] : cases) {
    auto offset = allocator.allocate(request);
    ASSERT_TRUE(offset) << request;
    EXPECT_EQ(allocator.allocation_size(*offset), slot) << request;
    EXPECT_EQ(*offset % slot, 0u) << "aligned to its class: " << request;
  }
}

TEST(GuestBufferAllocator, LargeBuffersGetWholePages) {
  GuestBufferAllocator allocator(16);
  auto offset = allocator.allocate(2049);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset % kPage, 0u);
  EXPECT_EQ(allocator.allocation_size(*offset), kPage);
  auto three = allocator.allocate(2 * kPage + 1);
  ASSERT_TRUE(three);
  EXPECT_EQ(allocator.allocation_size(*three), 3 * kPage);
}

TEST(GuestBufferAllocator, SlotsNeverCrossAPage) {
  GuestBufferAllocator allocator(8);
  for (int i = 0; i < 300; ++i) {
    auto offset = allocator.allocate(48);  // class 64
    ASSERT_TRUE(offset);
    EXPECT_EQ(*offset / kPage, (*offset + 63) / kPage);
  }
}

TEST(GuestBufferAllocator, SlabFillsBeforeTakingAnotherPage) {
  GuestBufferAllocator allocator(8);
  for (int i = 0; i < 4096 / 256; ++i) ASSERT_TRUE(allocator.allocate(256));
  EXPECT_EQ(allocator.usage().slab_pages, 1u);
  ASSERT_TRUE(allocator.allocate(256));
  EXPECT_EQ(allocator.usage().slab_pages, 2u);
}

TEST(GuestBufferAllocator, RejectsZeroBytes) {
  GuestBufferAllocator allocator(1);
  EXPECT_EQ(allocator.allocate(0).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(allocator.allocate_pages(0).status(), STATUS_INVALID_PARAMETER);
}

TEST(GuestBufferAllocator, ReportsFullWhenNoRunFits) {
  GuestBufferAllocator allocator(4);
  EXPECT_EQ(allocator.allocate_pages(5).status(), STATUS_INSUFFICIENT_RESOURCES);
  ASSERT_TRUE(allocator.allocate_pages(4));
  EXPECT_EQ(allocator.allocate(16).status(), STATUS_INSUFFICIENT_RESOURCES);
}

TEST(GuestBufferAllocator, FreeRejectsUnknownOffsets) {
  GuestBufferAllocator allocator(8);
  auto run = allocator.allocate_pages(2);
  ASSERT_TRUE(run);
  auto slot = allocator.allocate(64);
  ASSERT_TRUE(slot);
  EXPECT_EQ(allocator.free((*run + 1) * kPage), STATUS_INVALID_PARAMETER);  // inside the run
  EXPECT_EQ(allocator.free(*run * kPage + 8), STATUS_INVALID_PARAMETER);    // unaligned
  EXPECT_EQ(allocator.free(*slot + 8), STATUS_INVALID_PARAMETER);           // inside a slot
  EXPECT_EQ(allocator.free(*slot + 64), STATUS_INVALID_PARAMETER);          // free slot
  EXPECT_EQ(allocator.free(7 * kPage), STATUS_INVALID_PARAMETER);           // free page
}

TEST(GuestBufferAllocator, FreeRejectsDoubleFree) {
  GuestBufferAllocator allocator(8);
  auto run = allocator.allocate(3 * kPage);
  auto slot = allocator.allocate(32);
  auto other = allocator.allocate(32);  // keeps the slab alive
  ASSERT_TRUE(run && slot && other);
  EXPECT_TRUE(allocator.free(*run).ok());
  EXPECT_EQ(allocator.free(*run), STATUS_INVALID_PARAMETER);
  EXPECT_TRUE(allocator.free(*slot).ok());
  EXPECT_EQ(allocator.free(*slot), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(allocator.allocation_size(*slot), 0u);
}

TEST(GuestBufferAllocator, EmptySlabReturnsItsPage) {
  GuestBufferAllocator allocator(4);
  auto slot = allocator.allocate(100);
  ASSERT_TRUE(slot);
  EXPECT_EQ(allocator.usage().pages_in_use, 1u);
  ASSERT_TRUE(allocator.free(*slot).ok());
  EXPECT_EQ(allocator.usage().pages_in_use, 0u);
  EXPECT_EQ(allocator.usage().slab_pages, 0u);
  EXPECT_TRUE(allocator.allocate_pages(4));  // the page is usable for runs again
}

TEST(GuestBufferAllocator, BestFitPrefersTheSmallestHole) {
  GuestBufferAllocator allocator(32);
  // Layout: [a:4][b:2][c:8][d:1][rest:17]; free b (2 pages) and c (8 pages).
  auto a = allocator.allocate_pages(4);
  auto b = allocator.allocate_pages(2);
  auto c = allocator.allocate_pages(8);
  auto d = allocator.allocate_pages(1);
  ASSERT_TRUE(a && b && c && d);
  ASSERT_TRUE(allocator.free(*b * kPage).ok());
  ASSERT_TRUE(allocator.free(*c * kPage).ok());
  auto two = allocator.allocate_pages(2);
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, *b);  // the exact hole, not the first-fit 8-page one
  auto seven = allocator.allocate_pages(7);
  ASSERT_TRUE(seven);
  EXPECT_EQ(*seven, *c);
}

TEST(GuestBufferAllocator, FreeCoalescesWithBothNeighbours) {
  GuestBufferAllocator allocator(12);
  auto a = allocator.allocate_pages(3);
  auto b = allocator.allocate_pages(3);
  auto c = allocator.allocate_pages(3);
  auto d = allocator.allocate_pages(3);
  ASSERT_TRUE(a && b && c && d);
  ASSERT_TRUE(allocator.free(*a * kPage).ok());
  ASSERT_TRUE(allocator.free(*c * kPage).ok());
  EXPECT_EQ(allocator.usage().free_extents, 2u);
  ASSERT_TRUE(allocator.free(*b * kPage).ok());  // joins a and c
  EXPECT_EQ(allocator.usage().free_extents, 1u);
  EXPECT_EQ(allocator.usage().largest_free_pages, 9u);
  ASSERT_TRUE(allocator.free(*d * kPage).ok());
  EXPECT_EQ(allocator.usage().largest_free_pages, 12u);
}

// A long run of random allocations and frees of mixed sizes, with a live set that rises to
// half the memory and falls again, phase after phase. While at most half the pages are in use
// no request may fail (fragmentation never strands the free half), and when everything is freed
// the allocator must be exactly as it started: no pages in use, one free extent.
TEST(GuestBufferAllocator, LongRandomRunReturnsToZeroUsage) {
  constexpr uint64_t kPages = 4096;
  GuestBufferAllocator allocator(kPages);
  std::mt19937_64 random(12345);
  std::vector<uint64_t> live;
  bool growing = true;
  uint64_t phases = 0;
  for (int step = 0; step < 300000; ++step) {
    const uint64_t in_use = allocator.usage().pages_in_use;
    if (growing && in_use > kPages / 2 - 64) {
      growing = false;
      ++phases;
    }
    if (!growing && in_use < kPages / 10) growing = true;
    if (live.empty() || random() % 100 < (growing ? 65u : 35u)) {
      const uint64_t kind = random() % 10;
      const uint64_t bytes = kind < 6   ? 1 + random() % 2048            // small
                             : kind < 9 ? 2049 + random() % (8 * kPage)  // a few pages
                                        : 1 + random() % (64 * kPage);   // up to 64 pages
      auto offset = allocator.allocate(bytes);
      ASSERT_TRUE(offset) << "step " << step << ": " << in_use << " of " << kPages
                          << " pages in use, largest free run "
                          << allocator.usage().largest_free_pages;
      live.push_back(*offset);
    } else {
      const size_t index = random() % live.size();
      ASSERT_TRUE(allocator.free(live[index]).ok());
      live[index] = live.back();
      live.pop_back();
    }
  }
  EXPECT_GT(phases, 5u) << "the run must fill and drain several times";
  for (const uint64_t offset : live) ASSERT_TRUE(allocator.free(offset).ok());
  const GuestMemoryUsage usage = allocator.usage();
  EXPECT_EQ(usage.pages_in_use, 0u);
  EXPECT_EQ(usage.slab_pages, 0u);
  EXPECT_EQ(usage.small_buffers, 0u);
  EXPECT_EQ(usage.large_buffers, 0u);
  EXPECT_EQ(usage.free_extents, 1u);
  EXPECT_EQ(usage.largest_free_pages, kPages);
}

// Threads allocating and freeing at once: every buffer is distinct while live (TSan checks
// the locking; the ownership map checks no offset is handed out twice).
TEST(GuestBufferAllocator, ThreadsNeverShareABuffer) {
  GuestBufferAllocator allocator(1024);
  constexpr int kThreads = 4;
  std::vector<std::vector<uint64_t>> owned(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&allocator, &owned, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      std::vector<uint64_t> live;
      for (int i = 0; i < 20000; ++i) {
        if (live.size() < 50 && random() % 2 == 0) {
          if (auto offset = allocator.allocate(1 + random() % 6000)) live.push_back(*offset);
        } else if (!live.empty()) {
          EXPECT_TRUE(allocator.free(live.back()).ok());
          live.pop_back();
        }
      }
      owned[static_cast<size_t>(t)] = live;
    });
  }
  for (auto& thread : threads) thread.join();
  std::unordered_map<uint64_t, int> seen;
  for (const auto& live : owned) {
    for (const uint64_t offset : live) EXPECT_EQ(++seen[offset], 1) << offset;
  }
  for (const auto& live : owned) {
    for (const uint64_t offset : live) EXPECT_TRUE(allocator.free(offset).ok());
  }
  EXPECT_EQ(allocator.usage().pages_in_use, 0u);
}

}  // namespace
}  // namespace vmb
