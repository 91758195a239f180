// SPDX-License-Identifier: MIT
// SignalPump: epoll over the watched eventfds plus a stop eventfd; each readable eventfd is
// drained and its callback run under the pump's mutex, which is what lets unwatch() promise
// that no callback runs after it returns.
#include "vmbkit/bus/signal_pump.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "vmbkit/channel/log_sink.h"

namespace vmb::bus {
namespace {

constexpr uint64_t kStopToken = 0;

}  // namespace

Result<std::unique_ptr<SignalPump>> SignalPump::create() {
  std::unique_ptr<SignalPump> pump(new SignalPump());
  pump->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  pump->stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!pump->epoll_ || !pump->stop_) return Status{STATUS_INSUFFICIENT_RESOURCES};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kStopToken;
  if (::epoll_ctl(pump->epoll_.get(), EPOLL_CTL_ADD, pump->stop_.get(), &event) != 0) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  SignalPump* raw = pump.get();
  pump->thread_ = std::thread([raw] { raw->run(); });
  return pump;
}

SignalPump::~SignalPump() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
}

uint64_t SignalPump::watch(int eventfd, Callback callback) {
  const std::lock_guard lock(mutex_);
  const uint64_t token = next_token_++;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = token;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, eventfd, &event) != 0) return 0;
  watches_[token] = Watch{eventfd, std::move(callback)};
  return token;
}

void SignalPump::unwatch(uint64_t token) {
  const std::lock_guard lock(mutex_);
  const auto found = watches_.find(token);
  if (found == watches_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, found->second.fd, nullptr);
  watches_.erase(found);
}

void SignalPump::run() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    const int ready = ::epoll_wait(epoll_.get(), events.data(), events.size(), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      log_message(LogLevel::kError, "bus: signal pump: epoll_wait failed (errno %d)", errno);
      return;
    }
    for (int i = 0; i < ready; ++i) {
      const uint64_t token = events[static_cast<size_t>(i)].data.u64;
      if (token == kStopToken) return;
      // The lock makes unwatch() wait for a callback in progress. An event for a token
      // unwatched since epoll_wait returned finds nothing and is skipped.
      const std::lock_guard lock(mutex_);
      const auto found = watches_.find(token);
      if (found == watches_.end()) continue;
      uint64_t count = 0;
      if (::read(found->second.fd, &count, sizeof count) != sizeof count) continue;  // spurious
      found->second.callback();
    }
  }
}

}  // namespace vmb::bus
