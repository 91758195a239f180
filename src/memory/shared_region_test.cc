// SPDX-License-Identifier: MIT
// SharedRegion and RegionMapping: memfd creation and seals, adoption of descriptors with every
// rejection, bounds of map() and map_pages(), aliasing of pages mapped twice, and a mapping
// made in another process from the descriptor alone.
#include "vmbkit/memory/shared_region.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace vmb {
namespace {

UniqueFd duplicate(int fd) { return UniqueFd(::dup(fd)); }

TEST(SharedRegion, CreateMakesSealedZeroedPages) {
  auto region = SharedRegion::create(4, "test");
  ASSERT_TRUE(region);
  EXPECT_EQ(region->page_count(), 4u);
  EXPECT_EQ(region->size_bytes(), 4u * 4096);
  const int seals = ::fcntl(region->fd(), F_GET_SEALS);
  EXPECT_NE(seals & F_SEAL_SHRINK, 0);
  EXPECT_NE(seals & F_SEAL_GROW, 0);
  EXPECT_NE(seals & F_SEAL_SEAL, 0);
  // The seal holds: nobody can shrink the file under a peer's mapping.
  EXPECT_NE(::ftruncate(region->fd(), 4096), 0);
  auto mapping = region->map(0, 4, false);
  ASSERT_TRUE(mapping);
  for (size_t i = 0; i < mapping->size(); ++i) ASSERT_EQ(mapping->data()[i], std::byte{0});
}

TEST(SharedRegion, CreateRejectsBadPageCounts) {
  EXPECT_EQ(SharedRegion::create(0, "test").status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(SharedRegion::create(kMaximumRegionPages + 1, "test").status(),
            STATUS_INVALID_PARAMETER);
}

TEST(SharedRegion, AdoptTakesASealedMemfd) {
  auto region = SharedRegion::create(3, "test");
  ASSERT_TRUE(region);
  auto adopted = SharedRegion::adopt(duplicate(region->fd()));
  ASSERT_TRUE(adopted);
  EXPECT_EQ(adopted->page_count(), 3u);
}

TEST(SharedRegion, AdoptRejectsInvalidDescriptor) {
  EXPECT_EQ(SharedRegion::adopt(UniqueFd()).status(), STATUS_INVALID_PARAMETER);
}

TEST(SharedRegion, AdoptRejectsUnsealedMemfd) {
  UniqueFd fd(::memfd_create("unsealed", MFD_CLOEXEC));
  ASSERT_TRUE(fd);
  ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
  EXPECT_EQ(SharedRegion::adopt(std::move(fd)).status(), STATUS_DATA_ERROR);
}

TEST(SharedRegion, AdoptRejectsSealsThatCanStillChange) {
  UniqueFd fd(::memfd_create("open-seals", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(fd);
  ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
  ASSERT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);  // but not F_SEAL_SEAL
  EXPECT_EQ(SharedRegion::adopt(std::move(fd)).status(), STATUS_DATA_ERROR);
}

TEST(SharedRegion, AdoptRejectsSizeNotWholePages) {
  UniqueFd fd(::memfd_create("odd", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(fd);
  ASSERT_EQ(::ftruncate(fd.get(), 4097), 0);
  ASSERT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);
  EXPECT_EQ(SharedRegion::adopt(std::move(fd)).status(), STATUS_DATA_ERROR);
}

TEST(SharedRegion, AdoptRejectsEmptyFile) {
  UniqueFd fd(::memfd_create("empty", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(fd);
  ASSERT_EQ(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK), 0);
  EXPECT_EQ(SharedRegion::adopt(std::move(fd)).status(), STATUS_DATA_ERROR);
}

TEST(SharedRegion, AdoptRejectsNonRegularFile) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd write_end(pipe_fds[1]);
  EXPECT_EQ(SharedRegion::adopt(UniqueFd(pipe_fds[0])).status(), STATUS_DATA_ERROR);
}

TEST(SharedRegion, MapRejectsRangesOutsideTheRegion) {
  auto region = SharedRegion::create(4, "test");
  ASSERT_TRUE(region);
  EXPECT_EQ(region->map(0, 0, false).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(region->map(0, 5, false).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(region->map(4, 1, false).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(region->map(UINT64_MAX, 2, false).status(), STATUS_INVALID_PARAMETER);
  EXPECT_TRUE(region->map(3, 1, false));
}

TEST(SharedRegion, MapPagesLaysPagesOutInListOrder) {
  auto region = SharedRegion::create(4, "test");
  ASSERT_TRUE(region);
  auto linear = region->map(0, 4, false);
  ASSERT_TRUE(linear);
  for (int page = 0; page < 4; ++page) linear->data()[page * 4096] = std::byte(0x10 + page);
  const std::vector<uint64_t> order{3, 1, 2, 3, 0};
  auto window = region->map_pages(order, false);
  ASSERT_TRUE(window);
  ASSERT_EQ(window->size(), order.size() * 4096);
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(window->data()[i * 4096], std::byte(0x10 + order[i])) << i;
  }
  // Both mappings show the same pages: a write through one is seen through the other.
  window->data()[1 * 4096 + 5] = std::byte{0xAB};
  EXPECT_EQ(linear->data()[1 * 4096 + 5], std::byte{0xAB});
}

TEST(SharedRegion, MapPagesRejectsBadLists) {
  auto region = SharedRegion::create(4, "test");
  ASSERT_TRUE(region);
  EXPECT_EQ(region->map_pages({}, false).status(), STATUS_INVALID_PARAMETER);
  const std::vector<uint64_t> outside{0, 4};
  EXPECT_EQ(region->map_pages(outside, false).status(), STATUS_INVALID_PARAMETER);
}

TEST(SharedRegion, MapPagesRefusesTooManyRuns) {
  auto region = SharedRegion::create(2, "test");
  ASSERT_TRUE(region);
  // Page 1 listed again and again: no two neighbours are consecutive, so each is its own run.
  std::vector<uint64_t> scattered(kMaximumMappingRuns, 1);
  EXPECT_TRUE(region->map_pages(scattered, false));  // exactly the limit
  scattered.push_back(1);
  EXPECT_EQ(region->map_pages(scattered, false).status(), STATUS_INSUFFICIENT_RESOURCES);
}

TEST(SharedRegion, ReadOnlyMappingIsNotWritable) {
  auto region = SharedRegion::create(1, "test");
  ASSERT_TRUE(region);
  auto mapping = region->map(0, 1, true);
  ASSERT_TRUE(mapping);
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // other threads may exist (TSan)
  EXPECT_DEATH({ mapping->data()[0] = std::byte{1}; }, "");
}

TEST(SharedRegion, AnotherProcessMapsFromTheDescriptorAlone) {
  auto region = SharedRegion::create(2, "test");
  ASSERT_TRUE(region);
  const int fd = region->fd();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(10);  // bounds the parent's wait whatever happens here
    auto adopted = SharedRegion::adopt(UniqueFd(::dup(fd)));
    if (!adopted) ::_exit(2);
    auto mapping = adopted->map(1, 1, false);
    if (!mapping) ::_exit(3);
    std::memcpy(mapping->data(), "from the child", 15);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto mapping = region->map(1, 1, true);
  ASSERT_TRUE(mapping);
  EXPECT_EQ(std::memcmp(mapping->data(), "from the child", 15), 0);
}

TEST(RegionMapping, MoveTransfersOwnership) {
  auto region = SharedRegion::create(1, "test");
  ASSERT_TRUE(region);
  auto mapping = region->map(0, 1, false);
  ASSERT_TRUE(mapping);
  std::byte* data = mapping->data();
  RegionMapping moved = std::move(*mapping);
  EXPECT_EQ(moved.data(), data);
  EXPECT_TRUE(mapping->empty());
  moved.data()[0] = std::byte{7};  // still mapped
  RegionMapping assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.data()[0], std::byte{7});
}

}  // namespace
}  // namespace vmb
