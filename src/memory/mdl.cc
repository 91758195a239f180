// SPDX-License-Identifier: MIT
// The C MDL helpers of vmbkit/mdl.h: allocation with vmbkit's bookkeeping in front, building
// an MDL by looking its buffer up among the live guest-memory views, and mapping an MDL's
// pages (from the guest view itself when they are consecutive, through a window otherwise).
// No exception leaves these functions.
#include "vmbkit/mdl.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <span>

#include "memory/guest_memory_registry.h"
#include "memory/mdl_extension.h"

namespace {

using vmb::memory_internal::add_flags;
using vmb::memory_internal::clear_flags;
using vmb::memory_internal::extension_of;
using vmb::memory_internal::MdlExtension;

constexpr uint64_t kPageSize = VMBKIT_PAGE_SIZE;

// Pages the MDL's bytes span (its PFN array's length).
uint64_t span_pages(const MDL* mdl) {
  return (uint64_t{mdl->ByteOffset} + mdl->ByteCount + kPageSize - 1) / kPageSize;
}

PPFN_NUMBER pfn_array(MDL* mdl) { return MmGetMdlPfnArray(mdl); }

void mark_outside_guest_memory(MDL* mdl) {
  std::fill_n(pfn_array(mdl), span_pages(mdl), VMBKIT_INVALID_PFN);
  mdl->MappedSystemVa = nullptr;
  clear_flags(mdl, MDL_SOURCE_IS_NONPAGED_POOL | MDL_MAPPED_TO_SYSTEM_VA);
  add_flags(mdl, VMBKIT_MDL_OUTSIDE_GUEST_MEMORY);
}

bool pfns_consecutive(std::span<const PFN_NUMBER> pfns) {
  for (size_t i = 1; i < pfns.size(); ++i) {
    if (pfns[i] != pfns[0] + i) return false;
  }
  return true;
}

// The address of the MDL's first byte in a fresh or existing mapping, or nullptr.
void* map_mdl(MDL* mdl, MdlExtension* extension, bool read_only) {
  const vmb::GuestMemoryMapping& guest = *extension->guest;
  const std::span<const PFN_NUMBER> pfns(pfn_array(mdl), span_pages(mdl));
  for (const PFN_NUMBER pfn : pfns) {
    if (pfn >= guest.page_count()) return nullptr;
  }
  std::byte* base = nullptr;
  if (pfns_consecutive(pfns)) {
    // Safety (const_cast): the read-only view is mapped PROT_READ; a driver that writes through
    // the address it gets faults, as it would on Windows.
    base = read_only ? const_cast<std::byte*>(  // NOLINT(cppcoreguidelines-pro-type-const-cast)
                           guest.read_only_pages(pfns[0], pfns.size()))
                     : guest.pages(pfns[0], pfns.size());
  } else {
    auto window = guest.map_window(pfns, read_only);
    if (!window) return nullptr;
    extension->window = std::move(*window);
    base = extension->window.data();
  }
  if (base == nullptr) return nullptr;
  // Safety: ByteOffset < 4096 and the mapping covers span_pages(mdl) >= 1 pages.
  return base + mdl->ByteOffset;
}

}  // namespace

extern "C" {

SIZE_T MmSizeOfMdl(PVOID Base, SIZE_T Length) noexcept {
  return sizeof(MDL) + sizeof(PFN_NUMBER) * SIZE_T{VmbKitAddressAndSizeToSpanPages(Base, Length)};
}

PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN /*SecondaryBuffer*/,
                   BOOLEAN /*ChargeQuota*/, PVOID Irp) noexcept {
  if (Irp != nullptr || Length > VMBKIT_MAXIMUM_MDL_LENGTH) return nullptr;
  const size_t pages = VmbKitAddressAndSizeToSpanPages(VirtualAddress, Length);
  void* block = ::operator new(vmb::memory_internal::mdl_allocation_size(pages), std::nothrow);
  if (block == nullptr) return nullptr;
  // Placement new into `block`, which IoFreeMdl releases (NOLINT: not an owning new).
  auto* extension = new (block) MdlExtension;  // NOLINT(cppcoreguidelines-owning-memory)
  MDL* mdl = vmb::memory_internal::mdl_after(extension);
  MmInitializeMdl(mdl, VirtualAddress, Length);
  add_flags(mdl, MDL_ALLOCATED_FIXED_SIZE);
  // Not built yet: PFNs that lie outside every guest memory, so a send fails cleanly.
  std::fill_n(pfn_array(mdl), pages, VMBKIT_INVALID_PFN);
  return mdl;
}

