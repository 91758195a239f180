// SPDX-License-Identifier: MIT
// BlockPattern (block_pattern.h): per-block contents derived from (block, generation), with a
// word-wise checksum. Words are read and written with memcpy: guest buffers are only 8-byte
// aligned by convention, and the server's view of them must not be trusted to be aligned.
#include "block_pattern.h"

#include <cstring>

namespace vmb::disk {
namespace {

constexpr uint64_t kChecksumSeed = 0xcbf29ce484222325ull;
constexpr uint64_t kChecksumPrime = 0x100000001b3ull;

// splitmix64's finaliser: a cheap, well-mixed function of one word.
constexpr uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t load(const std::byte* at) {
  uint64_t word;
  std::memcpy(&word, at, sizeof word);
  return word;
}

void store(std::byte* at, uint64_t word) { std::memcpy(at, &word, sizeof word); }

// FNV-1a over 64-bit words instead of bytes: eight times fewer multiplies, still sensitive to
// every bit and to word order.
uint64_t checksum(const std::byte* data, uint32_t words) {
  uint64_t hash = kChecksumSeed;
  for (uint32_t i = 0; i < words; ++i) hash = (hash ^ load(data + 8 * size_t{i})) * kChecksumPrime;
  return hash;
}

uint64_t seed(uint64_t block_number, uint64_t generation) {
  return mix(block_number * 0x2545f4914f6cdd1dull ^ mix(generation));
}

}  // namespace

const char* to_string(BlockCheck check) {
  switch (check) {
    case BlockCheck::kGood:
      return "good";
    case BlockCheck::kBadChecksum:
      return "bad checksum (torn or corrupted block)";
    case BlockCheck::kWrongBlock:
      return "another block's data";
    case BlockCheck::kWrongGeneration:
      return "another write's data (lost write or stale read)";
    case BlockCheck::kBadPattern:
      return "contents do not match the pattern";
  }
  return "?";
}

void BlockPattern::fill(std::byte* block, uint64_t block_number, uint64_t generation) const {
  const uint32_t words = block_size_ / 8;
  store(block, block_number);
  store(block + 8, generation);
  const uint64_t base = seed(block_number, generation);
  for (uint32_t i = 2; i + 1 < words; ++i) store(block + 8 * size_t{i}, mix(base + i));
  store(block + 8 * size_t{words - 1}, checksum(block, words - 1));
}

BlockCheck BlockPattern::check(const std::byte* block, uint64_t block_number,
                               uint64_t generation) const {
  const uint32_t words = block_size_ / 8;
  if (checksum(block, words - 1) != load(block + 8 * size_t{words - 1})) {
    return BlockCheck::kBadChecksum;
  }
  if (load(block) != block_number) return BlockCheck::kWrongBlock;
  if (load(block + 8) != generation) return BlockCheck::kWrongGeneration;
  const uint64_t base = seed(block_number, generation);
  for (uint32_t i = 2; i + 1 < words; ++i) {
    if (load(block + 8 * size_t{i}) != mix(base + i)) return BlockCheck::kBadPattern;
  }
  return BlockCheck::kGood;
}

}  // namespace vmb::disk
