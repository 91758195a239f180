// SPDX-License-Identifier: MIT
// BlockPattern: what a disk block must hold after the guest's g-th write to it, so every read
// can be checked completely. A block starts with its block number and generation (8 bytes
// each), then words derived from both, and ends with a 64-bit checksum of everything before
// it. A read that returns another block's data, an older or newer generation, a torn or
// corrupted block, is told apart by check(). Generation 0 means "never written in this run";
// such blocks are never read back, because their contents are unknown. Pure computation, no
// I/O, thread-safe (no state besides the block size).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmb::disk {

enum class BlockCheck : uint8_t {
  kGood,
  kBadChecksum,      // torn or corrupted: the checksum does not match the contents
  kWrongBlock,       // intact, but another block's data (misdirected read or write)
  kWrongGeneration,  // intact, but an older or newer write (lost write, stale read)
  kBadPattern,       // checksum and header fine, words wrong (cannot happen by accident)
};

// A short description ("bad checksum", ...).
const char* to_string(BlockCheck check);

class BlockPattern {
 public:
  // `block_size`: a multiple of 8, at least 32.
  explicit BlockPattern(uint32_t block_size) : block_size_(block_size) {}

  // Writes the contents of `block_number` at `generation` (>= 1) into `block`.
  void fill(std::byte* block, uint64_t block_number, uint64_t generation) const;
  // Checks `block` against the contents fill() writes for the same arguments.
  [[nodiscard]] BlockCheck check(const std::byte* block, uint64_t block_number,
                                 uint64_t generation) const;

  [[nodiscard]] uint32_t block_size() const { return block_size_; }

 private:
  uint32_t block_size_;
};

}  // namespace vmb::disk
