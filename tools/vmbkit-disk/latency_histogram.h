// SPDX-License-Identifier: MIT
// LatencyHistogram: request latencies in nanoseconds, kept in log-linear buckets (16 per power
// of two, so every percentile is exact to within about 6%), cheap enough to record every
// request on the completion path. One writer at a time; merge() combines per-channel
// histograms after the run. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace vmb::disk {

class LatencyHistogram {
 public:
  void record(uint64_t nanoseconds);
  void merge(const LatencyHistogram& other);

  [[nodiscard]] uint64_t count() const { return count_; }
  [[nodiscard]] uint64_t max() const { return max_; }
  [[nodiscard]] double mean() const;
  // The latency below which `fraction` (0..1) of the recorded ones lie: the upper edge of the
  // bucket that holds that rank, capped at the largest value seen. 0 when empty.
  [[nodiscard]] uint64_t percentile(double fraction) const;

 private:
  static constexpr int kSubBuckets = 16;  // per power of two
  static constexpr int kBuckets = 64 * kSubBuckets;
  static int bucket_of(uint64_t value);
  static uint64_t upper_edge(int bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace vmb::disk
