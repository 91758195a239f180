// SPDX-License-Identifier: MIT
// PollBackoff: single misses never stop polling; kMissesBeforeBackoff in a row skip exactly
// kBackoff waits; a hit in between starts the count again.
#include "vmbkit/channel/poll_backoff.h"

#include <gtest/gtest.h>

namespace vmb {
namespace {

uint32_t skipped_waits(PollBackoff& backoff, uint32_t waits) {
  uint32_t skipped = 0;
  for (uint32_t i = 0; i < waits; ++i) skipped += backoff.allowed() ? 0 : 1;
  return skipped;
}

TEST(PollBackoff, PollsUntilTold) {
  PollBackoff backoff;
  EXPECT_EQ(skipped_waits(backoff, 100), 0u);
}

TEST(PollBackoff, MissesBetweenHitsNeverStopPolling) {
  PollBackoff backoff;
  for (int round = 0; round < 50; ++round) {
    for (uint32_t i = 0; i + 1 < PollBackoff::kMissesBeforeBackoff; ++i) backoff.missed();
    backoff.hit();
    EXPECT_TRUE(backoff.allowed()) << "round " << round;
  }
}

TEST(PollBackoff, MissesInARowSkipTheBackoffThenPollAgain) {
  PollBackoff backoff;
  for (uint32_t i = 0; i + 1 < PollBackoff::kMissesBeforeBackoff; ++i) {
    backoff.missed();
    EXPECT_TRUE(backoff.allowed());  // waits between the misses still poll
  }
  backoff.missed();
  EXPECT_EQ(skipped_waits(backoff, PollBackoff::kBackoff), PollBackoff::kBackoff);
  EXPECT_TRUE(backoff.allowed());
  // The count started again: one more miss alone does not back off.
  backoff.missed();
  EXPECT_TRUE(backoff.allowed());
}

}  // namespace
}  // namespace vmb
