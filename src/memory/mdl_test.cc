// SPDX-License-Identifier: MIT
// The C MDL helpers (vmbkit/mdl.h) over real guest memory: IoAllocateMdl and its refusals,
// MmBuildMdlForNonPagedPool inside and outside guest memory (the unusable mark), MDLs in driver
// storage, MmGetSystemAddressForMdlSafe / MmMapLockedPagesSpecifyCache / MmUnmapLockedPages,
// and concurrent builds while guest memories come and go.
#include "vmbkit/mdl.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "vmbkit/memory/guest_memory.h"

namespace vmb {
namespace {

struct MdlDeleter {
  void operator()(MDL* mdl) const { IoFreeMdl(mdl); }
};
using MdlPtr = std::unique_ptr<MDL, MdlDeleter>;

std::unique_ptr<GuestMemory> make_guest(uint64_t pages) {
  auto guest = GuestMemory::create(pages);
  EXPECT_TRUE(guest);
  return guest ? std::move(*guest) : nullptr;
}

TEST(Mdl, IoAllocateMdlDescribesButDoesNotBuild) {
  auto guest = make_guest(8);
  auto buffer = guest->allocate_pages(2);
  ASSERT_TRUE(buffer);
  MdlPtr mdl(IoAllocateMdl(buffer->address + 100, 5000, FALSE, FALSE, nullptr));
  ASSERT_NE(mdl, nullptr);
  EXPECT_EQ(mdl->Next, nullptr);
  EXPECT_EQ(MmGetMdlBaseVa(mdl.get()), buffer->address);
  EXPECT_EQ(MmGetMdlByteOffset(mdl.get()), 100u);
  EXPECT_EQ(MmGetMdlByteCount(mdl.get()), 5000u);
  EXPECT_EQ(mdl->Size, static_cast<CSHORT>(sizeof(MDL) + 2 * sizeof(PFN_NUMBER)));
  EXPECT_NE(mdl->MdlFlags & MDL_ALLOCATED_FIXED_SIZE, 0);
  EXPECT_EQ(MmGetMdlPfnArray(mdl.get())[0], VMBKIT_INVALID_PFN);
  EXPECT_EQ(MmGetMdlPfnArray(mdl.get())[1], VMBKIT_INVALID_PFN);
  EXPECT_TRUE(VmbKitMdlIsUsable(mdl.get()));
}

TEST(Mdl, IoAllocateMdlRefusesIrpsAndHugeLengths) {
  int irp = 0;
  EXPECT_EQ(IoAllocateMdl(nullptr, 16, FALSE, FALSE, &irp), nullptr);
  EXPECT_EQ(IoAllocateMdl(nullptr, VMBKIT_MAXIMUM_MDL_LENGTH + 1, FALSE, FALSE, nullptr), nullptr);
  MdlPtr largest(IoAllocateMdl(nullptr, VMBKIT_MAXIMUM_MDL_LENGTH, FALSE, FALSE, nullptr));
  EXPECT_NE(largest, nullptr);
}

TEST(Mdl, BuildFillsPfnsOfGuestMemory) {
  auto guest = make_guest(8);
  auto buffer = guest->allocate_pages(3);
  ASSERT_TRUE(buffer);
  MdlPtr mdl(IoAllocateMdl(buffer->address + 4000, 4200, FALSE, FALSE, nullptr));
  ASSERT_NE(mdl, nullptr);
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_TRUE(VmbKitMdlIsUsable(mdl.get()));
  EXPECT_NE(mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL, 0);
  EXPECT_EQ(MmGetMdlPfnArray(mdl.get())[0], buffer->first_pfn);
  EXPECT_EQ(MmGetMdlPfnArray(mdl.get())[1], buffer->first_pfn + 1);
  EXPECT_EQ(mdl->MappedSystemVa, buffer->address + 4000);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl.get(), NormalPagePriority), buffer->address + 4000);
}

TEST(Mdl, BuildInDriverStorageWorksToo) {
  auto guest = make_guest(4);
  auto buffer = guest->allocate(300);
  ASSERT_TRUE(buffer);
  alignas(MDL) std::byte storage[sizeof(MDL) + sizeof(PFN_NUMBER)];
  auto* mdl = reinterpret_cast<PMDL>(storage);
  ASSERT_LE(MmSizeOfMdl(buffer->address, 300), sizeof storage);
  MmInitializeMdl(mdl, buffer->address, 300);
  MmBuildMdlForNonPagedPool(mdl);
  EXPECT_TRUE(VmbKitMdlIsUsable(mdl));
  EXPECT_EQ(MmGetMdlPfnArray(mdl)[0], buffer->first_pfn);
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), buffer->address);
  IoFreeMdl(mdl);  // not vmbkit's allocation: ignored
}

TEST(Mdl, BuildOutsideGuestMemoryMarksTheMdlUnusable) {
  std::vector<std::byte> heap(6000);
  MdlPtr mdl(IoAllocateMdl(heap.data(), 6000, FALSE, FALSE, nullptr));
  ASSERT_NE(mdl, nullptr);
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_FALSE(VmbKitMdlIsUsable(mdl.get()));
  EXPECT_NE(mdl->MdlFlags & VMBKIT_MDL_OUTSIDE_GUEST_MEMORY, 0);
  EXPECT_EQ(mdl->MdlFlags & MDL_SOURCE_IS_NONPAGED_POOL, 0);
  EXPECT_EQ(mdl->MappedSystemVa, nullptr);
  for (ULONG i = 0; i < ADDRESS_AND_SIZE_TO_SPAN_PAGES(heap.data(), 6000u); ++i) {
    EXPECT_EQ(MmGetMdlPfnArray(mdl.get())[i], VMBKIT_INVALID_PFN);
  }
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl.get(), NormalPagePriority), nullptr);
}

