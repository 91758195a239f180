// SPDX-License-Identifier: MIT
#include "vmbkit/channel/channel_mutex.h"

#include "channel/channel_internals.h"

namespace vmb {
namespace {

// Pauses before sleeping: a channel's lock is held for well under a microsecond, so a short
// spin usually ends in the lock and saves the futex round trip (tens of microseconds here).
constexpr int kSpins = 128;

}  // namespace

void ChannelMutex::lock_contended(uint32_t seen) {
  for (int spin = 0; spin < kSpins && seen == kHeld; ++spin) {
    poll_pause(static_cast<uint32_t>(spin));
    seen = state_.load(std::memory_order_relaxed);
    if (seen == kFree && state_.compare_exchange_strong(seen, kHeld, std::memory_order_acquire,
                                                        std::memory_order_relaxed)) {
      return;
    }
  }
  // Sleep. Whoever takes the lock from here on marks it contended, so its unlock wakes the
  // next sleeper; the mark may outlive the last sleeper, which costs one spare notify.
  if (seen != kContended) seen = state_.exchange(kContended, std::memory_order_acquire);
  while (seen != kFree) {
    state_.wait(kContended, std::memory_order_relaxed);
    seen = state_.exchange(kContended, std::memory_order_acquire);
  }
}

}  // namespace vmb
