// SPDX-License-Identifier: MIT
// The bus between real processes (fork), at the bus layer: a host (BusServer) and guests
// (BusClient) exchange the real VMBus channel messages over the socket, the guest's memory and
// the eventfds travel as descriptors, and traffic runs through the rings in the shared guest
// memory. Covers connect and offers, open and traffic, rescind, kill -9 of a guest in the
// middle of a transfer (its channel closes, other guests keep working, it may come back),
// kill -9 of the host (every wait on the guest ends with STATUS_DEVICE_REMOVED), a guest that
// sends garbage, and a socket other users cannot reach. Children report by exit code.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bus/bus_test_support.h"
#include "child_process.h"
#include "vmbkit/bus/bus_client.h"
#include "vmbkit/bus/bus_server.h"

namespace vmb::integration {
namespace {

using namespace std::chrono_literals;
using bus::BusClient;
using bus::BusServer;
using bus::Relid;
using bus::testing::RecordingServerHandler;

constexpr const char* kInstance = "6d2b1c4e-0a9f-4e55-8c11-3b7f00a1c0de";

std::unique_ptr<BusClient> connect_guest(const std::string& path,
                                         bus::BusClientHandler* handler = nullptr) {
  bus::BusClientOptions options;
  options.memory_pages = 128;
  auto client = BusClient::connect(path, handler, options, Deadline::after(kProcessDeadline));
  return client.has_value() ? std::move(client.value()) : nullptr;
}

// Guest body: open relid 1 and exchange `rounds` values (the host answers v with v + 1).
// Exit codes name the step that failed.
int guest_exchange(const std::string& path, uint64_t rounds, Pipe* ready) {
  auto client = connect_guest(path);
  if (!client) return 10;
  if (client->offers().empty()) return 11;
  auto channel = client->open_channel(Relid{1}, 4, 4, {}, Deadline::after(kProcessDeadline));
  if (!channel.has_value()) return 12;
  ring::OutgoingRing out(bus::testing::view_of(channel->outgoing_ring));
  ring::IncomingRing in(bus::testing::view_of(channel->incoming_ring));
  for (uint64_t i = 1; i <= rounds; ++i) {
    if (ready != nullptr && i == 2) ready->put(1);  // mid-transfer from here on
    if (!bus::testing::send_value(out, channel->signal_host.get(), i)) return 13;
    const auto answer = bus::testing::receive_value(in, channel->host_signals.get(), 20s);
    if (answer != i + 1) return 14;
  }
  if (!client->close_channel(*channel, Deadline::after(kProcessDeadline)).ok()) return 15;
  return 0;
}

// Host side of guest_exchange: echoes v + 1 on `channel` until the guest stops answering.
void host_echo(bus::HostChannelResources channel, std::atomic<uint64_t>* echoed) {
  ring::OutgoingRing out(bus::testing::view_of(channel.outgoing_ring));
  ring::IncomingRing in(bus::testing::view_of(channel.incoming_ring));
  for (;;) {
    const auto value = bus::testing::receive_value(in, channel.guest_signals.get(), 2s);
    if (!value.has_value()) return;
    if (!bus::testing::send_value(out, channel.signal_guest.get(), *value + 1)) return;
    echoed->fetch_add(1, std::memory_order_relaxed);
  }
}

class BusProcessTest : public ::testing::Test {
 protected:
  void start_server() {
    auto server = BusServer::listen(directory_.socket_path(), handler_);
    ASSERT_TRUE(server.has_value()) << to_string(server.status());
    server_ = std::move(server.value());
    ASSERT_TRUE(server_->add_offer(bus::testing::test_offer(kInstance)).has_value());
  }
  // Takes the next channel opened on relid 1 and echoes on it in a thread.
  std::thread echo_next_channel(size_t opens_before) {
    EXPECT_TRUE(handler_.wait([&](auto& h) { return h.opens_ > opens_before; }));
    bus::PartitionId partition{};
    EXPECT_TRUE(handler_.wait([&](auto& h) {
      for (const auto& [key, channel] : h.channels_) partition = key.first;
      return !h.channels_.empty();
    }));
    auto channel = handler_.take_channel(partition, Relid{1});
    EXPECT_TRUE(channel.has_value());
    return std::thread([this, resources = std::move(*channel)]() mutable {
      host_echo(std::move(resources), &echoed_);
    });
  }

