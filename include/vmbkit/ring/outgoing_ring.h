// SPDX-License-Identifier: MIT
// OutgoingRing: the producer side of one ring (wire-format.md §3.1). Packets are gather-written
// (descriptor, extended header, payload pieces, zero padding, trailer) at a private write
// index, then published together by commit(), which returns rule A's "signal the consumer?"
// instead of signalling. Also the producer half of the pending-send-size protocol (rule B).
// Never blocks, never signals, never allocates. Not here: queueing packets while the ring is
// full, transaction ids, eventfds (channel layer).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::ring {

// One packet to write. `extended_header` is the bytes after the descriptor (from
// wire::encode_gpa_direct_header or wire::encode_transfer_page_header; empty for in-band and
// completion packets); `payload` is a gather list whose pieces are written back to back.
struct OutgoingPacket {
  wire::PacketType type = wire::PacketType::kDataInBand;
  uint16_t flags = 0;
  uint64_t transaction_id = 0;
  std::span<const std::byte> extended_header;           // a multiple of 8 bytes
  std::span<const std::span<const std::byte>> payload;  // padded to 8 on the wire
};

enum class WriteResult : uint8_t {
  kWritten,        // copied in; visible to the consumer after commit()
  kFull,           // does not fit now (free <= packet + trailer); nothing written
  kCorrupt,        // the ring is failed (corrupt_reason() says why); nothing written
  kInvalidPacket,  // caller error: type not accepted, undefined flag, extended header not a
                   // multiple of 8, or len8 past 65535; nothing written, ring unaffected
};

enum class SpaceRequest : uint8_t {
  kAvailable,      // the packet fits now: write it, then clear_space_request()
  kWaitForSignal,  // pending_send_sz is set; wait for the consumer's signal, then retry
  kCorrupt,        // the ring is failed
};

// The producer of one ring. One thread at a time (the caller serialises producers); the
// consumer may run concurrently in another thread or process. Trusts nothing it reads from
// the shared page: read_index is validated on every load, and a bad one fails the ring for
// good (every later call returns kCorrupt / false).
class OutgoingRing {
 public:
  // Takes over a ring whose control page is initialised. Loads the current write_index as the
  // private write position; an invalid one (or an unusable view) fails the ring at once.
  explicit OutgoingRing(const RingView& view);
  OutgoingRing(const OutgoingRing&) = delete;
  OutgoingRing& operator=(const OutgoingRing&) = delete;

  // Copies one packet in after the uncommitted ones. Refreshes the cached read_index only when
  // the cached free space is too small.
  WriteResult try_write(const OutgoingPacket& packet);
  // An in-band or completion packet with one payload piece. Inline (below): the common case
  // is a handful of stores and one memcpy.
  WriteResult try_write(wire::PacketType type, uint16_t flags, uint64_t transaction_id,
                        std::span<const std::byte> payload);

  // Publishes every uncommitted packet with one store of write_index (seq_cst: a release store
  // plus the store->load ordering rule A needs), then applies rule A: returns true iff the
  // consumer must be signalled (interrupt_mask 0 and the ring was empty before the first
  // packet of this batch). Nothing uncommitted, or corrupt: false.
  [[nodiscard]] bool commit();

  // Forgets uncommitted packets (their bytes stay in the ring but are never published).
  void discard_uncommitted();

  // Rule B, producer side, for a packet of `ring_bytes` (packet plus trailer, e.g.
  // wire::PacketLayout::ring_bytes()) after the uncommitted ones: stores pending_send_sz
  // (seq_cst), re-checks read_index. The consumer only signals if this ring's feature_bits
  // advertise kFeaturePendingSendSize; without it the caller must poll. To avoid ping-pong a
  // caller may ask for more than it needs (OpenVMM: max(needed, maximum packet / 4)).
  SpaceRequest request_space(uint32_t ring_bytes);
  // Stores pending_send_sz = 0 (after the awaited write, or when giving up).
  void clear_space_request();

  [[nodiscard]] bool corrupt() const { return reason_ != wire::CorruptReason::kNone; }
  [[nodiscard]] wire::CorruptReason corrupt_reason() const { return reason_; }
  [[nodiscard]] uint32_t data_size() const { return view_.data_size; }
  // Ring bytes written but not yet committed.
  [[nodiscard]] uint32_t uncommitted_bytes() const;
  // The largest packet + trailer that fits in an empty ring (data_size - 8).
  [[nodiscard]] uint32_t max_ring_bytes() const {
    return view_.data_size > wire::kTrailerSize ? view_.data_size - wire::kTrailerSize : 0;
  }

