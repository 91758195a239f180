// SPDX-License-Identifier: MIT
// The commands of vmbkit-ring (init, write, read, dump, demo) over typed options; main.cc turns
// the command line into these options. Each command returns the tool's exit status and prints
// its results on stdout and its complaints on stderr. Usage mistakes found while running
// (a file of the wrong size, an impossible --gpa) are thrown as UsageError.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "packet_text.h"
#include "ring_file.h"

namespace vmb::ring_tool {

// vmbkit-ring's exit statuses.
enum class ExitCode : int {
  kOk = 0,
  kUsage = 1,    // bad arguments, or a file that cannot be opened or has the wrong size
  kCorrupt = 2,  // a ring holds bytes the reader refuses (reason on stderr)
  kFull = 3,     // write: the packet does not fit in the ring now
};

// The ring file and its optional geometry (--pages, --receive-pages).
struct FileOptions {
  std::string path;
  std::optional<uint64_t> pages;
  std::optional<uint64_t> receive_pages;
};

struct WriteOptions {
  FileOptions file;
  Side side = Side::kGuest;
  std::optional<uint64_t> type;  // default 6, or 9 when ranges are given
  uint64_t flags = 0;
  uint64_t transaction_id = 0;
  std::vector<std::byte> payload;
  std::vector<GpaArgument> gpa_ranges;
};

struct ReadOptions {
  FileOptions file;
  Side side = Side::kGuest;
  std::optional<uint64_t> max_packets;  // none: until the ring is empty
};

// init: creates the file with zeroed rings whose control pages advertise pending-send-size.
ExitCode run_init(const FileOptions& options);

// write: one packet into the ring `side` writes, published at once.
ExitCode run_write(const WriteOptions& options);

// read: consumes packets from the ring `side` reads, printing one line each (format_packet).
// Each packet's space is released (read_index published) after its line is printed.
ExitCode run_read(const ReadOptions& options);

// dump: both control pages and the unread packets of both rings, decoded; consumes nothing
// (the file is mapped copy-on-write). A trailer that differs from Hyper-V's is shown as a note.
ExitCode run_dump(const FileOptions& options);

// demo: a short guided run of the commands above on a scratch file.
ExitCode run_demo();

// Parses and runs one command line (without the program name); returns the exit status.
// The demo uses it to run the real commands.
int run_command_line(const std::vector<std::string>& arguments);

}  // namespace vmb::ring_tool
