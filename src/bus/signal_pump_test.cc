// SPDX-License-Identifier: MIT
// SignalPump unit tests: a signal runs its watch's callback, several signals before the pump
// wakes coalesce into at least one call, an unwatched eventfd is ignored, and the pump stops
// cleanly with watches still registered.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "vmbkit/bus/signal_pump.h"

namespace vmb::bus {
namespace {

class Counter {
 public:
  void bump() {
    {
      const std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  bool wait_for(int at_least) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return count_ >= at_least; });
  }
  int count() {
    const std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

void signal(const UniqueFd& fd, uint64_t times = 1) {
  ASSERT_EQ(::write(fd.get(), &times, sizeof times), static_cast<ssize_t>(sizeof times));
}

TEST(SignalPump, RunsTheCallbackOfTheSignalledEventfd) {
  Counter first_calls;  // outlive the pump, whose thread calls them
  Counter second_calls;
  auto pump = SignalPump::create();
  ASSERT_TRUE(pump.has_value());
  UniqueFd first(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd second(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_NE((*pump)->watch(first.get(), [&] { first_calls.bump(); }), 0u);
  ASSERT_NE((*pump)->watch(second.get(), [&] { second_calls.bump(); }), 0u);
  signal(second);
  ASSERT_TRUE(second_calls.wait_for(1));
  signal(first, 5);  // one wake-up drains all five
  ASSERT_TRUE(first_calls.wait_for(1));
  signal(first);
  ASSERT_TRUE(first_calls.wait_for(2));
  EXPECT_EQ(second_calls.count(), 1);
}

TEST(SignalPump, AnUnwatchedEventfdNoLongerCallsBack) {
  Counter watched_calls;  // outlive the pump, whose thread calls them
  Counter witness_calls;
  auto pump = SignalPump::create();
  ASSERT_TRUE(pump.has_value());
  UniqueFd watched(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd witness(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  const uint64_t token = (*pump)->watch(watched.get(), [&] { watched_calls.bump(); });
  ASSERT_NE((*pump)->watch(witness.get(), [&] { witness_calls.bump(); }), 0u);
  (*pump)->unwatch(token);
  signal(watched);
  signal(witness);
  ASSERT_TRUE(witness_calls.wait_for(1));  // the pump ran past the unwatched one
  EXPECT_EQ(watched_calls.count(), 0);
  uint64_t pending = 0;
  EXPECT_EQ(::read(watched.get(), &pending, sizeof pending), static_cast<ssize_t>(sizeof pending));
  EXPECT_EQ(pending, 1u);  // left alone, not drained
}

TEST(SignalPump, StopsWithWatchesRegistered) {
  auto pump = SignalPump::create();
  ASSERT_TRUE(pump.has_value());
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_NE((*pump)->watch(fd.get(), [] {}), 0u);
  pump->reset();
  SUCCEED();
}

TEST(SignalPump, RefusesADescriptorEpollCannotWatch) {
  auto pump = SignalPump::create();
  ASSERT_TRUE(pump.has_value());
  EXPECT_EQ((*pump)->watch(-1, [] {}), 0u);
}

}  // namespace
}  // namespace vmb::bus
