// SPDX-License-Identifier: MIT
// The soak's client side: SoakClient sends one channel's mixed traffic — asynchronous
// requests (at most 32 in flight), one-way packets, synchronous requests and synchronous
// requests with external data from guest memory — numbered 0, 1, 2, ... so the server can
// count what is lost or repeated, and checks every reply. SoakClientDriver is the channel's
// driver: it checks the replies of asynchronous requests in their completion routine. Not
// here: verification of what arrives (soak_server.h) or processes (soak_run.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "vmbkit/channel/channel.h"
#include "vmbkit/memory/guest_memory.h"

namespace vmb::soak {

struct ClientTally {
  uint64_t sent = 0;  // packets the channel accepted: each must reach the server once
  uint64_t sent_bytes = 0;
  uint64_t replies = 0;      // replies checked
  uint64_t bad_replies = 0;  // a reply that does not answer its request
  uint64_t errors = 0;       // a send or request that ended other than with success
  uint64_t stalls = 0;       // a bounded wait that ran out
};

class SoakClientDriver final : public ChannelDriver {
 public:
  explicit SoakClientDriver(uint32_t channel) : channel_(channel) {}
  void packet_completed(PacketObject& packet, Status status, std::span<std::byte> payload) override;
  void post_started(Channel& channel) override;
  void closed(Channel& channel) override;

  // Waits (bounded) until the channel runs; false on timeout.
  bool wait_running(std::chrono::milliseconds limit);
  // Waits (bounded) until fewer than `limit` asynchronous requests are in flight.
  bool wait_in_flight_below(uint32_t limit, std::chrono::milliseconds bound);
  void started_request() {
    const std::lock_guard lock(mutex_);
    ++in_flight_;
  }
  // A request counted by started_request() that was refused: its routine never runs.
  void refused_request() {
    const std::lock_guard lock(mutex_);
    --in_flight_;
    changed_.notify_all();
  }
  // Adds the routine's findings to `tally`.
  void collect(ClientTally* tally);

 private:
  const uint32_t channel_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool running_ = false;
  uint32_t in_flight_ = 0;
  uint64_t replies_ = 0;
  uint64_t bad_replies_ = 0;
  uint64_t errors_ = 0;
};

class SoakClient {
 public:
  // `channel` runs with `driver` as its driver; external data is allocated from `memory` (the
  // guest memory of the channel's bus).
  SoakClient(Channel& channel, SoakClientDriver& driver, GuestMemory& memory, uint32_t id)
      : channel_(channel), driver_(driver), memory_(memory), id_(id) {}
  // Sends until `until`, then up to the next synchronous request (a barrier: the server has
  // handled everything before it), then waits for every asynchronous request to finish.
  void run(std::chrono::steady_clock::time_point until);
  // Damages one in-band byte of every `every`-th packet (0: none; SoakOptions::damage_every).
  void damage_every(uint32_t every) { damage_every_ = every; }
  [[nodiscard]] ClientTally tally();

 private:
  // Sends packet `sequence`; false if the run must stop.
  bool send(uint64_t sequence, bool* was_barrier);
  bool request(uint64_t sequence, std::span<const std::byte> inband, const MDL* external);

  Channel& channel_;
  SoakClientDriver& driver_;
  GuestMemory& memory_;
  const uint32_t id_;
  uint32_t damage_every_ = 0;
  ClientTally tally_;
};

}  // namespace vmb::soak
