// SPDX-License-Identifier: MIT
// IncomingPacket: the receiver's record of one delivered packet (KMCL's VMBPACKETCOMPLETION,
// kmcl-api.md §4.5): a private copy of the packet's bytes, taken from the ring and validated
// before the driver saw it, which stays valid until the driver completes the packet; the wire
// transaction id to echo; and, for external data, the MDL chain over this process's mapping of
// the sender's guest memory. Records are pooled per channel; the pool's size is bounded by the
// transaction quota (and one more, the record the next packet is read into). Not here: delivery
// or completion (channel.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vmbkit/channel/cache_line.h"
#include "vmbkit/channel/packet_object.h"
#include "vmbkit/memory/mdl_chain.h"

namespace vmb {

class alignas(kCacheLine) IncomingPacket : public SendQueueEntry {
 public:
  IncomingPacket(const IncomingPacket&) = delete;
  IncomingPacket& operator=(const IncomingPacket&) = delete;

  // False for memory that is not a live, delivered record.
  [[nodiscard]] bool valid() const { return magic_ == kMagic && state_ != State::kFree; }
  [[nodiscard]] Channel& channel() const { return *channel_; }
  // The in-band payload (padding included), valid until the packet is completed.
  [[nodiscard]] std::span<std::byte> payload() {
    return std::span<std::byte>(bytes_).subspan(payload_offset_, payload_length_);
  }
  [[nodiscard]] bool has_external_data() const { return external_.first() != nullptr; }
  [[nodiscard]] bool completion_requested() const { return completion_requested_; }
  [[nodiscard]] uint64_t transaction_id() const { return transaction_id_; }

 private:
  friend class Channel;
  enum class State : uint8_t {
    kFree,        // in the pool
    kDelivering,  // handed to process_packet, not yet completed
    kDeferred,    // waiting for delivery (again) on the passive worker
    kCompleting,  // completed; its completion waits in the send queue
  };
  static constexpr uint64_t kMagic = 0x4b50434e49424d56;  // "VMBINCPK"

  explicit IncomingPacket(Channel& channel) : channel_(&channel) { is_completion = true; }

  uint64_t magic_ = kMagic;
  Channel* channel_;
  // The packet copy (its first packet_length_ bytes), later the completion payload. Never
  // shrinks: the next packet read into this record fits without a reallocation.
  std::vector<std::byte> bytes_;
  MdlChain external_;            // read-write view, built (and checked) on receipt
  MdlChain external_read_only_;  // built when the driver asks for a read-only view
  std::shared_ptr<const GuestMemoryMapping> guest_;
  uint64_t transaction_id_ = 0;
  uint32_t payload_offset_ = 0;
  uint32_t payload_length_ = 0;
  uint32_t packet_length_ = 0;      // bytes of bytes_ holding the packet
  uint32_t completion_length_ = 0;  // bytes of bytes_ to send as the completion payload
  State state_ = State::kFree;
  bool completion_requested_ = false;
  bool deferred_to_passive_ = false;  // DeferToPassive was called during this delivery
  IncomingPacket* next_free_ = nullptr;
  IncomingPacket* next_deferred_ = nullptr;
};

}  // namespace vmb
