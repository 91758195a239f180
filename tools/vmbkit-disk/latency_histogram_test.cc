// SPDX-License-Identifier: MIT
// Tests of LatencyHistogram: percentiles within a bucket's precision, merge, empty histogram.
#include "latency_histogram.h"

#include <gtest/gtest.h>

namespace vmb::disk {
namespace {

TEST(LatencyHistogram, EmptyReportsZero) {
  const LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.percentile(0.5), 0u);
  EXPECT_EQ(histogram.max(), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (uint64_t v = 1; v <= 10; ++v) histogram.record(v);
  EXPECT_EQ(histogram.percentile(0.5), 5u);
  EXPECT_EQ(histogram.percentile(1.0), 10u);
  EXPECT_DOUBLE_EQ(histogram.mean(), 5.5);
}

TEST(LatencyHistogram, PercentilesWithinSixPercent) {
  LatencyHistogram histogram;
  for (uint64_t v = 1; v <= 100000; ++v) histogram.record(v * 1000);  // 1 us .. 100 ms
  const auto p50 = static_cast<double>(histogram.percentile(0.5));
  const auto p99 = static_cast<double>(histogram.percentile(0.99));
  EXPECT_GE(p50, 50e6);
  EXPECT_LE(p50, 50e6 * 1.07);
  EXPECT_GE(p99, 99e6);
  EXPECT_LE(p99, 99e6 * 1.07);
  EXPECT_EQ(histogram.percentile(1.0), 100000u * 1000);
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.record(100);
  b.record(1'000'000);
  b.record(2'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max(), 2'000'000u);
  EXPECT_LE(a.percentile(0.34), 1'000'000u * 107 / 100);
  EXPECT_GE(a.percentile(0.34), 1'000'000u);
}

TEST(LatencyHistogram, HugeValuesDoNotOverflowBuckets) {
  LatencyHistogram histogram;
  histogram.record(UINT64_MAX);
  EXPECT_EQ(histogram.percentile(0.5), UINT64_MAX);
}

}  // namespace
}  // namespace vmb::disk
