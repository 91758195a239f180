// SPDX-License-Identifier: MIT
// vmbkit-disk's three commands, behind the command line of main.cc: `serve` (the VSP on a bus
// socket until SIGINT or SIGTERM), `run` (the VSC's verified workload against a serving
// process) and `demo` (both, as two processes, on a fresh image in a private directory).
// Exit statuses: kExitOk; kExitSetup when the disk could not be set up or used;
// kExitNotVerified when a block read back did not match or a request failed.
#pragma once

#include <cstdint>
#include <string>

#include "disk_workload.h"

namespace vmb::disk {

inline constexpr int kExitOk = 0;
inline constexpr int kExitSetup = 1;
inline constexpr int kExitNotVerified = 2;

struct ServeOptions {
  std::string socket_path;
  std::string image_path;
  uint32_t block_size = 4096;
  uint32_t create_mib = 0;  // > 0: create the image with this size if it does not exist
  int ready_fd = -1;        // >= 0: write one byte here once serving, then close it
};

struct RunOptions {
  std::string socket_path;
  WorkloadOptions workload;
  bool json = false;
};

struct DemoOptions {
  WorkloadOptions workload;
  uint32_t image_mib = 64;
  bool loopback = false;  // server and guest in this one process, on a loopback bus
  bool json = false;
};

int run_serve(const ServeOptions& options);
int run_guest(const RunOptions& options);
// `self` is this executable's path (re-executed as the server process).
int run_demo(const DemoOptions& options, const std::string& self);

// Prints the report of a finished workload (text or JSON) and returns the exit status.
int report_and_exit(const WorkloadResult& result, const std::string& mode, bool json);

// Creates `path` as a zero-filled (sparse) image of `mib` MiB; fails if it exists.
bool create_image(const std::string& path, uint32_t mib, std::string* error);

}  // namespace vmb::disk
