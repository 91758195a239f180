// SPDX-License-Identifier: MIT
// `vmbkit-bench soak` (see soak_command.h): the options, and the report as a table or as one
// JSON line.
#include "soak_command.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "bench_report.h"

namespace vmb::bench {
namespace {

void print_table(const soak::SoakOptions& options, const soak::SoakReport& report) {
  fmt::print("vmbkit-bench soak: {:.0f} s, {} guest processes x {} channels + {} loopback pairs\n",
             report.seconds, options.processes, options.channels, options.loopback_channels);
  fmt::print("  packets    {}\n  bytes      {}\n", report.packets, report.bytes);
  fmt::print("  lost       {}\n  duplicated {}\n  corrupted  {}\n  errors     {}\n", report.lost,
             report.duplicated, report.corrupted, report.errors);
  fmt::print("  host RSS   {} KiB at start, {} KiB warm, {} KiB at end\n",
             report.host_rss_start_kib, report.host_rss_warm_kib, report.host_rss_end_kib);
  fmt::print("  guest RSS  {} KiB at start, {} KiB warm, {} KiB at end (all guest processes)\n",
             report.guest_rss_start_kib, report.guest_rss_warm_kib, report.guest_rss_end_kib);
  fmt::print("  guest memory pages in use: {} at start, {} at end\n", report.guest_pages_start,
             report.guest_pages_end);
  fmt::print("  result     {}\n", report.clean() ? "clean" : "FAILED: " + report.problem);
}

void print_json(const soak::SoakOptions& options, const soak::SoakReport& report) {
  JsonLine line;
  line.add("bench", "soak")
      .add("seconds", report.seconds)
      .add("processes", uint64_t{options.processes})
      .add("channels", uint64_t{report.channels})
      .add("packets", report.packets)
      .add("bytes", report.bytes)
      .add("lost", report.lost)
      .add("duplicated", report.duplicated)
      .add("corrupted", report.corrupted)
      .add("errors", report.errors)
      .add("host_rss_start_kib", report.host_rss_start_kib)
      .add("host_rss_warm_kib", report.host_rss_warm_kib)
      .add("host_rss_end_kib", report.host_rss_end_kib)
      .add("guest_rss_start_kib", report.guest_rss_start_kib)
      .add("guest_rss_warm_kib", report.guest_rss_warm_kib)
      .add("guest_rss_end_kib", report.guest_rss_end_kib)
      .add("guest_pages_start", report.guest_pages_start)
      .add("guest_pages_end", report.guest_pages_end)
      .add("clean", report.clean());
  if (!report.clean()) line.add("problem", report.problem);
  fmt::print("{}\n", line.text());
}

}  // namespace

CLI::App* add_soak_command(CLI::App& app, SoakArguments* arguments) {
  CLI::App* soak = app.add_subcommand(
      "soak",
      "Mixed, checked traffic over channels in several processes (a host and forked guests on a\n"
      "Unix-socket bus) and in-process loopback pairs; every byte is regenerated and compared,\n"
      "sequence numbers find lost and repeated packets. Exit 1 unless clean");
  soak->add_option("--minutes", arguments->minutes, "Run time in minutes (default 1)")
      ->check(CLI::Range(0.0, 24.0 * 60));
  soak->add_option("--seconds", arguments->seconds, "Run time in seconds (instead of --minutes)")
      ->check(CLI::Range(0.0, 86400.0));
  soak->add_option("--processes", arguments->options.processes, "Guest processes (default 2)")
      ->check(CLI::Range(0u, 16u));
  soak->add_option("--channels", arguments->options.channels,
                   "Channels per guest process (default 2)")
      ->check(CLI::Range(1u, 32u));
  soak->add_option("--loopback-channels", arguments->options.loopback_channels,
                   "Channel pairs inside the host process (default 2)")
      ->check(CLI::Range(0u, 32u));
  soak->add_flag("--json", arguments->json, "One JSON object instead of a table");
  // Hidden: for the test that shows damage is caught (soak_command_test.py).
  soak->add_option("--damage-every", arguments->options.damage_every,
                   "Flip one byte of every Nth packet sent (testing the checks)")
      ->check(CLI::Range(1u, 1000000u))
      ->group("");
  return soak;
}

int run_soak_command(const SoakArguments& arguments) {
  soak::SoakOptions options = arguments.options;
  const double total = arguments.seconds > 0
                           ? arguments.seconds
                           : (arguments.minutes > 0 ? arguments.minutes * 60 : 60);
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(total * 1000));
  soak::SoakReport report;
  if (!soak::run_soak(options, &report)) {
    fmt::print(stderr, "vmbkit-bench soak: {}\n", report.problem);
    return 1;
  }
  if (arguments.json) {
    print_json(options, report);
  } else {
    print_table(options, report);
  }
  return report.clean() ? 0 : 1;
}

}  // namespace vmb::bench
