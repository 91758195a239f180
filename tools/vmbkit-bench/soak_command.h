// SPDX-License-Identifier: MIT
// `vmbkit-bench soak`: the reliability soak (soak_run.h) on vmbkit-bench's command line. Runs
// for --minutes or --seconds, then prints a table or one JSON line ({"bench":"soak",...}).
// Exit status: 0 if every packet arrived once and intact and nothing failed, 1 otherwise. Not
// here: the soak itself (soak_run.h) or the other commands (main.cc).
#pragma once

#include "soak_run.h"

namespace CLI {
class App;
}  // namespace CLI

namespace vmb::bench {

struct SoakArguments {
  double minutes = 0;
  double seconds = 0;  // instead of --minutes, for short runs; neither given: one minute
  bool json = false;
  soak::SoakOptions options;
};

// Adds the `soak` subcommand to `app`; its options are parsed into `*arguments`, which must
// outlive the parse.
CLI::App* add_soak_command(CLI::App& app, SoakArguments* arguments);

// Runs the soak as the parsed arguments say and prints the report; returns the exit status.
int run_soak_command(const SoakArguments& arguments);

}  // namespace vmb::bench
