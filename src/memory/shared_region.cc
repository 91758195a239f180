// SPDX-License-Identifier: MIT
// SharedRegion and RegionMapping: memfd creation and sealing, adoption of a peer's descriptor
// (size and seal checks), and the mmap calls that lay pages out contiguously or back to back.
// Every mmap/munmap of vmbkit happens here.
#include "vmbkit/memory/shared_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace vmb {
namespace {

constexpr int protection(bool read_only) { return read_only ? PROT_READ : PROT_READ | PROT_WRITE; }

// Safety: mmap returns either MAP_FAILED or the start of a new mapping we own.
std::byte* as_bytes(void* address) { return static_cast<std::byte*>(address); }

// Pages listed in one map_pages() call: a ring lists its data twice, so allow twice the largest
// region plus a control page.
constexpr uint64_t kMaximumListedPages = 2 * kMaximumRegionPages + 1;

}  // namespace

RegionMapping::RegionMapping(RegionMapping&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

RegionMapping& RegionMapping::operator=(RegionMapping&& other) noexcept {
  if (this != &other) {
    unmap();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

RegionMapping::~RegionMapping() { unmap(); }

void RegionMapping::unmap() {
  if (base_ != nullptr) {
    // Safety: [base_, base_ + size_) is exactly one reservation this object received from
    // SharedRegion; nothing else unmaps it.
    ::munmap(base_, size_);
  }
  base_ = nullptr;
  size_ = 0;
}

Result<SharedRegion> SharedRegion::create(uint64_t page_count, const char* name) {
  if (page_count == 0 || page_count > kMaximumRegionPages) return Status{STATUS_INVALID_PARAMETER};
  UniqueFd fd(::memfd_create(name != nullptr ? name : "vmbkit", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return Status{STATUS_INSUFFICIENT_RESOURCES};
  if (::ftruncate(fd.get(), static_cast<off_t>(page_count * kGuestPageSize)) != 0) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  // Shrink is the seal the peer relies on (no SIGBUS); grow and seal keep the size fixed for
  // good, so the region is the same for both sides for its whole life.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  return SharedRegion(std::move(fd), page_count);
}

Result<SharedRegion> SharedRegion::adopt(UniqueFd fd) {
  if (!fd) return Status{STATUS_INVALID_PARAMETER};
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return Status{STATUS_INVALID_PARAMETER};
  if (!S_ISREG(info.st_mode) || info.st_size <= 0) return Status{STATUS_DATA_ERROR};
  const auto size = static_cast<uint64_t>(info.st_size);
  if (size % kGuestPageSize != 0 || size / kGuestPageSize > kMaximumRegionPages) {
    return Status{STATUS_DATA_ERROR};
  }
  // Without F_SEAL_SHRINK the peer could truncate the file and turn our next access into
  // SIGBUS. Without F_SEAL_SEAL it could still add seals later (F_SEAL_FUTURE_WRITE would make
  // our later windows fail). Files that cannot carry seals at all (not a memfd) fail here too.
  const int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) == 0 || (seals & F_SEAL_SEAL) == 0) {
    return Status{STATUS_DATA_ERROR};
  }
  return SharedRegion(std::move(fd), size / kGuestPageSize);
}

Result<RegionMapping> SharedRegion::map(uint64_t first_page, uint64_t page_count,
                                        bool read_only) const {
  if (page_count == 0 || first_page > page_count_ || page_count > page_count_ - first_page) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  const size_t size = page_count * kGuestPageSize;
  void* address = ::mmap(nullptr, size, protection(read_only), MAP_SHARED, fd_.get(),
                         static_cast<off_t>(first_page * kGuestPageSize));
  if (address == MAP_FAILED) return Status{STATUS_INSUFFICIENT_RESOURCES};
  return RegionMapping(as_bytes(address), size);
}

Result<RegionMapping> SharedRegion::map_pages(std::span<const uint64_t> pages,
                                              bool read_only) const {
  if (pages.empty() || pages.size() > kMaximumListedPages) return Status{STATUS_INVALID_PARAMETER};
  size_t runs = 0;
  for (size_t i = 0; i < pages.size(); ++i) {
    if (pages[i] >= page_count_) return Status{STATUS_INVALID_PARAMETER};
    if (i == 0 || pages[i] != pages[i - 1] + 1) ++runs;
  }
  if (runs > kMaximumMappingRuns) return Status{STATUS_INSUFFICIENT_RESOURCES};

  // Reserve the whole range first so the runs land back to back and nothing else can take the
  // gaps between them; each run then replaces its part of the reservation (MAP_FIXED).
  const size_t size = pages.size() * kGuestPageSize;
  void* reserved =
      ::mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return Status{STATUS_INSUFFICIENT_RESOURCES};
  RegionMapping mapping(as_bytes(reserved), size);

  size_t run_start = 0;
  for (size_t i = 1; i <= pages.size(); ++i) {
    if (i < pages.size() && pages[i] == pages[i - 1] + 1) continue;
    const size_t run_pages = i - run_start;
    // Safety: [run_start, i) pages lie inside the reservation just made (i <= pages.size()).
    std::byte* target = mapping.data() + run_start * kGuestPageSize;
    void* placed =
        ::mmap(target, run_pages * kGuestPageSize, protection(read_only), MAP_SHARED | MAP_FIXED,
               fd_.get(), static_cast<off_t>(pages[run_start] * kGuestPageSize));
    if (placed == MAP_FAILED) return Status{STATUS_INSUFFICIENT_RESOURCES};  // unmaps it all
    run_start = i;
  }
  return mapping;
}

}  // namespace vmb
