// SPDX-License-Identifier: MIT
// Converts KeWaitForSingleObject-style timeouts into steady-clock deadlines (see deadline.h).
#include "vmbkit/channel/deadline.h"

#include <limits>

namespace vmb {
namespace {

using Ticks = std::chrono::duration<int64_t, std::ratio<1, 10'000'000>>;  // 100 ns

// now + interval, saturating at the clock's maximum instead of overflowing: a huge relative
// timeout (or an absolute time centuries away) must mean "very long", never "already past".
Deadline::Clock::time_point saturating_add(Deadline::Clock::time_point now, Ticks interval) {
  using Duration = Deadline::Clock::duration;
  const auto headroom = Deadline::Clock::time_point::max() - now;
  if (std::chrono::duration_cast<Ticks>(headroom) <= interval) {
    return Deadline::Clock::time_point::max();
  }
  return now + std::chrono::duration_cast<Duration>(interval);
}

}  // namespace

std::chrono::system_clock::time_point from_windows_time(int64_t windows_time_100ns) {
  const Ticks since_unix_epoch{windows_time_100ns - kWindowsToUnixEpoch100ns};
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_unix_epoch));
}

int64_t to_windows_time(std::chrono::system_clock::time_point time) {
  const auto since_unix_epoch = std::chrono::duration_cast<Ticks>(time.time_since_epoch());
  return since_unix_epoch.count() + kWindowsToUnixEpoch100ns;
}

Deadline Deadline::from_nt_timeout(std::optional<int64_t> timeout_100ns,
                                   std::chrono::system_clock::time_point now_system,
                                   Clock::time_point now_steady) {
  if (!timeout_100ns.has_value()) return infinite();
  const int64_t value = *timeout_100ns;
  if (value == 0) return immediate();
  if (value < 0) {
    // INT64_MIN has no positive counterpart; it is ~29,000 years, i.e. effectively no limit.
    if (value == std::numeric_limits<int64_t>::min()) return at(Clock::time_point::max());
    return at(saturating_add(now_steady, Ticks{-value}));
  }
  // Absolute: how far the requested system time lies ahead of the system clock now.
  const int64_t now_windows = to_windows_time(now_system);
  if (value <= now_windows) return at(now_steady);  // already past: expired at once
  return at(saturating_add(now_steady, Ticks{value - now_windows}));
}

Deadline Deadline::from_nt_timeout(std::optional<int64_t> timeout_100ns) {
  return from_timeout_pointer(timeout_100ns.has_value() ? &*timeout_100ns : nullptr);
}

Deadline Deadline::from_timeout_reading_clocks(int64_t timeout_100ns) {
  // Only the clocks the timeout needs: a clock read costs tens of nanoseconds in a VM, and the
  // usual timeouts (none, zero) need neither (from_timeout_pointer answers those inline).
  const std::chrono::system_clock::time_point now_system =
      timeout_100ns > 0 ? std::chrono::system_clock::now()
                        : std::chrono::system_clock::time_point{};
  return from_nt_timeout(timeout_100ns, now_system, Clock::now());
}

bool Deadline::expired(Clock::time_point now) const {
  switch (kind_) {
    case Kind::kInfinite:
      return false;
    case Kind::kImmediate:
      return true;
    case Kind::kAt:
      return now >= at_;
  }
  return true;
}

}  // namespace vmb
