// SPDX-License-Identifier: MIT
// GuestMemory: a guest's (client endpoint's) own memory, decisions.md §2: a sealed memfd of
// whole 4 KiB pages, this process's mapping of it, and the allocator from which rings, GPADL
// buffers and external data (VmbKitAllocateGuestBuffer) are carved. The descriptor is what the
// bus hands to the server, which maps it with GuestMemoryMapping::map(SharedRegion::adopt(fd)).
// Not here: the allocation policy (guest_buffer_allocator.h) or MDLs (mdl_chain.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "vmbkit/memory/guest_buffer_allocator.h"
#include "vmbkit/memory/guest_memory_mapping.h"
#include "vmbkit/status.h"

namespace vmb {

// A buffer in guest memory.
struct GuestBuffer {
  std::byte* address = nullptr;  // in this process's read-write view
  uint64_t size = 0;             // usable bytes (the slot or the page run, >= the request)
  uint64_t first_pfn = 0;        // page holding the first byte
  uint32_t byte_offset = 0;      // offset of the first byte in that page
};

// One guest's memory, owned by the guest side. Thread-safe. Buffers must be freed before the
// GuestMemory is destroyed if anything still uses them; the mapping itself lives on while MDLs
// built over it exist (they hold the shared GuestMemoryMapping).
class GuestMemory {
 public:
  // Default size when a caller has no opinion: 64 MiB.
  static constexpr uint64_t kDefaultPageCount = 16384;

  // Creates `page_count` pages (1..kMaximumRegionPages) of zeroed guest memory and maps them.
  // STATUS_INVALID_PARAMETER for a bad count, STATUS_INSUFFICIENT_RESOURCES if the kernel
  // refuses.
  static Result<std::unique_ptr<GuestMemory>> create(uint64_t page_count);

  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  ~GuestMemory() = default;

  [[nodiscard]] uint64_t page_count() const { return mapping_->page_count(); }
  // The memfd to hand to the server (still owned here).
  [[nodiscard]] int fd() const { return mapping_->region().fd(); }
  [[nodiscard]] const std::shared_ptr<const GuestMemoryMapping>& mapping() const {
    return mapping_;
  }

  // A zeroed buffer of at least `bytes` (>= 1) bytes: <= 2048 bytes come from a slot aligned
  // to its power-of-two size that never crosses a page; larger ones are whole pages, page
  // aligned. STATUS_INVALID_PARAMETER for 0, STATUS_INSUFFICIENT_RESOURCES when full.
  [[nodiscard]] Result<GuestBuffer> allocate(uint64_t bytes);

  // `page_count` (>= 1) zeroed, contiguous, page-aligned pages (rings, GPADL buffers).
  [[nodiscard]] Result<GuestBuffer> allocate_pages(uint64_t page_count);

  // Returns a buffer from allocate()/allocate_pages() (its `address`). STATUS_INVALID_PARAMETER
  // for any other pointer or a second free.
  Status free(const void* address);

  [[nodiscard]] GuestMemoryUsage usage() const { return allocator_.usage(); }

 private:
  struct PrivateTag {};

 public:
  // Use create(); public only for std::make_unique.
  GuestMemory(PrivateTag, std::shared_ptr<const GuestMemoryMapping> mapping);

 private:
  GuestBuffer buffer_at(uint64_t offset) const;
  std::shared_ptr<const GuestMemoryMapping> mapping_;
  GuestBufferAllocator allocator_;
};

}  // namespace vmb
