// SPDX-License-Identifier: MIT
// Helpers for the multi-process tests: a forked child with a pidfd (so waiting for its exit is
// a bounded poll, never a sleep), kill -9, and a pipe for one-byte handshakes between parent
// and child with a deadline on every read; GatedChild, a child that waits for the parent's go.
// A child runs a function and _exit()s with its return value; it never returns into
// GoogleTest. Fork before the parent starts any thread.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "vmbkit/memory/unique_fd.h"

namespace vmb::integration {

inline constexpr std::chrono::seconds kProcessDeadline{30};

// A one-way byte pipe. Create before fork; each side closes the end it does not use.
class Pipe {
 public:
  Pipe() {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      read_.reset(fds[0]);
      write_.reset(fds[1]);
    }
  }
  // Writes one byte; false if the reader is gone.
  bool put(uint8_t byte) { return ::write(write_.get(), &byte, 1) == 1; }
  // Reads one byte, waiting at most `timeout`; nullopt on timeout or end of file.
  std::optional<uint8_t> get(std::chrono::milliseconds timeout = kProcessDeadline) {
    pollfd waiting{read_.get(), POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    uint8_t byte = 0;
    if (::read(read_.get(), &byte, 1) != 1) return std::nullopt;
    return byte;
  }
  void close_read() { read_.reset(); }
  void close_write() { write_.reset(); }

 private:
  UniqueFd read_;
  UniqueFd write_;
};

class ChildProcess {
 public:
  // Forks; the child runs `body` and exits with its result (0 = success).
  explicit ChildProcess(const std::function<int()>& body) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int code = body();
      ::_exit(code);
    }
    if (pid_ > 0) pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (running()) {
      kill9();
      (void)wait_exit();
    }
  }

  [[nodiscard]] bool started() const { return pid_ > 0 && pidfd_.valid(); }
  [[nodiscard]] pid_t pid() const { return pid_; }

  void kill9() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }

  // The child's wait status once it exited (reaped), or nullopt if it is still running after
  // `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = kProcessDeadline) {
    if (reaped_) return status_;
    pollfd waiting{pidfd_.get(), POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    reaped_ = true;
    status_ = status;
    return status;
  }
  // True if the child exited normally with code 0 within `timeout`.
  bool succeeded(std::chrono::milliseconds timeout = kProcessDeadline) {
    const auto status = wait_exit(timeout);
    return status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
  }
  // The exit code, or -1 (killed, still running).
  int exit_code(std::chrono::milliseconds timeout = kProcessDeadline) {
    const auto status = wait_exit(timeout);
    return status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

 private:
  [[nodiscard]] bool running() const { return pid_ > 0 && !reaped_; }
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool reaped_ = false;
  int status_ = 0;
};

// A child that runs `body` only once the parent releases it, after the parent has set up what
// the child needs (a listening host, say). A child never released exits with 1 at the
// deadline, or when the parent goes. Fork it before the parent starts any thread.
struct ChildGate {
  Pipe go;  // parent -> child; created before the fork (a base, so before ChildProcess)
};

class GatedChild : private ChildGate, public ChildProcess {
 public:
  explicit GatedChild(const std::function<int()>& body)
      : ChildProcess([this, &body] {
          go.close_write();
          if (!go.get()) return 1;
          return body();
        }) {
    go.close_read();
  }
  // Lets the child run its body; false if it is gone.
  bool release() { return go.put(1); }
};

}  // namespace vmb::integration
