// SPDX-License-Identifier: MIT
// ChannelMutex: mutual exclusion under contention (and under ThreadSanitizer, the lock's
// acquire/release ordering), sleepers that are woken when the holder lets go, try_lock, and
// use with std::condition_variable_any as the channel uses it.
#include "vmbkit/channel/channel_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace vmb {
namespace {

TEST(ChannelMutex, ExcludesUnderContention) {
  ChannelMutex mutex;
  uint64_t counter = 0;  // plain: only the lock orders the increments
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        const std::lock_guard lock(mutex);
        const uint64_t seen = counter;
        // Widen the window a lost exclusion would need.
        if (i % 64 == 0) std::this_thread::yield();
        counter = seen + 1;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter, uint64_t{kThreads} * kIncrements);
}

TEST(ChannelMutex, SleepersAreWokenWhenTheHolderLetsGo) {
  ChannelMutex mutex;
  std::atomic<int> acquired{0};
  mutex.lock();
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      mutex.lock();
      acquired.fetch_add(1);
      mutex.unlock();
    });
  }
  // Long past the spin: the three are asleep (or about to be) and none has the lock.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(acquired.load(), 0);
  mutex.unlock();
  for (std::thread& thread : threads) thread.join();  // a lost wake-up hangs here
  EXPECT_EQ(acquired.load(), 3);
  EXPECT_TRUE(mutex.try_lock());  // left free
  mutex.unlock();
}

TEST(ChannelMutex, TryLockFailsOnlyWhileHeld) {
  ChannelMutex mutex;
  ASSERT_TRUE(mutex.try_lock());
  bool other = true;
  std::thread([&] { other = mutex.try_lock(); }).join();
  EXPECT_FALSE(other);
  mutex.unlock();
  std::thread([&] {
    other = mutex.try_lock();
    if (other) mutex.unlock();
  }).join();
  EXPECT_TRUE(other);
}

TEST(ChannelMutex, WorksWithConditionVariableAny) {
  ChannelMutex mutex;
  std::condition_variable_any changed;
  int stage = 0;
  std::thread waiter([&] {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return stage == 1; });
    stage = 2;
    changed.notify_all();
  });
  {
    const std::lock_guard lock(mutex);
    stage = 1;
  }
  changed.notify_all();
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return stage == 2; });
    EXPECT_EQ(stage, 2);
  }
  waiter.join();
}

}  // namespace
}  // namespace vmb
