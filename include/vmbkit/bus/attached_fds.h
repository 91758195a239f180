// SPDX-License-Identifier: MIT
// AttachedFds: the file descriptors that travel beside one control message (SCM_RIGHTS), owned
// until somebody takes them. Which message carries which descriptors is fixed by the bus
// protocol (fd_protocol.h); this is only the container. It does no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "vmbkit/memory/unique_fd.h"

namespace vmb::bus {

// Up to kMaximumAttachedFds descriptors, in the order they were sent. Move-only; the ones not
// taken are closed with the container.
class AttachedFds {
 public:
  static constexpr size_t kMaximumAttachedFds = 2;

  AttachedFds() = default;
  AttachedFds(AttachedFds&&) noexcept = default;
  AttachedFds& operator=(AttachedFds&&) noexcept = default;
  AttachedFds(const AttachedFds&) = delete;
  AttachedFds& operator=(const AttachedFds&) = delete;
  ~AttachedFds() = default;

  // Appends one descriptor; false (and the descriptor is closed) when the container is full.
  bool push(UniqueFd fd) {
    if (count_ == fds_.size()) return false;
    fds_[count_++] = std::move(fd);
    return true;
  }

  [[nodiscard]] size_t size() const { return count_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }
  // The raw descriptor at `index` (still owned here), or -1.
  [[nodiscard]] int get(size_t index) const { return index < count_ ? fds_[index].get() : -1; }
  // Takes the descriptor at `index` (an empty UniqueFd if there is none).
  [[nodiscard]] UniqueFd take(size_t index) {
    return index < count_ ? std::move(fds_[index]) : UniqueFd{};
  }
  // Closes every descriptor still held.
  void clear() {
    for (UniqueFd& fd : fds_) fd.reset();
    count_ = 0;
  }

 private:
  std::array<UniqueFd, kMaximumAttachedFds> fds_;
  size_t count_ = 0;
};

}  // namespace vmb::bus
