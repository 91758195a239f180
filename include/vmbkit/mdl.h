/* SPDX-License-Identifier: MIT */
/* The Windows MDL helpers a KMCL driver uses, with their Windows names, signatures and
 * constants: IoAllocateMdl, IoFreeMdl, MmBuildMdlForNonPagedPool, MmSizeOfMdl,
 * MmMapLockedPagesSpecifyCache, MmUnmapLockedPages, and the inline forms Windows has as macros
 * (MmInitializeMdl, MmGetMdl*, MmGetSystemAddressForMdlSafe, ADDRESS_AND_SIZE_TO_SPAN_PAGES,
 * BYTE_OFFSET, PAGE_ALIGN). C11 and C++; no function here raises or throws. The MDL struct
 * itself is in nt_types.h. Not here: sending MDLs (kmcl.h) or converting them to GPA ranges
 * (vmbkit/memory/mdl_chain.h).
 *
 * vmbkit's meaning of "physical": an MDL's PFNs are page numbers in guest memory (decisions.md
 * §2). MmBuildMdlForNonPagedPool finds them by looking the buffer up among this process's
 * mappings of guest memory. A buffer outside guest memory (malloc, the stack, ...) cannot be
 * described: the MDL gets VMBKIT_MDL_OUTSIDE_GUEST_MEMORY, its PFNs are set to
 * VMBKIT_INVALID_PFN, and any send with it returns STATUS_INVALID_PARAMETER. Allocate external
 * data with VmbKitAllocateGuestBuffer instead. */
#ifndef VMBKIT_MDL_H_
#define VMBKIT_MDL_H_

#include "vmbkit/nt_types.h"

#ifdef __cplusplus
#define VMBKIT_STATIC_CAST_(type, value) static_cast<type>(value)
#define VMBKIT_REINTERPRET_CAST_(type, value) reinterpret_cast<type>(value)
#define VMBKIT_NOEXCEPT_ noexcept
#else
#define VMBKIT_NOEXCEPT_
#define VMBKIT_STATIC_CAST_(type, value) ((type)(value))
#define VMBKIT_REINTERPRET_CAST_(type, value) ((type)(value))
#endif

/* Hyper-V's page size, used for every MDL whatever the host's page size. */
#define VMBKIT_PAGE_SIZE 4096u
#define VMBKIT_PAGE_SHIFT 12u
#ifndef PAGE_SIZE
#define PAGE_SIZE VMBKIT_PAGE_SIZE
#endif
#ifndef PAGE_SHIFT
#define PAGE_SHIFT VMBKIT_PAGE_SHIFT
#endif

/* MdlFlags bits (wdm.h values). vmbkit sets MAPPED_TO_SYSTEM_VA, PAGES_LOCKED,
 * SOURCE_IS_NONPAGED_POOL, ALLOCATED_FIXED_SIZE and WRITE_OPERATION with their Windows
 * meanings; the others are defined for source compatibility only. */
#define MDL_MAPPED_TO_SYSTEM_VA 0x0001
#define MDL_PAGES_LOCKED 0x0002
#define MDL_SOURCE_IS_NONPAGED_POOL 0x0004
#define MDL_ALLOCATED_FIXED_SIZE 0x0008
#define MDL_PARTIAL 0x0010
#define MDL_PARTIAL_HAS_BEEN_MAPPED 0x0020
#define MDL_IO_PAGE_READ 0x0040
#define MDL_WRITE_OPERATION 0x0080
#define MDL_LOCKED_PAGE_TABLES 0x0100
#define MDL_PARENT_MAPPED_SYSTEM_VA MDL_LOCKED_PAGE_TABLES
#define MDL_FREE_EXTRA_PTES 0x0200
#define MDL_DESCRIBES_AWE 0x0400
#define MDL_IO_SPACE 0x0800
#define MDL_NETWORK_HEADER 0x1000
#define MDL_MAPPING_CAN_FAIL 0x2000
#define MDL_PAGE_CONTENTS_INVARIANT 0x4000
#define MDL_ALLOCATED_MUST_SUCCEED MDL_PAGE_CONTENTS_INVARIANT

/* vmbkit: the MDL describes memory outside guest memory and cannot be sent. Shares its value
 * with MDL_IO_SPACE ("not RAM"), which vmbkit never sets for any other reason; every other
 * bit of the 16 is taken by Windows. Query with VmbKitMdlIsUsable. */
