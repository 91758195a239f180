// SPDX-License-Identifier: MIT
// SuiteState: what the sections of the full vmbkit-bench run share — the options, the report,
// the targets collected for the final table and the failures not yet printed — and the
// section functions the run calls in order (bench_suite.cc, ring_sections.cc). Private to
// vmbkit-bench. Not here: measuring single cases.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_report.h"
#include "bench_suite.h"
#include "ring_bench.h"
#include "sample_runner.h"

namespace vmb::bench {

// The figures for this machine kind: the best-known VMBus rings move about 10 M
// 64-byte packets/s where a minimal unvalidated ring moves about 27 M. The target (twice the
// best known) is therefore expressed against the minimal ring measured in the same run.
inline constexpr double kBestKnownShareOfMinimal = 10.0 / 27.0;

struct Target {
  std::string name;
  std::string what;
  double value = 0;
  double limit = 0;
  bool at_most = false;  // true: value must stay below limit; false: reach at least limit
  [[nodiscard]] bool met() const { return at_most ? value < limit : value >= limit; }
};

struct SuiteState {
  const SuiteOptions& options;
  BenchReport& report;
  std::vector<Target> targets;
  std::vector<std::string> failures;  // not yet printed
  bool failed = false;

  // Prints a failed case once and remembers the failure.
  bool check(const CaseResult& result) {
    if (result.ok()) return true;
    failed = true;
    report.emit(Row{"error"}.with("case", result.name).with("error", result.error()));
    failures.push_back(fmt::format("FAILED {}: {}", result.name, result.error()));
    return false;
  }
  // Prints one table line, then the failures found for it.
  void line(const std::vector<std::string>& cells) {
    report.line(cells);
    for (const std::string& failure : failures) report.note(failure);
    failures.clear();
  }
  std::string timing_text() const {
    return fmt::format("median of {} x {:.2g} s, alternated", options.timing.rounds,
                       options.timing.run_time.count());
  }
};

// A bare-ring case with these options.
BenchCase ring_case(std::string name, RingBenchOptions ring);

// The sections in ring_sections.cc: the bare ring, signals per packet, the targets table.
void ring_section(SuiteState& suite);
void signal_section(SuiteState& suite);
void targets_section(SuiteState& suite);

}  // namespace vmb::bench
