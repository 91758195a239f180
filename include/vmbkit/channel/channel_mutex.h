// SPDX-License-Identifier: MIT
// ChannelMutex: the lock of one channel, taken several times per packet. An uncontended
// lock() and unlock() are one locked instruction each, inline, with no call into the C library
// (glibc's pthread_mutex_lock and unlock cost about 55 instructions a pair under callgrind,
// for type and elision checks a channel never needs). A waiter spins briefly, then sleeps in
// std::atomic::wait (a futex on Linux).
//
// The algorithm is the classic three-state futex mutex: 0 free, 1 held, 2 held and someone may
// be sleeping. Only an unlock that finds 2 wakes anyone; a thread that sleeps first marks 2.
#ifndef VMBKIT_CHANNEL_CHANNEL_MUTEX_H_
#define VMBKIT_CHANNEL_CHANNEL_MUTEX_H_

#include <atomic>
#include <cstdint>

namespace vmb {

class ChannelMutex {
 public:
  ChannelMutex() = default;
  ChannelMutex(const ChannelMutex&) = delete;
  ChannelMutex& operator=(const ChannelMutex&) = delete;

  void lock() {
    uint32_t seen = kFree;
    if (state_.compare_exchange_strong(seen, kHeld, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return;
    }
    lock_contended(seen);
  }

  [[nodiscard]] bool try_lock() {
    uint32_t seen = kFree;
    return state_.compare_exchange_strong(seen, kHeld, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() {
    if (state_.exchange(kFree, std::memory_order_release) == kContended) state_.notify_one();
  }

 private:
  static constexpr uint32_t kFree = 0;
  static constexpr uint32_t kHeld = 1;       // held, nobody sleeping
  static constexpr uint32_t kContended = 2;  // held, a thread may sleep on it

  // `seen`: the state the fast path's compare-exchange found.
  void lock_contended(uint32_t seen);

  std::atomic<uint32_t> state_{kFree};
};

}  // namespace vmb

#endif  // VMBKIT_CHANNEL_CHANNEL_MUTEX_H_
