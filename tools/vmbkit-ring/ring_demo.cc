// SPDX-License-Identifier: MIT
// `vmbkit-ring demo`: a short guided run of init, write, read and dump on a scratch file in
// $TMPDIR, running the real command lines (run_command_line) and echoing each one, so what it
// shows can be typed by hand. It checks every step's exit status; a surprise ends the demo
// with that status. The scratch file is removed at the end.
#include <stdlib.h>  // mkdtemp
#include <unistd.h>  // rmdir, unlink

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ring_commands.h"

namespace vmb::ring_tool {
namespace {

struct Step {
  const char* explanation;
  std::vector<std::string> arguments;  // FILE stands for the scratch file
  ExitCode expected;
};

// An argument as a shell would need it: "" for empty, long payloads shortened for reading.
std::string shown(const std::string& argument) {
  if (argument.empty()) return "\"\"";
  if (argument.size() > 48) {
    return fmt::format("{}...({} hex digits)", argument.substr(0, 16), argument.size());
  }
  return argument;
}

std::vector<Step> demo_steps() {
  const std::string too_large(size_t{2} * 4088, '0');  // 4088 bytes as hex
  return {
      {"Create a ring file: the guest->host ring then the host->guest ring, each a 4096-byte\n"
       "control page and one 4096-byte data page.",
       {"init", "FILE", "--pages", "1"},
       ExitCode::kOk},
      {"The guest sends an in-band packet (type 6) that asks for a completion (flags 1).",
       {"write", "FILE", "--side", "guest", "--flags", "1", "--trans-id", "0x1122334455667788",
        "--payload", "0102030405"},
       ExitCode::kOk},
      {"The guest sends a GPA-direct packet (type 9): 8192 bytes starting 16 bytes into page\n"
       "0x100 span three pages, so the range lists three PFNs.",
       {"write", "FILE", "--side", "guest", "--flags", "1", "--trans-id", "2", "--gpa",
        "8192:16:0x100,0x101,0x102", "--payload", "cafe"},
       ExitCode::kOk},
      {"The host sends a message the other way (\"Hello, guest!\").",
       {"write", "FILE", "--side", "host", "--trans-id", "7", "--payload",
        "48656c6c6f2c20677565737421"},
       ExitCode::kOk},
      {"dump shows both control pages and every unread packet and consumes nothing. Payloads\n"
       "are padded to a multiple of 8 bytes; each packet is followed by an 8-byte trailer.",
       {"dump", "FILE"},
       ExitCode::kOk},
      {"The host reads the guest->host ring: one line per packet, and the space is released.",
       {"read", "FILE", "--side", "host"},
       ExitCode::kOk},
      {"The host completes the first packet: a completion (type 0xb) echoes its transaction id.",
       {"write", "FILE", "--side", "host", "--type", "0xb", "--trans-id", "0x1122334455667788",
        "--payload", ""},
       ExitCode::kOk},
      {"The guest reads the host->guest ring: the message, then the completion.",
       {"read", "FILE", "--side", "guest"},
       ExitCode::kOk},
      {"A ring is never filled completely: 4088 payload bytes need 4112 ring bytes with the\n"
       "descriptor and trailer, more than a 4096-byte data area holds. write exits with 3.",
       {"write", "FILE", "--side", "guest", "--payload", too_large},
       ExitCode::kFull},
      {"Both rings are empty again: read_index has caught up with write_index.",
       {"dump", "FILE"},
       ExitCode::kOk},
  };
}

}  // namespace

ExitCode run_demo() {
  std::string directory = (std::filesystem::temp_directory_path() / "vmbkit-ring-demo-XXXXXX");
  if (::mkdtemp(directory.data()) == nullptr) {
    throw UsageError(fmt::format("cannot create a scratch directory like {}", directory));
  }
  const std::string file = directory + "/ring.bin";
  fmt::print("vmbkit-ring demo: a ring file at {}\n", file);

  ExitCode result = ExitCode::kOk;
  for (const Step& step : demo_steps()) {
    std::vector<std::string> arguments = step.arguments;
    std::string echo = "$ vmbkit-ring";
    for (std::string& argument : arguments) {
      if (argument == "FILE") argument = file;
      echo += " " + shown(argument);
    }
    fmt::print("\n# {}\n{}\n", step.explanation, echo);
    static_cast<void>(std::fflush(stdout));  // keep stdout before stderr
    const int status = run_command_line(arguments);
    if (status != static_cast<int>(ExitCode::kOk)) fmt::print("(exit status {})\n", status);
    if (status != static_cast<int>(step.expected)) {
      fmt::print(stderr, "vmbkit-ring demo: expected exit status {}, got {}; stopping\n",
                 static_cast<int>(step.expected), status);
      result = status == 0 ? ExitCode::kCorrupt : static_cast<ExitCode>(status);
      break;
    }
  }
  ::unlink(file.c_str());
  ::rmdir(directory.c_str());
  if (result == ExitCode::kOk) {
    fmt::print(
        "\nTry it: vmbkit-ring init ring.bin && vmbkit-ring write ring.bin --side guest "
        "--payload 00ff && vmbkit-ring dump ring.bin\n"
        "Every command takes --help.\n");
  }
  return result;
}

}  // namespace vmb::ring_tool
