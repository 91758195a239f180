// SPDX-License-Identifier: MIT
// How vmbkit-bench takes its figures: a Sample is one timed run of one case (seconds, operations,
// bytes, signals); SampleRunner runs a set of cases in alternating rounds (A B C A B C ...) so
// that the machine's drift and other tenants hit every case alike, and reports per-case medians.
// Also the two-CPU harness every two-party case uses: two threads pinned to different CPUs that
// start together. Not here: what a case does (the *_bench.h files) or how figures are printed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vmb::bench {

// One timed run.
struct Sample {
  double seconds = 0;       // wall time of the measured part
  uint64_t operations = 0;  // round trips, packets or requests completed
  uint64_t bytes = 0;       // payload bytes moved (one direction)
  uint64_t signals = 0;     // wake-ups sent to the peer (eventfd writes), where counted
  // Round trips: the time per operation of each batch the case timed (it reads the clock once
  // per batch of 64), in nanoseconds. Empty for cases that do not keep batches.
  std::vector<double> batch_ns{};
  double batch_started = 0;  // seconds since the start at which the current batch began
  bool ok = true;            // false: the case failed (data corrupted, a call failed)
  std::string error;         // why, when !ok

  [[nodiscard]] double operations_per_second() const;
  [[nodiscard]] double bytes_per_second() const;
  [[nodiscard]] double nanoseconds_per_operation() const;
  [[nodiscard]] double signals_per_operation() const;
  // The median of batch_ns: the typical operation, without the host's rare long stalls (a
  // vCPU descheduled, a timer interrupt, a thread preempted) that the mean pays in full. NaN
  // without batches.
  [[nodiscard]] double typical_nanoseconds_per_operation() const;
  // Ends a batch of `operations` at `seconds_now` (seconds since the start of the sample).
  void end_batch(double seconds_now, uint64_t operations_in_batch);
};

// How long each case runs and how often.
struct Timing {
  std::chrono::duration<double> run_time{0.2};  // one sample
  int rounds = 5;                               // samples per case (median reported)
};

// One case: a name and a function that takes one sample of `run_time`.
struct BenchCase {
  std::string name;
  std::function<Sample(std::chrono::duration<double> run_time)> run;
};

// The samples of one case, and their medians.
struct CaseResult {
  std::string name;
  std::vector<Sample> samples;

  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::string error() const;
  [[nodiscard]] double median_operations_per_second() const;
  [[nodiscard]] double median_bytes_per_second() const;
  [[nodiscard]] double median_nanoseconds_per_operation() const;
  [[nodiscard]] double median_signals_per_operation() const;
  [[nodiscard]] double median_typical_nanoseconds_per_operation() const;
  // Summed over all samples (signals per operation over the whole measurement).
  [[nodiscard]] uint64_t total_operations() const;
};

// Runs every case `timing.rounds` times, alternating cases within each round. A case that
// fails is not run again. Results are in the order of `cases`.
std::vector<CaseResult> run_alternating(const std::vector<BenchCase>& cases, const Timing& timing);

// The median of `values` (NaN for none).
double median(std::vector<double> values);

// The two CPUs two-party cases run on: the first two this process may use. Both are -1 (no
// pinning) if only one CPU is allowed.
struct CpuPair {
  int first = -1;
  int second = -1;
};
CpuPair benchmark_cpus();

// Pins the calling thread to `cpu` (ignored for -1). Returns false if the kernel refused.
bool pin_current_thread(int cpu);

// Runs `first` on cpus.first and `second` on cpus.second in two new threads that are released
// together once both are pinned and ready; returns when both have returned.
void run_on_two_cpus(const std::function<void()>& first, const std::function<void()>& second);

// A spin-wait hint (x86 PAUSE): lets the sibling hyperthread run and stops a spinning core
// from hammering a cache line the other side is about to write.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace vmb::bench
