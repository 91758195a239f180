// SPDX-License-Identifier: MIT
// Two heuristics of a polled channel (docs/kmcl.md "Poll mode"): PollBackoff, when it stops
// polling for a while, and PollPacing, how often a poll looks at the ring.
//
// PollBackoff: when a polled channel stops polling for a while.
// Each poll window ends as a hit (what it polled for came) or a miss (the window passed in
// vain). After kMissesBeforeBackoff misses in a row the next kBackoff waits skip polling: the
// peer is slow or the machine is oversubscribed, and spinning would only take CPU from the
// thread we wait for. One miss alone (a peer preempted once) does not count, since a wait that
// skips polling is slower than a window. Shared by the channel's poll sites without a lock:
// relaxed loads and stores, racy on purpose (a lost update only shifts a heuristic).
#pragma once

#include <algorithm>
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

// PollPacing: how many pauses a poll makes between two looks at the ring. Each look loads the
// ring's control cache line, which the peer must own to publish; looking less often seems to
// let the peer's writes through sooner (the effect is measured, the cause is our reading), but
// a packet is then seen up to one gap later. On a 2-vCPU KVM guest (docs/performance-history.md,
// 2026-12-07) two pauses per look made the poll-mode round trip 4-16 % faster where it takes
// about 900 ns (the vCPUs far apart) and 5-6 % slower where it takes 300 ns; no pause at all
// was slower in both. So the gap follows the channel's typical wait, counted in pauses: above
// kSparseAbove a poll looks every kSparsePauses pauses, below kDenseBelow (hysteresis) after
// every pause. There the typical waits were 3-7 pauses in the fast placement and 12-25 in the
// slow one. The typical wait is an exponential average (weight 1/8) of the waits that found
// what they polled for; a window in vain is PollBackoff's business. Shared by the channel's
// poll sites without a lock, as PollBackoff.
class PollPacing {
 public:
  static constexpr uint32_t kSparseAbove = 10;
  static constexpr uint32_t kDenseBelow = 8;
  static constexpr uint32_t kSparsePauses = 2;

  // Pauses between two looks.
  [[nodiscard]] uint32_t pauses() const { return pauses_.load(std::memory_order_relaxed); }
  // A poll found what it waited for at its `looks`-th look (the first look is 1; 0: it was
  // there before the poll looked).
  void found(uint32_t looks) {
    const uint32_t pauses = pauses_.load(std::memory_order_relaxed);
    // The wait in pauses, clamped: a host stall (a descheduled vCPU) is one long wait, and a
    // few long waits in a row, not one, make the typical wait long.
    const uint32_t waited = static_cast<uint32_t>(
        std::min<uint64_t>(uint64_t{looks > 0 ? looks - 1 : 0} * pauses, kLongestWait));
    uint32_t average = average_.load(std::memory_order_relaxed);
    average = average - average / 8 + waited;
    average_.store(average, std::memory_order_relaxed);
    if (pauses == 1 && average > kSparseAbove * 8) {
      pauses_.store(kSparsePauses, std::memory_order_relaxed);
    } else if (pauses != 1 && average < kDenseBelow * 8) {
      pauses_.store(1, std::memory_order_relaxed);
    }
  }

 private:
  static constexpr uint32_t kLongestWait = 4 * kSparseAbove;
  std::atomic<uint32_t> pauses_{1};
  std::atomic<uint32_t> average_{0};  // the typical wait in pauses, times 8
};

}  // namespace vmb
