// SPDX-License-Identifier: MIT
// vmbkit's side channel beside the VMBus control messages (decisions.md §8): which control
// message carries which file descriptors over the bus socket. On Hyper-V the guest's memory is
// simply there and signals are hypercalls and SynIC events; over a Unix socket the guest hands
// the host its memory (a sealed memfd) and one eventfd per signalling direction per channel.
// The message bytes are exactly Hyper-V's; the descriptors travel as SCM_RIGHTS ancillary data
// of the same datagram. Not here: the socket I/O (bus_socket.h) or the state machines.
//
//   guest → host INITIATE_CONTACT  exactly 1 fd:  [0] the guest-memory memfd (sealed against
//                                  shrinking). Every INITIATE_CONTACT carries it, also the
//                                  retries after a rejected version; the host keeps the one of
//                                  the request it accepts and closes the others.
//   guest → host OPENCHANNEL       exactly 2 fds: [0] guest→host eventfd: the guest writes it to
//                                  signal the host (data in the guest→host ring, or space freed
//                                  in the host→guest ring); the host waits on it.
//                                  [1] host→guest eventfd: the host writes it to signal the
//                                  guest; the guest waits on it.
//   every other message, both ways: no fds.
//
// A datagram with a different number of descriptors than its type requires is a protocol
// violation: the receiver drops the peer (and closes whatever arrived).
#pragma once

#include <cstddef>

#include "vmbkit/wire/channel_message_header.h"

namespace vmb::bus {

// Index of the guest-memory memfd in INITIATE_CONTACT's descriptors.
inline constexpr size_t kGuestMemoryFdIndex = 0;
// Indices of the two eventfds in OPENCHANNEL's descriptors.
inline constexpr size_t kGuestToHostEventFdIndex = 0;
inline constexpr size_t kHostToGuestEventFdIndex = 1;

// The number of descriptors a datagram holding a message of `type` must carry.
constexpr size_t required_fd_count(wire::ChannelMessageType type) {
  switch (type) {
    case wire::ChannelMessageType::kInitiateContact:
      return 1;
    case wire::ChannelMessageType::kOpenChannel:
      return 2;
    default:
      return 0;
  }
}

}  // namespace vmb::bus
