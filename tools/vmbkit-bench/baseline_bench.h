// SPDX-License-Identifier: MIT
// The baselines vmbkit is measured against, i.e. what a user would otherwise reach for to move
// messages between two threads: a Unix socketpair, a pipe, an eventfd ping-pong (payload in
// shared memory, the eventfd as the doorbell), and a raw shared-memory spin ping-pong, the
// floor no signalling transport can beat. Each takes one Sample; the two parties are threads
// pinned to different CPUs (sample_runner.h). Not here: the shared-memory one-way floor, which
// is a ring (minimal_ring.h), or anything of vmbkit.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "sample_runner.h"

namespace vmb::bench {

enum class Baseline : uint8_t {
  kSpin,        // shared memory, both sides busy-poll a sequence number
  kEventfd,     // shared memory, blocking eventfd read as the wake-up, one per direction
  kPipe,        // two pipes (round trip) or one (one way)
  kSocketpair,  // one AF_UNIX SOCK_STREAM socketpair
};

// "spin", "eventfd", "pipe", "socketpair": the transport field of the JSON lines.
std::string baseline_name(Baseline baseline);

// Round trips of `payload` bytes each way (1..65536), for about `run_time`: the client copies
// the payload out, the server copies it in and echoes it, the client copies the echo in.
// operations = round trips.
Sample measure_baseline_round_trip(Baseline baseline, uint32_t payload,
                                   std::chrono::duration<double> run_time);

// One-way messages of `payload` bytes (1..65536) through a pipe or a socketpair (kPipe or
// kSocketpair only): one write() per message, the reader reads as much as is there. Time runs
// from the first write to the reader's end of file. operations = messages.
Sample measure_baseline_one_way(Baseline baseline, uint32_t payload,
                                std::chrono::duration<double> run_time);

}  // namespace vmb::bench
