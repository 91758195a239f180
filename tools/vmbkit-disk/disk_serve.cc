// SPDX-License-Identifier: MIT
// `vmbkit-disk serve` and `vmbkit-disk run` (disk_commands.h): one side each, on the
// cross-process bus.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "disk_bus.h"
#include "disk_commands.h"
#include "disk_report.h"
#include "disk_server.h"

namespace vmb::disk {

bool create_image(const std::string& path, uint32_t mib, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  const bool sized = ::ftruncate(fd, static_cast<off_t>(mib) * 1024 * 1024) == 0;
  if (!sized) *error = "cannot size " + path + ": " + std::strerror(errno);
  static_cast<void>(::close(fd));
  return sized;
}

int run_serve(const ServeOptions& options) {
  std::string error;
  if (options.create_mib > 0 && ::access(options.image_path.c_str(), F_OK) != 0 &&
      !create_image(options.image_path, options.create_mib, &error)) {
    fmt::print(stderr, "vmbkit-disk serve: {}\n", error);
    return kExitSetup;
  }
  // SIGINT and SIGTERM are taken synchronously (sigwait below). They are blocked before the
  // library starts its threads, which inherit the mask, so none of them takes the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  BusHandle bus = listen_on_bus(options.socket_path, &error);
  if (!bus) {
    fmt::print(stderr, "vmbkit-disk serve: {}\n", error);
    return kExitSetup;
  }
  auto server = DiskServer::start(bus.get(), options.image_path, options.block_size, &error);
  if (!server) {
    fmt::print(stderr, "vmbkit-disk serve: {}\n", error);
    return kExitSetup;
  }
  fmt::print(stderr, "vmbkit-disk serve: {} ({} blocks of {} B) on {}\n", options.image_path,
             server->block_count(), server->block_size(), options.socket_path);
  if (options.ready_fd >= 0) {
    const char ready = 'r';
    static_cast<void>(::write(options.ready_fd, &ready, 1));
    static_cast<void>(::close(options.ready_fd));
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const uint64_t served = server->requests_served();
  server.reset();  // rescinds the channels before the bus goes
  bus.reset();
  fmt::print(stderr, "vmbkit-disk serve: stopped by signal {} after {} requests\n", signal_number,
             served);
  return kExitOk;
}

SignalFigures signal_figures(const WorkloadResult& result) {
  if (result.requests() == 0) return {std::numeric_limits<double>::quiet_NaN(), "no requests"};
  return {static_cast<double>(result.signals) / static_cast<double>(result.requests()),
          "both directions, VmbKitChannelGetStatistics"};
}

int report_and_exit(const WorkloadResult& result, const std::string& mode, bool json) {
  print_report(stdout, result, signal_figures(result), mode, json);
  return result.verified() ? kExitOk : kExitNotVerified;
}

int run_guest(const RunOptions& options) {
  std::string error;
  BusHandle bus = connect_to_bus(options.socket_path, &error);
  if (!bus) {
    fmt::print(stderr, "vmbkit-disk run: {}\n", error);
    return kExitSetup;
  }
  WorkloadResult result;
  if (!run_workload(bus.get(), options.workload, &result, &error)) {
    fmt::print(stderr, "vmbkit-disk run: {}\n", error);
    return kExitSetup;
  }
  return report_and_exit(result, "run", options.json);
}

}  // namespace vmb::disk
