// SPDX-License-Identifier: MIT
// Channel's connection and run state machine (kmcl-api.md §7.1): Enable/Disable/Start/Pause,
// the control events the bus and the channel itself post, and the open, start, suspend and
// close sequences with their callbacks. Every state callback runs on the channel's control
// task (the passive pool), one event at a time.
#include <cassert>

#include "channel/callback_scope.h"
#include "channel/channel_internals.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"

namespace vmb {

Channel::OpenState::OpenState(std::unique_ptr<ChannelConnection> link)
    : connection(std::move(link)),
      outgoing(connection->outgoing_ring()),
      incoming(connection->incoming_ring()) {
  // The largest packet the incoming ring can hold: its data area minus the trailer and the 8
  // bytes that always stay free. A descriptor claiming more is corrupt, never truncated.
  const uint32_t data_size = incoming.data_size();
  const uint32_t largest = data_size > 16 ? data_size - 16 : 0;
  read_buffer.resize(std::min<uint32_t>(largest, wire::kMaximumPacketBytes));
}

void Channel::ControlTask::run() {
  for (;;) {
    Event event;
    {
      const std::lock_guard lock(channel_.mutex_);
      if (channel_.events_.empty()) return;
      event = std::move(channel_.events_.front());
      channel_.events_.pop_front();
    }
    try {
      channel_.handle(event);
    } catch (const std::bad_alloc&) {
      if (event.reply) event.reply(Status{STATUS_INSUFFICIENT_RESOURCES});
      channel_.fail(Status{STATUS_INSUFFICIENT_RESOURCES}, "out of memory in a state change");
    } catch (...) {
      channel_.fail(Status{STATUS_UNSUCCESSFUL}, "a state callback threw an exception");
    }
    const std::lock_guard lock(channel_.mutex_);
    ++channel_.events_done_;
    channel_.changed_.notify_all();
  }
}

void Channel::post(Event event, bool wait) {
  uint64_t ticket;
  {
    const std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    ticket = ++events_posted_;
  }
  control_task_->schedule();
  if (!wait) return;
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return events_done_ >= ticket; });
}

Status Channel::enable() {
  {
    const std::lock_guard lock(mutex_);
    if (connection_ != Connection::kDisabled || !config_.interface_type.has_value()) {
      return Status{STATUS_INVALID_DEVICE_STATE};
    }
    failure_ = Status{};
    failure_reason_.clear();
    update_ring_gate_locked();
    connection_ = Connection::kEnabled;
  }
  const Status status = is_server() ? bus_->offer(*this) : bus_->connect(*this);
  if (!status.ok()) {
    const std::lock_guard lock(mutex_);
    connection_ = Connection::kDisabled;
  }
  return status;
}

void Channel::disable() {
  if (CallbackScope::inside(this) || CallbackScope::blocking_forbidden()) {
    log_message(LogLevel::kError, "VmbChannelDisable from a callback that must not block it");
    return;
  }
  post(Event{EventKind::kDisable, nullptr, nullptr, Status{}}, true);
}

void Channel::start() {
  if (CallbackScope::inside(this, CallbackScope::Kind::kState)) {
    log_message(LogLevel::kError, "VmbChannelStart from a state-change callback is ignored");
    return;
  }
  bool post_start;
  {
    const std::lock_guard lock(mutex_);
    run_requested_ = true;
    post_start = connection_ == Connection::kOpen && !started_;
  }
  if (post_start) post(Event{EventKind::kStart, nullptr, nullptr, Status{}}, false);
}

void Channel::pause() {
  if (CallbackScope::inside(this, CallbackScope::Kind::kState) ||
      CallbackScope::blocking_forbidden()) {
    log_message(LogLevel::kError, "VmbChannelPause from a callback that must not block it");
    return;
  }
  {
    const std::lock_guard lock(mutex_);
    run_requested_ = false;
    if (connection_ == Connection::kDisabled) return;  // the next Enable comes up paused
  }
  post(Event{EventKind::kPause, nullptr, nullptr, Status{}}, true);
}

