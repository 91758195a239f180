// SPDX-License-Identifier: MIT
// LatencyHistogram (latency_histogram.h). Values below 16 get a bucket each; above, a value's
// bucket is its power of two (the index of its top bit) times 16 plus the next four bits.
#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vmb::disk {

int LatencyHistogram::bucket_of(uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  const int top = static_cast<int>(std::bit_width(value)) - 1;  // >= 4
  const auto next_bits = static_cast<int>((value >> (top - 4)) & (kSubBuckets - 1));
  return (top - 3) * kSubBuckets + next_bits;
}

uint64_t LatencyHistogram::upper_edge(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  const int top = bucket / kSubBuckets + 3;
  const auto next_bits = static_cast<uint64_t>(bucket % kSubBuckets);
  // The largest value with this top bit and these next four bits.
  const uint64_t low = (uint64_t{1} << top) | (next_bits << (top - 4));
  return low + ((uint64_t{1} << (top - 4)) - 1);
}

void LatencyHistogram::record(uint64_t nanoseconds) {
  ++buckets_[static_cast<size_t>(bucket_of(nanoseconds))];
  ++count_;
  sum_ += nanoseconds;
  max_ = std::max(max_, nanoseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t LatencyHistogram::percentile(double fraction) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(fraction, 0.0, 1.0);
  // The rank (1-based) of the value asked for.
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(clamped * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int bucket = 0; bucket < kBuckets; ++bucket) {
    seen += buckets_[static_cast<size_t>(bucket)];
    if (seen >= rank) return std::min(upper_edge(bucket), max_);
  }
  return max_;
}

}  // namespace vmb::disk