 private:
  WriteResult try_write_general(wire::PacketType type, uint16_t flags, uint64_t transaction_id,
                                std::span<const std::byte> payload);
  bool refresh_read_index(std::memory_order order);
  void write_split(uint32_t start, const wire::PacketDescriptor& descriptor,
                   const OutgoingPacket& packet, uint32_t packet_bytes);
  void copy_in(uint32_t at, const std::byte* from, uint32_t length);
  void zero_in(uint32_t at, uint32_t length);
  void fail(wire::CorruptReason reason);

  RingView view_;
  uint32_t write_index_ = 0;        // private: where the next packet goes
  uint32_t committed_index_ = 0;    // last value stored to the shared write_index
  uint32_t cached_read_index_ = 0;  // last validated read_index loaded
  wire::CorruptReason reason_ = wire::CorruptReason::kNone;
};

// The common case, one in-band or completion payload that fits the cached free space without
// wrapping (or with a double mapping), written with a handful of stores and one memcpy issued
// last; anything else takes the general path, which re-checks everything. A corrupt ring needs
// no test here: fail() leaves a cache that shows 8 free bytes, so the space check sends every
// write to the general path, which reports kCorrupt.
inline WriteResult OutgoingRing::try_write(wire::PacketType type, uint16_t flags,
                                           uint64_t transaction_id,
                                           std::span<const std::byte> payload) {
  const auto type16 = static_cast<uint16_t>(type);
  const size_t payload_bytes = payload.size();
  const uint32_t size = view_.data_size;
  const uint32_t start = write_index_;
  constexpr uint32_t kSimpleTypes = 1u << static_cast<uint16_t>(wire::PacketType::kDataInBand) |
                                    1u << static_cast<uint16_t>(wire::PacketType::kCompletion);
  if (type16 >= 32 || ((kSimpleTypes >> type16) & 1u) == 0 ||
      flags > wire::kFlagCompletionRequested || payload_bytes > size ||
      payload_bytes > wire::kMaximumPacketBytes - wire::kDescriptorSize) [[unlikely]] {
    return try_write_general(type, flags, transaction_id, payload);
  }
  // payload_bytes <= size <= 1 GiB: no overflow below; len8 fits its u16.
  const auto packet_bytes =
      static_cast<uint32_t>(wire::align8(wire::kDescriptorSize + uint64_t{payload_bytes}));
  const uint32_t ring_bytes = packet_bytes + wire::kTrailerSize;
  if (wire::ring_free_bytes(size, start, cached_read_index_) <= ring_bytes ||
      (!view_.data_doubled && ring_bytes > size - start)) [[unlikely]] {
    return try_write_general(type, flags, transaction_id, payload);
  }
  // Safety: [start, start + ring_bytes) lies inside the data area, or inside the double
  // mapping (start < size, ring_bytes < free <= size).
  std::byte* const to = view_.data + start;
  // The packet's last 8 bytes are zeroed first: the padding (at most 7 bytes) lies inside them
  // and stays zero when the payload is copied over their front.
  const uint64_t zero = 0;
  std::memcpy(to + packet_bytes - sizeof zero, &zero, sizeof zero);
  // type, offset8 = 2, len8, flags: the descriptor's first 8 bytes, little-endian.
  const uint64_t head = uint64_t{type16} | uint64_t{2} << 16 | uint64_t{packet_bytes / 8} << 32 |
                        uint64_t{flags} << 48;
  std::memcpy(to, &head, sizeof head);
  std::memcpy(to + 8, &transaction_id, sizeof transaction_id);
  const uint64_t trailer = wire::trailer_for(start);
  std::memcpy(to + packet_bytes, &trailer, sizeof trailer);
  const uint32_t next = start + ring_bytes;
  write_index_ = next >= size ? next - size : next;
  if (payload_bytes != 0) std::memcpy(to + wire::kDescriptorSize, payload.data(), payload_bytes);
  return WriteResult::kWritten;
}

}  // namespace vmb::ring
