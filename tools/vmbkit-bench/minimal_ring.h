// SPDX-License-Identifier: MIT
// MinimalRing: the shared-memory floor for one-way throughput. A single-producer
// single-consumer ring of length-prefixed packets (an 8-byte header, the payload padded to 8),
// with the same shape as a VMBus ring — private write/read positions, cached peer indices,
// publication in batches with one release store — but nothing else: no descriptor, no
// trailer, no validation of anything read, no signalling protocol. It trusts its peer, so it is
// only fit for measuring; it shows what vmbkit's validation and wire format cost. Not a part of
// vmbkit and not a pattern to copy into code that faces an untrusted peer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vmb::bench {

class MinimalRing {
 public:
  // `data_size`: bytes of packet space, a multiple of 8, at least 64.
  explicit MinimalRing(uint32_t data_size);
  MinimalRing(const MinimalRing&) = delete;
  MinimalRing& operator=(const MinimalRing&) = delete;

  // Producer: copies one packet in after the uncommitted ones; false if it does not fit now.
  bool try_write(const std::byte* payload, uint32_t size);
  // Producer: publishes every packet written since the last commit.
  void commit();

  // Consumer: copies the next packet's payload into `buffer` (large enough for any packet) and
  // returns its size, or -1 if nothing is published beyond what was read.
  int64_t read(std::byte* buffer);
  // Consumer: gives the space of every packet read since the last commit back to the producer.
  void commit_read();

 private:
  [[nodiscard]] uint32_t used(uint32_t write, uint32_t read) const {
    return write >= read ? write - read : size_ - read + write;
  }
  // `at` moved on by `by` bytes (< size_), wrapping without a division.
  [[nodiscard]] uint32_t advance(uint32_t at, uint32_t by) const {
    at += by;
    return at >= size_ ? at - size_ : at;
  }
  void copy_in(uint32_t at, const void* from, uint32_t length);
  void copy_out(uint32_t at, void* to, uint32_t length) const;

  struct alignas(64) SharedIndex {
    std::atomic<uint32_t> value{0};
  };
  SharedIndex write_index_;  // written by the producer
  SharedIndex read_index_;   // written by the consumer
  // Each side's private state on its own cache line, so the two never share one.
  struct alignas(64) Positions {
    uint32_t own = 0;          // private write (producer) or read (consumer) position
    uint32_t cached_peer = 0;  // the peer's index as last loaded
  };
  Positions producer_;
  Positions consumer_;
  uint32_t size_;
  std::vector<std::byte> data_;
};

}  // namespace vmb::bench
