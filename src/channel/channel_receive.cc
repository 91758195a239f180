// SPDX-License-Identifier: MIT
// Channel's incoming side and dispatch context (decisions.md §5–§7): draining the incoming ring
// (each packet copied out and validated by the ring before anything else looks at it),
// matching completions to transactions, delivering data packets serially with the transaction
// quota, PASSIVE delivery, completing incoming packets, and running completion routines.
#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <utility>

#include "channel/callback_scope.h"
#include "channel/channel_internals.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/wire/packet_view.h"

namespace vmb {
namespace {

// Packets one dispatch run takes from the ring before yielding its pool thread to others. Only
// packets count: a polled channel that finds its ring empty between packets (a round trip at a
// time) keeps its run, instead of passing through the pool every 32 requests.
constexpr uint32_t kBatchBudget = 64;

}  // namespace

// Ends one drain step (see drain_incoming), in one hold of mutex_: a data packet the driver
// deferred to PASSIVE from its callback goes to the PASSIVE worker, and a suspend waiting for
// the step may go on. Runs on every exit, a throwing callback included.
class Channel::DeliveryStep {
 public:
  explicit DeliveryStep(Channel& channel) : channel_(channel) {}
  DeliveryStep(const DeliveryStep&) = delete;
  DeliveryStep& operator=(const DeliveryStep&) = delete;
  // The packet being delivered at DISPATCH: its deferral is checked at the end.
  void watch(IncomingPacket& record) { record_ = &record; }
  ~DeliveryStep() {
    const std::lock_guard lock(channel_.mutex_);
    if (record_ != nullptr && record_->deferred_to_passive_ &&
        record_->state_ == IncomingPacket::State::kDelivering) {
      record_->deferred_to_passive_ = false;
      channel_.defer_record_locked(*record_);
    }
    channel_.in_delivery_ = false;
    channel_.changed_.notify_all();
  }

