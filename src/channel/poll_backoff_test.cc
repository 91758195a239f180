// SPDX-License-Identifier: MIT
// PollBackoff: single misses never stop polling; kMissesBeforeBackoff in a row skip exactly
// kBackoff waits; a hit in between starts the count again. PollPacing: looks after every pause
// until the typical wait is long, then every kSparsePauses pauses, and back when it is short;
// waits between the two thresholds keep the current pacing.
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

// Feeds `hits` waits of `pauses` pauses each (as the looks a poll at the current pacing needs
// to wait that long); returns the hits until the pacing first became `target`, or 0 if never.
uint32_t hits_until(PollPacing& pacing, uint32_t pauses, uint32_t hits, uint32_t target) {
  for (uint32_t hit = 1; hit <= hits; ++hit) {
    pacing.found(pauses / pacing.pauses() + 1);
    if (pacing.pauses() == target) return hit;
  }
  return 0;
}

TEST(PollPacing, LooksAfterEveryPauseAtFirst) {
  PollPacing pacing;
  EXPECT_EQ(pacing.pauses(), 1u);
  pacing.found(0);  // there before the first look
  pacing.found(1);
  EXPECT_EQ(pacing.pauses(), 1u);
}

TEST(PollPacing, OneLongWaitAloneKeepsTheDensePace) {
  PollPacing pacing;
  pacing.found(10 * PollPacing::kSparseAbove);
  EXPECT_EQ(pacing.pauses(), 1u);
}

TEST(PollPacing, LongWaitsLookLessOftenAndShortOnesBringItBack) {
  PollPacing pacing;
  const uint32_t sparse =
      hits_until(pacing, 2 * PollPacing::kSparseAbove, 50, PollPacing::kSparsePauses);
  EXPECT_GT(sparse, 1u);
  EXPECT_LT(sparse, 20u);
  const uint32_t dense = hits_until(pacing, PollPacing::kDenseBelow / 4, 50, 1);
  EXPECT_GT(dense, 1u);
  EXPECT_LT(dense, 20u);
}

TEST(PollPacing, WaitsBetweenTheThresholdsKeepThePace) {
  const uint32_t between = (PollPacing::kDenseBelow + PollPacing::kSparseAbove) / 2;
  PollPacing dense;
  EXPECT_EQ(hits_until(dense, between, 200, PollPacing::kSparsePauses), 0u);
  PollPacing sparse;
  ASSERT_NE(hits_until(sparse, 4 * PollPacing::kSparseAbove, 50, PollPacing::kSparsePauses), 0u);
  EXPECT_EQ(hits_until(sparse, between, 200, 1), 0u);
}

TEST(PollPacing, EndlessWaitsNeitherOverflowNorStickForever) {
  PollPacing pacing;
  for (int i = 0; i < 1000; ++i) pacing.found(UINT32_MAX);
  EXPECT_EQ(pacing.pauses(), PollPacing::kSparsePauses);
  EXPECT_NE(hits_until(pacing, 0, 200, 1), 0u);
}

}  // namespace
}  // namespace vmb
