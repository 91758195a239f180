// SPDX-License-Identifier: MIT
// vmbkit-disk's command line (CLI11): serve, run and demo (disk_commands.h). The workload
// options are shared by run and demo. Exit status: 0 verified, 1 usage or setup error, 2 a
// block did not verify or a request failed.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "disk_commands.h"

namespace vmb::disk {
namespace {

constexpr const char* kDescription =
    "vmbkit-disk: a virtual disk over VMBus, written against the KMCL API. A VSP serves a disk\n"
    "image file; a VSC runs a verified mixed read/write workload on it: control requests\n"
    "through VmbChannelSendSynchronousRequest, data as external data in guest buffers\n"
    "(VmbPacketSendWithExternalMdl), many requests in flight, subchannels as parallel queues.";

void add_workload_options(CLI::App* command, WorkloadOptions* workload, double* seconds, bool* json,
                          bool* no_progress) {
  command->add_option("--seconds", *seconds, "Length of the mixed phase (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  command
      ->add_option("--channels", workload->channels,
                   "Queues: the primary channel plus subchannels (default 2)")
      ->check(CLI::Range(1u, 16u));
  command
      ->add_option("--queue-depth", workload->queue_depth,
                   "Requests in flight per channel (default 32)")
      ->check(CLI::Range(1u, 256u));
  command->add_option("--io-kib", workload->io_kib, "KiB per request (default 4)")
      ->check(CLI::Range(4u, 1024u));
  command->add_option("--read-percent", workload->read_percent, "Share of reads (default 70)")
      ->check(CLI::Range(0u, 100u));
  command->add_option("--seed", workload->seed, "Seed of the random choices (default 1)");
  command->add_flag("--json", *json, "The report as one JSON line");
  command->add_flag("--no-progress", *no_progress, "No progress bar");
}

std::string self_path(const char* argv0) {
  // /proc/self/exe survives a relative argv[0] and a changed working directory.
  std::string path(4096, '\0');
  const ssize_t length = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (length <= 0) return argv0;
  path.resize(static_cast<size_t>(length));
  return path;
}

}  // namespace

int run_command_line(int argc, char** argv) {
  CLI::App app{kDescription, "vmbkit-disk"};
  app.require_subcommand(1);
  ServeOptions serve;
  RunOptions run;
  DemoOptions demo;
  double seconds = 10;
  bool json = false;
  bool no_progress = false;

  CLI::App* serve_command = app.add_subcommand("serve", "Serve a disk image (the VSP)");
  serve_command->add_option("--socket", serve.socket_path, "The bus socket to listen on")
      ->required();
  serve_command->add_option("--image", serve.image_path, "The disk image file")->required();
  serve_command->add_option("--block-size", serve.block_size, "Bytes per block (default 4096)")
      ->check(CLI::IsMember({512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u, 65536u}));
  serve_command
      ->add_option("--create-mib", serve.create_mib,
                   "Create the image with this size if it does not exist")
      ->check(CLI::Range(1u, 1u << 20));
  serve_command->add_option("--ready-fd", serve.ready_fd,
                            "Write one byte to this descriptor once serving (used by demo)");

  CLI::App* run_command = app.add_subcommand("run", "Run the verified workload (the VSC)");
  run_command->add_option("--socket", run.socket_path, "The server's bus socket")->required();
  add_workload_options(run_command, &run.workload, &seconds, &json, &no_progress);

  CLI::App* demo_command =
      app.add_subcommand("demo", "Start a server and a guest and run the verified workload");
  demo_command->add_option("--image-mib", demo.image_mib, "Size of the scratch image (default 64)")
      ->check(CLI::Range(1u, 4096u));
  demo_command->add_flag("--loopback", demo.loopback,
                         "Server and guest in one process, on a loopback bus");
  add_workload_options(demo_command, &demo.workload, &seconds, &json, &no_progress);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? kExitOk : kExitSetup;
  }
  if (serve_command->parsed()) return run_serve(serve);
  WorkloadOptions& workload = run_command->parsed() ? run.workload : demo.workload;
  workload.run_time = std::chrono::duration<double>(seconds);
  workload.progress = !no_progress && !json;
  if (run_command->parsed()) {
    run.json = json;
    return run_guest(run);
  }
  demo.json = json;
  return run_demo(demo, self_path(argv[0]));
}

}  // namespace vmb::disk

int main(int argc, char** argv) {
  try {
    return vmb::disk::run_command_line(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "vmbkit-disk: %s\n", error.what());
    return vmb::disk::kExitSetup;
  }
}
