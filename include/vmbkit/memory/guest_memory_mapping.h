// SPDX-License-Identifier: MIT
// GuestMemoryMapping: this process's mapping of one guest's memory (decisions.md §2). A guest
// maps its own memory through one; a server maps each connected guest's memory through one.
// It is the only place where a PFN becomes a pointer: every translation is bounds-checked
// against the guest's page count. It also registers its address ranges so that
// MmBuildMdlForNonPagedPool can tell which guest memory (and which PFNs) an address belongs to.
// It does not allocate buffers (guest_memory.h) or build MDLs (mdl_chain.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "vmbkit/memory/shared_region.h"
#include "vmbkit/status.h"

namespace vmb {

class GpaRanges;

// Where an address lies in guest memory.
struct GuestAddress {
  uint64_t pfn = 0;             // page frame number: the page's index in guest memory
  uint32_t byte_offset = 0;     // offset in that page, < 4096
  bool read_only_view = false;  // the address was in the read-only view
};

// All of one guest's memory mapped twice: a read-write view and a read-only view of the same
// pages (the read-only view backs external data the receiver asked to see read-only). Views
// are linear: PFN p is at view + p * 4096. Created shared (MDLs built over it keep it alive);
// immutable after creation and safe to use from any thread. Registered in the process-wide
// address registry from creation until destruction.
class GuestMemoryMapping {
 public:
  // Maps every page of `region` (the guest's memfd) twice. STATUS_INSUFFICIENT_RESOURCES if
  // mmap fails.
  static Result<std::shared_ptr<const GuestMemoryMapping>> map(SharedRegion region);

  GuestMemoryMapping(const GuestMemoryMapping&) = delete;
  GuestMemoryMapping& operator=(const GuestMemoryMapping&) = delete;
  GuestMemoryMapping(GuestMemoryMapping&&) = delete;  // registered by address
  GuestMemoryMapping& operator=(GuestMemoryMapping&&) = delete;
  ~GuestMemoryMapping();

  [[nodiscard]] uint64_t page_count() const { return region_.page_count(); }
  [[nodiscard]] const SharedRegion& region() const { return region_; }

  // True if pages [first_pfn, first_pfn + count) all lie in guest memory (count may be 0).
  [[nodiscard]] bool contains(uint64_t first_pfn, uint64_t count) const {
    return first_pfn <= page_count() && count <= page_count() - first_pfn;
  }

  // The read-write address of pages [first_pfn, first_pfn + count), or nullptr if any of them
  // lies outside guest memory or count is 0.
  [[nodiscard]] std::byte* pages(uint64_t first_pfn, uint64_t count) const;
  // The same in the read-only view.
  [[nodiscard]] const std::byte* read_only_pages(uint64_t first_pfn, uint64_t count) const;

  // Where [address, address + length) lies, if it lies entirely inside one view (length 0:
  // the address alone). std::nullopt otherwise.
  [[nodiscard]] std::optional<GuestAddress> locate(const void* address, size_t length) const;

  // Appends [address, address + length) as one GPA range to *out. STATUS_INVALID_PARAMETER if
  // length is 0, does not fit a range's u32 byte_count, or the bytes are not all in a view.
  Status describe(const void* address, size_t length, GpaRanges* out) const;

  // A new mapping of the listed guest pages back to back (page pfns[i] at byte i * 4096), for
  // memory described by scattered PFNs. STATUS_INVALID_PARAMETER if a PFN is outside guest
  // memory or the list is empty; STATUS_INSUFFICIENT_RESOURCES as SharedRegion::map_pages.
  [[nodiscard]] Result<RegionMapping> map_window(std::span<const uint64_t> pfns,
                                                 bool read_only) const;

 private:
  struct PrivateTag {};

 public:
  // Use map(); public only for std::make_shared.
  GuestMemoryMapping(PrivateTag, SharedRegion region, RegionMapping read_write,
                     RegionMapping read_only);

 private:
  SharedRegion region_;
  RegionMapping read_write_;
  RegionMapping read_only_;
};

}  // namespace vmb
