// SPDX-License-Identifier: MIT
// GuestBufferAllocator: best-fit page runs with coalescing, and one-page slabs of power-of-two
// slots for small buffers (policy and fragmentation behaviour in the header).
#include "vmbkit/memory/guest_buffer_allocator.h"

#include <bit>
#include <cassert>
#include <iterator>

namespace vmb {
namespace {

constexpr uint32_t slot_size(size_t size_class) {
  return GuestBufferAllocator::kMinimumSlotSize << size_class;
}
constexpr uint32_t slots_per_page(size_t size_class) {
  return GuestBufferAllocator::kPageSize / slot_size(size_class);
}
// The smallest class whose slots hold `bytes` (1 <= bytes <= kMaximumSlotSize).
size_t size_class_for(uint64_t bytes) {
  const uint64_t rounded = std::bit_ceil(bytes < GuestBufferAllocator::kMinimumSlotSize
                                             ? uint64_t{GuestBufferAllocator::kMinimumSlotSize}
                                             : bytes);
  return static_cast<size_t>(std::countr_zero(rounded) -
                             std::countr_zero(GuestBufferAllocator::kMinimumSlotSize));
}

}  // namespace

GuestBufferAllocator::GuestBufferAllocator(uint64_t page_count) : page_count_(page_count) {
  if (page_count > 0) {
    free_by_start_.emplace(0, page_count);
    free_by_size_.emplace(page_count, 0);
  }
}

Result<uint64_t> GuestBufferAllocator::allocate(uint64_t bytes) {
  if (bytes == 0) return Status{STATUS_INVALID_PARAMETER};
  const std::lock_guard lock(mutex_);
  if (bytes <= kMaximumSlotSize) return allocate_slot_locked(size_class_for(bytes));
  const uint64_t pages = (bytes - 1) / kPageSize + 1;
  auto first = take_pages_locked(pages);
  if (!first) return first.status();
  runs_.emplace(*first, pages);
  return *first * kPageSize;
}

Result<uint64_t> GuestBufferAllocator::allocate_pages(uint64_t page_count) {
  if (page_count == 0) return Status{STATUS_INVALID_PARAMETER};
  const std::lock_guard lock(mutex_);
  auto first = take_pages_locked(page_count);
  if (!first) return first.status();
  runs_.emplace(*first, page_count);
  return *first;
}

Status GuestBufferAllocator::free(uint64_t offset) {
  const uint64_t page = offset / kPageSize;
  const uint64_t in_page = offset % kPageSize;
  const std::lock_guard lock(mutex_);
  if (slabs_.contains(page)) return free_slot_locked(page, in_page);
  const auto run = runs_.find(page);
  if (in_page != 0 || run == runs_.end()) return Status{STATUS_INVALID_PARAMETER};
  give_pages_locked(run->first, run->second);
  runs_.erase(run);
  return Status{};
}

uint64_t GuestBufferAllocator::allocation_size(uint64_t offset) const {
  const uint64_t page = offset / kPageSize;
  const uint64_t in_page = offset % kPageSize;
  const std::lock_guard lock(mutex_);
  if (const auto slab = slabs_.find(page); slab != slabs_.end()) {
    const uint32_t size = slot_size(slab->second.size_class);
    const uint64_t slot = in_page / size;
    if (in_page % size != 0) return 0;
    return ((slab->second.in_use[slot / 64] >> (slot % 64)) & 1u) != 0 ? size : 0;
  }
  const auto run = runs_.find(page);
  return in_page == 0 && run != runs_.end() ? run->second * kPageSize : 0;
}

GuestMemoryUsage GuestBufferAllocator::usage() const {
  const std::lock_guard lock(mutex_);
  GuestMemoryUsage usage;
  usage.total_pages = page_count_;
  usage.pages_in_use = pages_in_use_;
  usage.slab_pages = slabs_.size();
  usage.small_buffers = small_buffers_;
  usage.large_buffers = runs_.size();
  usage.free_extents = free_by_start_.size();
  usage.largest_free_pages = free_by_size_.empty() ? 0 : free_by_size_.rbegin()->first;
  return usage;
}

Result<uint64_t> GuestBufferAllocator::take_pages_locked(uint64_t count) {
  // Best fit: the smallest extent that holds `count`, the lowest-addressed among equals.
  const auto fit = free_by_size_.lower_bound({count, 0});
  if (fit == free_by_size_.end()) return Status{STATUS_INSUFFICIENT_RESOURCES};
  const auto [size, first] = *fit;
  free_by_size_.erase(fit);
  free_by_start_.erase(first);
  if (size > count) {
    free_by_start_.emplace(first + count, size - count);
    free_by_size_.emplace(size - count, first + count);
  }
  pages_in_use_ += count;
  return first;
}

void GuestBufferAllocator::give_pages_locked(uint64_t first, uint64_t count) {
  assert(pages_in_use_ >= count);
  pages_in_use_ -= count;
  uint64_t start = first;
  uint64_t size = count;
  // Merge with the free extent that ends where this one starts...
  auto next = free_by_start_.lower_bound(first);
  if (next != free_by_start_.begin()) {
    const auto previous = std::prev(next);
    assert(previous->first + previous->second <= first && "freeing free pages");
    if (previous->first + previous->second == first) {
      start = previous->first;
      size += previous->second;
      free_by_size_.erase({previous->second, previous->first});
      free_by_start_.erase(previous);
    }
  }
  // ...and with the one that starts where it ends.
  if (next != free_by_start_.end() && next->first == first + count) {
    size += next->second;
    free_by_size_.erase({next->second, next->first});
    free_by_start_.erase(next);
  }
  free_by_start_.emplace(start, size);
  free_by_size_.emplace(size, start);
}

Result<uint64_t> GuestBufferAllocator::allocate_slot_locked(size_t size_class) {
  auto& partial = partial_slabs_[size_class];
  uint64_t page = 0;
  if (partial.empty()) {
    auto taken = take_pages_locked(1);
    if (!taken) return taken.status();
    page = *taken;
    slabs_.emplace(page, Slab{static_cast<uint8_t>(size_class), 0, {}});
    partial.insert(page);
  } else {
    page = *partial.begin();  // lowest address first: packs live slots into few pages
  }
  Slab& slab = slabs_.at(page);
  const uint32_t slots = slots_per_page(size_class);
  uint32_t slot = 0;
  for (size_t word = 0; word < slab.in_use.size(); ++word) {
    if (~slab.in_use[word] != 0) {
      slot = static_cast<uint32_t>(word * 64 +
                                   static_cast<size_t>(std::countr_one(slab.in_use[word])));
      break;
    }
  }
  assert(slot < slots && "a partial slab has a free slot");
  slab.in_use[slot / 64] |= uint64_t{1} << (slot % 64);
  ++slab.used;
  ++small_buffers_;
  if (slab.used == slots) partial.erase(page);
  return page * kPageSize + uint64_t{slot} * slot_size(size_class);
}

Status GuestBufferAllocator::free_slot_locked(uint64_t page, uint64_t offset_in_page) {
  Slab& slab = slabs_.at(page);
  const uint32_t size = slot_size(slab.size_class);
  if (offset_in_page % size != 0) return Status{STATUS_INVALID_PARAMETER};
  const uint64_t slot = offset_in_page / size;
  const uint64_t bit = uint64_t{1} << (slot % 64);
  if ((slab.in_use[slot / 64] & bit) == 0) return Status{STATUS_INVALID_PARAMETER};
  slab.in_use[slot / 64] &= ~bit;
  --slab.used;
  --small_buffers_;
  auto& partial = partial_slabs_[slab.size_class];
  if (slab.used == 0) {
    // The last slot went: the page goes back to the runs at once.
    partial.erase(page);
    slabs_.erase(page);
    give_pages_locked(page, 1);
  } else {
    partial.insert(page);
  }
  return Status{};
}

}  // namespace vmb
