// SPDX-License-Identifier: MIT
// VmbChannelSendSynchronousRequest (decisions.md §4): an internal packet object, sent with the
// caller's flags, and a bounded wait for its outcome. A zero timeout never queues; a passed
// deadline removes a queued packet or abandons one in the ring (its late completion is then
// dropped by the transaction table).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "channel/callback_scope.h"
#include "channel/channel_internals.h"
#include "vmbkit/channel/channel.h"

namespace vmb {
namespace {

// Waits are cut into slices so a far deadline never overflows the clock arithmetic of the
// condition variable; each wake re-checks the real deadline.
constexpr auto kWaitSlice = std::chrono::hours(1);

}  // namespace

SyncRequestResult Channel::send_synchronous(std::span<const std::byte> inband, const MDL* external,
                                            uint32_t flags,
                                            const std::optional<std::span<std::byte>>& completion,
                                            const Deadline& deadline) {
  if ((flags & ~kSendDefinedFlags) != 0) return {Status{STATUS_INVALID_PARAMETER}};
  const bool wait_for_completion = (flags & kSendWaitForCompletion) != 0;
  // A host must never block on a guest: only the non-blocking try-send (decisions.md §4).
  if (is_server() && (wait_for_completion || !deadline.is_immediate())) {
    return {Status{STATUS_INVALID_PARAMETER}};
  }
  if (completion.has_value() && completion->size() % 8 != 0) {
    return {Status{STATUS_INVALID_PARAMETER}};
  }
  if ((wait_for_completion || !deadline.is_immediate()) && CallbackScope::blocking_forbidden()) {
    return {Status{STATUS_INVALID_DEVICE_STATE}};
  }
  ExternalData data;
  if (external != nullptr) {
    data.kind = ExternalData::Kind::kMdlChain;
    data.mdl = external;
  }
  SyncRequestWaiter waiter(completion);
  SyncRequestResult result;
  bool corrupt = false;
  {
    std::unique_lock lock(mutex_);
    // The internal packet object comes from the pool in the same hold of mutex_ as the send,
    // and goes back in the hold that finishes the request.
    PacketObject* const packet = allocate_packet_locked();
    if (packet == nullptr) return {Status{STATUS_INSUFFICIENT_RESOURCES}};
    Status status = check_send(*packet, inband, data, flags);
    if (status.ok() && (!failure_.ok() || connection_ == Connection::kDisabled)) {
      status = Status{STATUS_DEVICE_REMOVED};
    }
    if (status.ok()) status = prepare_external(*packet, data, flags);
    if (status.ok()) {
      if (!inband.empty()) std::memcpy(packet->inband(), inband.data(), inband.size());
      packet->inband_length_ = static_cast<uint32_t>(inband.size());
      packet->wire_flags_ = wait_for_completion ? wire::kFlagCompletionRequested : 0;
      packet->waiter_ = &waiter;
      // Zero timeout: never wait for ring space (STATUS_BUFFER_OVERFLOW, nothing queued).
      status = submit_locked(*packet, !deadline.is_immediate(), &corrupt);
    }
    if (!status.ok()) {
      packet->waiter_ = nullptr;
      packet->state_ = PacketObject::State::kIdle;
      free_packet_locked(*packet);
      result.status = status;
    } else {
      // From here the packet is the finisher's: whoever finishes the waiter (the completion,
      // a failure, the cancel below) returns it to the pool in the same hold of mutex_
      // (finish_waiter_locked). Once done() is true this call no longer touches it, so a
      // request that saw its completion while polling returns without the lock. Polled by
      // this thread (below), the packet is its own until it stops polling, and one it
      // finished itself goes back at the next allocation (release_polled_locked).
      bool locked = true;
      // Poll mode: wait on the incoming ring itself for a while (not from inside one of this
      // channel's callbacks: the drain would nest in a delivery of the same channel).
      if (wait_for_completion && polling() && !waiter.done() && !CallbackScope::inside(this) &&
          poll_backoff_.allowed()) {
        // The rings to poll, taken in this hold; not delivering (paused, closing): none.
        OpenState* const ring = delivering_locked();
        // Mask first, as close behind the send as can be: a completion the peer writes while
        // the ring is still unmasked is signalled, and the signal schedules the dispatch task,
        // which then drains (and, in poll mode, polls) beside this thread.
        bool owned = false;
        if (ring != nullptr && try_own_drain()) {
          owned = true;
          if (!ring->masked) {
            ring->incoming.mask_interrupts();  // rule C: we are polling, the peer need not signal
            ring->masked = true;
          }
        }
        std::shared_ptr<OpenState> open;
        if (ring != nullptr) open = open_;
        auto until = Deadline::Clock::now() + kPollWindow;
        if (!deadline.is_infinite() && !deadline.is_immediate()) {
          until = std::min(until, deadline.time_point());
        }
        // Read under mutex_: once unlocked the packet is the finisher's.
        const uint64_t id =
            packet->state_ == PacketObject::State::kInRing ? packet->transaction_id_ : 0;
        // In the ring and the drain ours: nobody else can read the completion, so this thread
        // matches it without mutex_ and a close or failure meanwhile only asks it to stop
        // (PacketObject::Polled).
        PacketObject* const polled = owned && id != 0 ? packet : nullptr;
        if (polled != nullptr) {
          polled->polled_.store(PacketObject::Polled::kPolling, std::memory_order_relaxed);
        }
        lock.unlock();
        locked = false;
        if (open) poll_for_completion(waiter, until, *open, polled, id, owned);
      }
      // Then (event mode at once) sleep until the peer signals and drain on this thread.
      if (wait_for_completion && !waiter.done() && !CallbackScope::inside(this)) {
        if (locked) lock.unlock();
        locked = false;
        sleep_draining(waiter, deadline);
      }
      if (!waiter.done()) {
        if (!locked) lock.lock();
        while (!waiter.done()) {
          // Zero timeout with WAIT_FOR_COMPLETION: zero governs queueing only; the completion
          // is awaited without limit (decisions.md §4).
          if (deadline.is_infinite() || deadline.is_immediate()) {
            changed_.wait_for(lock, kWaitSlice);
            continue;
          }
          const auto now = Deadline::Clock::now();
          if (deadline.expired(now)) {
            cancel_locked(*packet);
            finish_waiter_locked(*packet, Status{STATUS_CANCELLED}, {});
            break;
          }
          changed_.wait_until(lock, std::min(deadline.time_point(), now + kWaitSlice));
        }
      }
      // done() was seen with acquire (or under mutex_): the outcome is complete.
      result.status = waiter.status();
      result.completion_bytes = waiter.copied();
    }
  }
  if (corrupt) fail(Status{STATUS_DATA_ERROR}, "the peer corrupted the outgoing ring");
  return result;
}

void Channel::poll_for_completion(SyncRequestWaiter& waiter, Deadline::Clock::time_point until,
                                  OpenState& open, PacketObject* polled, uint64_t id, bool owned) {
  bool wanted = false;  // this request raised drain_wanted_
  uint32_t spins = 1;   // looks at the ring (or at the drain's owner), the first is 1
  for (; !waiter.done(); ++spins) {
    if (spins % 64 == 0 && Deadline::Clock::now() >= until) {
      poll_backoff_.missed();
      break;
    }
    // A close or failure retired the request (finish_packet_locked): stop_polling() below.
    if (polled != nullptr && polled->polled_abort_.load(std::memory_order_relaxed)) break;
    if (!owned) {
      // The dispatch task has the drain: it finishes the waiter; watch for that.
      if (!try_own_drain()) {
        // Ask it to let go when its ring is empty: polling beside us, it would make three
        // spinning threads (with the peer's) where two CPUs may be all there is.
        if (!drain_wanted_.load(std::memory_order_relaxed)) {
          drain_wanted_.store(true, std::memory_order_relaxed);
        }
        wanted = true;
        poll_pause(spins);
        continue;
      }
      owned = true;
      if (wanted) {
        drain_wanted_.store(false, std::memory_order_relaxed);
        wanted = false;
      }
      if (!open.masked) {
        open.incoming.mask_interrupts();  // rule C: we are polling, the peer need not signal
        open.masked = true;
      }
      continue;
    }
    // The task was scheduled meanwhile (routines, queued sends, a signal): do its work here.
    if (drain_rerun_.load(std::memory_order_relaxed) &&
        drain_rerun_.exchange(false, std::memory_order_acq_rel)) {
      dispatch_owned(DrainMode::kInline);
      continue;
    }
    // Otherwise only the ring has news: work that needs more (routines, queued sends) always
    // schedules the task, which sets drain_rerun_.
    if (open.incoming.has_data()) {
      if (polled == nullptr || !take_polled_completion(open, waiter, *polled, id)) {
        dispatch_owned(DrainMode::kInline, &open);
      }
      continue;
    }
    open.incoming.prefetch_next();
    poll_pauses(poll_pacing_.pauses());
  }
  if (waiter.done()) {
    poll_backoff_.hit();
    poll_pacing_.found(spins - 1);  // the look that saw it was the one before the last ++spins
  } else if (polled != nullptr) {
    stop_polling(*polled);  // before the drain is let go: the general drain's again
  }
  if (wanted) drain_wanted_.store(false, std::memory_order_relaxed);
  if (!owned) return;
  // Leave the ring as an idle channel has it: what the fast match read published (rule B) and
  // unmasked, so the peer signals the next packet (rule A), both before the last look, as a
  // producer decides rule A against the published read_index; and drained by the task if a
  // packet slipped in. Masked (the usual case), the drain is let go in the same barrier, one
  // locked instruction where release_drain() after the unmask would be a second.
  if (open.masked) {
    open.masked = false;
    const ring::IncomingRing::Idle idle = open.incoming.commit_unmask_and_release(drain_owned_);
    // The drain is no longer ours: only `open` (kept by the caller) and atomics from here.
    if (idle.signal) signal_from_drain(open);
    if (take_drain_rerun() || idle.more) dispatch_task_->schedule();
    return;
  }
  if (open.incoming.commit_read()) signal_from_drain(open);
  release_drain();
}

bool Channel::take_polled_completion(OpenState& open, SyncRequestWaiter& waiter,
                                     PacketObject& packet, uint64_t id) {
  const uint32_t position = open.incoming.read_position();
  wire::PacketView& view = open.read_view;
  if (open.incoming.read(open.read_buffer, &view) != ring::ReadResult::kPacket) {
    return false;  // a corrupt ring: the general drain reads it again and fails the channel
  }
  // The general drain's gates (paused, failed, quota full) leave the packet in the ring. The
  // gate may close just after this look: then the completion was taken as if just before.
  if (view.type != wire::PacketType::kCompletion || view.transaction_id != id ||
      !ring_gate_.load(std::memory_order_relaxed)) {
    open.incoming.rewind_to(position);
    return false;
  }
  count_received(view.payload.size(), true);
  // The view points into read_buffer, which the drain's owner owns. A close or failure since
  // the send only set polled_abort_: the completion came first and the request succeeds.
  waiter.finish(Status{}, view.payload);
  // Seen by whoever owns the drain next (through its release), so a second completion for
  // `id` fails the channel (take_completion_locked) instead of finishing a gone waiter.
  packet.polled_.store(PacketObject::Polled::kMatched, std::memory_order_relaxed);
  // Only the drain's owner sets polled_matched_, and only from null; holders of mutex_ clear
  // it. Still full (two polled requests in a row with no allocation between): both now.
  if (polled_matched_.load(std::memory_order_relaxed) == nullptr) {
    polled_matched_.store(&packet, std::memory_order_release);
  } else {
    const std::lock_guard lock(mutex_);
    release_polled_locked();
    release_polled_packet_locked(packet);
  }
  return true;
}

void Channel::stop_polling(PacketObject& packet) {
  const std::lock_guard lock(mutex_);
  packet.polled_.store(PacketObject::Polled::kNo, std::memory_order_relaxed);
  if (!packet.polled_abort_.exchange(false, std::memory_order_relaxed)) return;
  // Retired while polled: its id went with the table's reset; finish as the retire would have.
  finish_waiter_locked(packet, Status{packet.polled_abort_status_}, {});
}

void Channel::release_polled_locked() {
  PacketObject* const packet = polled_matched_.load(std::memory_order_acquire);
  if (packet == nullptr) return;
  polled_matched_.store(nullptr, std::memory_order_relaxed);
  release_polled_packet_locked(*packet);
}

void Channel::release_polled_packet_locked(PacketObject& packet) {
  // Still outstanding unless a close or failure reset the table since (then the id is stale,
  // or a second completion took it): either way the slot is free after this.
  static_cast<void>(transactions_.complete(packet.transaction_id_));
  packet.polled_.store(PacketObject::Polled::kNo, std::memory_order_relaxed);
  packet.polled_abort_.store(false, std::memory_order_relaxed);
  packet.waiter_ = nullptr;
  packet.transaction_id_ = 0;
  packet.state_ = PacketObject::State::kIdle;
  free_packet_locked(packet);
}

void Channel::sleep_draining(const SyncRequestWaiter& waiter, const Deadline& deadline) {
  if (!try_own_drain()) return;  // the dispatch task drains; the event wait follows
  const bool bounded = !deadline.is_infinite() && !deadline.is_immediate();
  std::shared_ptr<OpenState> open;
  {
    const std::lock_guard lock(mutex_);
    if (delivering_locked() != nullptr) open = open_;
  }
  bool more = false;
  if (open) {
    for (;;) {
      // Whatever the dispatch task was asked to do meanwhile is done by this run.
      drain_rerun_.store(false, std::memory_order_seq_cst);
      dispatch_owned(DrainMode::kInline);
      if (waiter.done()) break;
      bool stalled;
      {
        const std::lock_guard lock(mutex_);
        // Closed, replaced, paused or failed: not ours to drain; the event wait takes over.
        if (delivering_locked() != open.get()) break;
        stalled = stalled_on_quota_;  // the driver's completions restart it (a schedule)
      }
      // Rule A from the consumer's side: say we sleep, unmask, then look once more. A signal
      // sent after our look finds drain_sleeper_ set and wakes us; one sent before it, or a
      // packet written before it, is seen by the look.
      drain_sleeper_.store(true, std::memory_order_seq_cst);
      bool work;
      if (open->masked) {
        open->masked = false;
        work = open->incoming.unmask_and_check();
      } else {
        work = open->incoming.has_data();
      }
      work = (work && !stalled) || drain_rerun_.load(std::memory_order_seq_cst);
      bool expired = false;
      bool woken = false;
      if (!work) {
        std::unique_lock lock(sleep_mutex_);
        const auto now = Deadline::Clock::now();
        // Unbounded (no deadline, or a zero timeout with WAIT_FOR_COMPLETION): slices.
        const auto until = bounded ? deadline.time_point() : now + std::chrono::seconds(1);
        sleep_changed_.wait_until(lock, until, [&] { return sleep_wake_ || waiter.done(); });
        woken = std::exchange(sleep_wake_, false);
        expired = bounded && !waiter.done() && deadline.expired(Deadline::Clock::now());
      }
      drain_sleeper_.store(false, std::memory_order_seq_cst);
      if (expired) {
        // The wake-up we took (a signal, the task's work) is not done: hand it to the task.
        more = woken;
        break;
      }
    }
    if (open->masked) {
      open->masked = false;
      more = open->incoming.unmask_and_check() || more;
    } else {
      more = open->incoming.has_data() || more;  // unmasked: a packet the peer did not signal
    }
  }
  {
    // A wake-up that came as we stopped sleeping: its work is the dispatch task's now.
    const std::lock_guard lock(sleep_mutex_);
    more = std::exchange(sleep_wake_, false) || more;
  }
  release_drain();
  if (more) dispatch_task_->schedule();
}

void Channel::cancel_locked(PacketObject& packet) {
  switch (packet.state_) {
    case PacketObject::State::kQueued:
      unlink_locked(packet);
      break;
    case PacketObject::State::kInRing:
      // The peer may still complete it; the table keeps the id so that completion is
      // recognised and dropped (decisions.md §6).
      transactions_.cancel(TransactionId{packet.transaction_id_});
      break;
    case PacketObject::State::kIdle:
    case PacketObject::State::kFinished:
      break;
  }
  packet.transaction_id_ = 0;
  packet.state_ = PacketObject::State::kIdle;
}

}  // namespace vmb
