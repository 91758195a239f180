// SPDX-License-Identifier: MIT
// GuestMemory: creates the guest's memfd and mapping and turns the allocator's offsets into
// zeroed buffers in the read-write view.
#include "vmbkit/memory/guest_memory.h"

#include <cstring>

namespace vmb {

GuestMemory::GuestMemory(PrivateTag /*tag*/, std::shared_ptr<const GuestMemoryMapping> mapping)
    : mapping_(std::move(mapping)), allocator_(mapping_->page_count()) {}

Result<std::unique_ptr<GuestMemory>> GuestMemory::create(uint64_t page_count) {
  auto region = SharedRegion::create(page_count, "vmbkit-guest-memory");
  if (!region) return region.status();
  auto mapping = GuestMemoryMapping::map(std::move(*region));
  if (!mapping) return mapping.status();
  return std::make_unique<GuestMemory>(PrivateTag{}, std::move(*mapping));
}

GuestBuffer GuestMemory::buffer_at(uint64_t offset) const {
  const uint64_t size = allocator_.allocation_size(offset);
  const uint64_t first_pfn = offset / kGuestPageSize;
  const auto byte_offset = static_cast<uint32_t>(offset % kGuestPageSize);
  const uint64_t pages = (byte_offset + size + kGuestPageSize - 1) / kGuestPageSize;
  std::byte* page = mapping_->pages(first_pfn, pages);
  // The allocator only hands out pages below page_count(), so translation cannot fail.
  if (page == nullptr) return {};
  // Safety: byte_offset + size <= pages * 4096 bytes, all inside the view (pages() checked).
  std::byte* address = page + byte_offset;
  std::memset(address, 0, size);
  return GuestBuffer{address, size, first_pfn, byte_offset};
}

Result<GuestBuffer> GuestMemory::allocate(uint64_t bytes) {
  auto offset = allocator_.allocate(bytes);
  if (!offset) return offset.status();
  return buffer_at(*offset);
}

Result<GuestBuffer> GuestMemory::allocate_pages(uint64_t page_count) {
  auto first = allocator_.allocate_pages(page_count);
  if (!first) return first.status();
  return buffer_at(*first * kGuestPageSize);
}

Status GuestMemory::free(const void* address) {
  const auto where = mapping_->locate(address, 0);
  if (!where || where->read_only_view) return Status{STATUS_INVALID_PARAMETER};
  return allocator_.free(where->pfn * kGuestPageSize + where->byte_offset);
}

}  // namespace vmb
