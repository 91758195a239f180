// SPDX-License-Identifier: MIT
// The ring sections of the full vmbkit-bench run (suite_state.h): the bare ring against the
// minimal ring (two threads and one-thread cost), signals per packet under saturation, and
// the closing table of targets.
#include <cmath>
#include <string>
#include <vector>

#include "suite_state.h"

namespace vmb::bench {

BenchCase ring_case(std::string name, RingBenchOptions ring) {
  return {std::move(name),
          [ring](std::chrono::duration<double> t) { return measure_ring(ring, t); }};
}

void ring_section(SuiteState& suite) {
  RingBenchOptions ring;
  ring.payload = 64;
  ring.ring_kib = suite.options.ring_kib;
  ring.batch = suite.options.batch;
  RingBenchOptions per_packet = ring;
  per_packet.batch = 1;
  RingBenchOptions minimal = ring;
  minimal.kind = RingKind::kMinimal;
  RingBenchOptions ring_cost = ring;
  ring_cost.threads = 1;
  RingBenchOptions minimal_cost = minimal;
  minimal_cost.threads = 1;
  const std::vector<RingBenchOptions> options{minimal, ring, per_packet, minimal_cost, ring_cost};
  const std::vector<CaseResult> results = run_alternating(
      {ring_case("minimal-ring", minimal), ring_case("vmbkit-ring", ring),
       ring_case("vmbkit-ring-commit-per-packet", per_packet),
       ring_case("minimal-ring", minimal_cost), ring_case("vmbkit-ring", ring_cost)},
      suite.options.timing);
  suite.report.table(fmt::format("Bare ring, 64-byte packets, {} KiB ring ({})", ring.ring_kib,
                                 suite.timing_text()),
                     {"ring", "threads", "packets/s", "MB/s", "vs minimal"});
  for (size_t i = 0; i < results.size(); ++i) {
    if (!suite.check(results[i])) {
      suite.line({results[i].name, "failed"});
      continue;
    }
    // Two-thread rows compare with the two-thread minimal ring, one-thread rows with its
    // one-thread run.
    const double floor = results[options[i].threads == 1 ? 3 : 0].median_operations_per_second();
    const double rate = results[i].median_operations_per_second();
    suite.report.emit(Row{"ring"}
                          .with("ring", results[i].name)
                          .with("threads", uint64_t{options[i].threads})
                          .with("payload", uint64_t{ring.payload})
                          .with("ring_kib", uint64_t{ring.ring_kib})
                          .with("batch", uint64_t{options[i].batch})
                          .with("packets_per_s", rate)
                          .with("bytes_per_s", results[i].median_bytes_per_second())
                          .with("vs_minimal", rate / floor));
    suite.line({results[i].name, options[i].threads == 1 ? "1 (CPU s)" : "2", human(rate),
                human(results[i].median_bytes_per_second() / 1e6), ratio_text(rate / floor)});
  }
  suite.report.note(
      "2: producer and consumer pinned to two CPUs, wall time; 1 (CPU s): one "
      "thread writes and reads back, per CPU-second (immune to other tenants)");
  if (results[0].ok() && results[1].ok()) {
    const double share =
        results[1].median_operations_per_second() / results[0].median_operations_per_second();
    suite.targets.push_back(
        {"ring_64b_vs_best_known",
         "bare ring, 64 B, 2 threads: vmbkit / best-known (10/27 of the minimal ring)",
         share / kBestKnownShareOfMinimal, 2.0, false});
  }
}

void signal_section(SuiteState& suite) {
  RingBenchOptions ring;
  ring.payload = 64;
  ring.ring_kib = suite.options.ring_kib;
  ring.batch = suite.options.batch;
  ring.wait = RingWait::kEvent;
  const std::vector<CaseResult> results =
      run_alternating({ring_case("vmbkit-ring-event", ring)}, suite.options.timing);
  suite.report.table(fmt::format("Signals under saturation, 64-byte packets, event-driven ({})",
                                 suite.timing_text()),
                     {"transport", "packets/s", "signals/packet"});
  for (const CaseResult& result : results) {
    if (!suite.check(result)) {
      suite.line({result.name, "failed"});
      continue;
    }
    const double signals = result.median_signals_per_operation();
    suite.report.emit(Row{"signals"}
                          .with("transport", result.name)
                          .with("payload", uint64_t{ring.payload})
                          .with("packets_per_s", result.median_operations_per_second())
                          .with("signals_per_packet", signals));
    suite.line({result.name, human(result.median_operations_per_second()),
                fmt::format("{:.2g}", signals)});
    suite.targets.push_back({"signals_per_packet_" + result.name,
                             "signals per packet under saturation (" + result.name + ")", signals,
                             0.01, true});
  }
}

void targets_section(SuiteState& suite) {
  suite.report.table("Targets (ratios of figures from this run)",
                     {"target", "measured", "limit", "met"});
  for (const Target& target : suite.targets) {
    const bool measured = std::isfinite(target.value);
    Row row{"target"};
    row.with("name", target.name);
    if (measured) row.with("value", target.value);
    row.with("limit", target.limit).with("at_most", target.at_most).with("measured", measured);
    if (measured) row.with("met", target.met());
    suite.report.emit(row);
    suite.line({target.what, measured ? fmt::format("{:.3g}", target.value) : "n/a",
                fmt::format("{}{:.3g}", target.at_most ? "< " : ">= ", target.limit),
                !measured      ? "n/a"
                : target.met() ? "yes"
                               : "NO"});
  }
}

}  // namespace vmb::bench
