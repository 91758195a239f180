// SPDX-License-Identifier: MIT
// BusSocket: one end of a bus connection, a Unix SOCK_SEQPACKET socket that carries exactly one
// control message (at most 240 bytes) per datagram, with the descriptors of fd_protocol.h as
// SCM_RIGHTS ancillary data (decisions.md §8). Sends never block past a deadline and receives
// never block at all; a datagram that is too long, carries truncated or foreign ancillary data
// or more descriptors than any message may carry is reported as malformed, with every
// descriptor that came with it closed. Not here: what the messages mean (the control planes),
// the listening socket (bus_listener.h), event loops.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "vmbkit/bus/attached_fds.h"
#include "vmbkit/channel/deadline.h"
#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/channel_message_header.h"

namespace vmb::bus {

// Who is at the other end (SO_PEERCRED, as of connect()).
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

enum class ReceiveOutcome : uint8_t {
  kMessage,     // one datagram: its bytes and descriptors
  kWouldBlock,  // nothing queued now
  kClosed,      // the peer is gone (orderly close, reset, or the socket was shut down)
  kMalformed,   // a datagram broke the framing rules; the peer should be dropped
};

struct Received {
  ReceiveOutcome outcome = ReceiveOutcome::kWouldBlock;
  size_t size = 0;  // kMessage: bytes in the buffer
  AttachedFds fds;  // kMessage: descriptors in the order sent
  std::string why;  // kMalformed: what was wrong
};

// One connected SOCK_SEQPACKET socket, non-blocking, close-on-exec. Move-only. Sending and
// receiving may happen on different threads at once; two threads must not send (or receive)
// on one socket concurrently.
class BusSocket {
 public:
  BusSocket() = default;
  // Takes a connected SOCK_SEQPACKET descriptor and makes it non-blocking.
  explicit BusSocket(UniqueFd fd);

  // Connects to a bus socket at `path`. STATUS_INVALID_PARAMETER for a path that does not fit
  // sockaddr_un, STATUS_CONNECTION_REFUSED if nobody listens there, STATUS_ACCESS_DENIED if
  // the directory or socket is not ours to use, STATUS_INSUFFICIENT_RESOURCES otherwise.
  static Result<BusSocket> connect(const std::string& path);
  // A connected pair (tests and in-process buses).
  static Result<std::pair<BusSocket, BusSocket>> pair();

  // Sends one message with `fds` (borrowed, duplicated into the datagram by the kernel).
  // Waits for buffer space only until `deadline` (Deadline::immediate(): never).
  // STATUS_INVALID_PARAMETER for a message over 240 bytes or too many descriptors,
  // STATUS_DEVICE_REMOVED if the peer is gone, STATUS_TIMEOUT when the deadline passed with the
  // socket still full.
  Status send(std::span<const uint8_t> message, std::span<const int> fds, const Deadline& deadline);

  // Receives one datagram into `buffer` (at least kMaximumChannelMessageSize bytes) without
  // blocking.
  Received receive(std::span<uint8_t> buffer);

  // Waits until a datagram (or the peer's loss) can be received, or `deadline`. False on
  // timeout.
  bool wait_readable(const Deadline& deadline) const;

  // Shuts both directions down: the peer sees the connection closed, and a thread blocked in
  // wait_readable() on this socket wakes up. The descriptor stays open until destruction.
  void shutdown();

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] bool valid() const { return fd_.valid(); }
  // The peer's credentials (SO_PEERCRED). STATUS_INVALID_DEVICE_STATE if unavailable.
  [[nodiscard]] Result<PeerCredentials> peer_credentials() const;

 private:
  UniqueFd fd_;
};

// Milliseconds until `deadline` for poll(): -1 for infinite, 0 for immediate or expired.
int poll_timeout_ms(const Deadline& deadline);

}  // namespace vmb::bus