#define VMBKIT_MDL_OUTSIDE_GUEST_MEMORY MDL_IO_SPACE
/* vmbkit: the PFN stored in MDLs that describe nothing valid (never built, or built over
 * memory outside guest memory). Lies outside every guest memory. */
#define VMBKIT_INVALID_PFN (~VMBKIT_STATIC_CAST_(PFN_NUMBER, 0))

/* Priority flags that may be OR-ed into MmGetSystemAddressForMdlSafe's Priority. */
#define MdlMappingNoWrite 0x80000000u
#define MdlMappingNoExecute 0x40000000u
#define MdlMappingWithGuardPtes 0x20000000u

/* The largest Length IoAllocateMdl accepts (4 GiB - PAGE_SIZE, as Windows 7 and later). */
#define VMBKIT_MAXIMUM_MDL_LENGTH 0xFFFFF000u

#ifdef __cplusplus
extern "C" {
#endif

/* Offset of an address within its 4 KiB page. */
static inline ULONG VmbKitByteOffset(const volatile void* Va) VMBKIT_NOEXCEPT_ {
  return VMBKIT_STATIC_CAST_(ULONG,
                             VMBKIT_REINTERPRET_CAST_(ULONG_PTR, Va) & (VMBKIT_PAGE_SIZE - 1u));
}
/* The page-aligned address of the page holding Va. */
static inline PVOID VmbKitPageAlign(const volatile void* Va) VMBKIT_NOEXCEPT_ {
  return VMBKIT_REINTERPRET_CAST_(
      PVOID, VMBKIT_REINTERPRET_CAST_(ULONG_PTR, Va) & ~VMBKIT_STATIC_CAST_(ULONG_PTR, 4095u));
}
/* Pages spanned by Size bytes starting at Va (0 for Size 0). */
static inline ULONG VmbKitAddressAndSizeToSpanPages(const volatile void* Va,
                                                    SIZE_T Size) VMBKIT_NOEXCEPT_ {
  return VMBKIT_STATIC_CAST_(
      ULONG, (VmbKitByteOffset(Va) + Size + (VMBKIT_PAGE_SIZE - 1u)) >> VMBKIT_PAGE_SHIFT);
}

#define BYTE_OFFSET(Va) VmbKitByteOffset(Va)
#define PAGE_ALIGN(Va) VmbKitPageAlign(Va)
#define ADDRESS_AND_SIZE_TO_SPAN_PAGES(Va, Size) VmbKitAddressAndSizeToSpanPages((Va), (Size))

/* Bytes of an MDL (header plus PFN array) describing Length bytes at Base. */
SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length) VMBKIT_NOEXCEPT_;

/* Allocates an MDL for Length bytes at VirtualAddress (Length <= VMBKIT_MAXIMUM_MDL_LENGTH).
 * The MDL is not yet built: its PFNs are VMBKIT_INVALID_PFN until MmBuildMdlForNonPagedPool
 * (or the driver) fills them. Returns NULL if memory runs out, Length is too large, or Irp is
 * not NULL (vmbkit has no IRPs). SecondaryBuffer and ChargeQuota are ignored. Free with
 * IoFreeMdl. Thread-safe. */
PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN ChargeQuota,
                   PVOID Irp) VMBKIT_NOEXCEPT_;

/* Frees an MDL from IoAllocateMdl (only that MDL, not the chain behind Next), unmapping any
 * mapping MmMapLockedPagesSpecifyCache made for it. NULL is ignored. */
VOID IoFreeMdl(PMDL Mdl) VMBKIT_NOEXCEPT_;

/* Fills the PFN array of an MDL whose buffer lies in guest memory mapped in this process, sets
 * MappedSystemVa to the buffer and MDL_SOURCE_IS_NONPAGED_POOL. If the buffer is not entirely
 * inside one guest-memory mapping, sets VMBKIT_MDL_OUTSIDE_GUEST_MEMORY instead, fills the PFNs
 * with VMBKIT_INVALID_PFN and leaves MappedSystemVa NULL. Thread-safe for distinct MDLs. */
VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList) VMBKIT_NOEXCEPT_;