void Channel::deliver_open_request(std::unique_ptr<ChannelConnection> connection,
                                   std::function<void(Status)> reply) {
  post(Event{EventKind::kOpenRequest, std::move(connection), std::move(reply), Status{}}, false);
}

void Channel::deliver_open_result(Status status, std::unique_ptr<ChannelConnection> connection) {
  post(Event{EventKind::kOpenResult, std::move(connection), nullptr, status}, false);
}

void Channel::deliver_peer_closed() {
  post(Event{EventKind::kPeerClosed, nullptr, nullptr, Status{}}, false);
}

void Channel::deliver_bus_lost() {
  // A peer close whose status says the bus is gone (see the kPeerClosed case of handle()).
  post(Event{EventKind::kPeerClosed, nullptr, nullptr, Status{STATUS_DEVICE_REMOVED}}, false);
}

void Channel::deliver_signal() {
  signals_received_.fetch_add(1, std::memory_order_relaxed);
  // A synchronous requester that owns the drain and sleeps for this signal drains itself:
  // waking it is the one wake-up the completion costs. (seq_cst: pairs with its store of
  // drain_sleeper_ before its last look at the ring; see sleep_draining.)
  if (drain_sleeper_.load(std::memory_order_seq_cst)) {
    wake_sleeper();
    return;
  }
  dispatch_task_->schedule();
}

void Channel::wake_sleeper() {
  {
    const std::lock_guard lock(sleep_mutex_);
    sleep_wake_ = true;
  }
  sleep_changed_.notify_all();
}

void Channel::handle(Event& event) {
  Connection state;
  bool started;
  {
    const std::lock_guard lock(mutex_);
    state = connection_;
    started = started_;
  }
  switch (event.kind) {
    case EventKind::kOpenRequest:
      handle_open_request(event);
      break;
    case EventKind::kOpenResult:
      handle_open_result(event);
      break;
    case EventKind::kStart: {
      bool go;
      {
        const std::lock_guard lock(mutex_);
        go = connection_ == Connection::kOpen && run_requested_ && !started_ && failure_.ok();
      }
      if (go) run_start_sequence();
      break;
    }
    case EventKind::kPause:
      if (started) run_suspend_sequence();
      break;
    case EventKind::kPeerClosed:
      // A server goes back to waiting for a guest; a client is Disabled (KMCL: it must Enable
      // again to reopen).
      if (state == Connection::kOpen) {
        run_close_sequence();
        if (!is_server()) bus_->disconnect(*this);
      } else if (!event.status.ok() && !is_server() && state == Connection::kEnabled) {
        // deliver_bus_lost: a client still waiting or opening will never open on this bus.
        bus_->disconnect(*this);
        {
          const std::lock_guard lock(mutex_);
          connection_ = Connection::kDisabled;
          retire_all_sends(Status{STATUS_DEVICE_REMOVED});
        }
        dispatch_task_->schedule();  // runs the retired packets' completion routines
      }
      break;
    case EventKind::kFailed:
      if (state == Connection::kOpen) run_close_sequence();
      if (!is_server() && state != Connection::kDisabled) {
        bus_->disconnect(*this);
        const std::lock_guard lock(mutex_);
        connection_ = Connection::kDisabled;
      }
      break;
    case EventKind::kDisable:
      if (state == Connection::kOpen) run_close_sequence();
      if (state != Connection::kDisabled) {
        if (is_server()) {
          bus_->rescind(*this);
        } else {
          bus_->disconnect(*this);
        }
      }
      {
        std::unique_lock lock(mutex_);
        connection_ = Connection::kDisabled;
        retire_all_sends(Status{STATUS_DEVICE_REMOVED});
        lock.unlock();
        dispatch_task_->schedule();
        lock.lock();
        // Disable returns only after every retired packet's completion routine has run.
        changed_.wait(lock, [&] { return routines_pending_ == 0; });
      }
      break;
  }
}

