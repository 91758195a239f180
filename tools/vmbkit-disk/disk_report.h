// SPDX-License-Identifier: MIT
// What vmbkit-disk prints: the progress bar shown while the workload runs (on stderr, only
// when it is a terminal) and the report at the end — IOPS, MB/s, latency percentiles,
// signals per request and the verification verdict — as text or as one JSON line. Not here:
// measuring (disk_workload.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "disk_workload.h"

namespace vmb::disk {

// A one-line progress bar redrawn in place. Does nothing unless `enabled` and the stream is a
// terminal.
class ProgressBar {
 public:
  ProgressBar(std::FILE* out, bool enabled);
  // Redraws: `done` of `total` seconds, with the requests and verified blocks so far.
  void update(double done, double total, uint64_t requests, uint64_t verified_blocks,
              const char* phase);
  // Ends the line (once).
  void finish();

 private:
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  uint64_t last_requests_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

// Signals per request as far as the library lets a driver know; NaN when it exposes none.
struct SignalFigures {
  double per_request = 0;
  std::string note;  // why the figure is missing, or how it was counted
};

// Prints the report as text (`json` false) or as one JSON object on one line.
void print_report(std::FILE* out, const WorkloadResult& result, const SignalFigures& signals,
                  const std::string& mode, bool json);

}  // namespace vmb::disk
