// SPDX-License-Identifier: MIT
// `vmbkit-disk demo` (disk_commands.h): a fresh image in a private directory, the server
// re-executed from this binary as a second process (`serve`, which reports readiness on a
// pipe), the guest workload in this process, then the server stopped with SIGTERM and
// everything removed. With --loopback (or without a cross-process bus in this build) both
// sides run in this process on a loopback bus instead.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "disk_bus.h"
#include "disk_commands.h"
#include "disk_server.h"

namespace vmb::disk {
namespace {

constexpr int kServerStartMilliseconds = 10000;
constexpr int kServerStopMilliseconds = 10000;

// A private directory (mode 0700) holding the image and the bus socket; removed with them.
class DemoDirectory {
 public:
  DemoDirectory() {
    std::string pattern = "/tmp/vmbkit-disk-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  DemoDirectory(const DemoDirectory&) = delete;
  DemoDirectory& operator=(const DemoDirectory&) = delete;
  ~DemoDirectory() {
    if (path_.empty()) return;
    static_cast<void>(::unlink(image().c_str()));
    static_cast<void>(::unlink(socket().c_str()));
    static_cast<void>(::rmdir(path_.c_str()));
  }
  [[nodiscard]] bool ok() const { return !path_.empty(); }
  [[nodiscard]] std::string image() const { return path_ + "/disk.img"; }
  [[nodiscard]] std::string socket() const { return path_ + "/bus.sock"; }

 private:
  std::string path_;
};

// Waits up to `milliseconds` for `pid` to exit (pidfd: no polling loop) and returns its exit
// status, or -1 if it had to be killed.
int wait_for_exit(pid_t pid, int milliseconds) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd exited{pidfd, POLLIN, 0};
    const int ready = ::poll(&exited, 1, milliseconds);
    static_cast<void>(::close(pidfd));
    if (ready != 1) static_cast<void>(::kill(pid, SIGKILL));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Starts `self serve ...` and waits for its readiness byte. Returns the pid, or -1.
pid_t start_server(const std::string& self, const DemoDirectory& directory, std::string* error) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child keeps only the pipe's write end across exec (dup2 clears O_CLOEXEC).
    const int ready_fd = 3;
    if (::dup2(ready[1], ready_fd) < 0) ::_exit(kExitSetup);
    const std::string fd_text = std::to_string(ready_fd);
    std::vector<std::string> arguments{
        self,      "serve",           "--socket",   directory.socket(),
        "--image", directory.image(), "--ready-fd", fd_text};
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(self.c_str(), argv.data());
    ::_exit(kExitSetup);
  }
  static_cast<void>(::close(ready[1]));
  if (pid < 0) {
    static_cast<void>(::close(ready[0]));
    *error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  pollfd readable{ready[0], POLLIN, 0};
  char byte = 0;
  const bool started =
      ::poll(&readable, 1, kServerStartMilliseconds) == 1 && ::read(ready[0], &byte, 1) == 1;
  static_cast<void>(::close(ready[0]));
  if (!started) {
    static_cast<void>(::kill(pid, SIGTERM));
    static_cast<void>(wait_for_exit(pid, kServerStopMilliseconds));
    *error = "the server process did not start (its error is above)";
    return -1;
  }
  return pid;
}

int demo_two_processes(const DemoOptions& options, const std::string& self,
                       const DemoDirectory& directory) {
  std::string error;
  const pid_t server = start_server(self, directory, &error);
  if (server < 0) {
    fmt::print(stderr, "vmbkit-disk demo: {}\n", error);
    return kExitSetup;
  }
  WorkloadResult result;
  bool ran = false;
  {
    BusHandle bus = connect_to_bus(directory.socket(), &error);
    ran = bus && run_workload(bus.get(), options.workload, &result, &error);
  }
  static_cast<void>(::kill(server, SIGTERM));
  const int server_status = wait_for_exit(server, kServerStopMilliseconds);
  if (!ran) {
    fmt::print(stderr, "vmbkit-disk demo: {}\n", error);
    return kExitSetup;
  }
  if (server_status != 0 && result.problem.empty()) {
    result.problem = fmt::format("the server process exited with status {}", server_status);
  }
  return report_and_exit(result, "demo (two processes)", options.json);
}

int demo_one_process(const DemoOptions& options, const DemoDirectory& directory) {
  std::string error;
  BusHandle bus = create_loopback_bus(&error);
  if (!bus) {
    fmt::print(stderr, "vmbkit-disk demo: {}\n", error);
    return kExitSetup;
  }
  auto server = DiskServer::start(bus.get(), directory.image(), 4096, &error);
  if (!server) {
    fmt::print(stderr, "vmbkit-disk demo: {}\n", error);
    return kExitSetup;
  }
  WorkloadResult result;
  const bool ran = run_workload(bus.get(), options.workload, &result, &error);
  server.reset();
  bus.reset();
  if (!ran) {
    fmt::print(stderr, "vmbkit-disk demo: {}\n", error);
    return kExitSetup;
  }
  return report_and_exit(result, "demo (one process, loopback bus)", options.json);
}

}  // namespace

int run_demo(const DemoOptions& options, const std::string& self) {
  DemoDirectory directory;
  std::string error;
  if (!directory.ok() || !create_image(directory.image(), options.image_mib, &error)) {
    fmt::print(stderr, "vmbkit-disk demo: cannot prepare a scratch image: {}\n",
               error.empty() ? std::strerror(errno) : error);
    return kExitSetup;
  }
  const bool two_processes = !options.loopback && cross_process_bus_available();
  if (!options.json) {
    fmt::print(
        "vmbkit-disk demo: a disk server (VSP) offers a {} MiB scratch image on VMBus "
        "channels;\na guest (VSC) in {} opens them and runs a verified mixed read/write "
        "workload:\n{} channel{} x {} requests in flight, {} KiB requests, {}% reads, "
        "{:.0f} s. Every block read is checked.\n",
        options.image_mib,
        two_processes ? "a second process (over a Unix socket)" : "the same process (loopback bus)",
        options.workload.channels, options.workload.channels == 1 ? "" : "s",
        options.workload.queue_depth, options.workload.io_kib, options.workload.read_percent,
        options.workload.run_time.count());
    static_cast<void>(std::fflush(stdout));
  }
  return two_processes ? demo_two_processes(options, self, directory)
                       : demo_one_process(options, directory);
}

}  // namespace vmb::disk
