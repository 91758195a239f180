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
#include <cstring>
#include <new>
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
  // commit_read(). The PacketView stays valid while `buffer` is unchanged. Inline (below):
  // in-band and completion packets take a short path, everything else read_general().
  ReadResult read(std::span<std::byte> buffer, wire::PacketView* packet) {
    return read_fast<false>(buffer, packet, {});
  }
  // The same, but a packet that fits in `preferred` is copied there instead (the view then
  // points into it): a reader that keeps the packet saves a second copy. `buffer` still sets
  // the maximum, and the unusual packets read_general() handles always go to `buffer`.
  ReadResult read(std::span<std::byte> buffer, wire::PacketView* packet,
                  std::span<std::byte> preferred) {
    return read_fast<true>(buffer, packet, preferred);
  }

  // Publishes read_index for every packet read since the last commit (one store: release, or
  // seq_cst when the ring advertises pending-send-size, for rule B's store->load ordering) and
  // applies rule B: returns true iff the producer must be signalled. Nothing to publish, or
  // corrupt: false.
  [[nodiscard]] bool commit_read();

  // Rule C: sets interrupt_mask = 1 while draining (only suppresses the producer's signals).
  void mask_interrupts();
  // Rule C: stores interrupt_mask = 0 and re-loads write_index (both seq_cst, the "full
  // barrier" of wire-format.md §3.4). Returns true if
  // unread data is published (keep draining: a packet written before the unmask was not
  // signalled) or the ring is corrupt (read() reports it); false if the ring is empty.
  [[nodiscard]] bool unmask_and_check();

  // commit_read() and unmask_and_check() as a consumer that goes idle needs them: publishes
  // read_index and clears interrupt_mask, then one full barrier serves both rules' store ->
  // load orderings before pending_send_sz and write_index are loaded. One locked instruction
  // on x86-64 where the pair costs two. The same answers as the pair, in `Idle`.
  struct Idle {
    bool signal = false;  // commit_read()'s: rule B says signal the producer
    bool more = false;    // unmask_and_check()'s: unread data (or corrupt), keep draining
  };
  [[nodiscard]] Idle commit_and_unmask();
  // commit_and_unmask() for a consumer that also lets go of the ring: stores false to `owner`
  // (release) after the two stores, so the same barrier orders it before the loads too (the
  // owner's protocol, like rule A, needs store -> load: see Channel::release_drain()). After
  // that store another thread may own this object, so the loads only fill `Idle`: an invalid
  // write_index is "more" (the next owner's read() fails the ring), and nothing is cached.
  [[nodiscard]] Idle commit_unmask_and_release(std::atomic<bool>& owner);

  // True if unread bytes are published (or the ring is corrupt). Loads write_index.
  [[nodiscard]] bool has_data();

  // The private read position: where the next read() starts. With rewind_to(), a reader that
  // reads a packet before it knows whether it may take it gives it back untouched.
  [[nodiscard]] uint32_t read_position() const { return read_index_; }
  // A hint for a poller that found the ring empty: starts fetching the cache lines the next
  // packet will cover if it is as long as the last one read (up to kPrefetchBytes), so they
  // travel beside write_index's line rather than after it: a 64-byte payload's packet covers
  // two lines or three, and each one fetched after the index is a cache miss the copy-out
  // waits for. Reads nothing (a prefetch never faults), and every address lies inside the
  // data area (wrapped at its end). Always inlined: GCC 12 drops the prefetches of a copy it
  // does not inline, as its mod-ref analysis sees no side effect in the function.
  [[gnu::always_inline]] void prefetch_next() const {
    const uint32_t size = view_.data_size;
    const uint32_t end = read_index_ + expected_bytes_;
    for (uint32_t at = read_index_ & ~(kLineBytes - 1); at < end; at += kLineBytes) {
      __builtin_prefetch(view_.data + (at < size ? at : at - size));
    }
  }
  // The most prefetch_next() fetches ahead: four cache lines.
  static constexpr uint32_t kPrefetchBytes = 256;
  // Takes back every read since read_position() returned `position`: the next read() returns
  // those packets again. `position` must come from read_position() after the last
  // commit_read() (published reads cannot be taken back); anything else is ignored. A corrupt
  // ring stays corrupt.
  void rewind_to(uint32_t position);

  [[nodiscard]] bool corrupt() const { return reason_ != wire::CorruptReason::kNone; }
  [[nodiscard]] wire::CorruptReason corrupt_reason() const { return reason_; }
  [[nodiscard]] uint32_t data_size() const { return view_.data_size; }
  // Ring bytes read but not yet committed.
  [[nodiscard]] uint32_t uncommitted_bytes() const;

 private:
  // Both read()s; the form without `preferred` compiles to the code it had before there was
  // one (a packet-length compare and a select cost the bare ring 5 % of its instructions).
  template <bool kPreferred>
  [[gnu::always_inline]] ReadResult read_fast(std::span<std::byte> buffer, wire::PacketView* packet,
                                              std::span<std::byte> preferred);
  ReadResult read_general(std::span<std::byte> buffer, wire::PacketView* packet);
  ReadResult read_extended(wire::PacketDescriptor descriptor, const std::byte* from,
                           std::span<std::byte> buffer, wire::PacketView* packet);
  bool refresh_write_index(std::memory_order order);
  // The producer's write_index, loaded with acquire, not yet validated (the inline paths').
  [[nodiscard]] uint32_t load_write_index() const;
  void copy_out(uint32_t at, std::byte* to, uint32_t length) const;
  ReadResult fail(wire::CorruptReason reason);
  ReadResult fail_index(uint32_t loaded);
  // Rule B steps 4-5 from values loaded after the barrier: does freeing [committed,
  // read_index) give a producer waiting for `pending` bytes its space?
  static bool pending_send_signal(uint32_t size, uint32_t features, uint32_t pending,
                                  uint32_t write_index, uint32_t read_index, uint32_t committed);
  // Both idle forms; `owner` null: keep the ring (and cache the write_index loaded).
  Idle go_idle(std::atomic<bool>* owner);

  RingView view_;
  uint32_t read_index_ = 0;          // private: start of the next unread packet
  uint32_t committed_index_ = 0;     // last value stored to the shared read_index
  uint32_t cached_write_index_ = 0;  // last validated write_index loaded
  uint32_t expected_bytes_ = 64;     // the last packet's length, capped: prefetch_next()
  static constexpr uint32_t kLineBytes = 64;
  wire::CorruptReason reason_ = wire::CorruptReason::kNone;
};

