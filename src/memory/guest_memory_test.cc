// SPDX-License-Identifier: MIT
// GuestMemory and GuestMemoryMapping: zeroed buffers at the addresses their PFNs say, frees
// and their rejections, bounds-checked translation both ways, the read-only view, windows over
// scattered PFNs, describe(), and a server-side mapping of the same memory (in this process and
// in a forked one) seeing the guest's bytes.
#include "vmbkit/memory/guest_memory.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "vmbkit/memory/gpa_ranges.h"

namespace vmb {
namespace {

std::unique_ptr<GuestMemory> make_guest(uint64_t pages) {
  auto guest = GuestMemory::create(pages);
  EXPECT_TRUE(guest);
  return guest ? std::move(*guest) : nullptr;
}

std::shared_ptr<const GuestMemoryMapping> map_as_server(const GuestMemory& guest) {
  auto region = SharedRegion::adopt(UniqueFd(::dup(guest.fd())));
  EXPECT_TRUE(region);
  auto mapping = GuestMemoryMapping::map(std::move(*region));
  EXPECT_TRUE(mapping);
  return mapping ? *mapping : nullptr;
}

TEST(GuestMemory, CreateRejectsBadPageCounts) {
  EXPECT_EQ(GuestMemory::create(0).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(GuestMemory::create(kMaximumRegionPages + 1).status(), STATUS_INVALID_PARAMETER);
}

TEST(GuestMemory, BuffersAreZeroedAndWhereTheirPfnsSay) {
  auto guest = make_guest(8);
  auto page_run = guest->allocate_pages(2);
  ASSERT_TRUE(page_run);
  EXPECT_EQ(page_run->size, 2 * 4096u);
  EXPECT_EQ(page_run->byte_offset, 0u);
  EXPECT_EQ(page_run->address, guest->mapping()->pages(page_run->first_pfn, 2));
  std::memset(page_run->address, 0xEE, page_run->size);
  ASSERT_TRUE(guest->free(page_run->address).ok());
  // The same pages again: zeroed on allocation, whatever they held.
  auto again = guest->allocate_pages(2);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->address, page_run->address);
  for (uint64_t i = 0; i < again->size; ++i) ASSERT_EQ(again->address[i], std::byte{0});

  auto small = guest->allocate(100);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->size, 128u);
  EXPECT_EQ(small->address, guest->mapping()->pages(small->first_pfn, 1) + small->byte_offset);
}

TEST(GuestMemory, FreeRejectsForeignPointersAndDoubleFrees) {
  auto guest = make_guest(4);
  auto buffer = guest->allocate(64);
  ASSERT_TRUE(buffer);
  int local = 0;
  EXPECT_EQ(guest->free(&local), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(guest->free(buffer->address + 8), STATUS_INVALID_PARAMETER);
  const std::byte* read_only = guest->mapping()->read_only_pages(buffer->first_pfn, 1);
  EXPECT_EQ(guest->free(read_only + buffer->byte_offset), STATUS_INVALID_PARAMETER);
  EXPECT_TRUE(guest->free(buffer->address).ok());
  EXPECT_EQ(guest->free(buffer->address), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(guest->usage().pages_in_use, 0u);
}

TEST(GuestMemory, ReportsFullMemory) {
  auto guest = make_guest(2);
  ASSERT_TRUE(guest->allocate_pages(2));
  EXPECT_EQ(guest->allocate(1).status(), STATUS_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(guest->allocate(0).status(), STATUS_INVALID_PARAMETER);
}

TEST(GuestMemoryMapping, TranslationIsBoundsChecked) {
  auto guest = make_guest(4);
  const auto& mapping = *guest->mapping();
  EXPECT_NE(mapping.pages(0, 4), nullptr);
  EXPECT_NE(mapping.pages(3, 1), nullptr);
  EXPECT_EQ(mapping.pages(3, 2), nullptr);
  EXPECT_EQ(mapping.pages(4, 1), nullptr);
  EXPECT_EQ(mapping.pages(0, 0), nullptr);
  EXPECT_EQ(mapping.pages(UINT64_MAX, 2), nullptr);
  EXPECT_EQ(mapping.read_only_pages(2, 3), nullptr);
  EXPECT_TRUE(mapping.contains(4, 0));
  EXPECT_FALSE(mapping.contains(5, 0));
}

TEST(GuestMemoryMapping, LocateFindsPfnAndOffsetInBothViews) {
  auto guest = make_guest(4);
  const auto& mapping = *guest->mapping();
  const auto where = mapping.locate(mapping.pages(2, 1) + 100, 10);
  ASSERT_TRUE(where);
  EXPECT_EQ(where->pfn, 2u);
  EXPECT_EQ(where->byte_offset, 100u);
  EXPECT_FALSE(where->read_only_view);
  const auto read_only = mapping.locate(mapping.read_only_pages(3, 1) + 4095, 1);
  ASSERT_TRUE(read_only);
  EXPECT_EQ(read_only->pfn, 3u);
  EXPECT_TRUE(read_only->read_only_view);
  EXPECT_FALSE(mapping.locate(mapping.pages(3, 1) + 4095, 2));  // runs off the end
  int local = 0;
  EXPECT_FALSE(mapping.locate(&local, 0));
}

TEST(GuestMemoryMapping, ReadOnlyViewSharesPagesButRefusesWrites) {
  auto guest = make_guest(1);
  const auto& mapping = *guest->mapping();
  mapping.pages(0, 1)[7] = std::byte{0x42};
  EXPECT_EQ(mapping.read_only_pages(0, 1)[7], std::byte{0x42});
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // other threads may exist (TSan)
  EXPECT_DEATH({ const_cast<std::byte*>(mapping.read_only_pages(0, 1))[7] = std::byte{1}; }, "");
}

TEST(GuestMemoryMapping, DescribeMakesOneRange) {
  auto guest = make_guest(8);
  auto buffer = guest->allocate_pages(3);
  ASSERT_TRUE(buffer);
  GpaRanges ranges;
  ASSERT_TRUE(guest->mapping()->describe(buffer->address + 4000, 5000, &ranges).ok());
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges.ranges()[0].byte_count, 5000u);
  EXPECT_EQ(ranges.ranges()[0].byte_offset, 4000u);
  EXPECT_EQ(
      std::vector<uint64_t>(ranges.ranges()[0].pfns.begin(), ranges.ranges()[0].pfns.end()),
      (std::vector<uint64_t>{buffer->first_pfn, buffer->first_pfn + 1, buffer->first_pfn + 2}));
}

TEST(GuestMemoryMapping, DescribeRejectsBytesOutsideGuestMemory) {
  auto guest = make_guest(2);
  GpaRanges ranges;
  std::vector<std::byte> heap(16);
  const auto& mapping = *guest->mapping();
  EXPECT_EQ(mapping.describe(heap.data(), heap.size(), &ranges), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(mapping.describe(mapping.pages(1, 1), 4097, &ranges), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(mapping.describe(mapping.pages(0, 1), 0, &ranges), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(mapping.describe(mapping.pages(0, 1), 1, nullptr), STATUS_INVALID_PARAMETER);
  EXPECT_TRUE(ranges.empty());
}

TEST(GuestMemoryMapping, WindowMapsScatteredPfnsContiguously) {
  auto guest = make_guest(6);
  const auto& mapping = *guest->mapping();
  for (uint64_t pfn = 0; pfn < 6; ++pfn) mapping.pages(pfn, 1)[0] = std::byte(0xA0 + pfn);
  const std::vector<uint64_t> pfns{5, 2, 3, 0};
  auto window = mapping.map_window(pfns, false);
  ASSERT_TRUE(window);
  for (size_t i = 0; i < pfns.size(); ++i) {
    EXPECT_EQ(window->data()[i * 4096], std::byte(0xA0 + pfns[i]));
  }
  const std::vector<uint64_t> outside{1, 6};
  EXPECT_EQ(mapping.map_window(outside, false).status(), STATUS_INVALID_PARAMETER);
}

TEST(GuestMemoryMapping, ServerMappingSeesTheGuestsBytes) {
  auto guest = make_guest(4);
  auto server = map_as_server(*guest);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(server->page_count(), 4u);
  auto buffer = guest->allocate(32);
  ASSERT_TRUE(buffer);
  std::memcpy(buffer->address, "guest bytes", 12);
  const std::byte* seen = server->read_only_pages(buffer->first_pfn, 1) + buffer->byte_offset;
  EXPECT_EQ(std::memcmp(seen, "guest bytes", 12), 0);
}

TEST(GuestMemoryMapping, ForkedServerSeesAndWritesGuestMemory) {
  auto guest = make_guest(4);
  auto buffer = guest->allocate_pages(1);
  ASSERT_TRUE(buffer);
  std::memcpy(buffer->address, "request", 8);
  const int fd = guest->fd();
  const uint64_t pfn = buffer->first_pfn;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(10);  // bounds the parent's wait
    auto region = SharedRegion::adopt(UniqueFd(::dup(fd)));
    if (!region) ::_exit(2);
    auto mapping = GuestMemoryMapping::map(std::move(*region));
    if (!mapping) ::_exit(3);
    std::byte* page = (*mapping)->pages(pfn, 1);
    if (page == nullptr || std::memcmp(page, "request", 8) != 0) ::_exit(4);
    std::memcpy(page, "response", 9);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(std::memcmp(buffer->address, "response", 9), 0);
}

}  // namespace
}  // namespace vmb
