// SPDX-License-Identifier: MIT
// The requestor table behind wire transaction ids (see transaction_table.h).
#include "vmbkit/channel/transaction_table.h"

namespace vmb {

TransactionTable::TransactionTable(uint32_t maximum_slots) : maximum_slots_(maximum_slots) {}

Result<TransactionId> TransactionTable::allocate_new_slot(void* owner) {
  if (slots_.size() >= maximum_slots_) return Status{STATUS_INSUFFICIENT_RESOURCES};
  const auto slot = static_cast<uint32_t>(slots_.size());
  slots_.emplace_back();  // may throw std::bad_alloc; the C boundary maps it
  return TransactionId{claim(slot, owner)};
}

TransactionTable::Slot* TransactionTable::find(uint64_t wire_id) {
  const uint32_t low = static_cast<uint32_t>(wire_id);
  if (low == 0 || low > slots_.size()) return nullptr;
  Slot& entry = slots_[low - 1];
  if (entry.generation != static_cast<uint32_t>(wire_id >> 32)) return nullptr;
  return &entry;
}

const TransactionTable::Slot* TransactionTable::find(uint64_t wire_id) const {
  return const_cast<TransactionTable*>(this)->find(wire_id);
}

TransactionTable::Completion TransactionTable::complete(uint64_t wire_id) {
  Slot* entry = find(wire_id);
  if (entry == nullptr) return {};
  const uint32_t slot = static_cast<uint32_t>(wire_id) - 1;
  switch (entry->state) {
    case State::kOutstanding: {
      void* owner = entry->owner;
      free_slot(slot);
      return {Match::kCompleted, owner};
    }
    case State::kCancelled:
      free_slot(slot);
      return {Match::kDroppedCancelled, nullptr};
    case State::kFree:
      break;  // already completed: the generation was bumped, so this is unreachable
  }
  return {};
}

bool TransactionTable::cancel(TransactionId id) {
  Slot* entry = find(id.value);
  if (entry == nullptr || entry->state != State::kOutstanding) return false;
  entry->state = State::kCancelled;
  entry->owner = nullptr;
  --outstanding_;
  ++cancelled_;
  return true;
}

bool TransactionTable::release(TransactionId id) {
  Slot* entry = find(id.value);
  if (entry == nullptr || entry->state != State::kOutstanding) return false;
  free_slot(static_cast<uint32_t>(id.value) - 1);
  return true;
}

void* TransactionTable::owner(TransactionId id) const {
  const Slot* entry = find(id.value);
  return entry != nullptr && entry->state == State::kOutstanding ? entry->owner : nullptr;
}

void TransactionTable::free_slot(uint32_t slot) {
  Slot& entry = slots_[slot];
  if (entry.state == State::kOutstanding) --outstanding_;
  if (entry.state == State::kCancelled) --cancelled_;
  entry.state = State::kFree;
  entry.owner = nullptr;
  ++entry.generation;  // every later completion naming the old use of this slot is stale
  entry.next_free = first_free_;
  first_free_ = slot + 1;
}

}  // namespace vmb
