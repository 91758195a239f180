// SPDX-License-Identifier: MIT
// The host side of a soak run (see soak_run.h). Guest processes are forked first, before this
// process starts any thread; they wait for a go byte, so every process's traffic starts
// together. Every wait is bounded: a guest that does not report in time counts as an error.
#include "soak_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "soak_guest.h"
#include "soak_server.h"
#include "vmbkit/bus/host_channel_bus.h"
#include "vmbkit/channel/loopback_bus.h"

namespace vmb::soak {
namespace {

constexpr std::chrono::seconds kSetupBound{30};

struct GuestProcess {
  pid_t pid = -1;
  int go = -1;       // write end
  int results = -1;  // read end
};

// Forks the guests. Each child runs guest_main and _exits; it never returns here.
std::vector<GuestProcess> fork_guests(const std::string& path, const SoakOptions& options) {
  std::vector<GuestProcess> guests;
  for (uint32_t p = 0; p < options.processes; ++p) {
    int go[2];
    int results[2];
    if (::pipe2(go, O_CLOEXEC) != 0) break;
    if (::pipe2(results, O_CLOEXEC) != 0) {
      ::close(go[0]);
      ::close(go[1]);
      break;
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(go[1]);
      ::close(results[0]);
      for (const GuestProcess& earlier : guests) {
        ::close(earlier.go);
        ::close(earlier.results);
      }
      ::_exit(guest_main(path, p, options, go[0], results[1]));
    }
    ::close(go[0]);
    ::close(results[1]);
    if (pid < 0) {
      ::close(go[1]);
      ::close(results[0]);
      break;
    }
    guests.push_back(GuestProcess{pid, go[1], results[0]});
  }
  return guests;
}

// Reaps a guest, waiting at most `limit` on its pidfd; kills it past that. True if it exited
// with 0.
bool reap(const GuestProcess& guest, std::chrono::milliseconds limit) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, guest.pid, 0));
  if (pidfd >= 0) {
    pollfd waiting{pidfd, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(limit.count()));
    ::close(pidfd);
    if (ready <= 0) ::kill(guest.pid, SIGKILL);
  } else {
    ::kill(guest.pid, SIGKILL);  // cannot wait with a bound: do not wait at all
  }
  int status = 0;
  if (::waitpid(guest.pid, &status, 0) != guest.pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct ServerSide {
  std::unique_ptr<Channel> channel;
  SoakServerDriver* driver = nullptr;
};

ServerSide make_server(ChannelBus& bus, uint32_t id, Status* status) {
  ServerSide side;
  auto driver = std::make_unique<SoakServerDriver>(id);
  side.driver = driver.get();
  side.channel = Channel::create(bus, EndpointRole::kServer, std::move(driver));
  *status = side.channel->set_offer(kSoakType, instance_of(id));
  if (status->ok()) *status = side.channel->enable();
  if (status->ok()) side.channel->start();
  return side;
}

// Adds what one channel's client sent and its server saw to the report.
void account(const ClientTally& sent, const ServerTally& seen, SoakReport* report) {
  report->packets += seen.packets;
  report->bytes += seen.bytes;
  report->lost += seen.lost + (sent.sent > seen.next_sequence ? sent.sent - seen.next_sequence : 0);
  report->duplicated += seen.duplicated;
  report->corrupted += seen.corrupted + sent.bad_replies;
  report->errors += sent.errors + sent.stalls;
}

}  // namespace