// Acquire pairs with the producer's release store: the bytes below the new index are complete
// before we copy them (the 2022 Linux ARM64 fix). Without it we could copy stale packet bytes.
inline uint32_t IncomingRing::load_write_index() const {
  // Safety: control points to the mapped control page, 8-byte aligned (is_usable(); callers
  // check corrupt() first, which an unusable view is); the reference lives only inside the
  // atomic_ref, and every access to the word is atomic.
  return std::atomic_ref<uint32_t>(
             *std::launder(reinterpret_cast<uint32_t*>(view_.control + wire::kWriteIndexOffset)))
      .load(std::memory_order_acquire);
}

// The fast path: the next packet is covered by the cached (or one fresh) write_index, lies
// contiguously in memory, is in-band or a completion and passes validation at once. The
// descriptor is copied once and checked; the view is filled from that private copy; the packet
// is copied behind it last. Anything unusual goes to read_general(), which starts over from
// the shared bytes and names the exact reason, or to read_extended() for types 7 and 9.
template <bool kPreferred>
inline ReadResult IncomingRing::read_fast(std::span<std::byte> buffer, wire::PacketView* packet,
                                          std::span<std::byte> preferred) {
  const uint32_t size = view_.data_size;
  const uint32_t start = read_index_;
  uint32_t available = wire::ring_used_bytes(size, cached_write_index_, start);
  if (available < wire::kMinimumPacketRingBytes) {
    if (corrupt()) return ReadResult::kCorrupt;
    const uint32_t loaded = load_write_index();
    // wire-format.md §4.2 item 1 on every load: < size and a multiple of 8.
    if (loaded >= size || (loaded & 7u) != 0) [[unlikely]] {
      return fail_index(loaded);
    }
    cached_write_index_ = loaded;
    available = wire::ring_used_bytes(size, loaded, start);
    if (available == 0) return ReadResult::kEmpty;
    if (available < wire::kMinimumPacketRingBytes) return read_general(buffer, packet);
  }
  // A corrupt ring has cached_write_index_ == read_index_ (fail()), so it never gets here.
  if (!view_.data_doubled && available > size - start) return read_general(buffer, packet);
  // Safety: [start, start + available) lies inside the data area (no wrap published) or inside
  // the double mapping (available < size).
  const std::byte* const from = view_.data + start;
  wire::PacketDescriptor descriptor;
  std::memcpy(&descriptor, from, sizeof descriptor);
  const uint32_t packet_bytes = uint32_t{descriptor.len8} * 8u;
  const uint32_t header_bytes = uint32_t{descriptor.offset8} * 8u;
  // validate_descriptor()'s checks, answered yes/no (read_general() names the reason); the
  // type last: in-band and completion continue here, anything else goes to read_extended().
  if (descriptor.offset8 < 2 || descriptor.offset8 > descriptor.len8 ||
      packet_bytes + wire::kTrailerSize > available || packet_bytes > buffer.size() ||
      (descriptor.flags & ~wire::kDefinedPacketFlags) != 0) [[unlikely]] {
    return read_general(buffer, packet);
  }
  if (descriptor.type != static_cast<uint16_t>(wire::PacketType::kDataInBand) &&
      descriptor.type != static_cast<uint16_t>(wire::PacketType::kCompletion)) {
    const bool fits = kPreferred && packet_bytes <= preferred.size();
    return read_extended(descriptor, from, fits ? preferred : buffer, packet);
  }
  const uint32_t next = start + packet_bytes + wire::kTrailerSize;
  read_index_ = next >= size ? next - size : next;
  expected_bytes_ = packet_bytes < kPrefetchBytes ? packet_bytes : kPrefetchBytes;
  std::byte* const to =
      kPreferred && packet_bytes <= preferred.size() ? preferred.data() : buffer.data();
  std::memcpy(to, &descriptor, sizeof descriptor);
  // type, offset8, len8, flags and transaction_id are laid out as in the descriptor
  // (static_asserts in packet_view.h), and PacketView is trivially copyable.
  std::memcpy(static_cast<void*>(packet), &descriptor, sizeof descriptor);
  packet->bytes = {to, packet_bytes};
  packet->payload = {to + header_bytes, packet_bytes - header_bytes};
  packet->gpa_ranges = {};
  packet->transfer_page_ranges = {};
  packet->transfer_page_set_id = 0;
  packet->sender_owns_set = 0;
  // The trailer's 8 bytes are published (checked above) but not read (decisions.md §8).
  std::memcpy(to + wire::kDescriptorSize, from + wire::kDescriptorSize,
              packet_bytes - wire::kDescriptorSize);
  return ReadResult::kPacket;
}

// Inline, because every look of a poll calls it: out of line it cost the round trip about
// 5 % (docs/performance-history.md, 2026-12-07).
inline bool IncomingRing::has_data() {
  if (corrupt()) return true;
  // Acquire: a read() that follows may use this index without loading it again.
  const uint32_t loaded = load_write_index();
  if (loaded >= view_.data_size || (loaded & 7u) != 0) [[unlikely]] {
    fail_index(loaded);
    return true;
  }
  cached_write_index_ = loaded;
  return loaded != read_index_;
}

}  // namespace vmb::ring
