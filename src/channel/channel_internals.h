// SPDX-License-Identifier: MIT
// The private pieces of Channel shared by its source files: the rings of an open connection,
// the control events, the waiter of a synchronous request and the three serial tasks.
// Private to the channel layer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "vmbkit/channel/channel.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"

namespace vmb {

// One step of a busy-poll loop (`spins`: steps so far). No yield: under CFS a spinner that
// yields waits behind every CPU-bound thread (measured: 3x slower round trips when loaded); the
// poll window and the back-off (PollBackoff) bound the spinning instead.
inline void poll_pause(uint32_t /*spins*/) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// The pauses between two looks of a poll (PollPacing).
inline void poll_pauses(uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) poll_pause(i);
}

// The rings of the current connection. Shared: the dispatch task keeps a reference while it
// reads, so a close never frees rings under it.
struct alignas(kCacheLine) Channel::OpenState {
  explicit OpenState(std::unique_ptr<ChannelConnection> link);
  std::unique_ptr<ChannelConnection> connection;
  ring::OutgoingRing outgoing;         // guarded by Channel::mutex_
  ring::IncomingRing incoming;         // dispatch task only
  std::vector<std::byte> read_buffer;  // dispatch task only; the largest packet the ring holds
  // Dispatch task only: the last packet read, pointing into read_buffer. Here rather than on
  // the reader's stack: every read that returns a packet fills all of it, and a fresh one is
  // zeroed first (88 bytes, a `rep stos` under GCC) on the path from the peer's packet to the
  // answer.
  wire::PacketView read_view;
  bool masked = false;  // dispatch task only: interrupt_mask set by us (rule C)
};

struct Channel::Event {
  EventKind kind;
  std::unique_ptr<ChannelConnection> connection;
  std::function<void(Status)> reply;
  Status status;
};

// A caller blocked in send_synchronous. Guarded by Channel::mutex_; done() may also be read
// without it (a polling caller), and then orders the outcome before the read.
class SyncRequestWaiter {
 public:
  // `completion` is the requester's (send_synchronous's argument), which outlives the waiter.
  explicit SyncRequestWaiter(const std::optional<std::span<std::byte>>& completion)
      : completion_(completion) {}
  // Records the outcome; copies as much of the payload as fits.
  void finish(Status status, std::span<const std::byte> payload);
  [[nodiscard]] bool done() const { return done_.load(std::memory_order_acquire); }
  [[nodiscard]] Status status() const { return status_; }
  [[nodiscard]] uint32_t copied() const { return copied_; }

 private:
  const std::optional<std::span<std::byte>>& completion_;
  Status status_;
  uint32_t copied_ = 0;
  std::atomic<bool> done_{false};
};

class Channel::DispatchTask final : public SerialTask {
 public:
  DispatchTask(WorkerPool& pool, Channel& channel) : SerialTask(pool), channel_(channel) {}
  ~DispatchTask() override { close(); }

 protected:
  void run() override { channel_.dispatch(); }

 private:
  Channel& channel_;
};

class Channel::ControlTask final : public SerialTask {
 public:
  ControlTask(WorkerPool& pool, Channel& channel) : SerialTask(pool), channel_(channel) {}
  ~ControlTask() override { close(); }

 protected:
  void run() override;

 private:
  Channel& channel_;
};

class Channel::PassiveTask final : public SerialTask {
 public:
  PassiveTask(WorkerPool& pool, Channel& channel) : SerialTask(pool), channel_(channel) {}
  ~PassiveTask() override { close(); }

 protected:
  void run() override { channel_.run_passive_deliveries(); }

 private:
  Channel& channel_;
};

}  // namespace vmb
