// SPDX-License-Identifier: MIT
// IncomingRing (incoming_ring.h): copy-out reads at a private read index, validation of each
// descriptor before the rest of the packet is copied and of the whole copy afterwards,
// publication by commit_read() with rule B, and rule C's mask/unmask. The producer's
// write_index is loaded only when the cached one shows too few bytes, and validated on every
// load. Every value the producer wrote is read once; only private copies are used.
#include "vmbkit/ring/incoming_ring.h"

#include <cstring>

#include "ring/shared_control.h"

namespace vmb::ring {

using wire::CorruptReason;

IncomingRing::IncomingRing(const RingView& view) : view_(view) {
  if (!is_usable(view_)) {
    view_ = RingView{};
    reason_ = CorruptReason::kUnusableView;
    expected_bytes_ = 0;  // no data area: prefetch_next() fetches nothing
    return;
  }
  const uint32_t start =
      detail::control_word(view_.control, wire::kReadIndexOffset).load(std::memory_order_relaxed);
  if (const CorruptReason reason = detail::check_index(start, view_.data_size);
      reason != CorruptReason::kNone) {
    fail(reason);
    return;
  }
  read_index_ = start;
  committed_index_ = start;
  cached_write_index_ = start;  // "empty": the first read loads the real write_index
}

// Failing is rare; keeping it out of line keeps the hot paths short.
[[gnu::cold, gnu::noinline]] ReadResult IncomingRing::fail(CorruptReason reason) {
  if (reason_ == CorruptReason::kNone) reason_ = reason;
  // "Nothing cached": read()'s fast path then always reaches its corrupt() check.
  cached_write_index_ = read_index_;
  return ReadResult::kCorrupt;
}

uint32_t IncomingRing::uncommitted_bytes() const {
  return wire::ring_used_bytes(view_.data_size, read_index_, committed_index_);
}

[[gnu::always_inline]] inline bool IncomingRing::refresh_write_index(std::memory_order order) {
  const uint32_t loaded = detail::control_word(view_.control, wire::kWriteIndexOffset).load(order);
  if (const CorruptReason reason = detail::check_index(loaded, view_.data_size);
      reason != CorruptReason::kNone) {
    fail(reason);
    return false;
  }
  cached_write_index_ = loaded;
  return true;
}

// read()'s inline path saw an invalid write_index: record why.
ReadResult IncomingRing::fail_index(uint32_t loaded) {
  return fail(detail::check_index(loaded, view_.data_size));
}

// Copies out of the data area at `at`, wrapping once.
// Safety: at < data_size and length <= data_size - 8 (a validated packet is at most the bytes
// available, which are below data_size), so with a double mapping data[at, at + length) lies
// inside the 2 * data_size mapping, and otherwise both pieces lie inside data[0, data_size).
inline void IncomingRing::copy_out(uint32_t at, std::byte* to, uint32_t length) const {
  if (view_.data_doubled || length <= view_.data_size - at) {
    std::memcpy(to, view_.data + at, length);
    return;
  }
  const uint32_t first = view_.data_size - at;
  std::memcpy(to, view_.data + at, first);
  std::memcpy(to + first, view_.data, length - first);
}

// Every case: packets that wrap in a single mapping, stale cached write_index, rejections.
// read() falls back to it whenever its fast path does not apply; it starts over from the
// shared bytes (anything the fast path copied is discarded, never used).
[[gnu::noinline]] ReadResult IncomingRing::read_general(std::span<std::byte> buffer,
                                                        wire::PacketView* packet) {
  if (corrupt()) return ReadResult::kCorrupt;
  const uint32_t size = view_.data_size;
  uint32_t available = wire::ring_used_bytes(size, cached_write_index_, read_index_);
  if (available < wire::kMinimumPacketRingBytes) {
    // Acquire pairs with the producer's release store: the bytes below the new index are
    // complete before we copy them (the 2022 Linux ARM64 fix). Without it we could copy
    // stale packet bytes.
    if (!refresh_write_index(std::memory_order_acquire)) return ReadResult::kCorrupt;
    available = wire::ring_used_bytes(size, cached_write_index_, read_index_);
    if (available == 0) return ReadResult::kEmpty;
    if (available < wire::kMinimumPacketRingBytes) [[unlikely]] {
      return fail(CorruptReason::kTooFewBytesAvailable);
    }
  }

  // The descriptor is copied once into private memory; only this copy is ever used.
  wire::PacketDescriptor descriptor;
  const bool contiguous = view_.data_doubled || wire::kDescriptorSize <= size - read_index_;
  if (contiguous) [[likely]] {
    std::memcpy(&descriptor, view_.data + read_index_, sizeof descriptor);
  } else {
    copy_out(read_index_, reinterpret_cast<std::byte*>(&descriptor), sizeof descriptor);
  }
  const uint32_t maximum = buffer.size() > wire::kMaximumPacketBytes
                               ? wire::kMaximumPacketBytes
                               : static_cast<uint32_t>(buffer.size());
  CorruptReason reason = wire::validate_descriptor(descriptor, available, maximum);
  if (reason != CorruptReason::kNone) [[unlikely]] {
    if (reason != CorruptReason::kPacketBeyondAvailable) return fail(reason);
    // The cached write_index may be stale; only a fresh one can prove the packet incomplete.
    // A producer publishes whole packets, so a packet past a fresh index never completes.
    if (!refresh_write_index(std::memory_order_acquire)) return ReadResult::kCorrupt;
    available = wire::ring_used_bytes(size, cached_write_index_, read_index_);
    reason = wire::validate_descriptor(descriptor, available, maximum);
    if (reason != CorruptReason::kNone) return fail(reason);
  }

  // Copy the rest of the packet behind the private descriptor; parse only the copy.
  const uint32_t packet_bytes = uint32_t{descriptor.len8} * 8u;
  std::memcpy(buffer.data(), &descriptor, sizeof descriptor);
  const uint32_t rest = packet_bytes - wire::kDescriptorSize;
  if (view_.data_doubled || packet_bytes <= size - read_index_) [[likely]] {
    // Safety: [read_index, read_index + packet_bytes) lies inside the data area or inside the
    // double mapping (packet_bytes < available <= size).
    std::memcpy(buffer.data() + wire::kDescriptorSize,
                view_.data + read_index_ + wire::kDescriptorSize, rest);
  } else {
    copy_out(detail::advance(read_index_, wire::kDescriptorSize, size),
             buffer.data() + wire::kDescriptorSize, rest);
  }
  reason = wire::parse_validated_packet(descriptor, buffer.first(packet_bytes), packet);
  if (reason != CorruptReason::kNone) [[unlikely]] {
    return fail(reason);
  }
  // The trailer's 8 bytes are published (checked above) but not read (decisions.md §8).
  read_index_ = detail::advance(read_index_, packet_bytes + wire::kTrailerSize, size);
  return ReadResult::kPacket;
}

// read()'s tail for packets other than in-band and completion whose descriptor passed every
// other check: an unknown type fails the ring; GPA-direct and transfer-page packets are copied
// behind the private descriptor and their extended header is checked in the copy.
[[gnu::noinline]] ReadResult IncomingRing::read_extended(wire::PacketDescriptor descriptor,
                                                         const std::byte* from,
                                                         std::span<std::byte> buffer,
                                                         wire::PacketView* packet) {
  if (!wire::is_accepted_type(descriptor.type)) return fail(CorruptReason::kUnknownType);
  const uint32_t packet_bytes = uint32_t{descriptor.len8} * 8u;
  std::memcpy(buffer.data(), &descriptor, sizeof descriptor);
  std::memcpy(buffer.data() + wire::kDescriptorSize, from + wire::kDescriptorSize,
              packet_bytes - wire::kDescriptorSize);
  const CorruptReason reason =
      wire::parse_validated_packet(descriptor, buffer.first(packet_bytes), packet);
  if (reason != CorruptReason::kNone) return fail(reason);
  read_index_ = detail::advance(read_index_, packet_bytes + wire::kTrailerSize, view_.data_size);
  return ReadResult::kPacket;
}

bool IncomingRing::commit_read() {
  const uint32_t read_index = read_index_;
  const uint32_t committed = committed_index_;
  if (read_index == committed || corrupt()) return false;
  // Locals, because the atomic accesses below make the compiler reload members.
  std::byte* const control = view_.control;
  committed_index_ = read_index;
  // Rule B (wire-format.md §3.3), step 1: no pending-send protocol without the feature bit.
  const uint32_t features =
      detail::control_word(control, wire::kFeatureBitsOffset).load(std::memory_order_relaxed);
  if ((features & wire::kFeaturePendingSendSize) == 0) {
    // Release pairs with the producer's acquire load of read_index: our copies out of
    // [committed, read_index) are complete before it may overwrite them.
    detail::control_word(control, wire::kReadIndexOffset)
        .store(read_index, std::memory_order_release);
    return false;
  }
  // Step 2, store -> load: seq_cst store of read_index (its release part as above), then a
  // seq_cst load of pending_send_sz. Pairs with the producer's seq_cst store of
  // pending_send_sz and load of read_index in request_space(): one of us sees the other's
  // store. Without it the producer could miss our read_index while we miss its
  // pending_send_sz, and it would wait forever. (Not a standalone fence: ThreadSanitizer does
  // not model fences; on x86-64 this is one xchg.)
  detail::control_word(control, wire::kReadIndexOffset)
      .store(read_index, std::memory_order_seq_cst);
  const uint32_t pending =
      detail::control_word(control, wire::kPendingSendSizeOffset).load(std::memory_order_seq_cst);
  if (pending == 0 || !refresh_write_index(std::memory_order_acquire)) return false;
  return pending_send_signal(view_.data_size, features, pending, cached_write_index_, read_index,
                             committed);
}

// Rule B steps 4-5 for a waiting producer: compare the free space before and after this batch
// with pending_send_sz.
bool IncomingRing::pending_send_signal(uint32_t size, uint32_t features, uint32_t pending,
                                       uint32_t write_index, uint32_t read_index,
                                       uint32_t committed) {
  const uint32_t free_after = wire::ring_free_bytes(size, write_index, read_index);
  // A hostile producer can make this inconsistent; it only affects the answer, never memory.
  const uint32_t consumed = wire::ring_used_bytes(size, read_index, committed);
  const uint32_t free_before = free_after >= consumed ? free_after - consumed : 0;
  return wire::consumer_should_signal(features, pending, free_before, free_after);
}

void IncomingRing::mask_interrupts() {
  if (corrupt()) return;
  // Relaxed: the mask only suppresses signals; unmask_and_check() provides the ordering.
  detail::control_word(view_.control, wire::kInterruptMaskOffset)
      .store(1, std::memory_order_relaxed);
}

bool IncomingRing::unmask_and_check() {
  if (corrupt()) return true;
  // seq_cst store of the mask, then a seq_cst load of write_index: pairs with the producer's
  // seq_cst store of write_index and loads of the mask and read_index in commit(). Either it
  // sees the mask cleared (and our published read_index) and signals, or we see its new
  // write_index here. Without it a packet written between our last read and the unmask would
  // never be signalled.
  detail::control_word(view_.control, wire::kInterruptMaskOffset)
      .store(0, std::memory_order_seq_cst);
  if (!refresh_write_index(std::memory_order_seq_cst)) return true;
  return cached_write_index_ != read_index_;
}

// GCC warns that ThreadSanitizer does not model standalone fences. The fence below orders
// only our stores before our loads (the producer's and the next owner's sides are seq_cst
// operations); every transfer of data keeps its own release/acquire pair (the owner flag's
// too), which TSan does model, so nothing it checks depends on the fence.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
IncomingRing::Idle IncomingRing::commit_and_unmask() { return go_idle(nullptr); }

IncomingRing::Idle IncomingRing::commit_unmask_and_release(std::atomic<bool>& owner) {
  return go_idle(&owner);
}

IncomingRing::Idle IncomingRing::go_idle(std::atomic<bool>* owner) {
  Idle idle;
  if (corrupt()) {
    idle.more = true;  // as unmask_and_check(): read() reports it
    if (owner != nullptr) owner->store(false, std::memory_order_release);
    return idle;
  }
  std::byte* const control = view_.control;
  const uint32_t size = view_.data_size;
  const uint32_t read_index = read_index_;
  const uint32_t committed = committed_index_;
  const bool publish = read_index != committed;
  if (publish) {
    committed_index_ = read_index;
    // Release, as in commit_read(): our copies out of [committed, read_index) are complete
    // before the producer may overwrite them.
    detail::control_word(control, wire::kReadIndexOffset)
        .store(read_index, std::memory_order_release);
  }
  detail::control_word(control, wire::kInterruptMaskOffset).store(0, std::memory_order_relaxed);
  // Release: the next owner's acquire sees this object as we leave it.
  if (owner != nullptr) owner->store(false, std::memory_order_release);
  // The stores above, then the loads below (rules B and C, as in commit_read() and
  // unmask_and_check(), and the owner's protocol): the producer stores write_index and
  // pending_send_sz seq_cst and then loads the mask and read_index seq_cst, so either it sees
  // our stores or we see its. The stores may become visible in any order: a producer that
  // sees the mask cleared but our old read_index (and so does not signal) wrote before its
  // load, which this fence orders before our load of write_index below.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // With `owner`, from here on only locals and shared words: another thread may own us.
  // Acquire: a read() that follows may use this index without loading it again.
  const uint32_t loaded =
      detail::control_word(control, wire::kWriteIndexOffset).load(std::memory_order_acquire);
  const CorruptReason reason = detail::check_index(loaded, size);
  if (reason != CorruptReason::kNone) {
    idle.more = true;  // this read() or the next owner's fails the ring
    if (owner == nullptr) fail(reason);
    return idle;
  }
  if (publish) {
    const uint32_t features =
        detail::control_word(control, wire::kFeatureBitsOffset).load(std::memory_order_relaxed);
    if ((features & wire::kFeaturePendingSendSize) != 0) {
      const uint32_t pending = detail::control_word(control, wire::kPendingSendSizeOffset)
                                   .load(std::memory_order_relaxed);
      if (pending != 0) {
        idle.signal = pending_send_signal(size, features, pending, loaded, read_index, committed);
      }
    }
  }
  if (owner == nullptr) cached_write_index_ = loaded;
  idle.more = loaded != read_index;
  return idle;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void IncomingRing::rewind_to(uint32_t position) {
  if (corrupt()) return;
  // Only a position between the last commit and the current one, walking forward: a read
  // position is never behind committed_index_, and reads only move it on.
  const uint32_t size = view_.data_size;
  if (position >= size || (position & 7u) != 0 ||
      wire::ring_used_bytes(size, position, committed_index_) >
          wire::ring_used_bytes(size, read_index_, committed_index_)) {
    return;
  }
  read_index_ = position;
}

}  // namespace vmb::ring
