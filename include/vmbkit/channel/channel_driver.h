// SPDX-License-Identifier: MIT
// ChannelDriver: what a channel calls back into (kmcl-api.md §3.2, §7.1). The KMCL shim
// implements it by forwarding to the driver's C callbacks; tests implement it directly. Every
// method has a default that does what KMCL does when the callback is NULL. Not here: when the
// calls happen (channel.h documents the order) or the C handle types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vmbkit/status.h"

namespace vmb {

class Channel;
class IncomingPacket;
class PacketObject;

class ChannelDriver {
 public:
  virtual ~ChannelDriver() = default;

  // One incoming data packet: `payload` is the in-band part (a multiple of 8 bytes, padding
  // included), valid until packet.channel().complete(packet, ...). `external_data` says the
  // packet carries external data (Channel::external_data). Runs on the channel's dispatch
  // context (must not block) unless incoming processing is at passive. The driver must
  // complete the packet exactly once, here or later. Default: completes it with no payload.
  virtual void process_packet(Channel& channel, IncomingPacket& packet,
                              std::span<std::byte> payload, bool external_data);

  // The end of a delivery batch with `packets` process_packet calls.
  virtual void processing_complete(Channel& /*channel*/, uint32_t /*packets*/) {}

  // An outgoing packet's transaction ended (status: success, STATUS_CANCELLED or
  // STATUS_DEVICE_REMOVED); `payload` is the peer's completion payload, valid during the call.
  // Runs on the dispatch context. Only called for packets whose completion routine is
  // PacketObject::Completion::kDriver.
  virtual void packet_completed(PacketObject& /*packet*/, Status /*status*/,
                                std::span<std::byte> /*payload*/) {}

  // State changes, on a context that may block. A non-success status from opened() rolls the
  // channel back to a state without traffic.
  virtual Status opened(Channel& /*channel*/) { return Status{}; }
  virtual void closed(Channel& /*channel*/) {}
  virtual void suspend(Channel& /*channel*/) {}
  virtual void started(Channel& /*channel*/) {}
  virtual void post_started(Channel& /*channel*/) {}
  // Client: the targeted offer was found but opening failed.
  virtual void pnp_failure(Channel& /*channel*/, Status /*status*/) {}
};

}  // namespace vmb
