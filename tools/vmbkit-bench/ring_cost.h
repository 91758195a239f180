// SPDX-License-Identifier: MIT
// The bare ring's per-packet cost on one thread: write a batch of packets, commit, read them
// all back (copy-out and validation included), commit, repeat — timed in the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), so time the scheduler gives to other processes does not count.
// On a shared machine this is the figure that still compares rings fairly; the two-thread
// figure (ring_bench.h) adds cache-line transfers between cores and needs an idle machine.
// Sequence numbers are checked as in the two-thread run. Not here: signalling.
#pragma once

#include <chrono>

#include "ring_bench.h"
#include "sample_runner.h"

namespace vmb::bench {

// One sample for options.kind (vmbkit or minimal), options.payload, ring_kib and batch.
// operations = packets; seconds = CPU seconds of the thread.
Sample measure_ring_cost(const RingBenchOptions& options, std::chrono::duration<double> run_time);

}  // namespace vmb::bench
