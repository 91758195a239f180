// SPDX-License-Identifier: MIT
// PollBackoff: when a polled channel stops polling for a while (docs/kmcl.md "Poll mode").
// Each poll window ends as a hit (what it polled for came) or a miss (the window passed in
// vain). After kMissesBeforeBackoff misses in a row the next kBackoff waits skip polling: the
// peer is slow or the machine is oversubscribed, and spinning would only take CPU from the
// thread we wait for. One miss alone (a peer preempted once) does not count, since a wait that
// skips polling is slower than a window. Shared by the channel's poll sites without a lock:
// relaxed loads and stores, racy on purpose (a lost update only shifts a heuristic).
#pragma once

#include <atomic>
#include <cstdint>

namespace vmb {

class PollBackoff {
 public:
  static constexpr uint32_t kMissesBeforeBackoff = 4;
  static constexpr uint32_t kBackoff = 16;

  // Whether this wait may poll; a wait that may not counts down the back-off.
  bool allowed() {
    const uint32_t left = backoff_.load(std::memory_order_relaxed);
    if (left == 0) return true;
    backoff_.store(left - 1, std::memory_order_relaxed);
    return false;
  }
  // A window passed in vain.
  void missed() {
    const uint32_t misses = misses_.load(std::memory_order_relaxed) + 1;
    if (misses < kMissesBeforeBackoff) {
      misses_.store(misses, std::memory_order_relaxed);
      return;
    }
    misses_.store(0, std::memory_order_relaxed);
    backoff_.store(kBackoff, std::memory_order_relaxed);
  }
  // A window found what it polled for.
  void hit() {
    if (misses_.load(std::memory_order_relaxed) != 0) misses_.store(0, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint32_t> backoff_{0};  // waits left that skip polling
  std::atomic<uint32_t> misses_{0};   // windows in a row that passed in vain
};

}  // namespace vmb
