// SPDX-License-Identifier: MIT
// The bookkeeping vmbkit keeps in front of every MDL it allocates (IoAllocateMdl, MdlChain):
// which guest memory the PFNs refer to, whether the MDL is read-only, and the window mapping
// MmMapLockedPagesSpecifyCache made for scattered pages. Memory layout of such an allocation:
// [MdlExtension][MDL][PFN_NUMBER x span]. MDLs in driver storage (MmInitializeMdl) have none.
// Private to src/memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "vmbkit/mdl.h"
#include "vmbkit/memory/guest_memory_mapping.h"
#include "vmbkit/memory/shared_region.h"
#include "vmbkit/nt_types.h"

namespace vmb::memory_internal {

struct alignas(16) MdlExtension {
  static constexpr uint64_t kMagic = 0x766d626b69744d44;  // "vmbkitMD"
  uint64_t magic = kMagic;
  std::shared_ptr<const GuestMemoryMapping> guest;  // null until known
  RegionMapping window;                             // a mapping of scattered pages, or empty
  bool read_only = false;
  bool owned_by_chain = false;  // an MdlChain member: IoFreeMdl must not free it
};
static_assert(sizeof(MdlExtension) % alignof(MDL) == 0);

// Bytes of one extension + MDL + `pfn_count` PFNs, a multiple of 16 so allocations can be
// packed back to back.
constexpr size_t mdl_allocation_size(size_t pfn_count) {
  const size_t bytes = sizeof(MdlExtension) + sizeof(MDL) + pfn_count * sizeof(PFN_NUMBER);
  return (bytes + 15) & ~size_t{15};
}

// The MDL that follows an extension.
inline MDL* mdl_after(MdlExtension* extension) {
  // Safety: every MdlExtension is constructed at the start of an mdl_allocation_size() block,
  // so an MDL fits right after it.
  return reinterpret_cast<MDL*>(reinterpret_cast<std::byte*>(extension) + sizeof(MdlExtension));
}

// The extension in front of `mdl`, or nullptr for an MDL vmbkit did not allocate. vmbkit sets
// MDL_ALLOCATED_FIXED_SIZE only on its own allocations (as Windows does for IoAllocateMdl), so
// the bytes before any MDL carrying it are ours; the magic guards against drivers that set the
// flag by hand on storage of their own.
inline MdlExtension* extension_of(const MDL* mdl) {
  if (mdl == nullptr || (mdl->MdlFlags & MDL_ALLOCATED_FIXED_SIZE) == 0) return nullptr;
  // Safety: see above; the flag promises an extension right before the MDL. The const_cast is
  // needed because the C helpers take const MDLs; the extension itself was never const.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
  auto* extension = reinterpret_cast<MdlExtension*>(
      const_cast<std::byte*>(reinterpret_cast<const std::byte*>(mdl)) - sizeof(MdlExtension));
  return extension->magic == MdlExtension::kMagic ? extension : nullptr;
}

// The PFNs that follow `mdl`.
inline const PFN_NUMBER* pfns_of(const MDL* mdl) {
  // Safety: an MDL is always followed by its PFN array (nt_types.h, Windows layout); callers
  // read only the span the MDL's ByteOffset and ByteCount give.
  return reinterpret_cast<const PFN_NUMBER*>(mdl + 1);
}

inline void add_flags(MDL* mdl, int flags) {
  mdl->MdlFlags = static_cast<CSHORT>(mdl->MdlFlags | flags);
}
inline void clear_flags(MDL* mdl, int flags) {
  mdl->MdlFlags = static_cast<CSHORT>(mdl->MdlFlags & ~flags);
}

}  // namespace vmb::memory_internal
