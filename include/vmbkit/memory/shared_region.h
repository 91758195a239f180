// SPDX-License-Identifier: MIT
// SharedRegion: a memfd of whole 4 KiB pages that another process can map from the descriptor
// alone, and RegionMapping, one mmap of some of its pages. This is the only place vmbkit calls
// memfd_create, mmap and munmap. It knows nothing of PFNs' meaning, rings or MDLs: guest memory
// (guest_memory_mapping.h) and ring mappings (ring_mapping.h) are built on top.
//
// Untrusted descriptors: a region adopted from the peer must carry F_SEAL_SHRINK, so the peer
// cannot truncate the file under our mappings (a later access would raise SIGBUS, decisions.md
// §7: no crash under anything the peer does), and F_SEAL_SEAL, so it cannot add seals later.
// create() seals shrink, grow and the seals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"

namespace vmb {

// The page size of guest memory and of every region: Hyper-V's 4 KiB, whatever the host's.
inline constexpr uint64_t kGuestPageSize = 4096;
// The largest region vmbkit creates or accepts: 2^24 pages (64 GiB). Keeps every PFN * 4096
// and every page-count sum far from overflowing u64, and bounds allocator metadata.
inline constexpr uint64_t kMaximumRegionPages = uint64_t{1} << 24;
// The most separate runs of pages one map_pages() call may create (each run is one mmap, one
// kernel VMA; Linux allows about 65 530 per process). A peer that scatters a ring or an MDL
// over more runs than this gets a failed mapping, not an exhausted process.
inline constexpr size_t kMaximumMappingRuns = 1024;

// One mmap'ed span of a region (or several spans laid back to back in one reservation).
// Unmapped on destruction. Move-only. The bytes may be changed by the peer at any moment:
// read them with atomics or memcpy into private memory (house style, "Untrusted memory").
class RegionMapping {
 public:
  RegionMapping() = default;
  RegionMapping(std::byte* base, size_t size) : base_(base), size_(size) {}
  RegionMapping(const RegionMapping&) = delete;
  RegionMapping& operator=(const RegionMapping&) = delete;
  RegionMapping(RegionMapping&& other) noexcept;
  RegionMapping& operator=(RegionMapping&& other) noexcept;
  ~RegionMapping();

  [[nodiscard]] std::byte* data() const { return base_; }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

 private:
  void unmap();
  std::byte* base_ = nullptr;
  size_t size_ = 0;
};

// A memfd of page_count() pages. Move-only; the descriptor closes with the object, but existing
// RegionMappings stay valid (a mapping keeps the file alive).
class SharedRegion {
 public:
  // A new zero-filled memfd of `page_count` pages (1..kMaximumRegionPages), sealed against
  // shrinking, growing and further sealing. `name` shows in /proc/<pid>/maps.
  // STATUS_INVALID_PARAMETER for a bad count, STATUS_INSUFFICIENT_RESOURCES if the kernel
  // refuses.
  static Result<SharedRegion> create(uint64_t page_count, const char* name);

  // Takes a descriptor received from the peer. Its size (fstat) must be a non-zero multiple of
  // 4096 of at most kMaximumRegionPages pages and it must carry F_SEAL_SHRINK and F_SEAL_SEAL;
  // otherwise
  // STATUS_DATA_ERROR (the peer sent something unusable). STATUS_INVALID_PARAMETER for an
  // invalid descriptor.
  static Result<SharedRegion> adopt(UniqueFd fd);

  SharedRegion(SharedRegion&&) noexcept = default;
  SharedRegion& operator=(SharedRegion&&) noexcept = default;
  SharedRegion(const SharedRegion&) = delete;
  SharedRegion& operator=(const SharedRegion&) = delete;
  ~SharedRegion() = default;

  // The descriptor, for passing to another process (SCM_RIGHTS duplicates it). Still owned here.
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] uint64_t page_count() const { return page_count_; }
  [[nodiscard]] uint64_t size_bytes() const { return page_count_ * kGuestPageSize; }

  // Maps pages [first_page, first_page + page_count) contiguously, shared, read-write or
  // read-only. STATUS_INVALID_PARAMETER if the range is empty or passes the region,
  // STATUS_INSUFFICIENT_RESOURCES if mmap fails.
  [[nodiscard]] Result<RegionMapping> map(uint64_t first_page, uint64_t page_count,
                                          bool read_only) const;

  // Maps the listed pages back to back in one new address range: page pages[i] appears at
  // byte i * 4096. Consecutive page numbers are mapped as one run. Pages may repeat (a ring's
  // data pages are listed twice for the double mapping). STATUS_INVALID_PARAMETER if the list
  // is empty or names a page past the region, STATUS_INSUFFICIENT_RESOURCES if it needs more
  // than kMaximumMappingRuns runs or mmap fails.
  [[nodiscard]] Result<RegionMapping> map_pages(std::span<const uint64_t> pages,
                                                bool read_only) const;

 private:
  SharedRegion(UniqueFd fd, uint64_t page_count) : fd_(std::move(fd)), page_count_(page_count) {}
  UniqueFd fd_;
  uint64_t page_count_ = 0;
};

}  // namespace vmb
