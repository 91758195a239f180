// SPDX-License-Identifier: MIT
// Channels between real processes (fork): a host process with HostChannelBus and a server
// Channel, guest processes with GuestChannelBus and a client Channel — what VmbKitBusListen /
// VmbKitBusConnect give a KMCL driver. Covers open and synchronous requests across processes,
// a guest killed in the middle of a transfer (the server channel closes and is offered again;
// a new guest opens it), and a host killed with a request outstanding (the request ends with
// STATUS_DEVICE_REMOVED and the client channel closes). Children report by exit code.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "bus/bus_test_support.h"
#include "channel/recording_driver_for_tests.h"
#include "child_process.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"
#include "vmbkit/channel/channel.h"

namespace vmb::integration {
namespace {

using namespace std::chrono_literals;
using vmb::testing::RecordingDriver;

constexpr Guid kType = *Guid::parse("3c1d5e0f-77a2-4b8e-9d10-1f2e3d4c5b6a");
constexpr Guid kInstance = *Guid::parse("a0b1c2d3-e4f5-4617-8899-aabbccddeeff");

std::unique_ptr<bus::GuestChannelBus> connect_guest(const std::string& path) {
  bus::GuestChannelBus::Options options;
  options.dispatch_threads = 1;
  options.client.memory_pages = 256;
  options.request_timeout = kProcessDeadline;
  auto guest = bus::GuestChannelBus::connect(path, options);
  return guest.has_value() ? std::move(guest.value()) : nullptr;
}

// Guest body: open a client channel and make `requests` synchronous requests (the server
// echoes each payload as its completion). `mid_transfer` (optional) gets a byte after the
// first answer. Exit codes name the failing step.
int guest_requests(const std::string& path, uint64_t requests, Pipe* mid_transfer) {
  auto guest = connect_guest(path);
  if (!guest) return 10;
  auto driver = std::make_unique<RecordingDriver>("client");
  RecordingDriver* events = driver.get();
  auto client = Channel::create(*guest, EndpointRole::kClient, std::move(driver));
  if (!client->set_target(kType, kInstance).ok() || !client->enable().ok()) return 11;
  if (!events->wait_for_event("post_started")) return 12;
  for (uint64_t i = 1; i <= requests; ++i) {
    std::array<std::byte, 16> request{};
    std::memcpy(request.data(), &i, sizeof i);
    std::array<std::byte, 16> answer{};
    const SyncRequestResult result = client->send_synchronous(
        request, nullptr, kSendWaitForCompletion, std::span(answer), Deadline::after(20s));
    if (!result.status.ok()) return 13;
    if (result.completion_bytes != 16 || std::memcmp(answer.data(), request.data(), 16) != 0) {
      return 14;
    }
    if (mid_transfer != nullptr && i == 1) mid_transfer->put(1);
  }
  client.reset();
  return 0;
}

class ChannelProcessTest : public ::testing::Test {
 protected:
  void start_host() {
    bus::HostChannelBus::Options options;
    options.dispatch_threads = 1;
    auto host = bus::HostChannelBus::listen(directory_.socket_path(), options);
    ASSERT_TRUE(host.has_value()) << to_string(host.status());
    host_ = std::move(host.value());
    auto driver = std::make_unique<RecordingDriver>("server");
    server_events_ = driver.get();
    server_ = Channel::create(*host_, EndpointRole::kServer, std::move(driver));
    ASSERT_TRUE(server_->set_offer(kType, kInstance).ok());
    ASSERT_TRUE(server_->enable().ok());
    server_->start();
  }
  void TearDown() override {
    server_.reset();
    host_.reset();
  }

  bus::testing::SocketDirectory directory_;
  std::unique_ptr<bus::HostChannelBus> host_;
  std::unique_ptr<Channel> server_;
  RecordingDriver* server_events_ = nullptr;
};

TEST_F(ChannelProcessTest, SynchronousRequestsCrossTheProcessBoundary) {
  GatedChild guest([&] { return guest_requests(directory_.socket_path(), 300, nullptr); });
  ASSERT_TRUE(guest.started());
  start_host();
  guest.release();
  EXPECT_EQ(guest.exit_code(), 0);
  EXPECT_TRUE(server_events_->wait_for_packets(300));
  EXPECT_TRUE(server_events_->wait_for_event("closed"));
}

TEST_F(ChannelProcessTest, AGuestKilledMidTransferClosesTheServerWhichServesTheNext) {
  Pipe mid_transfer;
  GatedChild doomed([&] {
    mid_transfer.close_read();
    return guest_requests(directory_.socket_path(), 1'000'000'000, &mid_transfer);
  });
  GatedChild next([&] { return guest_requests(directory_.socket_path(), 100, nullptr); });
  ASSERT_TRUE(doomed.started() && next.started());
  mid_transfer.close_write();
  start_host();
  doomed.release();
  ASSERT_TRUE(mid_transfer.get().has_value());
  doomed.kill9();
  ASSERT_TRUE(doomed.wait_exit().has_value());
  ASSERT_TRUE(server_events_->wait_for_event("closed"));
  next.release();
  EXPECT_EQ(next.exit_code(), 0);
  EXPECT_TRUE(server_events_->wait_for_event("opened", 2));
}

TEST_F(ChannelProcessTest, AKilledHostEndsAnOutstandingRequestWithDeviceRemoved) {
  Pipe listening;    // host → guest
  Pipe got_request;  // host → guest: the request arrived and will never be answered
  ChildProcess host([&] {
    listening.close_read();
    got_request.close_read();
    bus::HostChannelBus::Options options;
    options.dispatch_threads = 1;
    auto bus = bus::HostChannelBus::listen(directory_.socket_path(), options);
    if (!bus.has_value()) return 1;
    auto driver = std::make_unique<RecordingDriver>("server");
    driver->on_packet = [&](Channel&, IncomingPacket&, std::span<std::byte>) {
      got_request.put(1);  // never completed
    };
    auto server = Channel::create(**bus, EndpointRole::kServer, std::move(driver));
    if (!server->set_offer(kType, kInstance).ok() || !server->enable().ok()) return 2;
    server->start();
    listening.put(1);
    Pipe forever;
    (void)forever.get(std::chrono::hours(1));  // killed long before
    return 3;
  });
  ASSERT_TRUE(host.started());
  listening.close_write();
  got_request.close_write();
  ASSERT_TRUE(listening.get().has_value());

  auto guest = connect_guest(directory_.socket_path());
  ASSERT_NE(guest, nullptr);
  auto driver = std::make_unique<RecordingDriver>("client");
  RecordingDriver* events = driver.get();
  auto client = Channel::create(*guest, EndpointRole::kClient, std::move(driver));
  ASSERT_TRUE(client->set_target(kType, kInstance).ok());
  ASSERT_TRUE(client->enable().ok());
  ASSERT_TRUE(events->wait_for_event("post_started"));
  std::thread killer([&] {
    if (got_request.get().has_value()) host.kill9();
  });
  std::array<std::byte, 16> request{};
  const SyncRequestResult result = client->send_synchronous(
      request, nullptr, kSendWaitForCompletion, std::nullopt, Deadline::after(kProcessDeadline));
  killer.join();
  EXPECT_EQ(result.status, Status{STATUS_DEVICE_REMOVED});
  EXPECT_TRUE(events->wait_for_event("closed"));
  EXPECT_TRUE(host.wait_exit().has_value());
  client.reset();
}

}  // namespace
}  // namespace vmb::integration