bool run_soak(const SoakOptions& options, SoakReport* report) {
  char pattern[] = "/tmp/vmbkit-soak-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    report->problem = "cannot create a temporary directory";
    return false;
  }
  const std::string root = pattern;
  const std::string path = root + "/private/bus.sock";
  std::vector<GuestProcess> guests = fork_guests(path, options);
  if (guests.size() != options.processes) report->problem = "could not fork every guest";

  bus::HostChannelBus::Options host_options;
  auto listened = bus::HostChannelBus::listen(path, host_options);
  if (!listened) {
    report->problem = "cannot listen at " + path;
    for (const GuestProcess& guest : guests) ::kill(guest.pid, SIGKILL);
    for (const GuestProcess& guest : guests) (void)reap(guest, kSetupBound);
    std::filesystem::remove_all(root);
    return false;
  }
  std::unique_ptr<bus::HostChannelBus> host = std::move(*listened);
  std::map<uint32_t, ServerSide> servers;
  Status status;
  for (uint32_t p = 0; p < guests.size(); ++p) {
    for (uint32_t c = 0; c < options.channels; ++c) {
      const uint32_t id = guest_channel_id(p, c);
      servers[id] = make_server(*host, id, &status);
      if (!status.ok()) ++report->errors;
    }
  }
  auto loopback_created = LoopbackBus::create(LoopbackBus::Options{4096, 0, 2});
  if (!loopback_created) {
    report->problem = "cannot create the loopback bus";
    for (const GuestProcess& guest : guests) (void)reap(guest, std::chrono::milliseconds(0));
    return false;
  }
  std::unique_ptr<LoopbackBus> loopback = std::move(*loopback_created);
  std::vector<ClientSide> local(options.loopback_channels);
  for (uint32_t i = 0; i < options.loopback_channels; ++i) {
    const uint32_t id = loopback_channel_id(i);
    servers[id] = make_server(*loopback, id, &status);
    if (!status.ok()) ++report->errors;
    auto driver = std::make_unique<SoakClientDriver>(id);
    local[i].driver = driver.get();
    local[i].channel = Channel::create(*loopback, EndpointRole::kClient, std::move(driver));
    if (!local[i].channel->set_target(kSoakType, instance_of(id)).ok() ||
        !local[i].channel->enable().ok() || !local[i].driver->wait_running(kSetupBound)) {
      ++report->errors;
    }
    local[i].client =
        std::make_unique<SoakClient>(*local[i].channel, *local[i].driver, loopback->memory(), id);
    local[i].client->damage_every(options.damage_every);
  }
  report->channels = static_cast<uint32_t>(servers.size());
  report->host_rss_start_kib = resident_kib();
  const auto started = std::chrono::steady_clock::now();
  for (const GuestProcess& guest : guests) {
    const uint8_t go = 1;
    if (!write_exactly(guest.go, &go, 1)) ++report->errors;
  }
  {
    WarmReading warm(options.duration);
    run_clients(local, started + options.duration);
    report->host_rss_warm_kib = warm.value();
  }

  const auto collect_bound = options.duration + std::chrono::minutes(2);
  for (const GuestProcess& guest : guests) {
    GuestResultHeader header;
    if (!read_exactly(guest.results, &header, sizeof header, collect_bound) ||
        header.magic != kResultMagic || header.setup_ok == 0) {
      ++report->errors;
      if (report->problem.empty()) report->problem = "a guest process did not report";
      continue;
    }
    report->guest_rss_start_kib += header.rss_start_kib;
    report->guest_rss_warm_kib += header.rss_warm_kib;
    report->guest_rss_end_kib += header.rss_end_kib;
    report->guest_pages_start += header.pages_start;
    report->guest_pages_end += header.pages_end;
    for (uint32_t c = 0; c < header.channels; ++c) {
      ChannelRecord record;
      if (!read_exactly(guest.results, &record, sizeof record, kSetupBound) ||
          servers.count(record.id) == 0) {
        ++report->errors;
        break;
      }
      account(record.tally, servers[record.id].driver->tally(), report);
    }
  }
  for (const GuestProcess& guest : guests) {
    if (!reap(guest, kSetupBound)) ++report->errors;
    ::close(guest.go);
    ::close(guest.results);
  }
  for (uint32_t i = 0; i < options.loopback_channels; ++i) {
    account(local[i].client->tally(), servers[loopback_channel_id(i)].driver->tally(), report);
  }
  report->seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report->host_rss_end_kib = resident_kib();
  if (report->problem.empty() && !report->clean()) report->problem = "see the counts";

  local.clear();
  servers.clear();
  loopback.reset();
  host.reset();
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  return true;
}

}  // namespace vmb::soak