 private:
  Channel& channel_;
  IncomingPacket* record_ = nullptr;
};

void Channel::dispatch() {
  // A polling synchronous request owns the drain: it reschedules this task when it lets go.
  if (!try_own_drain()) {
    drain_rerun_.store(true, std::memory_order_seq_cst);
    // A requester sleeping with the drain does this run's work when woken (it stores
    // drain_sleeper_ and then looks at drain_rerun_; we store drain_rerun_, then look at it).
    if (drain_sleeper_.load(std::memory_order_seq_cst)) wake_sleeper();
    // It may have let go before it could see drain_rerun_ (both sides store, then load).
    if (!try_own_drain()) return;
  }
  dispatch_owned(polling() ? DrainMode::kPoll : DrainMode::kEvent);
  release_drain();
}

bool Channel::try_own_drain() {
  bool expected = false;
  // Acquire: the previous owner's ring position and buffer are visible.
  return drain_owned_.compare_exchange_strong(expected, true, std::memory_order_seq_cst);
}

void Channel::release_drain() {
  drain_owned_.store(false, std::memory_order_seq_cst);
  if (take_drain_rerun()) dispatch_task_->schedule();
}

bool Channel::take_drain_rerun() {
  // Store, then load (dispatch() stores drain_rerun_, then tries to own): one of us sees the
  // other. The load first keeps the usual case (nothing asked) to no locked instruction.
  return drain_rerun_.load(std::memory_order_seq_cst) &&
         drain_rerun_.exchange(false, std::memory_order_seq_cst);
}

void Channel::dispatch_owned(DrainMode mode, OpenState* ring_only) {
  CallbackScope scope(this, CallbackScope::Kind::kDispatch);
  try {
    if (ring_only != nullptr) {
      drain_incoming(*ring_only, mode);
      return;
    }
    flush_send_queue();
    run_finished_routines();
    std::shared_ptr<OpenState> open;
    {
      const std::lock_guard lock(mutex_);
      if (delivering_locked() != nullptr) open = open_;
    }
    if (open) drain_incoming(*open, mode);
  } catch (const std::bad_alloc&) {
    fail(Status{STATUS_INSUFFICIENT_RESOURCES}, "out of memory while receiving");
  } catch (...) {
    // A C++ driver's callback threw; nothing may unwind into the pool thread.
    fail(Status{STATUS_UNSUCCESSFUL}, "a driver callback threw an exception");
  }
}

void Channel::run_finished_routines() {
  for (;;) {
    PacketObject* packet;
    Status status;
    {
      const std::lock_guard lock(mutex_);
      packet = finished_head_;
      if (packet == nullptr) return;
      finished_head_ = static_cast<PacketObject*>(packet->next);
      if (finished_head_ == nullptr) finished_tail_ = nullptr;
      packet->next = nullptr;
      packet->state_ = PacketObject::State::kIdle;
      status = Status{packet->finished_status_};
    }
    call_routine(*packet, status, {});
    const std::lock_guard lock(mutex_);
    --routines_pending_;
    changed_.notify_all();
  }
}

void Channel::call_routine(PacketObject& packet, Status status, std::span<std::byte> payload) {
  switch (packet.completion_) {
    case PacketObject::Completion::kFreeAutomatically:
      free_packet(packet);
      break;
    case PacketObject::Completion::kDriver:
      driver_->packet_completed(packet, status, payload);
      break;
    case PacketObject::Completion::kNone:
      break;
  }
}

void Channel::drain_incoming(OpenState& open, DrainMode mode) {
  uint32_t batch = 0;
  bool more = false;
  bool violation = false;
  bool poll = false;     // the ring was empty: poll it (DrainMode::kPoll) before unmasking
  bool passive = false;  // data packets go to the PASSIVE worker (read with each take)
  std::string reason;
  uint32_t budget = kBatchBudget;
  for (;;) {
    if (budget == 0) {
      more = true;
      break;
    }
    if (!open.masked) {
      open.incoming.mask_interrupts();  // rule C: no signals while we drain (or poll) anyway
      open.masked = true;
    }
    if (poll) {
      poll = false;
      bool found = false;
      const bool allowed = poll_backoff_.allowed();
      // The window starts at the first clock check, not before the first look: a peer that
      // answers at once is seen without a clock read in between.
      Deadline::Clock::time_point until{};
      for (uint32_t spins = 1; allowed; ++spins) {
        if (open.incoming.has_data()) {
          found = true;
          poll_backoff_.hit();
          poll_pacing_.found(spins);
          break;
        }
        // Other dispatch work (routines, queued sends, a stop) is waiting: let that run do it;
        // the ring stays masked and the next run drains it.
        if (dispatch_task_->rerun_pending()) break;
        // A polling synchronous request waits for the drain: let go (below, unmasked, as after
        // a window in vain, but not counted as one). The ring is empty: nothing is left behind.
        if (drain_wanted_.load(std::memory_order_relaxed)) break;
        if (spins % 64 == 0) {
          const auto now = Deadline::Clock::now();
          if (spins == 64) {
            until = now + kPollWindow;
          } else if (now >= until) {
            poll_backoff_.missed();
            break;
          }
        }
        open.incoming.prefetch_next();
        poll_pauses(poll_pacing_.pauses());
      }
      if (!found) {
        if (dispatch_task_->rerun_pending()) break;
        open.masked = false;
        if (!open.incoming.unmask_and_check()) break;  // idle: wait for a signal
      }
    }
    // Read first, without mutex_: the ring and its buffer belong to the drain's owner, and an
    // empty ring then costs no lock. Whether the packet may be taken is decided under mutex_
    // below; one that may not goes back to the ring unpublished (rewind_to).
    const uint32_t position = open.incoming.read_position();
    wire::PacketView& view = open.read_view;
    // A packet that fits goes straight into the record it will be delivered in (drain_spare_,
    // the drain owner's), anything larger into read_buffer.
    std::span<std::byte> spare;
    if (drain_spare_ != nullptr) spare = drain_spare_->bytes_;
    const ring::ReadResult result = open.incoming.read(open.read_buffer, &view, spare);
    if (result == ring::ReadResult::kEmpty) {
      // Publish read_index before the last look: a producer decides rule A against the
      // published read_index, and one that saw our old index would not signal a ring we think
      // is empty. Going idle (kEvent), the mask is cleared before that look too.
      if (mode == DrainMode::kEvent) {
        open.masked = false;
        const ring::IncomingRing::Idle idle = open.incoming.commit_and_unmask();
        if (idle.signal) signal_from_drain(open);
        if (idle.more) continue;  // arrived while we were unmasking
        break;
      }
      if (open.incoming.commit_read()) signal_from_drain(open);
      if (mode == DrainMode::kInline) break;  // still masked: the caller polls on
      poll = true;
      continue;
    }
    --budget;
    const bool is_packet = result == ring::ReadResult::kPacket;
    const bool is_completion = is_packet && view.type == wire::PacketType::kCompletion;
    // The view points into read_buffer or the spare record, both this task's.
    std::span<std::byte> payload;
    size_t payload_at = 0;  // from the packet's start
    if (is_packet) {
      const std::span<std::byte> holder =
          !spare.empty() && view.bytes.data() == spare.data() ? spare : open.read_buffer;
      const size_t packet_at = static_cast<size_t>(view.bytes.data() - holder.data());
      payload_at = static_cast<size_t>(view.payload.data() - view.bytes.data());
      payload = {holder.data() + packet_at + payload_at, view.payload.size()};
    }
    PacketObject* routine_packet = nullptr;  // a completion whose routine runs below
    IncomingPacket* record = nullptr;        // a data packet for the driver
    {
      const std::lock_guard lock(mutex_);
      // open_ is replaced under mutex_ by the close (and a later open), so a run scheduled for
      // an earlier connection stops here instead of draining its ring into the new one.
      if (delivering_locked() != &open) {
        open.incoming.rewind_to(position);
        break;
      }
      if (delivered_ >= quota_) {
        stalled_on_quota_ = true;  // only a completion restarts the queue
        open.incoming.rewind_to(position);
        break;
      }
      if (!is_packet) {
        violation = true;
        reason = "incoming ring: " + std::string(wire::to_string(open.incoming.corrupt_reason()));
        break;
      }
      count_received(view.payload.size(), is_completion);
      if (is_completion) {
        // A synchronous request's completion is finished here, under the same lock as the
        // check: a close cannot reset the transaction table in between.
        if (!take_completion_locked(payload, view.transaction_id, &routine_packet)) {
          violation = true;
          char text[96];
          std::snprintf(text, sizeof text, "completion for unknown transaction id 0x%" PRIx64,
                        view.transaction_id);
          reason = text;
          break;
        }
        if (routine_packet == nullptr) continue;
      } else if (view.type == wire::PacketType::kDataUsingTransferPages) {
        violation = true;  // KMCL never establishes transfer page sets
        reason = "transfer-page packet on a KMCL channel";
        break;
      } else if (view.type == wire::PacketType::kDataUsingGpaDirect && !is_server()) {
        violation = true;  // a server cannot describe its memory to a guest (decisions.md §2)
        reason = "external data sent by the server";
        break;
      } else {
        record = take_record_locked();
        passive = incoming_at_passive_;
      }
      // From here to the end of handling this packet a suspend must wait: otherwise a packet
      // could be delivered after Suspend ran, or a completion matched after the close reset
      // the transaction table (and be mistaken for a peer's violation).
      in_delivery_ = true;
    }
    DeliveryStep step(*this);
    if (routine_packet != nullptr) {
      call_routine(*routine_packet, Status{}, payload);
      continue;
    }
    // Read into read_buffer (too large for the spare, or no spare yet): copy it. The record
    // keeps its buffer's size, so the next packet this size is read straight into it.
    if (view.bytes.data() != record->bytes_.data()) {
      if (record->bytes_.size() < view.bytes.size()) record->bytes_.resize(view.bytes.size());
      std::memcpy(record->bytes_.data(), view.bytes.data(), view.bytes.size());
    }
    record->packet_length_ = static_cast<uint32_t>(view.bytes.size());
    record->payload_offset_ = static_cast<uint32_t>(payload_at);
    record->payload_length_ = static_cast<uint32_t>(view.payload.size());
    record->completion_requested_ = view.completion_requested();
    record->transaction_id_ = record->completion_requested_ ? view.transaction_id : 0;
    if (view.type == wire::PacketType::kDataUsingGpaDirect) {
      record->guest_ = open.connection->guest_memory();
      RangeFault fault = RangeFault::kNone;
      Result<MdlChain> chain =
          MdlChain::from_packet_ranges(record->guest_, view.gpa_ranges, false, &fault);
      if (!chain) {
        violation = true;
        reason = "external data: " + std::string(to_string(fault));
        const std::lock_guard lock(mutex_);
        --delivered_;
        update_ring_gate_locked();
        release_record_locked(*record);
        break;
      }
      record->external_ = std::move(*chain);
    }
    if (passive) {
      defer_record(*record);
    } else {
      step.watch(*record);  // the driver may defer it to PASSIVE from its callback
      CallbackScope scope(this, CallbackScope::Kind::kDispatch, record);
      driver_->process_packet(*this, *record, record->payload(), record->has_external_data());
    }
    ++batch;
  }
  if (open.incoming.commit_read()) signal_from_drain(open);
  if (violation) {
    fail(Status{STATUS_DATA_ERROR}, reason);
    return;
  }
  if (batch != 0 && !passive) driver_->processing_complete(*this, batch);
  if (more) dispatch_task_->schedule();
}

void Channel::signal_from_drain(OpenState& open) {
  rx_signals_.fetch_add(1, std::memory_order_relaxed);
  open.connection->signal_peer();
}

bool Channel::take_completion_locked(std::span<std::byte> payload, uint64_t id,
                                     PacketObject** routine) {
  *routine = nullptr;
  const TransactionTable::Completion match = transactions_.complete(id);
  if (match.match == TransactionTable::Match::kDroppedCancelled) return true;
  if (match.match != TransactionTable::Match::kCompleted) return false;
  auto* packet = static_cast<PacketObject*>(match.owner);
  switch (packet->polled_.load(std::memory_order_relaxed)) {
    case PacketObject::Polled::kMatched:
      return false;  // its requester took the completion already: this is a second one
    case PacketObject::Polled::kPolling:
      // Only the drain's owner matches, and while the packet is polled that is its requester,
      // here draining inline: its waiter is alive and finished as any other.
      packet->polled_.store(PacketObject::Polled::kNo, std::memory_order_relaxed);
      break;
    case PacketObject::Polled::kNo:
      break;
  }
  if (packet->waiter_ != nullptr) {
    finish_waiter_locked(*packet, Status{}, payload);
    return true;
  }
  packet->transaction_id_ = 0;
  packet->state_ = PacketObject::State::kIdle;
  *routine = packet;
  return true;
}

IncomingPacket* Channel::pop_record_locked() {
  IncomingPacket* record = free_records_;
  if (record != nullptr) {
    free_records_ = record->next_free_;
  } else {
    records_.push_back(std::unique_ptr<IncomingPacket>(new IncomingPacket(*this)));
    record = records_.back().get();
  }
  record->next_free_ = nullptr;
  return record;
}

IncomingPacket* Channel::take_record_locked() {
  // The spare the packet was read into (the first packet has none yet: one now), and a new
  // spare for the next packet. Popped before anything changes hands, so an allocation that
  // throws leaves every record where it was.
  if (drain_spare_ == nullptr) drain_spare_ = pop_record_locked();
  IncomingPacket* const next = pop_record_locked();
  IncomingPacket* const record = std::exchange(drain_spare_, next);
  record->state_ = IncomingPacket::State::kDelivering;
  record->deferred_to_passive_ = false;
  ++delivered_;
  update_ring_gate_locked();
  return record;
}

void Channel::release_record_locked(IncomingPacket& record) {
  record.state_ = IncomingPacket::State::kFree;
  record.external_.reset();
  record.external_read_only_.reset();
  record.guest_.reset();
  record.next = nullptr;
  record.next_free_ = free_records_;
  free_records_ = &record;
}

void Channel::defer_record(IncomingPacket& record) {
  const std::lock_guard lock(mutex_);
  defer_record_locked(record);
}

void Channel::defer_record_locked(IncomingPacket& record) {
  record.state_ = IncomingPacket::State::kDeferred;
  record.next_deferred_ = nullptr;
  (deferred_tail_ != nullptr ? deferred_tail_->next_deferred_ : deferred_head_) = &record;
  deferred_tail_ = &record;
  passive_task_->schedule();
}

void Channel::run_passive_deliveries() {
  uint32_t count = 0;
  for (;;) {
    IncomingPacket* record;
    {
      const std::lock_guard lock(mutex_);
      record = deferred_head_;
      if (record == nullptr) {
        passive_delivering_ = false;
        changed_.notify_all();
        break;
      }
      deferred_head_ = record->next_deferred_;
      if (deferred_head_ == nullptr) deferred_tail_ = nullptr;
      record->next_deferred_ = nullptr;
      record->state_ = IncomingPacket::State::kDelivering;
      record->deferred_to_passive_ = false;
      passive_delivering_ = true;
    }
    CallbackScope scope(this, CallbackScope::Kind::kPassive, record);
    driver_->process_packet(*this, *record, record->payload(), record->has_external_data());
    ++count;
  }
  if (count != 0) {
    CallbackScope scope(this, CallbackScope::Kind::kPassive);
    driver_->processing_complete(*this, count);
  }
}

void Channel::complete(IncomingPacket& record, std::span<const std::byte> payload) {
  bool restart = false;
  bool corrupt = false;
  {
    const std::lock_guard lock(mutex_);
    if (record.state_ != IncomingPacket::State::kDelivering) {
      log_message(LogLevel::kError, "VmbChannelPacketComplete on a packet not delivered");
      return;
    }
    --delivered_;
    update_ring_gate_locked();
    if (stalled_on_quota_ && delivered_ < quota_) {
      stalled_on_quota_ = false;
      restart = true;
    }
    if (!record.completion_requested_ || !open_ || !failure_.ok()) {
      release_record_locked(record);  // no completion wanted, or nobody to send it to
    } else {
      size_t length = payload.size();
      // What one packet can carry: the ring's room and the descriptor's u16 len8.
      const size_t limit = std::min<size_t>(
          open_->outgoing.max_ring_bytes() - wire::kDescriptorSize - wire::kTrailerSize,
          wire::kMaximumPacketBytes - wire::kDescriptorSize);
      if (length > limit || (payload.data() == nullptr && length != 0)) {
        log_message(LogLevel::kError,
                    "VmbChannelPacketComplete: %zu bytes cannot be sent; "
                    "completing without data",
                    length);
        length = 0;
      }
      const auto piece = payload.first(length);
      // The usual case, nothing queued before it and room in the ring: the completion goes
      // from the driver's buffer straight to the ring and is published before any
      // bookkeeping, which is what the peer waits for.
      if (send_head_ == nullptr &&
          write_completion_locked(record.transaction_id_, piece, &corrupt)) {
        commit_locked();
        release_record_locked(record);
      } else if (corrupt) {
        release_record_locked(record);  // the ring is failed (the channel fails below)
      } else {
        // Queued: keep a copy. The payload may be the packet's own buffer: move within it, or
        // copy to a new one.
        if (length > record.bytes_.size()) {
          std::vector<std::byte> copy(piece.begin(), piece.end());
          record.bytes_.swap(copy);
        } else if (length != 0) {
          std::memmove(record.bytes_.data(), piece.data(), length);
        }
        record.completion_length_ = static_cast<uint32_t>(length);
        record.state_ = IncomingPacket::State::kCompleting;
        record.external_.reset();
        record.external_read_only_.reset();
        enqueue_locked(record);
        if (send_head_ == &record) flush_locked(&corrupt);
      }
    }
    changed_.notify_all();  // delivered_ went down
  }
  if (corrupt) fail(Status{STATUS_DATA_ERROR}, "the peer corrupted the outgoing ring");
  if (restart) dispatch_task_->schedule();
}

void Channel::defer_to_passive(IncomingPacket& record) {
  if (CallbackScope::delivering(this) != &record) {
    log_message(LogLevel::kError,
                "VmbChannelPacketDeferToPassive outside its process-packet "
                "callback is ignored");
    return;
  }
  const std::lock_guard lock(mutex_);
  record.deferred_to_passive_ = true;
}

void Channel::fail_packet(IncomingPacket& record) {
  {
    const std::lock_guard lock(mutex_);
    if (record.state_ != IncomingPacket::State::kDelivering) return;
    --delivered_;
    update_ring_gate_locked();
    release_record_locked(record);
    changed_.notify_all();
  }
  fail(Status{STATUS_DATA_ERROR}, "the driver failed an incoming packet (VmbChannelPacketFail)");
}

Result<PMDL> Channel::external_data(IncomingPacket& record, bool read_only) {
  const std::lock_guard lock(mutex_);
  if (record.state_ != IncomingPacket::State::kDelivering || !record.has_external_data()) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  if (!read_only) return record.external_.first();
  if (record.external_read_only_.first() == nullptr) {
    wire::PacketView view;
    const auto packet = std::span<const std::byte>(record.bytes_).first(record.packet_length_);
    if (wire::parse_packet(packet, &view) != wire::CorruptReason::kNone) {
      return Status{STATUS_INVALID_PARAMETER};  // cannot happen: the copy parsed on receipt
    }
    Result<MdlChain> chain = MdlChain::from_packet_ranges(record.guest_, view.gpa_ranges, true);
    if (!chain) return chain.status();
    record.external_read_only_ = std::move(*chain);
  }
  return record.external_read_only_.first();
}

}  // namespace vmb
