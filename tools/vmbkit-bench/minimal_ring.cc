// SPDX-License-Identifier: MIT
// MinimalRing (minimal_ring.h): the unvalidated floor ring.
#include "minimal_ring.h"

#include <cstring>

namespace vmb::bench {
namespace {

constexpr uint32_t kHeaderSize = 8;

constexpr uint32_t align8(uint32_t value) { return (value + 7u) & ~7u; }

}  // namespace

MinimalRing::MinimalRing(uint32_t data_size) : size_(data_size), data_(data_size) {}

void MinimalRing::copy_in(uint32_t at, const void* from, uint32_t length) {
  const auto* bytes = static_cast<const std::byte*>(from);
  const uint32_t first = length <= size_ - at ? length : size_ - at;
  std::memcpy(data_.data() + at, bytes, first);
  std::memcpy(data_.data(), bytes + first, length - first);
}

void MinimalRing::copy_out(uint32_t at, void* to, uint32_t length) const {
  auto* bytes = static_cast<std::byte*>(to);
  const uint32_t first = length <= size_ - at ? length : size_ - at;
  std::memcpy(bytes, data_.data() + at, first);
  std::memcpy(bytes + first, data_.data(), length - first);
}

bool MinimalRing::try_write(const std::byte* payload, uint32_t size) {
  const uint32_t total = kHeaderSize + align8(size);
  // Eight bytes always stay free, so equal indices mean empty.
  auto fits = [&] { return total + 8 <= size_ - used(producer_.own, producer_.cached_peer); };
  if (!fits()) {
    // Acquire: the consumer copied those packets out before it published their space.
    producer_.cached_peer = read_index_.value.load(std::memory_order_acquire);
    if (!fits()) return false;
  }
  const uint64_t header = size;
  if (producer_.own + total <= size_) {
    // The common case: the packet does not wrap, two plain copies.
    std::memcpy(data_.data() + producer_.own, &header, kHeaderSize);
    std::memcpy(data_.data() + producer_.own + kHeaderSize, payload, size);
  } else {
    copy_in(producer_.own, &header, kHeaderSize);
    copy_in(advance(producer_.own, kHeaderSize), payload, size);  // padding left as it was
  }
  producer_.own = advance(producer_.own, total);
  return true;
}

void MinimalRing::commit() {
  // Release: the packets copied in above must be visible before the index that publishes them.
  write_index_.value.store(producer_.own, std::memory_order_release);
}

int64_t MinimalRing::read(std::byte* buffer) {
  if (consumer_.own == consumer_.cached_peer) {
    // Acquire: pairs with commit()'s release; the packets up to the index are then complete.
    consumer_.cached_peer = write_index_.value.load(std::memory_order_acquire);
    if (consumer_.own == consumer_.cached_peer) return -1;
  }
  uint64_t header;
  copy_out(consumer_.own, &header, kHeaderSize);
  const auto size = static_cast<uint32_t>(header);  // trusted: this ring is a measuring stick
  const uint32_t total = kHeaderSize + align8(size);
  if (consumer_.own + total <= size_) {
    std::memcpy(buffer, data_.data() + consumer_.own + kHeaderSize, size);
  } else {
    copy_out(advance(consumer_.own, kHeaderSize), buffer, size);
  }
  consumer_.own = advance(consumer_.own, total);
  return size;
}

void MinimalRing::commit_read() {
  // Release: the copies out must be finished before the producer may overwrite the space.
  read_index_.value.store(consumer_.own, std::memory_order_release);
}

}  // namespace vmb::bench
