// SPDX-License-Identifier: MIT
// RingMemory: a control page and a data area on private memory for ring tests, fuzz targets
// and benchmarks, with the data either double mapped (DoubleMappedBuffer) or a plain
// allocation of exactly `data_size` bytes (so AddressSanitizer sees any access past the end).
// Test-only: in production the memory layer maps rings inside guest memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "testing/double_mapped_buffer.h"
#include "vmbkit/ring/ring_view.h"

namespace vmb::testing {

class RingMemory {
 public:
  // A zeroed ring: all control fields 0 except feature_bits. `doubled` needs `data_size` to be
  // a page multiple.
  RingMemory(uint32_t data_size, bool doubled, uint32_t feature_bits = 0);
  RingMemory(const RingMemory&) = delete;
  RingMemory& operator=(const RingMemory&) = delete;

  // The view both ends of a test ring use.
  [[nodiscard]] ring::RingView view() const;
  [[nodiscard]] std::byte* control() const { return control_.get(); }
  [[nodiscard]] std::byte* data() const { return data_; }
  [[nodiscard]] uint32_t data_size() const { return data_size_; }

  // Plain (non-atomic) access to a control-page u32 for single-threaded test setup/checks.
  [[nodiscard]] uint32_t control_word(size_t offset) const;
  void set_control_word(size_t offset, uint32_t value);

 private:
  struct AlignedDelete {
    void operator()(std::byte* page) const;
  };
  std::unique_ptr<std::byte, AlignedDelete> control_;
  std::unique_ptr<DoubleMappedBuffer> doubled_;
  std::vector<std::byte> plain_;
  std::byte* data_ = nullptr;
  uint32_t data_size_ = 0;
};

}  // namespace vmb::testing
