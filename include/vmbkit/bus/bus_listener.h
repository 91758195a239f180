// SPDX-License-Identifier: MIT
// BusListener: the host's listening bus socket (decisions.md §8). It lives in a private
// directory (created 0700 if missing; an existing one must belong to us and give nobody else
// any access), is created with mode 0600, and every connecting process's SO_PEERCRED uid is
// checked against the allowed users (default: our own effective uid) before the connection is
// handed out. A stale socket left by a dead server is replaced; a live one is not. Not here:
// serving guests (bus_server.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "vmbkit/bus/bus_socket.h"
#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"

namespace vmb::bus {

struct BusListenerOptions {
  // Users allowed to connect; empty = only our own effective uid.
  std::vector<uid_t> allowed_users;
  int backlog = 16;
};

// Outcome of one accept().
enum class AcceptOutcome : uint8_t {
  kAccepted,    // a permitted guest
  kWouldBlock,  // nobody waiting
  kRefused,     // a connection from a user not allowed; already closed
  kFailed,      // the listening socket failed
};

struct Accepted {
  AcceptOutcome outcome = AcceptOutcome::kWouldBlock;
  BusSocket socket;             // kAccepted
  PeerCredentials credentials;  // kAccepted, kRefused (when known)
};

// The listening socket. Move-only; the socket file is unlinked on destruction (only if it is
// still the one we created).
class BusListener {
 public:
  // Creates the directory if needed and listens at `path`. STATUS_INVALID_PARAMETER for a path
  // without a directory part or too long for sockaddr_un; STATUS_ACCESS_DENIED for a
  // directory that is not private to us; STATUS_OBJECT_NAME_COLLISION if a server already
  // listens there or something other than a socket has the name; STATUS_INSUFFICIENT_RESOURCES
  // if the kernel refuses.
  static Result<BusListener> listen(const std::string& path, BusListenerOptions options = {});

  BusListener() = default;
  BusListener(BusListener&& other) noexcept;
  BusListener& operator=(BusListener&& other) noexcept;
  BusListener(const BusListener&) = delete;
  BusListener& operator=(const BusListener&) = delete;
  ~BusListener();

  // Accepts one waiting connection without blocking and checks its credentials.
  Accepted accept();

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  void unlink_socket();
  UniqueFd fd_;
  std::string path_;
  dev_t device_ = 0;  // identity of the socket file we created
  ino_t inode_ = 0;
  std::vector<uid_t> allowed_users_;
};

}  // namespace vmb::bus