/* Maps the MDL's pages contiguously and returns the address of its first byte (StartVa's
 * page + ByteOffset in the new mapping), sets MappedSystemVa and MDL_MAPPED_TO_SYSTEM_VA.
 * AccessMode must be KernelMode and RequestedAddress NULL; CacheType and BugCheckOnFailure are
 * ignored; Priority may carry MdlMappingNoWrite (read-only mapping). An MDL whose pages are
 * consecutive is served from the guest-memory mapping itself, without a new mmap. Returns NULL
 * when the MDL is unusable, describes no bytes, its guest memory is unknown (only MDLs built by
 * vmbkit know theirs, e.g. those from VmbChannelPacketGetExternalData), a PFN lies outside it,
 * or the mapping fails. Not thread-safe for one MDL. */
PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                   MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress,
                                   ULONG BugCheckOnFailure, ULONG Priority) VMBKIT_NOEXCEPT_;

/* Undoes MmMapLockedPagesSpecifyCache: BaseAddress must be what it returned for this MDL. */
VOID MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList) VMBKIT_NOEXCEPT_;

/* vmbkit: TRUE if Mdl may be sent as external data, FALSE if MmBuildMdlForNonPagedPool found
 * it outside guest memory (VMBKIT_MDL_OUTSIDE_GUEST_MEMORY) or Mdl is NULL. */
BOOLEAN VmbKitMdlIsUsable(const MDL* Mdl) VMBKIT_NOEXCEPT_;

/* Initialises an MDL in caller storage (MmSizeOfMdl bytes) for Length bytes at BaseVa. Like
 * the Windows macro it touches neither the PFN array nor the pages. */
static inline VOID MmInitializeMdl(PMDL MemoryDescriptorList, PVOID BaseVa,
                                   SIZE_T Length) VMBKIT_NOEXCEPT_ {
  MemoryDescriptorList->Next = NULL;
  /* Truncated to CSHORT as Windows does for MDLs past 32 KiB; vmbkit never reads Size back. */
  MemoryDescriptorList->Size = VMBKIT_STATIC_CAST_(
      CSHORT, sizeof(MDL) + sizeof(PFN_NUMBER) * VmbKitAddressAndSizeToSpanPages(BaseVa, Length));
  MemoryDescriptorList->MdlFlags = 0;
  MemoryDescriptorList->Process = NULL;
  MemoryDescriptorList->MappedSystemVa = NULL;
  MemoryDescriptorList->StartVa = VmbKitPageAlign(BaseVa);
  MemoryDescriptorList->ByteCount = VMBKIT_STATIC_CAST_(ULONG, Length);
  MemoryDescriptorList->ByteOffset = VmbKitByteOffset(BaseVa);
}

static inline ULONG MmGetMdlByteCount(const MDL* Mdl) VMBKIT_NOEXCEPT_ { return Mdl->ByteCount; }
static inline ULONG MmGetMdlByteOffset(const MDL* Mdl) VMBKIT_NOEXCEPT_ { return Mdl->ByteOffset; }
static inline PVOID MmGetMdlBaseVa(const MDL* Mdl) VMBKIT_NOEXCEPT_ { return Mdl->StartVa; }
/* StartVa + ByteOffset: the buffer's address in the describing process (NULL + ByteOffset
 * for received MDLs, which have no such address: map them with
 * MmGetSystemAddressForMdlSafe). */
static inline PVOID MmGetMdlVirtualAddress(const MDL* Mdl) VMBKIT_NOEXCEPT_ {
  return VMBKIT_REINTERPRET_CAST_(
      PVOID, VMBKIT_REINTERPRET_CAST_(ULONG_PTR, Mdl->StartVa) + Mdl->ByteOffset);
}
/* The PFN array that follows the MDL. */
static inline PPFN_NUMBER MmGetMdlPfnArray(PMDL Mdl) VMBKIT_NOEXCEPT_ {
  return VMBKIT_REINTERPRET_CAST_(PPFN_NUMBER, Mdl + 1);
}
/* The MDL's system address, mapping it first if needed; NULL on failure (see
 * MmMapLockedPagesSpecifyCache). Priority: NormalPagePriority etc., optionally with
 * MdlMappingNoWrite / MdlMappingNoExecute. */
static inline PVOID MmGetSystemAddressForMdlSafe(PMDL Mdl, ULONG Priority) VMBKIT_NOEXCEPT_ {
  if ((Mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) != 0) {
    return Mdl->MappedSystemVa;
  }
  return MmMapLockedPagesSpecifyCache(Mdl, KernelMode, MmCached, NULL, FALSE, Priority);
}

#ifdef __cplusplus
}
#endif

#endif /* VMBKIT_MDL_H_ */
