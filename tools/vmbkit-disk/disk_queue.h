// SPDX-License-Identifier: MIT
// DiskQueue: the verified workload on one channel of the vmbkit-disk VSC — the storage-driver
// half of the example. It keeps `queue_depth` reads and writes in flight, each one packet sent
// with VmbPacketSendWithExternalMdl whose external data is a slice of one guest buffer
// (VmbKitAllocateGuestBuffer), and re-issues from the completion routine so the queue never
// drains. The queue owns a range of extents (runs of io_blocks blocks) that no other queue
// touches, remembers each extent's write generation, never has two requests on one extent at
// once, reads only extents it wrote, and checks every block it reads against BlockPattern.
// finish() then reads back every extent it wrote. Not here: opening channels (disk_channel.h)
// or running several queues and reporting (disk_workload.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "block_pattern.h"
#include "latency_histogram.h"
#include "vmbkit/kmcl.h"

namespace vmb::disk {

struct QueueOptions {
  uint32_t queue_depth = 32;  // requests in flight
  uint32_t io_blocks = 1;     // blocks per request
  uint32_t read_percent = 50;
  uint32_t block_size = 4096;
  uint64_t first_extent = 0;  // the extents [first_extent, first_extent + extent_count)
  uint64_t extent_count = 0;  // must exceed queue_depth
  uint64_t seed = 1;
};

// Counters readable from any thread while the queue runs (relaxed: for progress only).
struct QueueCounters {
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> verified_blocks{0};  // blocks read back and found good
  std::atomic<uint64_t> bad_blocks{0};       // blocks read back and found wrong
  std::atomic<uint64_t> failed_requests{0};  // an error status from the library or server
};

class DiskQueue {
 public:
  // Allocates the guest buffer and the packets. nullptr and *error set on failure.
  static std::unique_ptr<DiskQueue> create(PDEVICE_OBJECT bus, VMBCHANNEL channel,
                                           const QueueOptions& options, std::string* error);
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;
  // Frees packets and the guest buffer; the queue must be idle (stop() and wait_idle()).
  ~DiskQueue();

  // Issues queue_depth random requests; each completion issues the next.
  NTSTATUS start();
  // Stops issuing random requests (those in flight still complete). Never blocks for long.
  void stop();
  // Waits up to `timeout` until no request is in flight. False on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  // After stop() and wait_idle(): reads back every extent written (queue_depth at a time) and
  // checks it, waiting up to `timeout`. False on timeout.
  bool read_back(std::chrono::milliseconds timeout);

  [[nodiscard]] const QueueCounters& counters() const { return counters_; }
  // Latencies of the random phase; valid once wait_idle() returned true.
  [[nodiscard]] const LatencyHistogram& latencies() const { return latencies_; }
  // The first problem seen ("" if none): a failed request or a block that did not verify.
  [[nodiscard]] std::string first_problem() const;
  // Requests sent and not yet completed. Any thread.
  [[nodiscard]] uint32_t in_flight() const;

 private:
  enum class Phase : uint8_t { kRandom, kDraining, kReadBack, kDone };
  struct Slot {
    DiskQueue* owner = nullptr;
    VMBPACKET packet = nullptr;
    uint32_t index = 0;
    bool busy = false;
    bool is_read = false;
    uint64_t extent = 0;
    uint32_t generation = 0;  // read: expected; write: being written
    std::chrono::steady_clock::time_point sent;
  };
  struct Extent {
    uint32_t generation = 0;  // 0: never written in this run
    bool in_flight = false;
    bool unknown = false;  // a write failed: contents unknown, never read again
  };

  DiskQueue(PDEVICE_OBJECT bus, VMBCHANNEL channel, const QueueOptions& options);
  // Chooses and sends the next request on `slot`; false if there is nothing to send.
  bool issue_locked(Slot& slot);
  bool pick_locked(Slot& slot);
  NTSTATUS send_locked(Slot& slot);
  void complete(Slot& slot, NTSTATUS status, const void* reply, uint32_t reply_size);
  void verify_locked(const Slot& slot);
  void note_problem_locked(std::string problem);
  bool wait_idle_locked(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout);
  [[nodiscard]] std::byte* slot_data(const Slot& slot) const;

  static EVT_VMB_PACKET_COMPLETION_ROUTINE completion_routine;

  PDEVICE_OBJECT bus_;
  VMBCHANNEL channel_;
  QueueOptions options_;
  BlockPattern pattern_;
  uint32_t io_bytes_;
  void* buffer_ = nullptr;  // guest memory, queue_depth * io_bytes_
  PMDL mdl_ = nullptr;
  QueueCounters counters_;

  mutable std::mutex mutex_;  // everything below; the completion routine takes it too
  std::condition_variable idle_;
  std::vector<Slot> slots_;
  std::vector<Extent> extents_;
  std::vector<uint64_t> written_;  // extents with generation >= 1, in first-write order
  size_t read_back_next_ = 0;      // kReadBack: the next index into written_
  uint32_t in_flight_ = 0;
  Phase phase_ = Phase::kRandom;
  std::mt19937_64 random_;
  LatencyHistogram latencies_;
  std::string first_problem_;
};

}  // namespace vmb::disk
