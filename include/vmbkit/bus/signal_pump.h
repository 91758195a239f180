// SPDX-License-Identifier: MIT
// SignalPump: one thread that waits on the eventfds through which the peer process signals
// this side's channels (decisions.md §8: eventfds in place of VMBus interrupts) and runs a
// short callback for each signal — in practice Channel::deliver_signal, which only schedules
// the channel's dispatch task. Not here: deciding when to signal (the ring's rules A–C), or
// signalling the peer (a plain eventfd write by the connection).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"

namespace vmb::bus {

class SignalPump {
 public:
  using Callback = std::function<void()>;

  // Starts the thread. STATUS_INSUFFICIENT_RESOURCES if epoll or the thread cannot be had.
  static Result<std::unique_ptr<SignalPump>> create();
  // Stops and joins the thread; every watch ends.
  ~SignalPump();
  SignalPump(const SignalPump&) = delete;
  SignalPump& operator=(const SignalPump&) = delete;

  // Runs `callback` on the pump's thread whenever `eventfd` (borrowed; it must stay open until
  // unwatch) becomes readable, after draining its counter. The callback must be short and must
  // not call watch/unwatch. Returns a token for unwatch, or 0 on failure.
  uint64_t watch(int eventfd, Callback callback);
  // Ends a watch. When it returns, the callback is not running and will not run again. Must
  // not be called from a callback.
  void unwatch(uint64_t token);

 private:
  SignalPump() = default;
  void run();

  struct Watch {
    int fd = -1;
    Callback callback;
  };
  UniqueFd epoll_;
  UniqueFd stop_;
  std::thread thread_;
  std::mutex mutex_;  // held while a callback runs
  std::map<uint64_t, Watch> watches_;
  uint64_t next_token_ = 1;
};

}  // namespace vmb::bus
