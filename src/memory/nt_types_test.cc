// SPDX-License-Identifier: MIT
// Layout of the Windows types in nt_types.h (Windows x64 / LLP64 widths and offsets) and the
// inline MDL helpers of mdl.h that need no guest memory: MmInitializeMdl, MmSizeOfMdl, the
// MmGetMdl* accessors, BYTE_OFFSET, PAGE_ALIGN and ADDRESS_AND_SIZE_TO_SPAN_PAGES.
#include "vmbkit/nt_types.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <type_traits>
#include <vector>

#include "vmbkit/mdl.h"

namespace {

// LLP64: ULONG and LONG stay 32 bits on x86-64; pointers and PFN_NUMBER are 64.
static_assert(sizeof(ULONG) == 4 && std::is_unsigned_v<ULONG>);
static_assert(sizeof(LONG) == 4 && std::is_signed_v<LONG>);
static_assert(sizeof(USHORT) == 2 && sizeof(CSHORT) == 2 && std::is_signed_v<CSHORT>);
static_assert(sizeof(UCHAR) == 1 && sizeof(BOOLEAN) == 1);
static_assert(sizeof(ULONG_PTR) == 8 && sizeof(SIZE_T) == 8 && sizeof(PVOID) == 8);
static_assert(sizeof(PFN_NUMBER) == 8 && std::is_unsigned_v<PFN_NUMBER>);
static_assert(sizeof(LONGLONG) == 8 && sizeof(ULONGLONG) == 8);
static_assert(sizeof(LARGE_INTEGER) == 8);
static_assert(offsetof(LARGE_INTEGER, u.LowPart) == 0 && offsetof(LARGE_INTEGER, u.HighPart) == 4);
static_assert(sizeof(GUID) == 16 && offsetof(GUID, Data4) == 8);
static_assert(sizeof(UNICODE_STRING) == 16 && offsetof(UNICODE_STRING, Buffer) == 8);
static_assert(sizeof(KPROCESSOR_MODE) == 1);

// The MDL as in Windows x64's wdm.h: 48 bytes, PFN array right after it.
static_assert(sizeof(MDL) == 48);
static_assert(offsetof(MDL, Next) == 0);
static_assert(offsetof(MDL, Size) == 8);
static_assert(offsetof(MDL, MdlFlags) == 10);
static_assert(offsetof(MDL, Process) == 16);
static_assert(offsetof(MDL, MappedSystemVa) == 24);
static_assert(offsetof(MDL, StartVa) == 32);
static_assert(offsetof(MDL, ByteCount) == 40);
static_assert(offsetof(MDL, ByteOffset) == 44);
static_assert(std::is_standard_layout_v<MDL> && std::is_trivially_copyable_v<MDL>);

// Constants with their wdm.h values.
static_assert(MDL_MAPPED_TO_SYSTEM_VA == 0x1 && MDL_PAGES_LOCKED == 0x2);
static_assert(MDL_SOURCE_IS_NONPAGED_POOL == 0x4 && MDL_ALLOCATED_FIXED_SIZE == 0x8);
static_assert(MDL_WRITE_OPERATION == 0x80 && MDL_IO_SPACE == 0x800);
static_assert(NormalPagePriority == 16 && HighPagePriority == 32 && LowPagePriority == 0);
static_assert(MdlMappingNoWrite == 0x80000000u && MdlMappingNoExecute == 0x40000000u);
static_assert(MmCached == 1 && MmNonCached == 0 && KernelMode == 0 && UserMode == 1);
static_assert(PAGE_SIZE == 4096);

TEST(NtTypes, ByteOffsetAndPageAlign) {
  const auto* address = reinterpret_cast<const void*>(uintptr_t{0x12345678});
  EXPECT_EQ(BYTE_OFFSET(address), 0x678u);
  EXPECT_EQ(PAGE_ALIGN(address), reinterpret_cast<void*>(uintptr_t{0x12345000}));
}

TEST(NtTypes, SpanPagesCountsEveryTouchedPage) {
  const auto* aligned = reinterpret_cast<const void*>(uintptr_t{0x10000});
  const auto* near_end = reinterpret_cast<const void*>(uintptr_t{0x10fff});
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 0u), 0u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 1u), 1u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 4096u), 1u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(aligned, 4097u), 2u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(near_end, 1u), 1u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(near_end, 2u), 2u);
  EXPECT_EQ(ADDRESS_AND_SIZE_TO_SPAN_PAGES(near_end, 0xFFFFF000u), 0x100000u);
}

TEST(NtTypes, SizeOfMdlIsHeaderPlusOnePfnPerPage) {
  auto* base = reinterpret_cast<void*>(uintptr_t{0x20800});
  EXPECT_EQ(MmSizeOfMdl(reinterpret_cast<void*>(uintptr_t{0x20000}), 0), sizeof(MDL));
  // As on Windows, an unaligned address spans its page even for 0 bytes.
  EXPECT_EQ(MmSizeOfMdl(base, 0), sizeof(MDL) + 8);
  EXPECT_EQ(MmSizeOfMdl(base, 0x800), sizeof(MDL) + 8);
  EXPECT_EQ(MmSizeOfMdl(base, 0x801), sizeof(MDL) + 16);
}

TEST(NtTypes, InitializeMdlSetsEveryField) {
  std::vector<std::byte> storage(MmSizeOfMdl(reinterpret_cast<void*>(uintptr_t{0x30010}), 5000));
  auto* mdl = reinterpret_cast<PMDL>(storage.data());
  mdl->MdlFlags = 0x7fff;
  mdl->Next = mdl;
  MmInitializeMdl(mdl, reinterpret_cast<void*>(uintptr_t{0x30010}), 5000);
  EXPECT_EQ(mdl->Next, nullptr);
  EXPECT_EQ(mdl->Size, static_cast<CSHORT>(sizeof(MDL) + 2 * 8));
  EXPECT_EQ(mdl->MdlFlags, 0);
  EXPECT_EQ(mdl->Process, nullptr);
  EXPECT_EQ(mdl->MappedSystemVa, nullptr);
  EXPECT_EQ(MmGetMdlBaseVa(mdl), reinterpret_cast<void*>(uintptr_t{0x30000}));
  EXPECT_EQ(MmGetMdlByteOffset(mdl), 0x10u);
  EXPECT_EQ(MmGetMdlByteCount(mdl), 5000u);
  EXPECT_EQ(MmGetMdlVirtualAddress(mdl), reinterpret_cast<void*>(uintptr_t{0x30010}));
  EXPECT_EQ(reinterpret_cast<std::byte*>(MmGetMdlPfnArray(mdl)), storage.data() + sizeof(MDL));
}

TEST(NtTypes, SystemAddressOfBuiltMdlIsItsMappedVa) {
  MDL mdl{};
  int target = 0;
  mdl.MappedSystemVa = &target;
  mdl.MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL;
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(&mdl, NormalPagePriority), &target);
  mdl.MdlFlags = MDL_MAPPED_TO_SYSTEM_VA;
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(&mdl, NormalPagePriority), &target);
}

}  // namespace
