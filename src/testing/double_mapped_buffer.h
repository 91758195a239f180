// SPDX-License-Identifier: MIT
// DoubleMappedBuffer: a test fake for the memory layer's double-mapped ring data. A memfd of
// `size` bytes (whole pages) is mapped twice, back to back, so bytes [size, 2 * size) alias
// [0, size) (wire-format.md §1.4). Test-only: production double mappings come from the memory
// layer over guest memory; this one owns its memfd and unmaps everything on destruction.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmb::testing {

class DoubleMappedBuffer {
 public:
  // Maps a new memfd of `size` bytes twice. `size` must be a positive multiple of the page
  // size. Aborts with a message if the kernel refuses (tests cannot go on without it).
  explicit DoubleMappedBuffer(uint32_t size);
  ~DoubleMappedBuffer();
  DoubleMappedBuffer(const DoubleMappedBuffer&) = delete;
  DoubleMappedBuffer& operator=(const DoubleMappedBuffer&) = delete;

  // The first mapping; data()[size() + i] is the same byte as data()[i].
  [[nodiscard]] std::byte* data() const { return data_; }
  [[nodiscard]] uint32_t size() const { return size_; }

 private:
  std::byte* data_ = nullptr;
  uint32_t size_ = 0;
  int fd_ = -1;
};

}  // namespace vmb::testing
