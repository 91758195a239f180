// SPDX-License-Identifier: MIT
// Tests for Deadline: every branch of the KeWaitForSingleObject timeout conversion, with both
// clocks pinned so no test depends on timing.
#include "vmbkit/channel/deadline.h"

#include <gtest/gtest.h>

#include <limits>

namespace vmb {
namespace {

using namespace std::chrono_literals;
using SystemClock = std::chrono::system_clock;

// 2024-01-01T00:00:00Z as Windows time (100 ns since 1601).
constexpr int64_t kJan2024Windows = 133485408000000000;

struct PinnedClocks {
  SystemClock::time_point system = from_windows_time(kJan2024Windows);
  Deadline::Clock::time_point steady = Deadline::Clock::time_point(1000s);
};

TEST(Deadline, NoTimeoutIsInfinite) {
  PinnedClocks clocks;
  const Deadline deadline = Deadline::from_nt_timeout(std::nullopt, clocks.system, clocks.steady);
  EXPECT_TRUE(deadline.is_infinite());
  EXPECT_FALSE(deadline.expired(Deadline::Clock::time_point::max()));
}

// The overload that reads the clocks itself reads only those the timeout needs; every kind
// still converts as with pinned clocks (bounds around the real clocks, not timings).
TEST(Deadline, ReadingTheClocksItselfConvertsEveryKind) {
  EXPECT_TRUE(Deadline::from_nt_timeout(std::nullopt).is_infinite());
  EXPECT_TRUE(Deadline::from_nt_timeout(0).is_immediate());
  const auto before = Deadline::Clock::now();
  const Deadline relative = Deadline::from_nt_timeout(-36'000'000'000);  // one hour
  const auto after = Deadline::Clock::now();
  EXPECT_GE(relative.time_point(), before + 1h);
  EXPECT_LE(relative.time_point(), after + 1h);
  const int64_t an_hour_ahead = to_windows_time(SystemClock::now() + 1h);
  const Deadline absolute = Deadline::from_nt_timeout(an_hour_ahead);
  EXPECT_FALSE(absolute.expired(Deadline::Clock::now() + 59min));
  EXPECT_TRUE(absolute.expired(Deadline::Clock::now() + 61min));
  const Deadline past = Deadline::from_nt_timeout(to_windows_time(SystemClock::now() - 1h));
  EXPECT_TRUE(past.expired(Deadline::Clock::now()));
}

// KMCL's form (what VmbChannelSendSynchronousRequest passes): null is no timeout, and a value
// converts as the optional overload converts it.
TEST(Deadline, FromATimeoutPointerAsFromTheOptional) {
  EXPECT_TRUE(Deadline::from_timeout_pointer(nullptr).is_infinite());
  const int64_t zero = 0;
  EXPECT_TRUE(Deadline::from_timeout_pointer(&zero).is_immediate());
  const int64_t an_hour = -36'000'000'000;
  const auto before = Deadline::Clock::now();
  const Deadline relative = Deadline::from_timeout_pointer(&an_hour);
  const auto after = Deadline::Clock::now();
  EXPECT_GE(relative.time_point(), before + 1h);
  EXPECT_LE(relative.time_point(), after + 1h);
  const int64_t an_hour_ago = to_windows_time(SystemClock::now() - 1h);
  EXPECT_TRUE(Deadline::from_timeout_pointer(&an_hour_ago).expired(Deadline::Clock::now()));
  const int64_t an_hour_ahead = to_windows_time(SystemClock::now() + 1h);
  EXPECT_FALSE(Deadline::from_timeout_pointer(&an_hour_ahead).expired(Deadline::Clock::now()));
}

TEST(Deadline, ZeroIsImmediateAndAlwaysExpired) {
  PinnedClocks clocks;
  const Deadline deadline = Deadline::from_nt_timeout(0, clocks.system, clocks.steady);
  EXPECT_TRUE(deadline.is_immediate());
  EXPECT_FALSE(deadline.is_infinite());
  EXPECT_TRUE(deadline.expired(clocks.steady - 1h));
}

TEST(Deadline, NegativeIsRelativeIn100NanosecondUnits) {
  PinnedClocks clocks;
  const Deadline deadline = Deadline::from_nt_timeout(-10'000'000, clocks.system, clocks.steady);
  EXPECT_FALSE(deadline.is_immediate());
  EXPECT_EQ(deadline.time_point(), clocks.steady + 1s);
  EXPECT_FALSE(deadline.expired(clocks.steady + 999ms));
  EXPECT_TRUE(deadline.expired(clocks.steady + 1s));
}

TEST(Deadline, SmallestRelativeTimeoutIsOneTick) {
  PinnedClocks clocks;
  const Deadline deadline = Deadline::from_nt_timeout(-1, clocks.system, clocks.steady);
  EXPECT_EQ(deadline.time_point(), clocks.steady + 100ns);
}

TEST(Deadline, MostNegativeTimeoutSaturates) {
  PinnedClocks clocks;
  const Deadline deadline =
      Deadline::from_nt_timeout(std::numeric_limits<int64_t>::min(), clocks.system, clocks.steady);
  EXPECT_EQ(deadline.time_point(), Deadline::Clock::time_point::max());
}

TEST(Deadline, HugeRelativeTimeoutSaturatesInsteadOfWrapping) {
  PinnedClocks clocks;
  clocks.steady = Deadline::Clock::time_point::max() - 1s;
  const Deadline deadline = Deadline::from_nt_timeout(-100'000'000, clocks.system, clocks.steady);
  EXPECT_EQ(deadline.time_point(), Deadline::Clock::time_point::max());
  EXPECT_FALSE(deadline.expired(clocks.steady));
}

TEST(Deadline, PositiveIsAbsoluteWindowsTime) {
  PinnedClocks clocks;
  const int64_t five_seconds_later = kJan2024Windows + 50'000'000;
  const Deadline deadline =
      Deadline::from_nt_timeout(five_seconds_later, clocks.system, clocks.steady);
  EXPECT_EQ(deadline.time_point(), clocks.steady + 5s);
}

TEST(Deadline, AbsoluteTimeInThePastHasExpired) {
  PinnedClocks clocks;
  const Deadline deadline =
      Deadline::from_nt_timeout(kJan2024Windows - 1, clocks.system, clocks.steady);
  EXPECT_FALSE(deadline.is_immediate());
  EXPECT_TRUE(deadline.expired(clocks.steady));
}

TEST(Deadline, AbsoluteTimeFarInTheFutureSaturates) {
  PinnedClocks clocks;
  const Deadline deadline =
      Deadline::from_nt_timeout(std::numeric_limits<int64_t>::max(), clocks.system, clocks.steady);
  EXPECT_FALSE(deadline.expired(clocks.steady + 24h * 365 * 100));
}

TEST(Deadline, WindowsTimeRoundTripsThroughSystemClock) {
  EXPECT_EQ(to_windows_time(from_windows_time(kJan2024Windows)), kJan2024Windows);
  EXPECT_EQ(to_windows_time(SystemClock::time_point{}), kWindowsToUnixEpoch100ns);
}

TEST(Deadline, AfterAndInfiniteFactories) {
  const Deadline later = Deadline::after(1h);
  EXPECT_FALSE(later.expired());
  EXPECT_TRUE(Deadline::infinite().is_infinite());
  EXPECT_TRUE(Deadline::immediate().expired());
}

}  // namespace
}  // namespace vmb
