// SPDX-License-Identifier: MIT
// TransactionTable: the per-channel requestor table that hands out wire transaction ids for
// packets that want a completion and matches completions back to them (decisions.md §6). Ids
// are small integers, never pointers: the low 32 bits are a slot number + 1 (so the first ids
// are 1, 2, 3, ... and 0 is never used), the high 32 bits count how often the slot was reused,
// so a stale or replayed completion for an old use of a slot is recognised. A cancelled
// transaction keeps its slot until its late completion arrives (dropped silently) or the
// table is reset. Not thread-safe: the channel serialises access. Not here: what happens to a
// completed packet, or why a channel fails.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "vmbkit/status.h"

namespace vmb {

// A wire transaction id handed out by a TransactionTable (never 0).
struct TransactionId {
  uint64_t value = 0;
  constexpr bool operator==(const TransactionId&) const = default;
};

class TransactionTable {
 public:
  // What a completion matched.
  enum class Match : uint8_t {
    kCompleted,         // an outstanding transaction; its owner is returned and the slot freed
    kDroppedCancelled,  // a late completion for a cancelled transaction; slot freed, drop it
    kViolation,         // unknown, already completed or stale id: a protocol violation
  };
  struct Completion {
    Match match = Match::kViolation;
    void* owner = nullptr;  // kCompleted only
  };

  // `maximum_slots` bounds the table (outstanding + cancelled); allocation beyond it fails.
  explicit TransactionTable(uint32_t maximum_slots = kDefaultMaximumSlots);

  // A fresh id for `owner` (not null). STATUS_INSUFFICIENT_RESOURCES when every slot is in use.
  // Inline (below) for the usual case, a slot from the free list: returned from a call, the
  // Result went through memory as a byte store and a wider load, a store-forwarding stall on
  // every request.
  Result<TransactionId> allocate(void* owner);

  // Matches a completion's id. A violation changes nothing.
  Completion complete(uint64_t wire_id);

  // The owner gave up on an outstanding transaction (timeout): its slot stays reserved so a
  // late completion is recognised and dropped. Returns false (and changes nothing) unless the
  // id is outstanding.
  bool cancel(TransactionId id);

  // Frees an outstanding transaction whose packet never reached the ring (nothing can complete
  // it). Returns false unless the id is outstanding.
  bool release(TransactionId id);

  // The owner of an outstanding id, or nullptr.
  [[nodiscard]] void* owner(TransactionId id) const;

  // Channel reset (close, failure): calls fn(owner) for every outstanding transaction, then
  // forgets every outstanding and cancelled one. Generations survive, so ids from before the
  // reset stay stale.
  template <typename Fn>
  void reset(Fn&& fn) {
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
      Slot& entry = slots_[slot];
      if (entry.state == State::kOutstanding) fn(entry.owner);
      if (entry.state != State::kFree) free_slot(slot);
    }
  }

  [[nodiscard]] uint32_t outstanding_count() const { return outstanding_; }
  [[nodiscard]] uint32_t cancelled_count() const { return cancelled_; }

  static constexpr uint32_t kDefaultMaximumSlots = 1u << 20;

 private:
  enum class State : uint8_t { kFree, kOutstanding, kCancelled };
  struct Slot {
    void* owner = nullptr;
    uint32_t generation = 0;
    uint32_t next_free = 0;  // index + 1 of the next free slot; 0 = end of list
    State state = State::kFree;
  };

  // allocate() with an empty free list: a new slot, or STATUS_INSUFFICIENT_RESOURCES.
  Result<TransactionId> allocate_new_slot(void* owner);
  // Marks a slot outstanding for `owner`; returns its id.
  uint64_t claim(uint32_t slot, void* owner) {
    Slot& entry = slots_[slot];
    entry.state = State::kOutstanding;
    entry.owner = owner;
    entry.next_free = 0;
    ++outstanding_;
    // Low 32 bits: slot + 1 (0 is never an id); high 32 bits: the slot's generation.
    return (uint64_t{entry.generation} << 32) | (uint64_t{slot} + 1);
  }
  // The slot an id names if its generation matches, else nullptr.
  Slot* find(uint64_t wire_id);
  const Slot* find(uint64_t wire_id) const;
  void free_slot(uint32_t slot);

  std::vector<Slot> slots_;
  uint32_t first_free_ = 0;  // index + 1; 0 = none
  uint32_t maximum_slots_;
  uint32_t outstanding_ = 0;
  uint32_t cancelled_ = 0;
};

inline Result<TransactionId> TransactionTable::allocate(void* owner) {
  assert(owner != nullptr && "a transaction needs an owner");
  if (first_free_ == 0) return allocate_new_slot(owner);
  const uint32_t slot = first_free_ - 1;
  first_free_ = slots_[slot].next_free;
  return TransactionId{claim(slot, owner)};
}

}  // namespace vmb
