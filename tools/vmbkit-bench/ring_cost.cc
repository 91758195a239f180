// SPDX-License-Identifier: MIT
// The one-thread ring cost (ring_cost.h).
#include "ring_cost.h"

#include <time.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "minimal_ring.h"
#include "ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::bench {
namespace {

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

Sample failed(std::string why) {
  Sample sample;
  sample.ok = false;
  sample.error = std::move(why);
  return sample;
}

// Runs rounds of `round(&packets)` (false: a check failed) until `run_time` of wall time has
// passed; returns packets over the thread's CPU time.
template <typename Round>
Sample timed_rounds(std::chrono::duration<double> run_time, Round round) {
  Sample sample;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  while (seconds_since(start) < run_time.count()) {
    for (int i = 0; i < 16; ++i) {
      if (!round(&sample.operations)) return failed("packets lost, repeated or reordered");
    }
  }
  sample.seconds = thread_cpu_seconds() - cpu_start;
  return sample;
}

Sample vmbkit_cost(const RingBenchOptions& options, std::chrono::duration<double> run_time) {
  std::string error;
  const auto memory = BenchRingMemory::create(options.ring_kib / 4, &error);
  if (!memory) return failed(error);
  ring::OutgoingRing outgoing(memory->view());
  ring::IncomingRing incoming(memory->view());
  std::vector<std::byte> payload(options.payload, std::byte{0x5A});
  std::vector<std::byte> buffer(wire::kDescriptorSize + options.payload + 64);
  wire::PacketView packet;
  uint64_t written = 0;
  uint64_t expected = 0;
  Sample sample = timed_rounds(run_time, [&](uint64_t* packets) {
    for (uint32_t i = 0; i < options.batch; ++i) {
      std::memcpy(payload.data(), &written, sizeof written);
      if (outgoing.try_write(wire::PacketType::kDataInBand, 0, 0, payload) !=
          ring::WriteResult::kWritten) {
        break;  // full: read back what fits
      }
      ++written;
    }
    static_cast<void>(outgoing.commit());
    while (incoming.read(buffer, &packet) == ring::ReadResult::kPacket) {
      uint64_t sequence;
      std::memcpy(&sequence, packet.payload.data(), sizeof sequence);
      if (sequence != expected++) return false;
    }
    static_cast<void>(incoming.commit_read());
    *packets = expected;
    return expected == written && !incoming.corrupt();
  });
  sample.bytes = sample.operations * options.payload;
  return sample;
}

Sample minimal_cost(const RingBenchOptions& options, std::chrono::duration<double> run_time) {
  auto ring = std::make_unique<MinimalRing>(options.ring_kib * 1024);
  std::vector<std::byte> payload(options.payload, std::byte{0x5A});
  std::vector<std::byte> buffer(options.payload + 64);
  uint64_t written = 0;
  uint64_t expected = 0;
  Sample sample = timed_rounds(run_time, [&](uint64_t* packets) {
    for (uint32_t i = 0; i < options.batch; ++i) {
      std::memcpy(payload.data(), &written, sizeof written);
      if (!ring->try_write(payload.data(), options.payload)) break;
      ++written;
    }
    ring->commit();
    while (ring->read(buffer.data()) >= 0) {
      uint64_t sequence;
      std::memcpy(&sequence, buffer.data(), sizeof sequence);
      if (sequence != expected++) return false;
    }
    ring->commit_read();
    *packets = expected;
    return expected == written;
  });
  sample.bytes = sample.operations * options.payload;
  return sample;
}

}  // namespace

Sample measure_ring_cost(const RingBenchOptions& options, std::chrono::duration<double> run_time) {
  return options.kind == RingKind::kVmbkit ? vmbkit_cost(options, run_time)
                                           : minimal_cost(options, run_time);
}

}  // namespace vmb::bench