VOID IoFreeMdl(PMDL Mdl) noexcept {
  MdlExtension* extension = extension_of(Mdl);
  // Not ours (driver storage) or owned by an MdlChain: nothing to free here.
  if (extension == nullptr || extension->owned_by_chain) return;
  extension->magic = 0;
  extension->~MdlExtension();
  ::operator delete(extension);
}

VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList) noexcept {
  MDL* mdl = MemoryDescriptorList;
  if (mdl == nullptr) return;
  const auto start = reinterpret_cast<uintptr_t>(mdl->StartVa);
  if (start % kPageSize != 0 || mdl->ByteOffset >= kPageSize) {
    mark_outside_guest_memory(mdl);
    return;
  }
  const auto view = vmb::memory_internal::find_view(start + mdl->ByteOffset, mdl->ByteCount);
  if (!view) {
    mark_outside_guest_memory(mdl);
    return;
  }
  const uint64_t first_pfn = (start - view->begin) / kPageSize;
  PPFN_NUMBER pfns = pfn_array(mdl);
  for (uint64_t i = 0, count = span_pages(mdl); i < count; ++i) pfns[i] = first_pfn + i;
  mdl->MappedSystemVa = MmGetMdlVirtualAddress(mdl);
  clear_flags(mdl, VMBKIT_MDL_OUTSIDE_GUEST_MEMORY);
  add_flags(mdl, MDL_SOURCE_IS_NONPAGED_POOL);
  if (MdlExtension* extension = extension_of(mdl); extension != nullptr) {
    extension->guest = view->mapping;
    extension->read_only = view->read_only;
  }
}

PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
                                   MEMORY_CACHING_TYPE /*CacheType*/, PVOID RequestedAddress,
                                   ULONG /*BugCheckOnFailure*/, ULONG Priority) noexcept {
  MDL* mdl = MemoryDescriptorList;
  if (mdl == nullptr || AccessMode != KernelMode || RequestedAddress != nullptr) return nullptr;
  if ((mdl->MdlFlags & VMBKIT_MDL_OUTSIDE_GUEST_MEMORY) != 0) return nullptr;
  if ((mdl->MdlFlags & (MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL)) != 0) {
    return mdl->MappedSystemVa;
  }
  MdlExtension* extension = extension_of(mdl);
  if (extension == nullptr || !extension->guest || mdl->ByteCount == 0 ||
      mdl->ByteOffset >= kPageSize) {
    return nullptr;
  }
  try {
    const bool read_only = extension->read_only || (Priority & MdlMappingNoWrite) != 0;
    void* address = map_mdl(mdl, extension, read_only);
    if (address == nullptr) return nullptr;
    mdl->MappedSystemVa = address;
    add_flags(mdl, MDL_MAPPED_TO_SYSTEM_VA);
    return address;
  } catch (...) {  // std::bad_alloc from the window's bookkeeping: a failed mapping
    return nullptr;
  }
}

VOID MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList) noexcept {
  MDL* mdl = MemoryDescriptorList;
  if (mdl == nullptr || (mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA) == 0 ||
      BaseAddress != mdl->MappedSystemVa) {
    return;
  }
  if (MdlExtension* extension = extension_of(mdl); extension != nullptr) {
    extension->window = vmb::RegionMapping();
  }
  mdl->MappedSystemVa = nullptr;
  clear_flags(mdl, MDL_MAPPED_TO_SYSTEM_VA);
}

BOOLEAN VmbKitMdlIsUsable(const MDL* Mdl) noexcept {
  return Mdl != nullptr && (Mdl->MdlFlags & VMBKIT_MDL_OUTSIDE_GUEST_MEMORY) == 0 ? TRUE : FALSE;
}

}  // extern "C"
