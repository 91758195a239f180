// SPDX-License-Identifier: MIT
// BusSocket: sendmsg/recvmsg of one control message per SOCK_SEQPACKET datagram with SCM_RIGHTS
// descriptors, the framing checks on what arrives, and connect(). Every descriptor that
// arrives is owned by a UniqueFd before anything else is checked, so a malformed datagram never
// leaks one.
#include "vmbkit/bus/bus_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace vmb::bus {
namespace {

// Ancillary space for more descriptors than any message carries, so "too many" is seen as a
// count rather than as truncation (the kernel closes what does not fit; either way we refuse).
constexpr size_t kReceivableFds = AttachedFds::kMaximumAttachedFds + 2;

union ControlBuffer {
  char bytes[CMSG_SPACE(sizeof(int) * kReceivableFds)];
  cmsghdr align;
};

bool set_non_blocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

int poll_timeout_ms(const Deadline& deadline) {
  if (deadline.is_infinite()) return -1;
  if (deadline.is_immediate()) return 0;
  const auto left = deadline.time_point() - Deadline::Clock::now();
  if (left <= Deadline::Clock::duration::zero()) return 0;
  // Round up so a wait never ends just before its deadline and spins.
  const auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<decltype(milliseconds)>(milliseconds, 1 << 30));
}

BusSocket::BusSocket(UniqueFd fd) : fd_(std::move(fd)) {
  if (fd_.valid()) set_non_blocking(fd_.get());
}

Result<BusSocket> BusSocket::connect(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return Status{STATUS_INSUFFICIENT_RESOURCES};
  int result = 0;
  do {
    // Blocking connect: a Unix socket connects at once or fails (ECONNREFUSED, EAGAIN when the
    // backlog is full).
    // Safety: sockaddr_un is the sockaddr variant connect() expects for AF_UNIX.
    result = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    switch (errno) {
      case ENOENT:
      case ECONNREFUSED:
      case EAGAIN:
        return Status{STATUS_CONNECTION_REFUSED};
      case EACCES:
      case EPERM:
        return Status{STATUS_ACCESS_DENIED};
      default:
        return Status{STATUS_INSUFFICIENT_RESOURCES};
    }
  }
  return BusSocket(std::move(fd));
}

Result<std::pair<BusSocket, BusSocket>> BusSocket::pair() {
  int fds[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  return std::pair<BusSocket, BusSocket>(BusSocket(UniqueFd(fds[0])), BusSocket(UniqueFd(fds[1])));
}

Status BusSocket::send(std::span<const uint8_t> message, std::span<const int> fds,
                       const Deadline& deadline) {
  if (message.empty() || message.size() > wire::kMaximumChannelMessageSize ||
      fds.size() > AttachedFds::kMaximumAttachedFds) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  iovec part{const_cast<uint8_t*>(message.data()), message.size()};  // sendmsg does not write
  msghdr header{};
  header.msg_iov = &part;
  header.msg_iovlen = 1;
  ControlBuffer control{};
  if (!fds.empty()) {
    header.msg_control = control.bytes;
    header.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* rights = CMSG_FIRSTHDR(&header);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(rights), fds.data(), sizeof(int) * fds.size());
  }
  for (;;) {
    const ssize_t sent = ::sendmsg(fd_.get(), &header, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return Status{};  // SEQPACKET: all or nothing
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      return errno == EBADF || errno == ENOTSOCK ? Status{STATUS_INVALID_DEVICE_STATE}
                                                 : Status{STATUS_DEVICE_REMOVED};
    }
    pollfd waiting{fd_.get(), POLLOUT, 0};
    const int ready = ::poll(&waiting, 1, poll_timeout_ms(deadline));
    if (ready < 0 && errno != EINTR) return Status{STATUS_DEVICE_REMOVED};
    if (ready == 0) return Status{STATUS_TIMEOUT};
    if ((waiting.revents & (POLLHUP | POLLERR)) != 0) return Status{STATUS_DEVICE_REMOVED};
  }
}

Received BusSocket::receive(std::span<uint8_t> buffer) {
  Received received;
  iovec part{buffer.data(), buffer.size()};
  msghdr header{};
  header.msg_iov = &part;
  header.msg_iovlen = 1;
  ControlBuffer control{};
  header.msg_control = control.bytes;
  header.msg_controllen = sizeof(control.bytes);
  ssize_t size = 0;
  do {
    size = ::recvmsg(fd_.get(), &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (size < 0 && errno == EINTR);
  if (size < 0) {
    received.outcome = errno == EAGAIN ? ReceiveOutcome::kWouldBlock : ReceiveOutcome::kClosed;
    return received;
  }
  // Own every descriptor first, whatever else is wrong with the datagram.
  std::vector<UniqueFd> arrived;
  bool foreign_control = false;
  for (cmsghdr* item = CMSG_FIRSTHDR(&header); item != nullptr; item = CMSG_NXTHDR(&header, item)) {
    if (item->cmsg_level != SOL_SOCKET || item->cmsg_type != SCM_RIGHTS) {
      foreign_control = true;
      continue;
    }
    const size_t count = (item->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(item) + i * sizeof(int), sizeof(int));
      arrived.emplace_back(fd);
    }
  }
  if (size == 0 && arrived.empty()) {
    received.outcome = ReceiveOutcome::kClosed;  // end of stream (or an empty datagram)
    return received;
  }
  received.outcome = ReceiveOutcome::kMalformed;
  if ((header.msg_flags & MSG_TRUNC) != 0 ||
      static_cast<size_t>(size) > wire::kMaximumChannelMessageSize) {
    received.why = "datagram longer than 240 bytes";
  } else if ((header.msg_flags & MSG_CTRUNC) != 0) {
    received.why = "ancillary data truncated";
  } else if (foreign_control) {
    received.why = "ancillary data other than SCM_RIGHTS";
  } else if (arrived.size() > AttachedFds::kMaximumAttachedFds) {
    received.why = std::to_string(arrived.size()) + " descriptors in one datagram";
  } else {
    received.outcome = ReceiveOutcome::kMessage;
    received.size = static_cast<size_t>(size);
    for (UniqueFd& fd : arrived) received.fds.push(std::move(fd));
  }
  return received;
}

bool BusSocket::wait_readable(const Deadline& deadline) const {
  pollfd waiting{fd_.get(), POLLIN, 0};
  for (;;) {
    const int ready = ::poll(&waiting, 1, poll_timeout_ms(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // let receive() report the error
  }
}

void BusSocket::shutdown() {
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_RDWR);
}

Result<PeerCredentials> BusSocket::peer_credentials() const {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0 ||
      length != sizeof(credentials)) {
    return Status{STATUS_INVALID_DEVICE_STATE};
  }
  return PeerCredentials{credentials.pid, credentials.uid, credentials.gid};
}

}  // namespace vmb::bus
