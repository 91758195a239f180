// SPDX-License-Identifier: MIT
// OutgoingRing (outgoing_ring.h): gather-write at a private write index, publication by
// commit() with rule A, and the producer half of rule B. The hot path is a few compares, one
// memcpy per gather piece and, per commit, one sequentially consistent store and two loads. The
// consumer's read_index is loaded only when the cached free space is too small or at commit,
// and validated on every load. Not here: queueing, signalling, blocking.
#include "vmbkit/ring/outgoing_ring.h"

#include <cstring>

#include "ring/shared_control.h"
#include "vmbkit/wire/packet_encoder.h"
#include "vmbkit/wire/packet_view.h"

namespace vmb::ring {

using wire::CorruptReason;

OutgoingRing::OutgoingRing(const RingView& view) : view_(view) {
  if (!is_usable(view_)) {
    view_ = RingView{};
    reason_ = CorruptReason::kUnusableView;
    return;
  }
  // Our own field: nobody else stores it, but the page is shared, so it is checked like any
  // other value read from it.
  const uint32_t start =
      detail::control_word(view_.control, wire::kWriteIndexOffset).load(std::memory_order_relaxed);
  if (const CorruptReason reason = detail::check_index(start, view_.data_size);
      reason != CorruptReason::kNone) {
    fail(reason);
    return;
  }
  write_index_ = start;
  committed_index_ = start;
  // A cache that claims only 8 free bytes: smaller than any packet, so the first write loads
  // the real read_index instead of trusting a guess.
  cached_read_index_ = detail::advance(start, wire::kTrailerSize, view_.data_size);
}

// Failing is rare; keeping it out of line keeps the hot paths short.
[[gnu::cold, gnu::noinline]] void OutgoingRing::fail(CorruptReason reason) {
  if (reason_ == CorruptReason::kNone) reason_ = reason;
  // A cache that shows 8 free bytes: try_write()'s fast path then always falls through to the
  // general path and its corrupt() check.
  if (view_.data_size != 0) {
    cached_read_index_ = detail::advance(write_index_, wire::kTrailerSize, view_.data_size);
  }
}

uint32_t OutgoingRing::uncommitted_bytes() const {
  return wire::ring_used_bytes(view_.data_size, write_index_, committed_index_);
}

[[gnu::always_inline]] inline bool OutgoingRing::refresh_read_index(std::memory_order order) {
  const uint32_t loaded = detail::control_word(view_.control, wire::kReadIndexOffset).load(order);
  if (const CorruptReason reason = detail::check_index(loaded, view_.data_size);
      reason != CorruptReason::kNone) {
    fail(reason);
    return false;
  }
  cached_read_index_ = loaded;
  return true;
}

// Copies into the data area at `at`, wrapping once.
// Safety: at < data_size and length <= data_size (callers only copy parts of a packet that
// fits), so with a double mapping data[at, at + length) is inside the 2 * data_size mapping,
// and otherwise the two pieces are inside data[0, data_size).
inline void OutgoingRing::copy_in(uint32_t at, const std::byte* from, uint32_t length) {
  if (view_.data_doubled || length <= view_.data_size - at) {
    std::memcpy(view_.data + at, from, length);
    return;
  }
  const uint32_t first = view_.data_size - at;
  std::memcpy(view_.data + at, from, first);
  std::memcpy(view_.data, from + first, length - first);
}

// Zero padding after the payload (at most 7 bytes).
inline void OutgoingRing::zero_in(uint32_t at, uint32_t length) {
  static constexpr std::byte kZeros[8] = {};
  copy_in(at, kZeros, length);
}

WriteResult OutgoingRing::try_write(const OutgoingPacket& packet) {
  if (corrupt()) return WriteResult::kCorrupt;
  const auto type = static_cast<uint16_t>(packet.type);
  if (!wire::is_accepted_type(type) || (packet.flags & ~wire::kDefinedPacketFlags) != 0) {
    return WriteResult::kInvalidPacket;
  }
  uint64_t payload_bytes = 0;
  for (const std::span<const std::byte>& piece : packet.payload) payload_bytes += piece.size();
  const uint64_t extended_bytes = packet.extended_header.size();
  const wire::PacketLayout layout = wire::layout_packet(extended_bytes, payload_bytes);
  if (!layout.valid) return WriteResult::kInvalidPacket;

  // Never fill the ring completely: free must exceed packet + trailer (wire-format.md §1.2).
  const uint32_t size = view_.data_size;
  const uint32_t ring_bytes = layout.ring_bytes();
  if (wire::ring_free_bytes(size, write_index_, cached_read_index_) <= ring_bytes) [[unlikely]] {
    // Acquire pairs with the consumer's release store of read_index: it has finished copying
    // out the bytes we are about to overwrite. Without it the copy below could race the read.
    if (!refresh_read_index(std::memory_order_acquire)) return WriteResult::kCorrupt;
    if (wire::ring_free_bytes(size, write_index_, cached_read_index_) <= ring_bytes) {
      return WriteResult::kFull;
    }
  }

  const uint32_t start = write_index_;
  const wire::PacketDescriptor descriptor{type, layout.offset8, layout.len8, packet.flags,
                                          packet.transaction_id};
  const uint32_t packet_bytes = layout.packet_bytes();
  if (view_.data_doubled || ring_bytes <= size - start) [[likely]] {
    // Safety: [start, start + ring_bytes) lies inside the data area, or inside the double
    // mapping's 2 * data_size bytes (start < size and ring_bytes < size).
    std::byte* const to = view_.data + start;
    // The packet's last 8 bytes are zeroed first: the padding (at most 7 bytes) lies inside
    // them and stays zero when descriptor, header and payload are copied over their front.
    const uint64_t zero = 0;
    std::memcpy(to + packet_bytes - sizeof zero, &zero, sizeof zero);
    std::memcpy(to, &descriptor, sizeof descriptor);
    std::byte* at = to + wire::kDescriptorSize;
    if (extended_bytes != 0) {
      std::memcpy(at, packet.extended_header.data(), extended_bytes);
      at += extended_bytes;
    }
    for (const std::span<const std::byte>& piece : packet.payload) {
      if (piece.empty()) continue;
      std::memcpy(at, piece.data(), piece.size());
      at += piece.size();
    }
    const uint64_t trailer = wire::trailer_for(start);
    std::memcpy(to + packet_bytes, &trailer, sizeof trailer);
  } else {
    write_split(start, descriptor, packet, packet_bytes);
  }
  write_index_ = detail::advance(start, ring_bytes, size);
  return WriteResult::kWritten;
}

// The same bytes as the contiguous path, for a packet that wraps in a single mapping.
void OutgoingRing::write_split(uint32_t start, const wire::PacketDescriptor& descriptor,
                               const OutgoingPacket& packet, uint32_t packet_bytes) {
  const uint32_t size = view_.data_size;
  copy_in(start, reinterpret_cast<const std::byte*>(&descriptor), sizeof descriptor);
  uint32_t at = detail::advance(start, wire::kDescriptorSize, size);
  uint32_t written = wire::kDescriptorSize;
  if (!packet.extended_header.empty()) {
    const auto length = static_cast<uint32_t>(packet.extended_header.size());
    copy_in(at, packet.extended_header.data(), length);
    at = detail::advance(at, length, size);
    written += length;
  }
  for (const std::span<const std::byte>& piece : packet.payload) {
    if (piece.empty()) continue;
    const auto length = static_cast<uint32_t>(piece.size());
    copy_in(at, piece.data(), length);
    at = detail::advance(at, length, size);
    written += length;
  }
  const uint32_t padding = packet_bytes - written;
  if (padding != 0) {
    zero_in(at, padding);
    at = detail::advance(at, padding, size);
  }
  const uint64_t trailer = wire::trailer_for(start);
  copy_in(at, reinterpret_cast<const std::byte*>(&trailer), sizeof trailer);
}

// Everything try_write()'s inline fast path (outgoing_ring.h) does not take.
[[gnu::noinline]] WriteResult OutgoingRing::try_write_general(wire::PacketType type, uint16_t flags,
                                                              uint64_t transaction_id,
                                                              std::span<const std::byte> payload) {
  const OutgoingPacket packet{type, flags, transaction_id, {}, {&payload, 1}};
  return try_write(packet);
}

bool OutgoingRing::commit() {
  const uint32_t write_index = write_index_;
  const uint32_t old_write_index = committed_index_;
  if (write_index == old_write_index || corrupt()) return false;
  // Locals, because the atomic accesses below make the compiler reload members.
  std::byte* const control = view_.control;
  const uint32_t size = view_.data_size;
  committed_index_ = write_index;
  // A seq_cst store followed by seq_cst loads. Release part: pairs with the consumer's acquire
  // load of write_index, so it never sees the new index before the packet bytes (else it
  // copies stale bytes). Store -> load part (rule A, the "full barrier" of wire-format.md
  // §3.4): the consumer clears interrupt_mask or publishes read_index and then re-loads
  // write_index (unmask_and_check); we publish write_index and then load both. With both
  // sides sequentially consistent, one of us sees the other's store; without it both loads
  // could see old values and the wakeup would be lost. A standalone seq_cst fence would do
  // the same, but ThreadSanitizer does not model fences; on x86-64 this is one xchg, on
  // ARM64 stlr/ldar.
  detail::control_word(control, wire::kWriteIndexOffset)
      .store(write_index, std::memory_order_seq_cst);
  const uint32_t mask =
      detail::control_word(control, wire::kInterruptMaskOffset).load(std::memory_order_seq_cst);
  // The same load refreshes the space cache (seq_cst includes acquire).
  const uint32_t read_index =
      detail::control_word(control, wire::kReadIndexOffset).load(std::memory_order_seq_cst);
  if (const CorruptReason reason = detail::check_index(read_index, size);
      reason != CorruptReason::kNone) [[unlikely]] {
    fail(reason);
    return false;
  }
  cached_read_index_ = read_index;
  return wire::producer_should_signal(mask, read_index, old_write_index);
}

void OutgoingRing::discard_uncommitted() { write_index_ = committed_index_; }

SpaceRequest OutgoingRing::request_space(uint32_t ring_bytes) {
  if (corrupt()) return SpaceRequest::kCorrupt;
  // The consumer measures free space against the published write_index, so uncommitted bytes
  // count as part of what we wait for.
  const uint64_t wanted = uint64_t{ring_bytes} + uncommitted_bytes();
  const auto pending = static_cast<uint32_t>(wanted > UINT32_MAX ? UINT32_MAX : wanted);
  // seq_cst store, then a seq_cst load of read_index: the mirror of the consumer's rule-B
  // store -> load ordering in commit_read(). Either it sees pending_send_sz after publishing
  // read_index, or we see its new read_index here; without it both could miss the other and
  // we would wait for a signal that never comes.
  detail::control_word(view_.control, wire::kPendingSendSizeOffset)
      .store(pending, std::memory_order_seq_cst);
  if (!refresh_read_index(std::memory_order_seq_cst)) return SpaceRequest::kCorrupt;
  if (wire::ring_free_bytes(view_.data_size, write_index_, cached_read_index_) > ring_bytes) {
    return SpaceRequest::kAvailable;
  }
  return SpaceRequest::kWaitForSignal;
}

void OutgoingRing::clear_space_request() {
  if (view_.control == nullptr) return;
  detail::control_word(view_.control, wire::kPendingSendSizeOffset)
      .store(0, std::memory_order_relaxed);
}

}  // namespace vmb::ring
