// SPDX-License-Identifier: MIT
// The progress bar and the final report of vmbkit-disk (disk_report.h).
#include "disk_report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace vmb::disk {
namespace {

constexpr int kBarWidth = 30;

std::string duration_text(uint64_t nanoseconds) {
  const auto value = static_cast<double>(nanoseconds);
  if (nanoseconds < 10'000) return fmt::format("{:.0f} ns", value);
  if (nanoseconds < 10'000'000) return fmt::format("{:.0f} us", value / 1e3);
  return fmt::format("{:.1f} ms", value / 1e6);
}

std::string count_text(double value) {
  if (value >= 1e6) return fmt::format("{:.2f} M", value / 1e6);
  if (value >= 1e4) return fmt::format("{:.1f} k", value / 1e3);
  return fmt::format("{:.0f}", value);
}

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

std::string json_number(double value) {
  return std::isfinite(value) ? fmt::format("{:.6g}", value) : "null";
}

// The problem text inside a JSON string: quotes, backslashes and control characters escaped.
std::string json_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

ProgressBar::ProgressBar(std::FILE* out, bool enabled)
    : out_(out),
      enabled_(enabled && ::isatty(::fileno(out)) == 1),
      last_time_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(double done, double total, uint64_t requests, uint64_t verified_blocks,
                         const char* phase) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double interval = std::chrono::duration<double>(now - last_time_).count();
  const double rate = interval > 0 ? static_cast<double>(requests - last_requests_) / interval : 0;
  last_requests_ = requests;
  last_time_ = now;
  const double fraction = total > 0 ? std::clamp(done / total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * kBarWidth);
  fmt::print(out_,
             "\r  [{:#<{}}{:.<{}}] {:4.1f}/{:.0f} s  {:>9} IOPS  {:>9} blocks verified  {:<9}", "",
             filled, "", kBarWidth - filled, done, total, count_text(rate),
             count_text(static_cast<double>(verified_blocks)), phase);
  static_cast<void>(std::fflush(out_));
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  fmt::print(out_, "\n");
  drawn_ = false;
}

void print_report(std::FILE* out, const WorkloadResult& r, const SignalFigures& signals,
                  const std::string& mode, bool json) {
  const double iops = per_second(r.requests(), r.seconds);
  const double megabytes = per_second(r.bytes, r.seconds) / 1e6;
  const LatencyHistogram& l = r.latencies;
  if (json) {
    fmt::print(out,
               "{{\"bench\":\"disk\",\"mode\":\"{}\",\"seconds\":{},\"channels\":{},"
               "\"queue_depth\":{},\"io_bytes\":{},\"read_percent\":{},\"requests\":{},"
               "\"reads\":{},\"writes\":{},\"iops\":{},\"mb_per_s\":{},\"latency_p50_ns\":{},"
               "\"latency_p99_ns\":{},\"latency_p999_ns\":{},\"latency_max_ns\":{},"
               "\"signals_per_request\":{},\"verified_blocks\":{},\"read_back_blocks\":{},"
               "\"bad_blocks\":{},\"failed_requests\":{},\"verified\":{},\"problem\":\"{}\"}}\n",
               json_escaped(mode), json_number(r.seconds), r.channels, r.queue_depth, r.io_bytes,
               r.read_percent, r.requests(), r.reads, r.writes, json_number(iops),
               json_number(megabytes), l.percentile(0.5), l.percentile(0.99), l.percentile(0.999),
               l.max(), json_number(signals.per_request), r.verified_blocks, r.read_back_blocks,
               r.bad_blocks, r.failed_requests, r.verified() ? "true" : "false",
               json_escaped(r.problem));
    return;
  }
  fmt::print(out, "\nvmbkit-disk {} report\n", mode);
  fmt::print(out, "  disk         {} blocks of {} B ({:.0f} MiB)\n", r.block_count, r.block_size,
             static_cast<double>(r.block_count * r.block_size) / (1024.0 * 1024.0));
  fmt::print(out,
             "  workload     {:.1f} s, {} channel{} x {} in flight, {} KiB requests, {}% reads\n",
             r.seconds, r.channels, r.channels == 1 ? "" : "s", r.queue_depth, r.io_bytes / 1024,
             r.read_percent);
  fmt::print(out, "  requests     {} ({} reads, {} writes)\n", r.requests(), r.reads, r.writes);
  fmt::print(out, "  IOPS         {}\n", count_text(iops));
  fmt::print(out, "  throughput   {:.1f} MB/s\n", megabytes);
  fmt::print(out, "  latency      p50 {}   p99 {}   p99.9 {}   max {}\n",
             duration_text(l.percentile(0.5)), duration_text(l.percentile(0.99)),
             duration_text(l.percentile(0.999)), duration_text(l.max()));
  if (std::isfinite(signals.per_request)) {
    fmt::print(out, "  signals      {:.3g} per request ({})\n", signals.per_request, signals.note);
  } else {
    fmt::print(out, "  signals      n/a ({})\n", signals.note);
  }
  fmt::print(out, "  verified     {} blocks read and checked ({} in the final read-back), {} bad\n",
             r.verified_blocks, r.read_back_blocks, r.bad_blocks);
  if (r.verified()) {
    fmt::print(out, "PASS: every block read back matched what was written\n");
  } else {
    fmt::print(out, "FAIL: {}\n",
               r.problem.empty() ? std::string("nothing was read back") : r.problem);
  }
}

}  // namespace vmb::disk
