// SPDX-License-Identifier: MIT
// The full vmbkit-bench run: the machine it ran on, then each section — round trips, one-way
// throughput over payload sizes, the bare ring against the minimal ring, signals per packet —
// with vmbkit and its baselines alternated in the same rounds, and finally the targets, each a
// ratio of two figures from this run. Not here: the command line (main.cc) or the measuring of
// single cases (the *_bench.h files).
#pragma once

#include <cstdint>
#include <vector>

#include "bench_report.h"
#include "sample_runner.h"

namespace vmb::bench {

struct SuiteOptions {
  Timing timing;
  std::vector<uint32_t> payloads;  // one-way throughput sizes
  uint32_t round_trip_payload = 64;
  uint32_t ring_kib = 64;                // data area of the bare rings
  uint32_t batch = 32;                   // packets per commit in the bare rings
  std::vector<uint32_t> external_sizes;  // bytes of external data per packet
  uint32_t external_depth = 16;          // packets in flight (external data, channel scaling)
  std::vector<uint32_t> channel_counts;  // channel pairs in the scaling section
};

// Options for a full run (seconds per sample, rounds, all payloads) or a quick one (--quick:
// a few payloads, short samples, one round: seconds in all, for CI).
SuiteOptions suite_options(bool quick);

// Runs every section and prints it. Returns 0 if every case ran, 1 if any failed (a data
// check or a call went wrong); a missed target is reported, not an error.
int run_suite(const SuiteOptions& options, BenchReport& report);

// The round-trip section alone, with its target (vmbkit-bench round-trip).
int run_round_trips(const SuiteOptions& options, BenchReport& report);

// Prints the machine line (CPU model, CPUs, kernel, load average).
void report_machine(BenchReport& report);

}  // namespace vmb::bench
