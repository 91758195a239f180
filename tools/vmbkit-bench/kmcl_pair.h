// SPDX-License-Identifier: MIT
// KmclPair: a server and a client channel on one bus, opened and running, written against the
// public KMCL API only — what the channel benchmarks measure. The server endpoint answers
// every packet according to ServerAction (echo a reply, count and complete, or map the
// external data and copy it out) and counts what it received. Not here: what is sent
// (kmcl_bench.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vmbkit/kmcl.h"

namespace vmb::bench {

enum class ServerAction : uint8_t {
  kEcho,          // complete with reply_bytes of payload (a synchronous request's answer)
  kCount,         // complete with nothing
  kReadExternal,  // map the external data, copy it into private memory, complete
};

struct KmclPairOptions {
  ServerAction action = ServerAction::kCount;
  uint32_t reply_bytes = 0;
  uint32_t ring_pages = 64;              // data pages of each ring
  uint32_t maximum_packet = 64 * 1024;   // in-band payload limit of both endpoints
  uint32_t maximum_external = 1u << 20;  // external data limit of the client
  uint8_t instance = 0;                  // distinguishes pairs on one bus
  bool polling = false;                  // both endpoints in busy-poll mode
};

class KmclPair {
 public:
  // Offers, opens and waits (up to 10 s) until the client runs. nullptr and *error on failure.
  static std::unique_ptr<KmclPair> open(PDEVICE_OBJECT bus, const KmclPairOptions& options,
                                        std::string* error);
  KmclPair(const KmclPair&) = delete;
  KmclPair& operator=(const KmclPair&) = delete;
  ~KmclPair();

  // Closes both endpoints (blocks until the library is done with them): every packet still in
  // flight completes with STATUS_DEVICE_REMOVED before this returns. Idempotent.
  void disable();

  [[nodiscard]] VMBCHANNEL client() const { return client_; }
  [[nodiscard]] VMBCHANNEL server() const { return server_; }
  // Packets and in-band payload bytes (external bytes for kReadExternal) the server got.
  [[nodiscard]] uint64_t received_packets() const {
    return received_packets_.load(std::memory_order_acquire);
  }
  [[nodiscard]] uint64_t received_bytes() const {
    return received_bytes_.load(std::memory_order_relaxed);
  }
  // Waits up to `timeout` until the server has received `packets` packets in all.
  bool wait_received(uint64_t packets, std::chrono::milliseconds timeout);

 private:
  explicit KmclPair(const KmclPairOptions& options) : options_(options) {}

  static EVT_VMB_CHANNEL_PROCESS_PACKET server_packet;
  static EVT_VMB_CHANNEL_PROCESS_PACKET client_packet;
  static EVT_VMB_CHANNEL_POST_STARTED client_started;

  KmclPairOptions options_;
  VMBCHANNEL server_ = nullptr;
  VMBCHANNEL client_ = nullptr;
  // Written by the server's dispatch for every packet: on cache lines of their own, so a
  // sender reading client_ above does not pay for the server's writes (false sharing cost
  // the poll-mode round trip a cache-line transfer per request).
  alignas(128) std::atomic<uint64_t> received_packets_{0};
  std::atomic<uint64_t> received_bytes_{0};
  alignas(128) std::atomic<uint64_t> wake_at_{UINT64_MAX};  // wait_received's target
  std::vector<std::byte> reply_;
  std::vector<std::byte> copy_;  // kReadExternal's private copy (one dispatch context uses it)
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;
};

}  // namespace vmb::bench