TEST(Mdl, BuildPastTheEndOfGuestMemoryIsUnusable) {
  auto guest = make_guest(2);
  std::byte* last_page = guest->mapping()->pages(1, 1);
  MdlPtr mdl(IoAllocateMdl(last_page + 4000, 200, FALSE, FALSE, nullptr));
  ASSERT_NE(mdl, nullptr);
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_FALSE(VmbKitMdlIsUsable(mdl.get()));
}

TEST(Mdl, BuildAfterGuestMemoryIsGoneIsUnusable) {
  auto guest = make_guest(2);
  std::byte* page = guest->mapping()->pages(0, 1);
  MdlPtr mdl(IoAllocateMdl(page, 16, FALSE, FALSE, nullptr));
  ASSERT_NE(mdl, nullptr);
  guest.reset();  // unregisters (and unmaps) its views
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_FALSE(VmbKitMdlIsUsable(mdl.get()));
}

TEST(Mdl, BuildRejectsAMalformedMdl) {
  auto guest = make_guest(2);
  MdlPtr mdl(IoAllocateMdl(guest->mapping()->pages(0, 1), 16, FALSE, FALSE, nullptr));
  ASSERT_NE(mdl, nullptr);
  mdl->ByteOffset = 4096;  // a driver that filled the fields by hand, wrongly
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_FALSE(VmbKitMdlIsUsable(mdl.get()));
  mdl->ByteOffset = 8;
  mdl->StartVa = guest->mapping()->pages(0, 1) + 8;  // not page-aligned
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_FALSE(VmbKitMdlIsUsable(mdl.get()));
}

TEST(Mdl, RebuildInsideGuestMemoryClearsTheMark) {
  auto guest = make_guest(2);
  std::vector<std::byte> heap(16);
  MdlPtr mdl(IoAllocateMdl(heap.data(), 16, FALSE, FALSE, nullptr));
  MmBuildMdlForNonPagedPool(mdl.get());
  ASSERT_FALSE(VmbKitMdlIsUsable(mdl.get()));
  MmInitializeMdl(mdl.get(), guest->mapping()->pages(1, 1), 16);
  mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_TRUE(VmbKitMdlIsUsable(mdl.get()));
  EXPECT_EQ(MmGetMdlPfnArray(mdl.get())[0], 1u);
}

TEST(Mdl, MapLockedPagesRefusesUserModeAndRequestedAddresses) {
  auto guest = make_guest(2);
  MdlPtr mdl(IoAllocateMdl(guest->mapping()->pages(0, 1), 16, FALSE, FALSE, nullptr));
  MmBuildMdlForNonPagedPool(mdl.get());
  EXPECT_EQ(MmMapLockedPagesSpecifyCache(mdl.get(), UserMode, MmCached, nullptr, FALSE,
                                         NormalPagePriority),
            nullptr);
  int somewhere = 0;
  EXPECT_EQ(MmMapLockedPagesSpecifyCache(mdl.get(), KernelMode, MmCached, &somewhere, FALSE,
                                         NormalPagePriority),
            nullptr);
  EXPECT_EQ(MmMapLockedPagesSpecifyCache(nullptr, KernelMode, MmCached, nullptr, FALSE,
                                         NormalPagePriority),
            nullptr);
}

TEST(Mdl, UnbuiltMdlHasNoSystemAddress) {
  auto guest = make_guest(2);
  MdlPtr mdl(IoAllocateMdl(guest->mapping()->pages(0, 1), 16, FALSE, FALSE, nullptr));
  // Never built: vmbkit does not know its guest memory, so it cannot be mapped.
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl.get(), NormalPagePriority), nullptr);
}

TEST(Mdl, NullAndForeignMdlsAreHandled) {
  IoFreeMdl(nullptr);
  MmBuildMdlForNonPagedPool(nullptr);
  MmUnmapLockedPages(nullptr, nullptr);
  EXPECT_FALSE(VmbKitMdlIsUsable(nullptr));
}

// Builds race with guest memories being created and destroyed: the registry must never hand
// out a dying mapping (run under TSan in CI).
TEST(Mdl, ConcurrentBuildsWhileGuestMemoriesComeAndGo) {
  auto stable = make_guest(4);
  auto buffer = stable->allocate(64);
  ASSERT_TRUE(buffer);
  std::atomic<bool> stop{false};
  std::thread churn([&stop] {
    while (!stop.load(std::memory_order_relaxed)) {
      auto temporary = GuestMemory::create(2);
      ASSERT_TRUE(temporary);
    }
  });
  for (int i = 0; i < 2000; ++i) {
    MdlPtr mdl(IoAllocateMdl(buffer->address, 64, FALSE, FALSE, nullptr));
    MmBuildMdlForNonPagedPool(mdl.get());
    ASSERT_TRUE(VmbKitMdlIsUsable(mdl.get()));
    ASSERT_EQ(MmGetMdlPfnArray(mdl.get())[0], buffer->first_pfn);
  }
  stop.store(true, std::memory_order_relaxed);
  churn.join();
}

}  // namespace
}  // namespace vmb
