// SPDX-License-Identifier: MIT
// The channel benchmarks: vmbkit's KMCL API on an in-process loopback bus (server and client
// endpoints in one process, each channel served by the library's own dispatch threads), the
// way a driver uses it. Synchronous request round trips, one-way packet throughput, external
// data throughput, and scaling over several channel pairs (subchannels as parallel queues).
// Each takes one Sample; the bus and channels are set up outside the timed part. Not here:
// the baselines or the bare ring.
#pragma once

#include <chrono>
#include <cstdint>

#include "sample_runner.h"

namespace vmb::bench {

// VmbChannelSendSynchronousRequest with `payload` bytes in-band and WAIT_FOR_COMPLETION, the
// server completing with `payload` bytes; `polling`: both endpoints in busy-poll mode
// (VmbKitChannelInitSetPolling). operations = round trips.
Sample measure_kmcl_round_trip(uint32_t payload, std::chrono::duration<double> run_time,
                               bool polling = false);

// VmbPacketSend of `payload` bytes (16..65536) without WAIT_FOR_COMPLETION, from a pool of
// packets re-sent by their completion routines (which run once each packet is in the ring).
// Time runs until the server has received every packet sent. operations = packets.
Sample measure_kmcl_one_way(uint32_t payload, std::chrono::duration<double> run_time);

// VmbPacketSendWithExternalMdl of `bytes` of guest memory per packet (WAIT_FOR_COMPLETION),
// `depth` packets in flight; the server maps the data and copies it out. operations =
// packets, bytes = external bytes.
Sample measure_kmcl_external(uint32_t bytes, uint32_t depth,
                             std::chrono::duration<double> run_time);

// `channels` channel pairs on one bus, each with `depth` 64-byte requests in flight
// (WAIT_FOR_COMPLETION, completed by the server at once). operations = requests, all pairs.
Sample measure_kmcl_channels(uint32_t channels, uint32_t depth,
                             std::chrono::duration<double> run_time);

}  // namespace vmb::bench
