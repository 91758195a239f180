// SPDX-License-Identifier: MIT
// The soak's guest processes and the pieces every process shares (see soak_guest.h).
#include "soak_guest.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "vmbkit/bus/guest_channel_bus.h"

namespace vmb::soak {
namespace {

constexpr std::chrono::seconds kOpenBound{30};

}  // namespace

Guid instance_of(uint32_t id) {
  Guid guid = *Guid::parse("50a450a4-0000-4000-8000-000000000000");
  for (int i = 0; i < 4; ++i) guid.bytes[12 + i] = static_cast<uint8_t>(id >> (8 * i));
  return guid;
}

uint64_t resident_kib() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (file == nullptr) return 0;
  unsigned long long size = 0;
  unsigned long long resident = 0;
  const int fields = std::fscanf(file, "%llu %llu", &size, &resident);
  std::fclose(file);
  if (fields != 2) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

WarmReading::WarmReading(std::chrono::milliseconds duration)
    : thread_([this, at = std::chrono::steady_clock::now() + duration / 10] {
        std::this_thread::sleep_until(at);  // a measuring point, not a synchronisation
        kib_ = resident_kib();
      }) {}

WarmReading::~WarmReading() {
  if (thread_.joinable()) thread_.join();
}

uint64_t WarmReading::value() {
  if (thread_.joinable()) thread_.join();
  return kib_;
}

void run_clients(std::vector<ClientSide>& clients, std::chrono::steady_clock::time_point until) {
  std::vector<std::thread> threads;
  threads.reserve(clients.size());
  for (ClientSide& side : clients) {
    threads.emplace_back([&side, until] { side.client->run(until); });
  }
  for (std::thread& thread : threads) thread.join();
}

bool read_exactly(int fd, void* bytes, size_t size, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  auto* at = static_cast<char*>(bytes);
  while (size != 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return false;
    const ssize_t got = ::read(fd, at, size);
    if (got <= 0) return false;
    at += got;
    size -= static_cast<size_t>(got);
  }
  return true;
}

bool write_exactly(int fd, const void* bytes, size_t size) {
  const auto* at = static_cast<const char*>(bytes);
  while (size != 0) {
    const ssize_t put = ::write(fd, at, size);
    if (put <= 0) return false;
    at += put;
    size -= static_cast<size_t>(put);
  }
  return true;
}

int guest_main(const std::string& path, uint32_t process, const SoakOptions& options, int go_fd,
               int results_fd) {
  uint8_t go = 0;
  if (!read_exactly(go_fd, &go, 1, std::chrono::minutes(2))) return 2;
  bus::GuestChannelBus::Options bus_options;
  bus_options.dispatch_threads = 1;
  bus_options.client.memory_pages = 4096;  // 16 MiB: rings and external data
  bus_options.request_timeout = kOpenBound;
  auto connected = bus::GuestChannelBus::connect(path, bus_options);
  if (!connected) return 3;
  std::unique_ptr<bus::GuestChannelBus> bus = std::move(*connected);
  GuestResultHeader header;
  header.channels = options.channels;
  header.setup_ok = 1;
  std::vector<ClientSide> clients(options.channels);
  for (uint32_t c = 0; c < options.channels; ++c) {
    const uint32_t id = guest_channel_id(process, c);
    auto driver = std::make_unique<SoakClientDriver>(id);
    clients[c].driver = driver.get();
    clients[c].channel = Channel::create(*bus, EndpointRole::kClient, std::move(driver));
    if (!clients[c].channel->set_target(kSoakType, instance_of(id)).ok() ||
        !clients[c].channel->enable().ok()) {
      header.setup_ok = 0;
    }
    clients[c].client =
        std::make_unique<SoakClient>(*clients[c].channel, *clients[c].driver, bus->memory(), id);
    clients[c].client->damage_every(options.damage_every);
  }
  for (ClientSide& side : clients) {
    if (!side.driver->wait_running(kOpenBound)) header.setup_ok = 0;
  }
  header.rss_start_kib = resident_kib();
  header.pages_start = bus->memory().usage().pages_in_use;
  if (header.setup_ok != 0) {
    WarmReading warm(options.duration);
    run_clients(clients, std::chrono::steady_clock::now() + options.duration);
    header.rss_warm_kib = warm.value();
  }
  header.rss_end_kib = resident_kib();
  header.pages_end = bus->memory().usage().pages_in_use;
  bool written = write_exactly(results_fd, &header, sizeof header);
  for (uint32_t c = 0; c < options.channels && written; ++c) {
    ChannelRecord record;
    record.id = guest_channel_id(process, c);
    record.tally = clients[c].client->tally();
    written = write_exactly(results_fd, &record, sizeof record);
  }
  clients.clear();
  bus.reset();
  return written ? 0 : 4;
}

}  // namespace vmb::soak