  bus::testing::SocketDirectory directory_;
  RecordingServerHandler handler_;
  std::unique_ptr<BusServer> server_;
  std::atomic<uint64_t> echoed_{0};
};

TEST_F(BusProcessTest, AGuestProcessOpensAChannelAndExchangesTraffic) {
  GatedChild guest([&] { return guest_exchange(directory_.socket_path(), 500, nullptr); });
  ASSERT_TRUE(guest.started());
  start_server();
  guest.release();
  std::thread echo = echo_next_channel(0);
  EXPECT_EQ(guest.exit_code(), 0);
  echo.join();
  EXPECT_EQ(echoed_.load(), 500u);
  EXPECT_TRUE(handler_.wait([](auto& h) { return h.closes_ == 1 && h.disconnected_.size() == 1; }));
  EXPECT_TRUE(handler_.disconnected_[0].second.empty());  // an orderly exit, no violation
}

TEST_F(BusProcessTest, AGuestKilledMidTransferLosesItsChannelAndMayComeBack) {
  Pipe mid_transfer;
  GatedChild doomed([&] {
    mid_transfer.close_read();
    return guest_exchange(directory_.socket_path(), 1'000'000'000, &mid_transfer);
  });
  GatedChild again([&] { return guest_exchange(directory_.socket_path(), 100, nullptr); });
  ASSERT_TRUE(doomed.started() && again.started());
  mid_transfer.close_write();
  start_server();
  doomed.release();
  std::thread echo = echo_next_channel(0);
  ASSERT_TRUE(mid_transfer.get().has_value());
  doomed.kill9();
  ASSERT_TRUE(doomed.wait_exit().has_value());
  EXPECT_TRUE(handler_.wait([](auto& h) { return h.closes_ == 1 && h.disconnected_.size() == 1; }));
  echo.join();  // the echo ends when the dead guest stops answering
  EXPECT_EQ(server_->guest_count(), 0u);

  // The server keeps serving: the same guest program connects again and opens the channel.
  again.release();
  std::thread second_echo = echo_next_channel(1);
  EXPECT_EQ(again.exit_code(), 0);
  second_echo.join();
}

TEST_F(BusProcessTest, AKilledHostEndsEveryWaitOfTheGuestWithDeviceRemoved) {
  Pipe ready;   // host → guest: listening
  Pipe opened;  // guest → host: channel open, kill me now
  ChildProcess host([&] {
    ready.close_read();
    opened.close_write();
    RecordingServerHandler handler;
    auto server = BusServer::listen(directory_.socket_path(), handler);
    if (!server.has_value()) return 1;
    if (!(*server)->add_offer(bus::testing::test_offer(kInstance)).has_value()) return 2;
    ready.put(1);
    (void)opened.get();  // then sit until killed
    return 0;
  });
  ASSERT_TRUE(host.started());
  ready.close_write();
  opened.close_read();
  ASSERT_TRUE(ready.get().has_value());
  auto client = connect_guest(directory_.socket_path());
  ASSERT_NE(client, nullptr);
  auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(kProcessDeadline));
  ASSERT_TRUE(channel.has_value()) << to_string(channel.status());
  opened.put(1);
  host.kill9();
  ASSERT_TRUE(host.wait_exit().has_value());
  EXPECT_EQ(client->wait_for_offer([](auto&) { return false; }, Deadline::after(kProcessDeadline))
                .status(),
            Status{STATUS_DEVICE_REMOVED});
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(kProcessDeadline)).status(),
            Status{STATUS_DEVICE_REMOVED});
  EXPECT_TRUE(client->close_channel(*channel, Deadline::after(kProcessDeadline)).ok());
}

