// SPDX-License-Identifier: MIT
// vmbkit-ring's command line: CLI11 definitions of init, write, read, dump and demo, the
// conversion of their text arguments into the typed options of ring_commands.h, and the exit
// statuses (0 success, 1 usage, 2 corrupt ring, 3 ring full). Numbers are taken as text and
// parsed by packet_text.h, so "010" is ten and "0x10" sixteen, never octal.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "packet_text.h"
#include "ring_commands.h"

namespace vmb::ring_tool {
namespace {

constexpr const char* kDescription =
    "vmbkit-ring: look into VMBus ring files and check interoperability.\n"
    "A ring file holds the guest->host ring (a 4096-byte control page and N data pages)\n"
    "followed by the host->guest ring (control page and M data pages): the layout of a\n"
    "channel's ring GPADL. Numbers are decimal or 0x-prefixed hex.";
constexpr const char* kExitStatuses =
    "Exit status: 0 success, 1 usage error (or a file that cannot be used), 2 corrupt ring\n"
    "(reason on stderr), 3 ring full (write).";

constexpr uint64_t kU16Max = std::numeric_limits<uint16_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// The options of every command, as text until the command runs.
struct Arguments {
  std::string path;
  std::string pages;
  std::string receive_pages;
  std::string side;
  std::string type;
  std::string flags = "0";
  std::string transaction_id = "0";
  std::string payload;
  std::vector<std::string> gpa;
  std::string max_packets;
};

std::optional<uint64_t> optional_number(const std::string& text, uint64_t maximum,
                                        const char* what) {
  if (text.empty()) return std::nullopt;
  return parse_number(text, maximum, what);
}

FileOptions file_options(const Arguments& arguments) {
  return {arguments.path, optional_number(arguments.pages, kMaximumDataPages, "--pages"),
          optional_number(arguments.receive_pages, kMaximumDataPages, "--receive-pages")};
}

Side side(const Arguments& arguments) {
  return arguments.side == "host" ? Side::kHost : Side::kGuest;
}

void add_file_options(CLI::App* command, Arguments* arguments) {
  command->add_option("FILE", arguments->path, "The ring file")->required()->type_name("PATH");
  command
      ->add_option("--pages", arguments->pages,
                   "Data pages of the guest->host ring; with neither option the file splits "
                   "into two equal rings")
      ->type_name("N");
  command
      ->add_option("--receive-pages", arguments->receive_pages,
                   "Data pages of the host->guest ring; defaults to --pages")
      ->type_name("M");
}

void add_side_option(CLI::App* command, Arguments* arguments, const char* help) {
  command->add_option("--side", arguments->side, help)
      ->required()
      ->check(CLI::IsMember({"guest", "host"}))
      ->type_name("SIDE");
}

void define_commands(CLI::App* app, Arguments* arguments) {
  CLI::App* init = app->add_subcommand(
      "init", "Create FILE with zeroed rings; both control pages advertise pending-send-size");
  init->add_option("FILE", arguments->path, "The ring file to create (overwritten)")
      ->required()
      ->type_name("PATH");
  init->add_option("--pages", arguments->pages, "Data pages of the guest->host ring (default 1)")
      ->type_name("N");
  init->add_option("--receive-pages", arguments->receive_pages,
                   "Data pages of the host->guest ring (default: --pages)")
      ->type_name("M");

  CLI::App* write = app->add_subcommand("write", "Write and publish one packet");
  add_file_options(write, arguments);
  add_side_option(write, arguments, "guest writes the guest->host ring, host the host->guest ring");
  write
      ->add_option("--type", arguments->type,
                   "Packet type: 6 in-band (default), 9 GPA direct (default with --gpa), "
                   "0xb completion")
      ->type_name("T");
  write
      ->add_option("--flags", arguments->flags,
                   "Descriptor flags: 0, or 1 = completion requested (default 0)")
      ->type_name("F");
  write->add_option("--trans-id", arguments->transaction_id, "Transaction id (default 0)")
      ->type_name("ID");
  write->add_option("--payload", arguments->payload, "Payload bytes as hex; \"\" for none")
      ->required()
      ->type_name("HEX");
  write
      ->add_option("--gpa", arguments->gpa,
                   "A GPA range (type 9); repeat the option for more ranges")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("BYTES:OFFSET:PFN[,PFN...]");

  CLI::App* read = app->add_subcommand("read", "Consume packets, printing one line each");
  add_file_options(read, arguments);
  add_side_option(read, arguments, "guest reads the host->guest ring, host the guest->host ring");
  read->add_option("--max", arguments->max_packets, "Read at most N packets (default: all)")
      ->type_name("N");

  CLI::App* dump = app->add_subcommand(
      "dump", "Show both control pages and the unread packets, decoded; consumes nothing");
  add_file_options(dump, arguments);

  app->add_subcommand("demo", "A short guided run of init, write, read and dump");
  for (CLI::App* command : app->get_subcommands({})) command->footer(kExitStatuses);
}

ExitCode run(const CLI::App& app, const Arguments& arguments) {
  if (app.got_subcommand("init")) return run_init(file_options(arguments));
  if (app.got_subcommand("dump")) return run_dump(file_options(arguments));
  if (app.got_subcommand("demo")) return run_demo();
  if (app.got_subcommand("read")) {
    return run_read({file_options(arguments), side(arguments),
                     optional_number(arguments.max_packets, kU64Max, "--max")});
  }
  WriteOptions options;
  options.file = file_options(arguments);
  options.side = side(arguments);
  options.type = optional_number(arguments.type, kU16Max, "--type");
  options.flags = parse_number(arguments.flags, kU16Max, "--flags");
  options.transaction_id = parse_number(arguments.transaction_id, kU64Max, "--trans-id");
  options.payload = parse_hex(arguments.payload);
  for (const std::string& range : arguments.gpa) {
    options.gpa_ranges.push_back(parse_gpa_argument(range));
  }
  return run_write(options);
}

}  // namespace

int run_command_line(const std::vector<std::string>& arguments) {
  CLI::App app{kDescription, "vmbkit-ring"};
  app.footer(kExitStatuses);
  app.require_subcommand(1);
  Arguments parsed;
  define_commands(&app, &parsed);
  try {
    // CLI11 takes a vector of arguments last-first.
    std::vector<std::string> reversed(arguments.rbegin(), arguments.rend());
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    // --help is a "parse error" with status 0; every real one is a usage error (1).
    return app.exit(error) == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }
  try {
    return static_cast<int>(run(app, parsed));
  } catch (const UsageError& error) {
    static_cast<void>(std::fflush(stdout));  // keep stdout before stderr
    fmt::print(stderr, "vmbkit-ring: {}\n", error.what());
    return static_cast<int>(ExitCode::kUsage);
  }
}

}  // namespace vmb::ring_tool

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    return vmb::ring_tool::run_command_line(arguments);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "vmbkit-ring: %s\n", error.what());
    return 1;
  }
}
