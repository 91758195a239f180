// SPDX-License-Identifier: MIT
// DiskWorkload: the whole guest side of vmbkit-disk on one bus. It opens the disk's primary
// channel, negotiates the protocol version, asks for the geometry and for subchannels, opens
// them, splits the disk's extents among one DiskQueue per channel, runs the verified mixed
// read/write workload for the requested time (with a progress bar), drains, reads back every
// extent written, flushes, and closes everything in the order KMCL requires. Not here: the
// bus (disk_bus.h), the per-request logic (disk_queue.h) or the printed report
// (disk_report.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "latency_histogram.h"
#include "vmbkit/kmcl.h"

namespace vmb::disk {

struct WorkloadOptions {
  std::chrono::duration<double> run_time{10.0};
  uint32_t channels = 2;      // the primary plus channels - 1 subchannels
  uint32_t queue_depth = 32;  // requests in flight per channel
  uint32_t io_kib = 4;        // bytes per request / 1024, a multiple of the block size
  uint32_t read_percent = 70;
  uint64_t seed = 1;
  bool progress = false;                     // a progress bar on stderr
  std::chrono::milliseconds timeout{10000};  // any single wait (open, control, drain)
};

struct WorkloadResult {
  // What ran.
  uint32_t channels = 0;
  uint32_t queue_depth = 0;
  uint32_t io_bytes = 0;
  uint32_t read_percent = 0;
  uint32_t block_size = 0;
  uint64_t block_count = 0;
  // The timed mixed phase (start to drained).
  double seconds = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t bytes = 0;
  LatencyHistogram latencies;
  // Signals in either direction on the guest's channels during the timed phase.
  uint64_t signals = 0;
  // Verification over the whole run, read-back included.
  uint64_t verified_blocks = 0;
  uint64_t read_back_blocks = 0;
  uint64_t bad_blocks = 0;
  uint64_t failed_requests = 0;
  std::string problem;  // the first problem seen, "" if none

  [[nodiscard]] uint64_t requests() const { return reads + writes; }
  // True if something was read back and every block read matched what was written.
  [[nodiscard]] bool verified() const {
    return bad_blocks == 0 && failed_requests == 0 && verified_blocks > 0 && problem.empty();
  }
};

// Runs the guest side on `bus`. Returns false with *error set if the disk could not be opened
// or used at all; true otherwise (check result->verified()).
bool run_workload(PDEVICE_OBJECT bus, const WorkloadOptions& options, WorkloadResult* result,
                  std::string* error);

}  // namespace vmb::disk
