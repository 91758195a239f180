// SPDX-License-Identifier: MIT
// GuestMemoryMapping: the two views of a guest's memory, PFN <-> pointer translation with
// bounds checks, registration for MmBuildMdlForNonPagedPool, and windows over scattered PFNs.
#include "vmbkit/memory/guest_memory_mapping.h"

#include <vector>

#include "memory/guest_memory_registry.h"
#include "vmbkit/memory/gpa_ranges.h"

namespace vmb {
namespace {

uintptr_t address_of(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer); }

}  // namespace

GuestMemoryMapping::GuestMemoryMapping(PrivateTag /*tag*/, SharedRegion region,
                                       RegionMapping read_write, RegionMapping read_only)
    : region_(std::move(region)),
      read_write_(std::move(read_write)),
      read_only_(std::move(read_only)) {}

GuestMemoryMapping::~GuestMemoryMapping() { memory_internal::unregister_views(this); }

Result<std::shared_ptr<const GuestMemoryMapping>> GuestMemoryMapping::map(SharedRegion region) {
  auto read_write = region.map(0, region.page_count(), /*read_only=*/false);
  if (!read_write) return read_write.status();
  auto read_only = region.map(0, region.page_count(), /*read_only=*/true);
  if (!read_only) return read_only.status();
  auto mapping = std::make_shared<const GuestMemoryMapping>(
      PrivateTag{}, std::move(region), std::move(*read_write), std::move(*read_only));
  memory_internal::register_view(address_of(mapping->read_write_.data()),
                                 mapping->read_write_.size(), mapping, /*read_only=*/false);
  memory_internal::register_view(address_of(mapping->read_only_.data()), mapping->read_only_.size(),
                                 mapping, /*read_only=*/true);
  return mapping;
}

std::byte* GuestMemoryMapping::pages(uint64_t first_pfn, uint64_t count) const {
  if (count == 0 || !contains(first_pfn, count)) return nullptr;
  // Safety: first_pfn + count <= page_count(), and the read-write view maps all page_count()
  // pages, so the result and the `count` pages after it lie inside the view.
  return read_write_.data() + first_pfn * kGuestPageSize;
}

const std::byte* GuestMemoryMapping::read_only_pages(uint64_t first_pfn, uint64_t count) const {
  if (count == 0 || !contains(first_pfn, count)) return nullptr;
  // Safety: as pages(), for the read-only view of the same size.
  return read_only_.data() + first_pfn * kGuestPageSize;
}

std::optional<GuestAddress> GuestMemoryMapping::locate(const void* address, size_t length) const {
  const uintptr_t at = address_of(address);
  for (const RegionMapping* view : {&read_write_, &read_only_}) {
    const uintptr_t begin = address_of(view->data());
    if (at < begin || at - begin >= view->size()) continue;
    const uint64_t offset = at - begin;
    if (length > view->size() - offset) return std::nullopt;
    return GuestAddress{offset / kGuestPageSize, static_cast<uint32_t>(offset % kGuestPageSize),
                        view == &read_only_};
  }
  return std::nullopt;
}

Status GuestMemoryMapping::describe(const void* address, size_t length, GpaRanges* out) const {
  if (out == nullptr || length == 0 || length > UINT32_MAX) return Status{STATUS_INVALID_PARAMETER};
  const auto where = locate(address, length);
  if (!where) return Status{STATUS_INVALID_PARAMETER};
  const uint64_t count =
      (uint64_t{where->byte_offset} + length + kGuestPageSize - 1) / kGuestPageSize;
  std::vector<uint64_t> pfns(count);
  for (uint64_t i = 0; i < count; ++i) pfns[i] = where->pfn + i;
  return out->append(static_cast<uint32_t>(length), where->byte_offset, pfns);
}

Result<RegionMapping> GuestMemoryMapping::map_window(std::span<const uint64_t> pfns,
                                                     bool read_only) const {
  // map_pages checks every PFN against the region, which is exactly guest memory.
  return region_.map_pages(pfns, read_only);
}

}  // namespace vmb
