// SPDX-License-Identifier: MIT
// Deadline: the end of a bounded wait on the steady clock, built from a KeWaitForSingleObject
// style timeout (decisions.md §4): a LARGE_INTEGER count of 100 ns units, negative = relative
// interval, positive = absolute Windows system time (since 1601-01-01 UTC), zero = do not
// wait, and no timeout at all = wait without limit. An absolute time is turned into a steady
// deadline once, when the Deadline is built, so later wall-clock steps do not move it. This is
// the conversion only; waiting is done by whoever holds the Deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace vmb {

// 100 ns units between 1601-01-01 and 1970-01-01 (369 years with 89 leap days).
inline constexpr int64_t kWindowsToUnixEpoch100ns = 116444736000000000;

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // No limit.
  static Deadline infinite() { return Deadline(Kind::kInfinite, {}); }
  // Do not wait at all (a zero timeout).
  static Deadline immediate() { return Deadline(Kind::kImmediate, {}); }
  // Ends at `at` on the steady clock.
  static Deadline at(Clock::time_point at) { return Deadline(Kind::kAt, at); }
  // Ends `interval` after now.
  static Deadline after(Clock::duration interval) { return at(Clock::now() + interval); }

  // From a KeWaitForSingleObject timeout: std::nullopt (a NULL pointer) = infinite, 0 =
  // immediate, negative = relative, positive = absolute Windows system time. `now_system` and
  // `now_steady` are the clocks' current values (parameters so tests can pin them).
  static Deadline from_nt_timeout(std::optional<int64_t> timeout_100ns,
                                  std::chrono::system_clock::time_point now_system,
                                  Clock::time_point now_steady);
  // The same, reading the clocks it needs now (none for infinite or immediate, the steady one
  // for a relative timeout, both for an absolute one).
  static Deadline from_nt_timeout(std::optional<int64_t> timeout_100ns);
  // The same from KMCL's form, a pointer to the timeout or null: what the C API calls on every
  // request. Inline for the usual timeouts (none, zero): GCC passes an optional argument, and
  // returns a Deadline, through a byte store and a wider load, which store forwarding cannot
  // serve (a stall each); built in the caller's frame, neither happens.
  static Deadline from_timeout_pointer(const int64_t* timeout_100ns) {
    if (timeout_100ns == nullptr) return infinite();
    if (*timeout_100ns == 0) return immediate();
    return from_timeout_reading_clocks(*timeout_100ns);
  }

  [[nodiscard]] bool is_infinite() const { return kind_ == Kind::kInfinite; }
  // True for a zero timeout. A relative or absolute timeout that is already over is not
  // "immediate" but expired().
  [[nodiscard]] bool is_immediate() const { return kind_ == Kind::kImmediate; }
  // The steady-clock end; meaningful only when neither infinite nor immediate.
  [[nodiscard]] Clock::time_point time_point() const { return at_; }
  // True once the deadline has passed (immediate: always; infinite: never).
  [[nodiscard]] bool expired(Clock::time_point now = Clock::now()) const;

 private:
  enum class Kind : uint8_t { kInfinite, kImmediate, kAt };
  Deadline(Kind kind, Clock::time_point at) : kind_(kind), at_(at) {}
  // A non-zero timeout: reads the clocks it needs (the steady one; the system one as well for
  // an absolute time).
  static Deadline from_timeout_reading_clocks(int64_t timeout_100ns);

  Kind kind_;
  Clock::time_point at_;
};

// A Windows system time (100 ns units since 1601) as a system_clock time point.
std::chrono::system_clock::time_point from_windows_time(int64_t windows_time_100ns);
// A system_clock time point as Windows system time (100 ns units since 1601).
int64_t to_windows_time(std::chrono::system_clock::time_point time);

}  // namespace vmb
