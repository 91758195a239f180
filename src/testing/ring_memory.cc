// SPDX-License-Identifier: MIT
// RingMemory (ring_memory.h): page-aligned control page plus doubled or plain data. Test-only.
#include "testing/ring_memory.h"

#include <cstring>
#include <new>

#include "vmbkit/wire/ring_format.h"

namespace vmb::testing {

void RingMemory::AlignedDelete::operator()(std::byte* page) const {
  ::operator delete (page, std::align_val_t{wire::kPageSize});
}

RingMemory::RingMemory(uint32_t data_size, bool doubled, uint32_t feature_bits)
    : control_(static_cast<std::byte*>(
          ::operator new (wire::kControlPageSize, std::align_val_t{wire::kPageSize}))),
      data_size_(data_size) {
  ring::initialize_control_page(control_.get(), feature_bits);
  if (doubled) {
    doubled_ = std::make_unique<DoubleMappedBuffer>(data_size);
    data_ = doubled_->data();
    std::memset(data_, 0, data_size);
  } else {
    plain_.assign(data_size, std::byte{0});
    data_ = plain_.data();
  }
}

ring::RingView RingMemory::view() const {
  return {control_.get(), data_, data_size_, doubled_ != nullptr};
}

uint32_t RingMemory::control_word(size_t offset) const {
  uint32_t value;
  std::memcpy(&value, control_.get() + offset, sizeof value);
  return value;
}

void RingMemory::set_control_word(size_t offset, uint32_t value) {
  std::memcpy(control_.get() + offset, &value, sizeof value);
}

}  // namespace vmb::testing
