// SPDX-License-Identifier: MIT
// What the soak's processes share: channel ids and offer GUIDs, the records a guest process
// sends back to the host through a pipe, resident-memory readings, running a set of clients on
// threads, and the body of a guest process. Not here: the host's side of the run (soak_run.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "soak_client.h"
#include "soak_run.h"
#include "vmbkit/wire/guid.h"

namespace vmb::soak {

inline constexpr Guid kSoakType = *Guid::parse("50a450a4-7e57-4c0d-9a11-5a1d0c0ffee5");
inline constexpr uint64_t kResultMagic = 0x534b414f534b4d56;  // "VMBKSOAK"

// Channel ids: guest process p's channel c is (p + 1) * 1000 + c; loopback pair i is 900000 + i.
constexpr uint32_t guest_channel_id(uint32_t process, uint32_t channel) {
  return (process + 1) * 1000 + channel;
}
constexpr uint32_t loopback_channel_id(uint32_t pair) { return 900000 + pair; }
// The offer instance of channel `id`.
Guid instance_of(uint32_t id);

// What a guest process reports, then one ChannelRecord per channel.
struct GuestResultHeader {
  uint64_t magic = kResultMagic;
  uint32_t channels = 0;
  uint32_t setup_ok = 0;  // 1 if every channel opened
  uint64_t rss_start_kib = 0;
  uint64_t rss_warm_kib = 0;
  uint64_t rss_end_kib = 0;
  uint64_t pages_start = 0;
  uint64_t pages_end = 0;
};
struct ChannelRecord {
  uint32_t id = 0;
  uint32_t reserved = 0;
  ClientTally tally;
};

// This process's resident set in KiB (from /proc/self/statm), 0 if unreadable.
uint64_t resident_kib();

// Reads resident_kib() once a tenth of a run of `duration` starting now has passed, on a
// thread of its own (the clients keep running meanwhile). value() joins.
class WarmReading {
 public:
  explicit WarmReading(std::chrono::milliseconds duration);
  ~WarmReading();
  WarmReading(const WarmReading&) = delete;
  WarmReading& operator=(const WarmReading&) = delete;
  uint64_t value();

 private:
  std::thread thread_;
  uint64_t kib_ = 0;
};

// A client channel with its driver, and the soak client that drives it.
struct ClientSide {
  std::unique_ptr<Channel> channel;
  SoakClientDriver* driver = nullptr;
  std::unique_ptr<SoakClient> client;
};

// Runs every client's run(until) on a thread of its own; returns when all finished.
void run_clients(std::vector<ClientSide>& clients, std::chrono::steady_clock::time_point until);

// The body of guest process `process`: waits for the go byte on `go_fd`, connects to the bus
// at `path`, opens options.channels client channels, runs them for options.duration, writes
// its records to `results_fd`. Returns the process's exit code (0 = it ran to the end).
int guest_main(const std::string& path, uint32_t process, const SoakOptions& options, int go_fd,
               int results_fd);

// Bounded pipe helpers: all of `bytes` within `limit`, or false.
bool read_exactly(int fd, void* bytes, size_t size, std::chrono::milliseconds limit);
bool write_exactly(int fd, const void* bytes, size_t size);

}  // namespace vmb::soak
