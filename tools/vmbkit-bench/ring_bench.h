// SPDX-License-Identifier: MIT
// The bare-ring benchmark (`vmbkit-bench ring`): one producer and one consumer thread, pinned to
// different CPUs, move packets through one ring as fast as they can, committing in batches on
// both sides. Every packet carries its sequence number, which the consumer checks, so a ring
// that loses, repeats or reorders packets fails the sample instead of looking fast. The ring is
// either vmbkit's (vmbkit/ring/*.h over a memfd mapped through vmbkit/memory, with full
// validation of every packet) or MinimalRing, the unvalidated floor. Not here: channels.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "sample_runner.h"

namespace vmb::bench {

enum class RingKind : uint8_t {
  kVmbkit,   // vmb::ring::OutgoingRing / IncomingRing
  kMinimal,  // MinimalRing
};

enum class RingWait : uint8_t {
  // Both sides busy-poll; the consumer keeps interrupts masked, so no signal is ever due.
  kPoll,
  // The VMBus protocol (vmbkit rings only): the consumer masks interrupts while draining, and
  // when the ring runs empty unmasks and sleeps on an eventfd; the producer signals when
  // commit() says so, and when the ring is full it sets pending_send_sz and sleeps until the
  // consumer signals space. Sample::signals counts every eventfd write.
  kEvent,
};

struct RingBenchOptions {
  RingKind kind = RingKind::kVmbkit;
  RingWait wait = RingWait::kPoll;
  uint32_t payload = 64;   // bytes per packet, 8..65536 (the first 8 carry the sequence)
  uint32_t ring_kib = 64;  // data area in KiB, a multiple of 4 (vmbkit: whole 4 KiB pages)
  uint32_t batch = 32;     // packets per commit, 1..4096
  // 2: producer and consumer on two pinned CPUs, wall time (the real figure). 1: one thread
  // writes a batch then reads it back, timed in thread CPU time — the per-packet cost, which
  // other tenants of the machine cannot distort (ring_cost.h).
  uint32_t threads = 2;
};

// Checks the options; returns "" when usable, else what is wrong.
std::string check_ring_options(const RingBenchOptions& options);

// One sample: packets moved for about `run_time`, from the producer's first write to the
// consumer's last read. operations = packets, bytes = payload bytes.
Sample measure_ring(const RingBenchOptions& options, std::chrono::duration<double> run_time);

// The bare rings' synchronous round trip, the protocol's own floor under vmbkit's channel: two
// vmbkit rings (requests, replies) and two threads pinned like the spin ping-pong's. The client
// writes a request with "completion requested" and commit()s, polls its reply ring; the server
// polls, commits the read, writes a completion echoing the payload and commit()s. Both keep
// their incoming ring masked (polled), so every barrier of rules A and B is paid and no signal
// is ever due. `payload` 1..65536. operations = round trips.
Sample measure_ring_round_trip(uint32_t payload, std::chrono::duration<double> run_time);

}  // namespace vmb::bench
