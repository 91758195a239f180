// SPDX-License-Identifier: MIT
// GuestBufferAllocator: hands out byte ranges of guest memory by offset: whole-page runs for
// large buffers and power-of-two slots inside pages for small ones. It is pure bookkeeping over
// page indices: it never touches the memory (GuestMemory does that), so it is tested on its
// own. Thread-safe (one mutex).
//
// Fragmentation behaviour:
// - Page runs use best fit over a free-extent map ordered by size, ties broken by the lowest
//   address, and coalesce with both neighbours on every free. Freed memory is therefore always
//   one extent per maximal free gap; after everything is freed there is exactly one extent, the
//   whole memory. Best fit with address ordering is among the policies with the lowest measured
//   fragmentation (Johnstone & Wilson, 1998) and needs no compaction.
// - Small buffers (<= kMaximumSlotSize bytes) come from slabs: one page per slab, one size
//   class per slab (16, 32, ..., 2048 bytes), the lowest-addressed partially used slab first.
//   A slot never straddles a page (so a small buffer is always one PFN) and is aligned to its
//   size class. A slab returns its page to the page runs as soon as its last slot is freed, so
//   small-buffer churn never pins pages beyond those holding live slots; the worst case is one
//   live slot holding a whole page, per page.
// - Rounding: a small buffer wastes at most half its slot; a large buffer at most 4095 bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "vmbkit/status.h"

namespace vmb {

// Snapshot of an allocator's use.
struct GuestMemoryUsage {
  uint64_t total_pages = 0;
  uint64_t pages_in_use = 0;        // page runs handed out plus slab pages
  uint64_t slab_pages = 0;          // pages currently split into small slots
  uint64_t small_buffers = 0;       // live small buffers
  uint64_t large_buffers = 0;       // live page runs handed out
  uint64_t free_extents = 0;        // maximal runs of free pages
  uint64_t largest_free_pages = 0;  // the longest of them
};

class GuestBufferAllocator {
 public:
  static constexpr uint32_t kPageSize = 4096;
  static constexpr uint32_t kMinimumSlotSize = 16;
  static constexpr uint32_t kMaximumSlotSize = 2048;
  static constexpr size_t kSizeClassCount = 8;  // 16 .. 2048

  // An allocator over pages [0, page_count).
  explicit GuestBufferAllocator(uint64_t page_count);

  // Reserves `bytes` (>= 1): a slot of the smallest class that holds it if bytes <=
  // kMaximumSlotSize, else ceil(bytes / 4096) whole pages. Returns the byte offset in guest
  // memory. STATUS_INVALID_PARAMETER for 0 bytes, STATUS_INSUFFICIENT_RESOURCES when no free
  // space fits.
  [[nodiscard]] Result<uint64_t> allocate(uint64_t bytes);

  // Reserves `page_count` (>= 1) contiguous whole pages; returns the first page's index.
  [[nodiscard]] Result<uint64_t> allocate_pages(uint64_t page_count);

  // Releases what allocate()/allocate_pages() returned at `offset` (a byte offset; for
  // allocate_pages the first page's index * 4096). STATUS_INVALID_PARAMETER if nothing is
  // allocated at exactly that offset (never allocated, inside a buffer, or already freed).
  Status free(uint64_t offset);

  // The usable size of the buffer at `offset` (its slot size or its run's bytes), or 0 if
  // nothing is allocated there.
  [[nodiscard]] uint64_t allocation_size(uint64_t offset) const;

  [[nodiscard]] GuestMemoryUsage usage() const;

 private:
  struct Slab {
    uint8_t size_class = 0;
    uint16_t used = 0;
    std::array<uint64_t, 4> in_use{};  // bit per slot; 4096 / 16 = 256 slots at most
  };

  Result<uint64_t> take_pages_locked(uint64_t count);
  void give_pages_locked(uint64_t first, uint64_t count);
  Result<uint64_t> allocate_slot_locked(size_t size_class);
  Status free_slot_locked(uint64_t page, uint64_t offset_in_page);

  mutable std::mutex mutex_;
  uint64_t page_count_ = 0;
  std::map<uint64_t, uint64_t> free_by_start_;            // first page -> count
  std::set<std::pair<uint64_t, uint64_t>> free_by_size_;  // (count, first page)
  std::map<uint64_t, uint64_t> runs_;                     // allocated run: first page -> count
  std::unordered_map<uint64_t, Slab> slabs_;              // page -> slab
  std::array<std::set<uint64_t>, kSizeClassCount> partial_slabs_;  // pages with a free slot
  uint64_t pages_in_use_ = 0;
  uint64_t small_buffers_ = 0;
};

}  // namespace vmb
