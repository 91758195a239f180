// SPDX-License-Identifier: MIT
// Tests of the round trips' "typical" figure: each batch's time per operation, and their median,
// which a few stalled batches must not move while the mean does.
#include "sample_runner.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vmb::bench {
namespace {

TEST(SampleBatches, EachBatchIsItsOwnTimeOverItsOperations) {
  Sample sample;
  sample.end_batch(64e-6, 64);   // 1000 ns each
  sample.end_batch(96e-6, 64);   // 32 us / 64 = 500 ns each
  sample.end_batch(224e-6, 32);  // 128 us / 32 = 4000 ns each
  ASSERT_EQ(sample.batch_ns.size(), 3u);
  EXPECT_NEAR(sample.batch_ns[0], 1000.0, 1e-6);
  EXPECT_NEAR(sample.batch_ns[1], 500.0, 1e-6);
  EXPECT_NEAR(sample.batch_ns[2], 4000.0, 1e-6);
  EXPECT_NEAR(sample.typical_nanoseconds_per_operation(), 1000.0, 1e-6);
}

TEST(SampleBatches, AStalledBatchMovesTheMeanButNotTheTypical) {
  Sample sample;
  double now = 0;
  for (int batch = 0; batch < 99; ++batch) {
    now += 64 * 400e-9;  // 400 ns per round trip
    sample.end_batch(now, 64);
  }
  now += 64 * 400e-9 + 1e-3;  // one batch with a 1 ms stall in it
  sample.end_batch(now, 64);
  sample.seconds = now;
  sample.operations = 100 * 64;
  EXPECT_NEAR(sample.typical_nanoseconds_per_operation(), 400.0, 1e-3);
  EXPECT_GT(sample.nanoseconds_per_operation(), 500.0);
}

TEST(SampleBatches, EmptyBatchesAreSkippedAndNoBatchesIsNaN) {
  Sample sample;
  EXPECT_TRUE(std::isnan(sample.typical_nanoseconds_per_operation()));
  sample.end_batch(1e-6, 0);  // a batch that failed at once: no figure, but the clock moves on
  sample.end_batch(2e-6, 10);
  ASSERT_EQ(sample.batch_ns.size(), 1u);
  EXPECT_NEAR(sample.batch_ns[0], 100.0, 1e-6);
}

TEST(SampleBatches, TheCaseFigureIsTheMedianOverItsSamples) {
  CaseResult result;
  for (const double ns : {300.0, 100.0, 200.0}) {
    Sample sample;
    sample.end_batch(ns * 1e-9, 1);
    result.samples.push_back(sample);
  }
  EXPECT_NEAR(result.median_typical_nanoseconds_per_operation(), 200.0, 1e-6);
}

}  // namespace
}  // namespace vmb::bench
