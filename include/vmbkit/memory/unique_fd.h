// SPDX-License-Identifier: MIT
// UniqueFd: sole ownership of one Linux file descriptor (a memfd, an eventfd, a socket), closed
// when the owner goes away. It is the memory layer's because guest memory is the first thing in
// vmbkit that lives behind a descriptor; higher layers use it for their sockets and eventfds.
// It does not dup, poll or do I/O.
#pragma once

#include <unistd.h>

#include <utility>

namespace vmb {

// Owns one file descriptor (-1 = none). Move-only; close() errors are ignored, as there is
// nothing a caller could do about them for the descriptors vmbkit holds.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives the descriptor up without closing it.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  // Closes the held descriptor (if any) and holds `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace vmb
