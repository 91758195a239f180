// SPDX-License-Identifier: MIT
// vmbkit-bench's command line (CLI11): with no command, the full run of bench_suite.h (tables,
// or JSON lines with --json; --quick for CI); `ring`, the bare ring alone with one JSON line
// per run; `round-trip`, the round-trip section alone (spin, eventfd, pipe, socketpair,
// the bare vmbkit rings, vmbkit event and poll mode) with its target; `soak`, the reliability soak
// (soak_command.h). Exit status: 0 every case ran, 1 usage error or a case failed (a data check or
// a call went wrong; for `soak`, anything lost, duplicated or corrupted). Missed targets are
// reported, never an exit status: timing is not a test.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "bench_report.h"
#include "bench_suite.h"
#include "ring_bench.h"
#include "sample_runner.h"
#include "soak_command.h"

namespace vmb::bench {
namespace {

constexpr const char* kDescription =
    "vmbkit-bench: measures vmbkit and, in the same run, the baselines a user would otherwise\n"
    "reach for (Unix socketpair, pipe, eventfd ping-pong, shared-memory spin ping-pong and a\n"
    "minimal unvalidated ring), alternating them so that both see the same machine. Figures are\n"
    "medians; every packet's sequence number is checked. Run on an otherwise idle machine.";

struct Arguments {
  bool json = false;
  bool quick = false;
  double seconds = 0;  // 0: the preset's
  int rounds = 0;      // 0: the preset's
  uint32_t ring_kib = 64;
  // ring
  uint32_t payload = 64;
  uint32_t batch = 32;
  std::string wait = "poll";
  bool minimal = false;
  uint32_t threads = 2;
};

int run_ring(const Arguments& arguments) {
  RingBenchOptions options;
  options.kind = arguments.minimal ? RingKind::kMinimal : RingKind::kVmbkit;
  options.wait = arguments.wait == "event" ? RingWait::kEvent : RingWait::kPoll;
  options.payload = arguments.payload;
  options.ring_kib = arguments.ring_kib;
  options.batch = arguments.batch;
  options.threads = arguments.threads;
  if (const std::string problem = check_ring_options(options); !problem.empty()) {
    fmt::print(stderr, "vmbkit-bench ring: {}\n", problem);
    return 1;
  }
  Timing timing;
  timing.run_time = std::chrono::duration<double>(arguments.seconds > 0 ? arguments.seconds : 1.0);
  timing.rounds = arguments.rounds > 0 ? arguments.rounds : 3;
  BenchReport report(stdout, arguments.json);
  const CaseResult result = run_alternating(
      {{"ring", [&options](std::chrono::duration<double> t) { return measure_ring(options, t); }}},
      timing)[0];
  if (!result.ok()) {
    fmt::print(stderr, "vmbkit-bench ring: {}\n", result.error());
    return 1;
  }
  const double packets = result.median_operations_per_second();
  const double bytes = result.median_bytes_per_second();
  Row row{"ring"};
  row.with("payload", uint64_t{options.payload})
      .with("ring_kib", uint64_t{options.ring_kib})
      .with("packets_per_s", packets)
      .with("bytes_per_s", bytes);
  // The line has exactly the fields above; the others appear only when asked for.
  if (arguments.minimal) row.with("ring", "minimal");
  if (options.threads == 1) row.with("threads", uint64_t{1});
  if (options.wait == RingWait::kEvent) {
    row.with("signals_per_packet", result.median_signals_per_operation());
  }
  report.emit(row);
  if (!report.json()) {
    fmt::print(
        "{} ring, {} B payload, {} KiB ring, {} packets per commit, {}: {} packets/s, "
        "{} MB/s",
        arguments.minimal ? "minimal" : "vmbkit", options.payload, options.ring_kib, options.batch,
        options.threads == 1 ? "one thread (per CPU-second)" : arguments.wait, human(packets),
        human(bytes / 1e6));
    if (options.wait == RingWait::kEvent) {
      fmt::print(", {:.2g} signals/packet", result.median_signals_per_operation());
    }
    fmt::print(" (median of {} x {:.2g} s)\n", timing.rounds, timing.run_time.count());
  }
  return 0;
}

SuiteOptions options_of(const Arguments& arguments) {
  SuiteOptions options = suite_options(arguments.quick);
  if (arguments.seconds > 0)
    options.timing.run_time = std::chrono::duration<double>(arguments.seconds);
  if (arguments.rounds > 0) options.timing.rounds = arguments.rounds;
  options.ring_kib = arguments.ring_kib;
  options.round_trip_payload = arguments.payload;
  return options;
}

int run_all(const Arguments& arguments) {
  BenchReport report(stdout, arguments.json);
  return run_suite(options_of(arguments), report);
}

int run_round_trip_command(const Arguments& arguments) {
  BenchReport report(stdout, arguments.json);
  return run_round_trips(options_of(arguments), report);
}

}  // namespace

int run_command_line(int argc, char** argv) {
  CLI::App app{kDescription, "vmbkit-bench"};
  Arguments arguments;
  app.add_flag("--json", arguments.json, "One JSON object per line instead of tables");
  app.add_flag("--quick", arguments.quick, "Short samples, one round, few sizes (CI)");
  app.add_option("--seconds", arguments.seconds, "Seconds per sample")
      ->check(CLI::Range(0.001, 60.0));
  app.add_option("--rounds", arguments.rounds, "Samples per case; the median is reported")
      ->check(CLI::Range(1, 100));
  app.add_option("--ring-kib", arguments.ring_kib,
                 "Data area of the bare rings in KiB (default 64)")
      ->check(CLI::Range(4u, 1024u * 1024u));

  CLI::App* ring = app.add_subcommand(
      "ring", "The bare ring: a producer and a consumer thread on separate CPUs, batched commits");
  ring->add_option("--payload", arguments.payload, "Payload bytes per packet (default 64)")
      ->check(CLI::Range(8u, 65536u));
  ring->add_option("--ring-kib", arguments.ring_kib, "Data area in KiB (default 64)")
      ->check(CLI::Range(4u, 1024u * 1024u));
  ring->add_option("--batch", arguments.batch, "Packets per commit, both sides (default 32)")
      ->check(CLI::Range(1u, 4096u));
  ring->add_option("--wait", arguments.wait,
                   "poll: both sides spin (default); event: the VMBus signalling protocol")
      ->check(CLI::IsMember({"poll", "event"}));
  ring->add_option("--threads", arguments.threads,
                   "2: producer and consumer on two CPUs (default); 1: per-packet cost on one "
                   "thread, in CPU time")
      ->check(CLI::IsMember({1u, 2u}));
  ring->add_flag("--minimal", arguments.minimal,
                 "The unvalidated minimal ring instead of vmbkit's");
  ring->add_option("--seconds", arguments.seconds, "Seconds per sample (default 1)")
      ->check(CLI::Range(0.001, 60.0));
  ring->add_option("--rounds", arguments.rounds, "Samples; the median is reported (default 3)")
      ->check(CLI::Range(1, 100));
  ring->add_flag("--json", arguments.json, "One JSON object per line");

  CLI::App* round_trip = app.add_subcommand(
      "round-trip",
      "Synchronous request round trips alone: the spin, eventfd, pipe and socketpair baselines, "
      "the bare vmbkit rings, vmbkit in event and in poll mode, and the poll-mode target");
  round_trip->add_option("--payload", arguments.payload, "Payload bytes each way (default 64)")
      ->check(CLI::Range(1u, 4096u));
  round_trip->add_option("--seconds", arguments.seconds, "Seconds per sample")
      ->check(CLI::Range(0.001, 60.0));
  round_trip->add_option("--rounds", arguments.rounds, "Samples per case; the median is reported")
      ->check(CLI::Range(1, 100));
  round_trip->add_flag("--json", arguments.json, "One JSON object per line");
  round_trip->add_flag("--quick", arguments.quick, "Short samples, one round (CI)");

  SoakArguments soak_arguments;
  CLI::App* soak = add_soak_command(app, &soak_arguments);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 1;
  }
  if (ring->parsed()) return run_ring(arguments);
  if (soak->parsed()) return run_soak_command(soak_arguments);
  if (round_trip->parsed()) return run_round_trip_command(arguments);
  return run_all(arguments);
}

}  // namespace vmb::bench

int main(int argc, char** argv) {
  try {
    return vmb::bench::run_command_line(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "vmbkit-bench: %s\n", error.what());
    return 1;
  }
}
