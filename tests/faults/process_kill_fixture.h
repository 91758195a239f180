// SPDX-License-Identifier: MIT
// The frame of the process-kill tests: a host side in the test process (a server channel on a
// HostChannelBus whose driver can hold opened() at a gate, hold packets, or map a GPADL named
// in a packet), guest-side helpers for forked processes (connect, open a client channel, a
// well-behaved guest), and the next guest that must be served after each kill. Fork before
// this process starts any thread: fork copies only the calling thread.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>

#include "bus/bus_test_support.h"
#include "child_process.h"
#include "hostile_fixture.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"
#include "vmbkit/mdl.h"

namespace vmb::testing {

using integration::ChildProcess;
using integration::GatedChild;
using integration::kProcessDeadline;
using integration::Pipe;

// The host's server driver: opened() can be held at a gate; packets are echoed, held, or
// (a GPADL handle in the payload) answered after mapping that GPADL and checking its pattern.
class ServerDriver final : public ChannelDriver {
 public:
  enum class Mode { kEcho, kHold, kMapGpadl };
  explicit ServerDriver(Mode mode, bool gate_open = true) : mode_(mode), gate_open_(gate_open) {}
  void set_mode(Mode mode) {
    const std::lock_guard lock(mutex_);
    mode_ = mode;
  }

  Status opened(Channel&) override {
    std::unique_lock lock(mutex_);
    ++opened_;
    changed_.notify_all();
    changed_.wait_for(lock, kProcessDeadline, [&] { return gate_open_; });
    return Status{};
  }
  void closed(Channel&) override { bump(&closed_); }
  void process_packet(Channel& channel, IncomingPacket& packet, std::span<std::byte> payload,
                      bool) override {
    Mode mode;
    {
      const std::lock_guard lock(mutex_);
      mode = mode_;
      if (mode == Mode::kHold) {
        held_.push_back(&packet);
        changed_.notify_all();
        return;
      }
    }
    if (mode == Mode::kMapGpadl && payload.size() >= sizeof(uint32_t)) {
      uint32_t handle = 0;
      std::memcpy(&handle, payload.data(), sizeof handle);
      const Result<PMDL> mdl = channel.map_gpadl(handle, true);
      const std::lock_guard lock(mutex_);
      if (mdl) {
        mapped_handle_ = handle;
        mapped_ = *mdl;
      }
      changed_.notify_all();
    }
    channel.complete(packet, payload);
  }

  void open_gate() {
    const std::lock_guard lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }
  bool wait_opened(int times) {
    return wait([&] { return opened_ >= times; });
  }
  bool wait_closed(int times) {
    return wait([&] { return closed_ >= times; });
  }
  bool wait_held(size_t count) {
    return wait([&] { return held_.size() >= count; });
  }
  bool wait_mapped() {
    return wait([&] { return mapped_ != nullptr; });
  }
  std::vector<IncomingPacket*> take_held() {
    const std::lock_guard lock(mutex_);
    return std::exchange(held_, {});
  }
  PMDL mapped() {
    const std::lock_guard lock(mutex_);
    return mapped_;
  }
  uint32_t mapped_handle() {
    const std::lock_guard lock(mutex_);
    return mapped_handle_;
  }

 private:
  bool wait(const std::function<bool()>& done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kProcessDeadline, done);
  }
  void bump(int* counter) {
    const std::lock_guard lock(mutex_);
    ++*counter;
    changed_.notify_all();
  }

  Mode mode_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_open_;
  int opened_ = 0;
  int closed_ = 0;
  std::vector<IncomingPacket*> held_;
  PMDL mapped_ = nullptr;
  uint32_t mapped_handle_ = 0;
};

inline std::unique_ptr<bus::GuestChannelBus> connect_guest(const std::string& path) {
  bus::GuestChannelBus::Options options;
  options.dispatch_threads = 1;
  options.client.memory_pages = 256;
  options.request_timeout = kProcessDeadline;
  auto guest = bus::GuestChannelBus::connect(path, options);
  return guest.has_value() ? std::move(guest.value()) : nullptr;
}

// A guest process's client channel, open and running, or null.
inline std::unique_ptr<Channel> open_client(bus::GuestChannelBus& guest, VictimDriver** events) {
  auto driver = std::make_unique<VictimDriver>("client");
  *events = driver.get();
  auto client = Channel::create(guest, EndpointRole::kClient, std::move(driver));
  if (!client->set_target(kVictimType, kVictimInstance).ok() || !client->enable().ok()) {
    return nullptr;
  }
  return (*events)->wait_for_event("post_started") ? std::move(client) : nullptr;
}

// Guest body of a well-behaved next guest: open, `requests` echoed requests, close.
inline int good_guest(const std::string& path, int requests) {
  auto guest = connect_guest(path);
  if (!guest) return 10;
  VictimDriver* events = nullptr;
  auto client = open_client(*guest, &events);
  if (!client) return 11;
  for (int i = 0; i < requests; ++i) {
    const std::vector<std::byte> request = pattern_bytes(24, static_cast<uint8_t>(i));
    std::vector<std::byte> reply(24);
    const SyncRequestResult result = client->send_synchronous(
        request, nullptr, kSendWaitForCompletion, std::span(reply), Deadline::after(kPeerWait));
    if (!result.status.ok() || reply != request) return 12;
  }
  return 0;
}

// The host side in this process: one server channel on a HostChannelBus.
class ProcessKill : public ::testing::Test {
 protected:
  void start_host(ServerDriver::Mode mode, bool gate_open = true) {
    bus::HostChannelBus::Options options;
    options.dispatch_threads = 1;
    auto host = bus::HostChannelBus::listen(directory.socket_path(), options);
    ASSERT_TRUE(host.has_value()) << to_string(host.status());
    host_bus = std::move(host.value());
    auto driver = std::make_unique<ServerDriver>(mode, gate_open);
    server_driver = driver.get();
    server = Channel::create(*host_bus, EndpointRole::kServer, std::move(driver));
    ASSERT_TRUE(server->set_offer(kVictimType, kVictimInstance).ok());
    ASSERT_TRUE(server->enable().ok());
    server->start();
  }
  void TearDown() override {
    if (server_driver != nullptr) {
      server_driver->open_gate();
      for (IncomingPacket* packet : server_driver->take_held()) server->complete(*packet, {});
    }
    server.reset();
    host_bus.reset();
  }
  // Forks the well-behaved guest that runs after the kill (before this process starts any
  // thread: fork copies only the calling thread). It waits for its release.
  void fork_next_guest() {
    next = std::make_unique<GatedChild>([this] { return good_guest(directory.socket_path(), 20); });
    ASSERT_TRUE(next->started());
  }
  // Lets the next guest run to the end: the offer is usable again.
  void expect_next_guest_served() {
    next->release();
    EXPECT_EQ(next->exit_code(), 0);
    std::string reason;
    EXPECT_EQ(server->failure(&reason), STATUS_SUCCESS) << reason;
  }

  void gpadl_mapped_when_the_guest_dies(bool use_mapping_after_death);
  // Reads every page of the 4-page mapping and compares it with the guest's pattern.
  static void read_mapping(PMDL mdl);

  std::unique_ptr<GatedChild> next;
  bus::testing::SocketDirectory directory;
  std::unique_ptr<bus::HostChannelBus> host_bus;
  std::unique_ptr<Channel> server;
  ServerDriver* server_driver = nullptr;
};

}  // namespace vmb::testing