void Channel::handle_open_request(Event& event) {
  bool acceptable;
  {
    const std::lock_guard lock(mutex_);
    acceptable = connection_ == Connection::kEnabled && failure_.ok() && open_ == nullptr;
  }
  if (!acceptable) {
    event.reply(Status{STATUS_INVALID_DEVICE_STATE});
    return;
  }
  auto open = std::make_shared<OpenState>(std::move(event.connection));
  if (open->outgoing.corrupt() || open->incoming.corrupt()) {
    event.reply(Status{STATUS_DATA_ERROR});
    return;
  }
  Status status;
  {
    CallbackScope scope(this, CallbackScope::Kind::kState);
    status = driver_->opened(*this);
  }
  if (!status.ok()) {
    event.reply(status);  // rolled back: no traffic, the offer stays
    return;
  }
  bool run;
  {
    const std::lock_guard lock(mutex_);
    open_ = std::move(open);
    connection_ = Connection::kOpen;
    run = run_requested_;
  }
  event.reply(Status{});
  dispatch_task_->schedule();  // writes what was queued before the open
  if (run) run_start_sequence();
}

void Channel::handle_open_result(Event& event) {
  if (!event.status.ok()) {
    CallbackScope scope(this, CallbackScope::Kind::kState);
    driver_->pnp_failure(*this, event.status);
    return;
  }
  bool acceptable;
  {
    const std::lock_guard lock(mutex_);
    acceptable = connection_ == Connection::kEnabled && failure_.ok() && open_ == nullptr;
  }
  std::shared_ptr<OpenState> open;
  if (acceptable) {
    open = std::make_shared<OpenState>(std::move(event.connection));
    acceptable = !open->outgoing.corrupt() && !open->incoming.corrupt();
  }
  Status status{STATUS_INVALID_DEVICE_STATE};
  if (acceptable) {
    CallbackScope scope(this, CallbackScope::Kind::kState);
    status = driver_->opened(*this);
  }
  if (!status.ok()) {
    open.reset();
    event.connection.reset();
    bus_->close_connection(*this, nullptr);  // the server sees the guest close
    return;
  }
  bool run;
  {
    const std::lock_guard lock(mutex_);
    open_instance_ = open->connection->offer_instance();
    open_ = std::move(open);
    connection_ = Connection::kOpen;
    run = run_requested_;
  }
  dispatch_task_->schedule();
  if (run) run_start_sequence();
}

void Channel::run_start_sequence() {
  {
    CallbackScope scope(this, CallbackScope::Kind::kState);
    driver_->started(*this);
  }
  {
    const std::lock_guard lock(mutex_);
    if (connection_ != Connection::kOpen || !failure_.ok()) return;
    started_ = true;
    incoming_enabled_ = true;
    update_ring_gate_locked();
  }
  dispatch_task_->schedule();  // the incoming queue runs from here on
  CallbackScope scope(this, CallbackScope::Kind::kState);
  driver_->post_started(*this);
}

void Channel::run_suspend_sequence() {
  {
    // No new deliveries; one in progress finishes, and packets already taken from the ring
    // for the passive worker are still delivered (the driver must see what it must complete).
    std::unique_lock lock(mutex_);
    incoming_enabled_ = false;
    update_ring_gate_locked();
    changed_.wait(
        lock, [&] { return !in_delivery_ && !passive_delivering_ && deferred_head_ == nullptr; });
  }
  {
    CallbackScope scope(this, CallbackScope::Kind::kState);
    driver_->suspend(*this);
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return delivered_ == 0; });
  started_ = false;
}

void Channel::run_close_sequence() {
  bool started;
  {
    const std::lock_guard lock(mutex_);
    started = started_;
  }
  if (started) run_suspend_sequence();
  {
    CallbackScope scope(this, CallbackScope::Kind::kState);
    driver_->closed(*this);
  }
  std::shared_ptr<OpenState> open;
  {
    const std::lock_guard lock(mutex_);
    open = std::move(open_);
    started_ = false;
    incoming_enabled_ = false;
    update_ring_gate_locked();
    retire_all_sends(Status{STATUS_DEVICE_REMOVED});
    // A server stays offered (a guest may open it again); a client is Disabled.
    connection_ = is_server() ? Connection::kEnabled : Connection::kDisabled;
  }
  bus_->close_connection(*this, open ? open->connection.get() : nullptr);
  dispatch_task_->schedule();  // runs the retired packets' completion routines
}

}  // namespace vmb
