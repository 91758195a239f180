// SPDX-License-Identifier: MIT
// One soak run: a host process with a HostChannelBus offering one server channel per guest
// channel, forked guest processes that connect with GuestChannelBus and drive their client
// channels, and channel pairs on a LoopbackBus inside the host process; all of them carry the
// mixed, checked traffic of soak_client.h for the requested time. The run then compares what
// every client sent with what its server saw and reports packets, bytes, lost, duplicated and
// corrupted packets, errors, and each process's memory at the start and the end. Not here: the
// command line (soak_command.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vmb::soak {

struct SoakOptions {
  std::chrono::milliseconds duration{60'000};
  uint32_t processes = 2;          // guest processes on the bus
  uint32_t channels = 2;           // client channels per guest process
  uint32_t loopback_channels = 2;  // channel pairs inside the host process
  // Testing the checks themselves: if not 0, every client flips one in-band byte of every
  // damage_every-th packet it sends after filling it, so the run must report corrupted packets.
  uint32_t damage_every = 0;
};

struct SoakReport {
  double seconds = 0;
  uint32_t channels = 0;
  uint64_t packets = 0;  // delivered to servers, checked byte for byte
  uint64_t bytes = 0;
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t corrupted = 0;  // a packet or a reply that did not match
  uint64_t errors = 0;     // failed sends or requests, stalls, processes that did not finish
  // Resident memory: before traffic, once warm (a tenth into the run: pools and caches have
  // grown to their working size), and at the end. Growth from warm to end would be a leak.
  uint64_t host_rss_start_kib = 0;
  uint64_t host_rss_warm_kib = 0;
  uint64_t host_rss_end_kib = 0;
  uint64_t guest_rss_start_kib = 0;  // summed over guest processes
  uint64_t guest_rss_warm_kib = 0;
  uint64_t guest_rss_end_kib = 0;
  uint64_t guest_pages_start = 0;  // guest-memory pages in use, summed
  uint64_t guest_pages_end = 0;
  std::string problem;  // the first thing that went wrong, for the log
  [[nodiscard]] bool clean() const {
    return lost == 0 && duplicated == 0 && corrupted == 0 && errors == 0 && packets != 0;
  }
};

// Runs the soak. Returns false (with report->problem set) if it could not even start.
bool run_soak(const SoakOptions& options, SoakReport* report);

}  // namespace vmb::soak
