// SPDX-License-Identifier: MIT
// The process-wide list of live guest-memory views: address range -> which GuestMemoryMapping
// and which view. MmBuildMdlForNonPagedPool uses it to turn a driver's buffer address into
// PFNs, as the Windows kernel does with its single address space; that is why this one piece
// of global state exists. It holds weak references only: it never keeps a mapping alive.
// Private to src/memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace vmb {

class GuestMemoryMapping;

namespace memory_internal {

struct RegisteredView {
  std::shared_ptr<const GuestMemoryMapping> mapping;  // locked from the registry's weak reference
  uintptr_t begin = 0;                                // first byte of the view
  bool read_only = false;
};

// Adds one view [begin, begin + size). Views never overlap (they are distinct mmaps).
// May throw std::bad_alloc.
void register_view(uintptr_t begin, size_t size, const std::shared_ptr<const GuestMemoryMapping>&,
                   bool read_only);

// Removes every view of `mapping` (called from its destructor). Never throws.
void unregister_views(const GuestMemoryMapping* mapping) noexcept;

// The view that holds all of [address, address + length) (length 0: the address), if its
// mapping is still alive. Thread-safe; never throws.
std::optional<RegisteredView> find_view(uintptr_t address, size_t length) noexcept;

}  // namespace memory_internal
}  // namespace vmb
