// SPDX-License-Identifier: MIT
// The full vmbkit-bench run (bench_suite.h). Each section builds its cases, runs them
// alternated (run_alternating), prints a table or JSON lines, and records the targets it feeds.
#include "bench_suite.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "baseline_bench.h"
#include "kmcl_bench.h"
#include "ring_bench.h"
#include "suite_state.h"

namespace vmb::bench {
namespace {

std::string first_cpuinfo_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

uint32_t ring_kib_for(uint32_t ring_kib, uint32_t payload) {
  // Room for at least four packets, so large payloads still stream.
  const uint64_t needed = (uint64_t{payload} + 32) * 4;
  const auto kib = static_cast<uint32_t>((needed + 4095) / 4096 * 4);
  return std::max(ring_kib, kib);
}

void round_trip_section(SuiteState& suite) {
  const uint32_t payload = suite.options.round_trip_payload;
  std::vector<BenchCase> cases;
  for (const Baseline baseline :
       {Baseline::kSpin, Baseline::kEventfd, Baseline::kPipe, Baseline::kSocketpair}) {
    cases.push_back({baseline_name(baseline), [baseline, payload](std::chrono::duration<double> t) {
                       return measure_baseline_round_trip(baseline, payload, t);
                     }});
  }
  cases.push_back({"vmbkit-ring-poll", [payload](std::chrono::duration<double> t) {
                     return measure_ring_round_trip(payload, t);
                   }});
  cases.push_back({"vmbkit-sync-event", [payload](std::chrono::duration<double> t) {
                     return measure_kmcl_round_trip(payload, t, false);
                   }});
  cases.push_back({"vmbkit-sync-poll", [payload](std::chrono::duration<double> t) {
                     return measure_kmcl_round_trip(payload, t, true);
                   }});
  const std::vector<CaseResult> results = run_alternating(cases, suite.options.timing);
  const double spin = results[0].median_nanoseconds_per_operation();
  const double spin_typical = results[0].median_typical_nanoseconds_per_operation();
  suite.report.table(
      fmt::format("Round trip, {}-byte payload each way ({})", payload, suite.timing_text()),
      {"transport", "ns", "per second", "vs spin", "typical ns", "vs spin"});
  for (const CaseResult& result : results) {
    if (!suite.check(result)) {
      suite.line({result.name, "failed"});
      continue;
    }
    const double ns = result.median_nanoseconds_per_operation();
    const double typical = result.median_typical_nanoseconds_per_operation();
    suite.report.emit(Row{"round_trip"}
                          .with("transport", result.name)
                          .with("payload", uint64_t{payload})
                          .with("ns", ns)
                          .with("round_trips_per_s", result.median_operations_per_second())
                          .with("vs_spin", ns / spin)
                          .with("ns_typical", typical)
                          .with("typical_vs_spin", typical / spin_typical));
    suite.line({result.name, human(ns), human(result.median_operations_per_second()),
                ratio_text(ns / spin), human(typical), ratio_text(typical / spin_typical)});
  }
  suite.report.note(
      "vmbkit-ring-poll: the bare rings alone, polled both ways (every barrier of the VMBus "
      "ring protocol, no channel layer); vmbkit-sync-*: VmbChannelSendSynchronousRequest on a "
      "loopback bus, server completing in its callback; -poll: both channels "
      "VmbKitChannelInitSetPolling(TRUE). ns: the mean (all round trips over the run's time); "
      "typical ns: the median of the run's batches of 64, without the host's rare long stalls "
      "(a vCPU descheduled, a thread preempted) that the mean pays in full. The target uses "
      "the mean.");
  const CaseResult& poll = results.back();
  const bool measured = results[0].ok() && poll.ok();
  suite.targets.push_back(
      {"sync_round_trip_poll_vs_spin",
       fmt::format("sync round trip, poll mode / spin ping-pong ({} B)", payload),
       measured ? poll.median_nanoseconds_per_operation() / spin
                : std::numeric_limits<double>::quiet_NaN(),
       2.0, true});
}

void one_way_section(SuiteState& suite) {
  suite.report.table(fmt::format("One-way throughput, packets/s ({})", suite.timing_text()),
                     {"payload", "minimal ring", "vmbkit ring", "pipe", "socketpair", "vmbkit chan",
                      "ring MB/s", "ring/minimal", "chan/socket"});
  for (const uint32_t payload : suite.options.payloads) {
    RingBenchOptions ring;
    ring.payload = payload;
    ring.ring_kib = ring_kib_for(suite.options.ring_kib, payload);
    ring.batch = suite.options.batch;
    RingBenchOptions minimal = ring;
    minimal.kind = RingKind::kMinimal;
    std::vector<BenchCase> cases{ring_case("minimal-ring", minimal),
                                 ring_case("vmbkit-ring", ring)};
    for (const Baseline baseline : {Baseline::kPipe, Baseline::kSocketpair}) {
      cases.push_back(
          {baseline_name(baseline), [baseline, payload](std::chrono::duration<double> t) {
             return measure_baseline_one_way(baseline, payload, t);
           }});
    }
    cases.push_back({"vmbkit-channel", [payload](std::chrono::duration<double> t) {
                       return measure_kmcl_one_way(payload, t);
                     }});
    const std::vector<CaseResult> results = run_alternating(cases, suite.options.timing);
    std::vector<std::string> cells{fmt::format("{} B", payload)};
    for (const CaseResult& result : results) {
      const bool ok = suite.check(result);
      cells.push_back(ok ? human(result.median_operations_per_second()) : "failed");
      if (!ok) continue;
      suite.report.emit(Row{"one_way"}
                            .with("transport", result.name)
                            .with("payload", uint64_t{payload})
                            .with("packets_per_s", result.median_operations_per_second())
                            .with("bytes_per_s", result.median_bytes_per_second()));
    }
    const double ring_rate = results[1].median_operations_per_second();
    cells.push_back(human(results[1].median_bytes_per_second() / 1e6));
    cells.push_back(ratio_text(ring_rate / results[0].median_operations_per_second()));
    cells.push_back(ratio_text(results[4].median_operations_per_second() /
                               results[3].median_operations_per_second()));
    suite.line(cells);
  }
}

void external_section(SuiteState& suite) {
  suite.report.table(
      fmt::format("External data (guest buffers by MDL), MB/s ({})", suite.timing_text()),
      {"bytes per packet", "vmbkit", "socketpair", "vmbkit/socket"});
  for (const uint32_t bytes : suite.options.external_sizes) {
    const uint32_t depth = suite.options.external_depth;
    const std::vector<CaseResult> results =
        run_alternating({{"vmbkit-external",
                          [bytes, depth](std::chrono::duration<double> t) {
                            return measure_kmcl_external(bytes, depth, t);
                          }},
                         {"socketpair",
                          [bytes](std::chrono::duration<double> t) {
                            return measure_baseline_one_way(Baseline::kSocketpair, bytes, t);
                          }}},
                        suite.options.timing);
    std::vector<std::string> cells{fmt::format("{} KiB", bytes / 1024)};
    for (const CaseResult& result : results) {
      const bool ok = suite.check(result);
      cells.push_back(ok ? human(result.median_bytes_per_second() / 1e6) : "failed");
      if (!ok) continue;
      suite.report.emit(Row{"external"}
                            .with("transport", result.name)
                            .with("bytes_per_packet", uint64_t{bytes})
                            .with("depth", uint64_t{depth})
                            .with("packets_per_s", result.median_operations_per_second())
                            .with("bytes_per_s", result.median_bytes_per_second()));
    }
    cells.push_back(
        ratio_text(results[0].median_bytes_per_second() / results[1].median_bytes_per_second()));
    suite.line(cells);
  }
  suite.report.note(
      fmt::format("vmbkit: VmbPacketSendWithExternalMdl, {} in flight; the server "
                  "maps each MDL and copies the data out (socketpair copies too)",
                  suite.options.external_depth));
}

void channels_section(SuiteState& suite) {
  std::vector<BenchCase> cases;
  const uint32_t depth = suite.options.external_depth;
  for (const uint32_t channels : suite.options.channel_counts) {
    cases.push_back({fmt::format("{} channel{}", channels, channels == 1 ? "" : "s"),
                     [channels, depth](std::chrono::duration<double> t) {
                       return measure_kmcl_channels(channels, depth, t);
                     }});
  }
  const std::vector<CaseResult> results = run_alternating(cases, suite.options.timing);
  suite.report.table(fmt::format("Channel scaling: 64 B requests with completion, {} in flight "
                                 "per channel ({})",
                                 depth, suite.timing_text()),
                     {"channels", "requests/s", "vs 1 channel"});
  const double one = results.empty() ? 0 : results[0].median_operations_per_second();
  for (size_t i = 0; i < results.size(); ++i) {
    if (!suite.check(results[i])) {
      suite.line({results[i].name, "failed"});
      continue;
    }
    const double rate = results[i].median_operations_per_second();
    suite.report.emit(Row{"channels"}
                          .with("channels", uint64_t{suite.options.channel_counts[i]})
                          .with("depth", uint64_t{depth})
                          .with("requests_per_s", rate)
                          .with("vs_one", rate / one));
    suite.line({results[i].name, human(rate), ratio_text(rate / one)});
  }
}

}  // namespace

SuiteOptions suite_options(bool quick) {
  SuiteOptions options;
  if (quick) {
    options.timing.run_time = std::chrono::duration<double>(0.02);
    options.timing.rounds = 1;
    options.payloads = {64, 65536};
    options.external_sizes = {65536};
    options.channel_counts = {1, 2};
  } else {
    options.timing.run_time = std::chrono::duration<double>(0.2);
    options.timing.rounds = 5;
    options.payloads = {16, 64, 256, 1024, 4096, 16384, 65536};
    options.external_sizes = {4096, 65536, 1u << 20};
    options.channel_counts = {1, 2, 4};
  }
  return options;
}

void report_machine(BenchReport& report) {
  utsname names{};
  static_cast<void>(::uname(&names));
  std::ifstream loadavg_file("/proc/loadavg");
  double load = 0;
  loadavg_file >> load;
  const std::string cpu = first_cpuinfo_model();
  const CpuPair cpus = benchmark_cpus();
  report.emit(Row{"machine"}
                  .with("cpu", cpu)
                  .with("cpus", uint64_t{std::thread::hardware_concurrency()})
                  .with("kernel", std::string(names.release))
                  .with("load_average", load)
                  .with("pinned_cpus", fmt::format("{},{}", cpus.first, cpus.second)));
  if (!report.json()) {
    report.note(fmt::format(
        "vmbkit-bench on {} ({} CPUs), Linux {}, load average {:.2f}; "
        "two-party cases pinned to CPUs {} and {}",
        cpu, std::thread::hardware_concurrency(), names.release, load, cpus.first, cpus.second));
  }
}

int run_suite(const SuiteOptions& options, BenchReport& report) {
  SuiteState suite{options, report, {}, {}, false};
  report_machine(report);
  round_trip_section(suite);
  one_way_section(suite);
  external_section(suite);
  channels_section(suite);
  ring_section(suite);
  signal_section(suite);
  targets_section(suite);
  return suite.failed ? 1 : 0;
}

int run_round_trips(const SuiteOptions& options, BenchReport& report) {
  SuiteState suite{options, report, {}, {}, false};
  report_machine(report);
  round_trip_section(suite);
  targets_section(suite);
  return suite.failed ? 1 : 0;
}

}  // namespace vmb::bench