class RescindWatcher : public bus::BusClientHandler {
 public:
  void offer_rescinded(Relid relid) override {
    {
      const std::lock_guard lock(mutex_);
      rescinded_ = rescinded_ || relid == Relid{1};
    }
    changed_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kProcessDeadline, [&] { return rescinded_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool rescinded_ = false;
};

TEST_F(BusProcessTest, ARescindReachesTheGuestProcessWhichReleasesTheRelid) {
  Pipe opened;
  Pipe released;
  GatedChild guest([&] {
    opened.close_read();
    released.close_read();
    RescindWatcher watcher;
    auto client = connect_guest(directory_.socket_path(), &watcher);
    if (!client) return 2;
    auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(kProcessDeadline));
    if (!channel.has_value()) return 3;
    opened.put(1);
    // The offer leaves the guest's list when the rescind arrives.
    if (!watcher.wait()) return 4;
    if (client->offers().size() != 1) return 5;
    // Closing tears the ring GPADL down and then sends RELID_RELEASED.
    if (!client->close_channel(*channel, Deadline::after(kProcessDeadline)).ok()) return 6;
    // Any answered request after that proves the host has processed the release.
    auto page = client->memory().allocate_pages(1);
    if (!page.has_value()) return 7;
    GpaRanges ranges;
    const uint64_t pfn = page->first_pfn;
    if (!ranges.append(4096, 0, std::span(&pfn, 1)).ok()) return 8;
    if (!client->create_gpadl(Relid{2}, ranges, Deadline::after(kProcessDeadline)).has_value()) {
      return 9;
    }
    released.put(1);
    auto back = client->wait_for_offer(
        [](const wire::OfferChannel& offer) { return offer.child_relid == 1; },
        Deadline::after(kProcessDeadline));
    return back.has_value() ? 0 : 10;
  });
  ASSERT_TRUE(guest.started());
  opened.close_write();
  released.close_write();
  start_server();
  ASSERT_TRUE(server_->add_offer(bus::testing::test_offer("00000000-0000-0000-0000-0000000000b2"))
                  .has_value());  // relid 2
  guest.release();
  ASSERT_TRUE(opened.get().has_value());
  ASSERT_TRUE(server_->remove_offer(Relid{1}).ok());
  EXPECT_TRUE(handler_.wait([](auto& h) { return h.closes_ == 1; }));
  ASSERT_TRUE(released.get().has_value());
  // Relid 1 is free again: a new offer gets it, and the guest sees it arrive.
  auto relid = server_->add_offer(bus::testing::test_offer(kInstance));
  ASSERT_TRUE(relid.has_value());
  EXPECT_EQ(*relid, Relid{1});
  EXPECT_EQ(guest.exit_code(), 0);
}

TEST_F(BusProcessTest, AGuestSendingGarbageIsDroppedAndAnotherKeepsWorking) {
  GatedChild rogue([&] {
    auto socket = bus::BusSocket::connect(directory_.socket_path());
    if (!socket.has_value()) return 2;
    const std::vector<uint8_t> garbage = {14, 0, 0, 0, 0, 0, 0, 0, 3};  // short INITIATE_CONTACT
    if (!socket->send(garbage, {}, Deadline::after(kProcessDeadline)).ok()) return 3;
    if (!socket->wait_readable(Deadline::after(kProcessDeadline))) return 4;
    std::vector<uint8_t> buffer(240);
    return socket->receive(buffer).outcome == bus::ReceiveOutcome::kClosed ? 0 : 5;
  });
  GatedChild good([&] { return guest_exchange(directory_.socket_path(), 50, nullptr); });
  ASSERT_TRUE(rogue.started() && good.started());
  start_server();
  rogue.release();
  EXPECT_EQ(rogue.exit_code(), 0);
  ASSERT_TRUE(handler_.wait([](auto& h) { return h.disconnected_.size() == 1; }));
  EXPECT_NE(handler_.disconnected_[0].second.find("undecodable"), std::string::npos);
  good.release();
  std::thread echo = echo_next_channel(0);
  EXPECT_EQ(good.exit_code(), 0);
  echo.join();
}

TEST_F(BusProcessTest, AnotherUserCannotReachTheSocket) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a child as another user";
  GatedChild stranger([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 2;
    auto socket = bus::BusSocket::connect(directory_.socket_path());
    return socket.status() == Status{STATUS_ACCESS_DENIED} ? 0 : 3;
  });
  ASSERT_TRUE(stranger.started());
  start_server();
  struct stat info {};
  ASSERT_EQ(::stat(directory_.socket_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  stranger.release();
  EXPECT_EQ(stranger.exit_code(), 0);
  EXPECT_EQ(server_->guest_count(), 0u);
}

}  // namespace
}  // namespace vmb::integration
