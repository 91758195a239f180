// SPDX-License-Identifier: MIT
// IncomingRing: the consumer side of one ring (wire-format.md §3.2). Each packet is copied
// whole into the caller's private buffer, validated there (wire::parse_packet) and returned as
// a PacketView; commit_read() publishes read_index once per batch and returns rule B's "signal
// the producer?". Rule C helpers mask interrupts while draining. Never blocks, never signals,
// never allocates. Not here: transaction-id checks on completions (channel layer), PFN checks
// (memory layer), dispatch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/packet_view.h"

namespace vmb::ring {

enum class ReadResult : uint8_t {
  kPacket,   // *packet is valid; its spans point into the caller's buffer
  kEmpty,    // nothing published beyond what was read
  kCorrupt,  // the ring is failed (corrupt_reason() says why); nothing delivered
};

// The consumer of one ring. One thread at a time; the producer may run concurrently in
// another thread or process and is untrusted: write_index is validated on every load, each
// descriptor is copied out and checked before the rest is copied, and any violation fails the
// ring for good (every later call returns kCorrupt / false), with the first reason kept.
class IncomingRing {
 public:
  // Takes over a ring whose control page is initialised. Loads the current read_index as the
  // private read position; an invalid one (or an unusable view) fails the ring at once.
  explicit IncomingRing(const RingView& view);
  IncomingRing(const IncomingRing&) = delete;
  IncomingRing& operator=(const IncomingRing&) = delete;

  // Copies the next packet into `buffer` and validates it. buffer.size() is this reader's
  // maximum packet size (wire-format.md §4.2 item 3): a larger packet is corrupt, never
  // truncated. The packet is consumed privately; the producer sees the space only after
  // commit_read(). The PacketView stays valid while `buffer` is unchanged.
  ReadResult read(std::span<std::byte> buffer, wire::PacketView* packet);

  // Publishes read_index for every packet read since the last commit (one release store) and
  // applies rule B: returns true iff the producer must be signalled. Nothing to publish, or
  // corrupt: false.
  [[nodiscard]] bool commit_read();

  // Rule C: sets interrupt_mask = 1 while draining (only suppresses the producer's signals).
  void mask_interrupts();
  // Rule C: stores interrupt_mask = 0, full fence, re-loads write_index. Returns true if
  // unread data is published (keep draining: a packet written before the unmask was not
  // signalled) or the ring is corrupt (read() reports it); false if the ring is empty.
  [[nodiscard]] bool unmask_and_check();

  // True if unread bytes are published (or the ring is corrupt). Loads write_index.
  [[nodiscard]] bool has_data();

  [[nodiscard]] bool corrupt() const { return reason_ != wire::CorruptReason::kNone; }
  [[nodiscard]] wire::CorruptReason corrupt_reason() const { return reason_; }
  [[nodiscard]] uint32_t data_size() const { return view_.data_size; }
  // Ring bytes read but not yet committed.
  [[nodiscard]] uint32_t uncommitted_bytes() const;

 private:
  ReadResult read_general(std::span<std::byte> buffer, wire::PacketView* packet);
  ReadResult read_extended(const wire::PacketDescriptor& descriptor, const std::byte* from,
                           std::span<std::byte> buffer, wire::PacketView* packet);
  bool refresh_write_index(std::memory_order order);
  void copy_out(uint32_t at, std::byte* to, uint32_t length) const;
  ReadResult fail(wire::CorruptReason reason);

  RingView view_;
  uint32_t read_index_ = 0;          // private: start of the next unread packet
  uint32_t committed_index_ = 0;     // last value stored to the shared read_index
  uint32_t cached_write_index_ = 0;  // last validated write_index loaded
  wire::CorruptReason reason_ = wire::CorruptReason::kNone;
};

}  // namespace vmb::ring
