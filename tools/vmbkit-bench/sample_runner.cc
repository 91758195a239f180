// SPDX-License-Identifier: MIT
// SampleRunner (sample_runner.h): alternating rounds, medians and the pinned two-thread harness.
#include "sample_runner.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

namespace vmb::bench {
namespace {

template <typename Figure>
double median_of(const std::vector<Sample>& samples, Figure figure) {
  std::vector<double> values;
  for (const Sample& sample : samples) {
    if (sample.ok) values.push_back(figure(sample));
  }
  return median(std::move(values));
}

}  // namespace

double Sample::operations_per_second() const {
  return seconds > 0 ? static_cast<double>(operations) / seconds
                     : std::numeric_limits<double>::quiet_NaN();
}

double Sample::bytes_per_second() const {
  return seconds > 0 ? static_cast<double>(bytes) / seconds
                     : std::numeric_limits<double>::quiet_NaN();
}

double Sample::nanoseconds_per_operation() const {
  return operations > 0 ? seconds * 1e9 / static_cast<double>(operations)
                        : std::numeric_limits<double>::quiet_NaN();
}

double Sample::typical_nanoseconds_per_operation() const { return median(batch_ns); }

void Sample::end_batch(double seconds_now, uint64_t operations_in_batch) {
  if (operations_in_batch != 0 && seconds_now > batch_started) {
    batch_ns.push_back((seconds_now - batch_started) * 1e9 /
                       static_cast<double>(operations_in_batch));
  }
  batch_started = seconds_now;
}

double Sample::signals_per_operation() const {
  return operations > 0 ? static_cast<double>(signals) / static_cast<double>(operations)
                        : std::numeric_limits<double>::quiet_NaN();
}

bool CaseResult::ok() const {
  return std::all_of(samples.begin(), samples.end(), [](const Sample& s) { return s.ok; });
}

std::string CaseResult::error() const {
  for (const Sample& sample : samples) {
    if (!sample.ok) return sample.error;
  }
  return {};
}

double CaseResult::median_operations_per_second() const {
  return median_of(samples, [](const Sample& s) { return s.operations_per_second(); });
}

double CaseResult::median_bytes_per_second() const {
  return median_of(samples, [](const Sample& s) { return s.bytes_per_second(); });
}

double CaseResult::median_nanoseconds_per_operation() const {
  return median_of(samples, [](const Sample& s) { return s.nanoseconds_per_operation(); });
}

double CaseResult::median_signals_per_operation() const {
  return median_of(samples, [](const Sample& s) { return s.signals_per_operation(); });
}

double CaseResult::median_typical_nanoseconds_per_operation() const {
  return median_of(samples, [](const Sample& s) { return s.typical_nanoseconds_per_operation(); });
}

uint64_t CaseResult::total_operations() const {
  uint64_t total = 0;
  for (const Sample& sample : samples) total += sample.operations;
  return total;
}

std::vector<CaseResult> run_alternating(const std::vector<BenchCase>& cases, const Timing& timing) {
  std::vector<CaseResult> results(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) results[i].name = cases[i].name;
  for (int round = 0; round < timing.rounds; ++round) {
    for (size_t i = 0; i < cases.size(); ++i) {
      if (!results[i].ok()) continue;
      results[i].samples.push_back(cases[i].run(timing.run_time));
    }
  }
  return results;
}

double median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return values[middle];
  return (values[middle - 1] + values[middle]) / 2;
}

CpuPair benchmark_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return {};
  CpuPair pair;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (pair.first < 0) {
      pair.first = cpu;
    } else {
      pair.second = cpu;
      return pair;
    }
  }
  return {};
}

bool pin_current_thread(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu), &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

void run_on_two_cpus(const std::function<void()>& first, const std::function<void()>& second) {
  const CpuPair cpus = benchmark_cpus();
  std::atomic<int> ready{0};
  // Each thread announces itself and spins until both are pinned, so neither starts its timed
  // part while the other is still being created. Relaxed suffices: the counter carries no data,
  // and the closures' captures were published by std::thread's constructor.
  auto start = [&ready](int cpu, const std::function<void()>& body) {
    static_cast<void>(pin_current_thread(cpu));
    ready.fetch_add(1, std::memory_order_relaxed);
    while (ready.load(std::memory_order_relaxed) < 2) std::this_thread::yield();
    body();
  };
  // Both parts run on new threads, so the caller's own CPU affinity is left alone.
  std::thread first_thread(start, cpus.first, std::cref(first));
  std::thread second_thread(start, cpus.second, std::cref(second));
  first_thread.join();
  second_thread.join();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace vmb::bench
