// SPDX-License-Identifier: MIT
// Sub-channels between processes (wire-format.md §5.5 step 7): a host offers three channels of
// one device — the same interface type and instance, sub_channel_index 0, 1 and 2 — and a guest
// process opens each one by its index and runs traffic on all three at once. Every request is
// tagged with its channel's index: each server must see only its own, each reply must be its
// request. Also: a sub-channel is offered only while its primary is. Children report by exit
// code; every wait is bounded.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <set>
#include <thread>

#include "bus/bus_test_support.h"
#include "channel/recording_driver_for_tests.h"
#include "child_process.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"
#include "vmbkit/channel/channel.h"

namespace vmb::integration {
namespace {

using vmb::testing::RecordingDriver;

constexpr Guid kType = *Guid::parse("7f2d9e50-5c73-4e40-ab8c-2d3e4f506172");
constexpr Guid kInstance = *Guid::parse("80a3ef61-6d84-4f51-bc9d-3e4f50617283");
constexpr uint16_t kChannels = 3;
constexpr uint64_t kRequestsPerChannel = 200;

// Request payload: the channel's index, then a sequence number.
struct Tagged {
  uint64_t index;
  uint64_t sequence;
};

// Guest body: one client channel per sub-channel index, each opened by its index; then, from
// one thread per channel at once, kRequestsPerChannel echoed requests on each.
int guest_body(const std::string& path) {
  bus::GuestChannelBus::Options options;
  options.dispatch_threads = 2;
  options.client.memory_pages = 512;
  options.request_timeout = kProcessDeadline;
  auto guest = bus::GuestChannelBus::connect(path, options);
  if (!guest.has_value()) return 10;
  bus::GuestChannelBus& bus = **guest;
  std::array<std::unique_ptr<Channel>, kChannels> clients;
  std::array<RecordingDriver*, kChannels> events{};
  for (uint16_t i = 0; i < kChannels; ++i) {
    auto driver = std::make_unique<RecordingDriver>("client");
    events[i] = driver.get();
    clients[i] = Channel::create(bus, EndpointRole::kClient, std::move(driver));
    if (!clients[i]->set_target(kType, kInstance).ok() ||
        !clients[i]->set_sub_channel_index(i).ok() || !clients[i]->enable().ok()) {
      return 11;
    }
  }
  for (uint16_t i = 0; i < kChannels; ++i) {
    if (!events[i]->wait_for_event("post_started")) return 12;
    if (clients[i]->interface_instance() != kInstance) return 13;
  }
  // The offers as they came over the wire: one device, three indexes, three relids.
  std::set<uint16_t> indexes;
  std::set<uint32_t> relids;
  for (const wire::OfferChannel& offer : bus.client().offers()) {
    if (offer.if_type != kType) continue;
    if (offer.if_instance != kInstance) return 14;
    indexes.insert(offer.sub_channel_index);
    relids.insert(offer.child_relid);
  }
  if (indexes != std::set<uint16_t>{0, 1, 2} || relids.size() != kChannels) return 15;
  std::array<int, kChannels> outcome{};
  std::vector<std::thread> threads;
  for (uint16_t i = 0; i < kChannels; ++i) {
    threads.emplace_back([&, i] {
      for (uint64_t sequence = 1; sequence <= kRequestsPerChannel; ++sequence) {
        const Tagged tagged{i, sequence};
        std::array<std::byte, sizeof(Tagged)> request{};
        std::memcpy(request.data(), &tagged, sizeof tagged);
        std::array<std::byte, sizeof(Tagged)> reply{};
        const SyncRequestResult result =
            clients[i]->send_synchronous(request, nullptr, kSendWaitForCompletion, std::span(reply),
                                         Deadline::after(kProcessDeadline));
        if (!result.status.ok()) {
          outcome[i] = 16;
          return;
        }
        if (result.completion_bytes != sizeof reply || reply != request) {
          outcome[i] = 17;
          return;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const int code : outcome) {
    if (code != 0) return code;
  }
  for (auto& client : clients) client->disable();
  return 0;
}

class SubChannelProcessTest : public ::testing::Test {
 protected:
  void start_host() {
    bus::HostChannelBus::Options options;
    options.dispatch_threads = 2;
    auto host = bus::HostChannelBus::listen(directory_.socket_path(), options);
    ASSERT_TRUE(host.has_value()) << to_string(host.status());
    host_ = std::move(host.value());
  }
  // A server channel of the device with sub-channel index `index`; enable's status.
  Status add_server(uint16_t index) {
    auto driver = std::make_unique<RecordingDriver>("server");
    RecordingDriver* raw = driver.get();
    auto server = Channel::create(*host_, EndpointRole::kServer, std::move(driver));
    Status status = server->set_offer(kType, kInstance);
    if (status.ok()) status = server->set_sub_channel_index(index);
    if (status.ok()) status = server->enable();
    if (!status.ok()) return status;
    server->start();
    servers_.push_back(std::move(server));
    events_.push_back(raw);
    return status;
  }
  void TearDown() override {
    // Sub-channels before their primary.
    while (!servers_.empty()) servers_.pop_back();
    host_.reset();
  }

  bus::testing::SocketDirectory directory_;
  std::unique_ptr<bus::HostChannelBus> host_;
  std::vector<std::unique_ptr<Channel>> servers_;
  std::vector<RecordingDriver*> events_;
};

TEST_F(SubChannelProcessTest, AGuestOpensThreeChannelsOfOneDeviceAndRunsTrafficOnEach) {
  GatedChild guest([&] { return guest_body(directory_.socket_path()); });
  ASSERT_TRUE(guest.started());
  ASSERT_NO_FATAL_FAILURE(start_host());
  for (uint16_t i = 0; i < kChannels; ++i) ASSERT_EQ(add_server(i), STATUS_SUCCESS) << i;
  guest.release();
  EXPECT_EQ(guest.exit_code(), 0);
  for (uint16_t i = 0; i < kChannels; ++i) {
    RecordingDriver& events = *events_[i];
    ASSERT_TRUE(events.wait_for_packets(kRequestsPerChannel)) << "channel " << i;
    // Each server saw only its own channel's requests, each once, in order.
    const auto received = events.received();
    ASSERT_EQ(received.size(), kRequestsPerChannel) << "channel " << i;
    for (uint64_t n = 0; n < received.size(); ++n) {
      ASSERT_EQ(received[n].size(), sizeof(Tagged));
      Tagged tagged{};
      std::memcpy(&tagged, received[n].data(), sizeof tagged);
      EXPECT_EQ(tagged.index, i);
      EXPECT_EQ(tagged.sequence, n + 1);
    }
    EXPECT_TRUE(events.wait_for_event("closed"));
    std::string reason;
    EXPECT_EQ(servers_[i]->failure(&reason), STATUS_SUCCESS) << reason;
  }
}

TEST_F(SubChannelProcessTest, ASubChannelNeedsItsPrimaryAndAnIndexIsOfferedOnce) {
  ASSERT_NO_FATAL_FAILURE(start_host());
  EXPECT_EQ(add_server(1), STATUS_INVALID_PARAMETER);  // no primary yet
  ASSERT_EQ(add_server(0), STATUS_SUCCESS);
  ASSERT_EQ(add_server(1), STATUS_SUCCESS);
  EXPECT_EQ(add_server(1), STATUS_OBJECT_NAME_COLLISION);
  EXPECT_EQ(add_server(0), STATUS_OBJECT_NAME_COLLISION);
}

}  // namespace
}  // namespace vmb::integration
