// SPDX-License-Identifier: MIT
// vmbkit-soak's command line (CLI11): one soak run (soak_run.h) of --minutes or --seconds, then
// a table or one JSON line. Exit status: 0 if every packet arrived once and intact and nothing
// failed, 1 otherwise (or on a usage error). To be merged into vmbkit-bench as `vmbkit-bench
// soak` (docs/reliability.md).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "soak_run.h"

namespace vmb::soak {
namespace {

void print_table(const SoakOptions& options, const SoakReport& report) {
  fmt::print("vmbkit-soak: {:.0f} s, {} guest processes x {} channels + {} loopback pairs\n",
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

void print_json(const SoakOptions& options, const SoakReport& report) {
  fmt::print(
      "{{\"case\":\"soak\",\"seconds\":{:.1f},\"processes\":{},\"channels\":{},"
      "\"packets\":{},\"bytes\":{},\"lost\":{},\"duplicated\":{},\"corrupted\":{},"
      "\"errors\":{},\"host_rss_start_kib\":{},\"host_rss_warm_kib\":{},"
      "\"host_rss_end_kib\":{},\"guest_rss_start_kib\":{},\"guest_rss_warm_kib\":{},"
      "\"guest_rss_end_kib\":{},\"guest_pages_start\":{},\"guest_pages_end\":{},"
      "\"clean\":{}}}\n",
      report.seconds, options.processes, report.channels, report.packets, report.bytes, report.lost,
      report.duplicated, report.corrupted, report.errors, report.host_rss_start_kib,
      report.host_rss_warm_kib, report.host_rss_end_kib, report.guest_rss_start_kib,
      report.guest_rss_warm_kib, report.guest_rss_end_kib, report.guest_pages_start,
      report.guest_pages_end, report.clean() ? "true" : "false");
}

}  // namespace

int run_command_line(int argc, char** argv) {
  CLI::App app{
      "vmbkit-soak: mixed, checked traffic over channels in several processes (a host and\n"
      "forked guests on a Unix-socket bus) and in-process loopback pairs; every byte is\n"
      "regenerated and compared, sequence numbers find lost and repeated packets.",
      "vmbkit-soak"};
  SoakOptions options;
  double minutes = 0;
  double seconds = 0;
  bool json = false;
  app.add_option("--minutes", minutes, "Run time in minutes")->check(CLI::Range(0.0, 24.0 * 60));
  app.add_option("--seconds", seconds, "Run time in seconds (instead of --minutes)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--processes", options.processes, "Guest processes (default 2)")
      ->check(CLI::Range(0u, 16u));
  app.add_option("--channels", options.channels, "Channels per guest process (default 2)")
      ->check(CLI::Range(1u, 32u));
  app.add_option("--loopback-channels", options.loopback_channels,
                 "Channel pairs inside the host process (default 2)")
      ->check(CLI::Range(0u, 32u));
  app.add_flag("--json", json, "One JSON object instead of a table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 1;
  }
  const double total = seconds > 0 ? seconds : (minutes > 0 ? minutes * 60 : 60);
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(total * 1000));
  SoakReport report;
  if (!run_soak(options, &report)) {
    fmt::print(stderr, "vmbkit-soak: {}\n", report.problem);
    return 1;
  }
  if (json) {
    print_json(options, report);
  } else {
    print_table(options, report);
  }
  return report.clean() ? 0 : 1;
}

}  // namespace vmb::soak

int main(int argc, char** argv) { return vmb::soak::run_command_line(argc, argv); }
