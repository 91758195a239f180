// SPDX-License-Identifier: MIT
// BusServer and BusClient in one process (threads; the multi-process tests are in
// tests/integration): connect and offers, hot add, open with traffic both ways through the
// rings and eventfds, refused and pending opens, close, rescind and relid reuse, a guest that
// leaves, a server that leaves, a guest that sends garbage, a host that never answers.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "bus/bus_test_support.h"
#include "vmbkit/bus/bus_client.h"
#include "vmbkit/bus/bus_listener.h"
#include "vmbkit/bus/bus_server.h"

namespace vmb::bus::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kInstance = "12345678-9abc-def0-1234-56789abcdef0";

class BusServerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = BusServer::listen(directory_.socket_path(), handler_);
    ASSERT_TRUE(server.has_value()) << to_string(server.status());
    server_ = std::move(server.value());
  }
  std::unique_ptr<BusClient> connect(BusClientHandler* handler = nullptr) {
    BusClientOptions options;
    options.memory_pages = 256;
    auto client =
        BusClient::connect(directory_.socket_path(), handler, options, Deadline::after(10s));
    EXPECT_TRUE(client.has_value()) << to_string(client.status());
    return client.has_value() ? std::move(client.value()) : nullptr;
  }
  PartitionId only_partition() {
    EXPECT_TRUE(handler_.wait([](auto& h) { return !h.connected_.empty(); }));
    return handler_.connected_.back();
  }

  SocketDirectory directory_;
  RecordingServerHandler handler_;
  std::unique_ptr<BusServer> server_;
};

TEST_F(BusServerClientTest, AGuestLearnsOffersMadeBeforeAndAfterItConnected) {
  auto primary = server_->add_offer(test_offer(kInstance));
  ASSERT_TRUE(primary.has_value());
  EXPECT_EQ(*primary, Relid{1});
  auto client = connect();
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->offers().size(), 1u);
  EXPECT_EQ(client->offers()[0].child_relid, 1u);
  EXPECT_TRUE(client->connected());

  auto sub = server_->add_offer(test_offer(kInstance, 1));
  ASSERT_TRUE(sub.has_value());
  auto found = client->wait_for_offer(
      [](const wire::OfferChannel& offer) { return offer.sub_channel_index == 1; },
      Deadline::after(10s));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->child_relid, to_u32(*sub));
  EXPECT_EQ(found->if_instance, *Guid::parse(kInstance));
  EXPECT_EQ(server_->guest_count(), 1u);
}

TEST_F(BusServerClientTest, WaitingForAnOfferThatNeverComesEndsAtTheDeadline) {
  auto client = connect();
  ASSERT_NE(client, nullptr);
  auto found =
      client->wait_for_offer([](const wire::OfferChannel&) { return true; }, Deadline::after(10ms));
  EXPECT_EQ(found.status(), Status{STATUS_TIMEOUT});
  EXPECT_TRUE(client->connected());  // not the host's fault: the connection stays
}

TEST_F(BusServerClientTest, OpensAChannelAndCarriesTrafficBothWays) {
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  auto client = connect();
  ASSERT_NE(client, nullptr);
  const PartitionId partition = only_partition();
  auto channel = client->open_channel(Relid{1}, 4, 3, {}, Deadline::after(10s));
  ASSERT_TRUE(channel.has_value()) << to_string(channel.status());
  auto host = handler_.take_channel(partition, Relid{1});
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->incoming_ring.memory().data_size, 3u * 4096);
  EXPECT_EQ(host->outgoing_ring.memory().data_size, 2u * 4096);
  EXPECT_EQ(host->offer.if_instance, *Guid::parse(kInstance));

  ring::OutgoingRing guest_out(view_of(channel->outgoing_ring));
  ring::IncomingRing guest_in(view_of(channel->incoming_ring));
  ring::OutgoingRing host_out(view_of(host->outgoing_ring));
  ring::IncomingRing host_in(view_of(host->incoming_ring));
  for (uint64_t i = 1; i <= 200; ++i) {
    ASSERT_TRUE(send_value(guest_out, channel->signal_host.get(), i));
    const auto at_host = receive_value(host_in, host->guest_signals.get(), 10s);
    ASSERT_EQ(at_host, i);
    ASSERT_TRUE(send_value(host_out, host->signal_guest.get(), i * 3));
    ASSERT_EQ(receive_value(guest_in, channel->host_signals.get(), 10s), i * 3);
  }

  ASSERT_TRUE(client->close_channel(*channel, Deadline::after(10s)).ok());
  EXPECT_TRUE(handler_.wait([](auto& h) { return h.closes_ == 1; }));
  EXPECT_EQ(client->memory().usage().pages_in_use, 0u);
}

TEST_F(BusServerClientTest, ARefusedOpenFreesEverything) {
  handler_.open_result = Status{STATUS_INSUFFICIENT_RESOURCES};
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  auto client = connect();
  ASSERT_NE(client, nullptr);
  auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s));
  EXPECT_EQ(channel.status(), Status{STATUS_UNSUCCESSFUL});
  EXPECT_EQ(client->memory().usage().pages_in_use, 0u);
  handler_.open_result = Status{};
  EXPECT_TRUE(client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s)).has_value());
}

TEST_F(BusServerClientTest, APendingOpenCompletesLater) {
  handler_.open_result = Status{STATUS_PENDING};
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  auto client = connect();
  ASSERT_NE(client, nullptr);
  const PartitionId partition = only_partition();
  std::thread completer([&] {
    ASSERT_TRUE(handler_.wait([](auto& h) { return h.opens_ == 1; }));
    EXPECT_TRUE(server_->complete_open(partition, Relid{1}, Status{}).ok());
  });
  auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s));
  completer.join();
  EXPECT_TRUE(channel.has_value()) << to_string(channel.status());
}

TEST_F(BusServerClientTest, RescindClosesTheChannelAndTheRelidComesBackAfterRelease) {
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  auto client = connect();
  ASSERT_NE(client, nullptr);
  auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s));
  ASSERT_TRUE(channel.has_value());
  ASSERT_TRUE(server_->remove_offer(Relid{1}).ok());
  EXPECT_TRUE(handler_.wait([](auto& h) { return h.closes_ == 1; }));
  // While the guest holds the relid, a new offer gets another one.
  auto second = server_->add_offer(test_offer("00000000-0000-0000-0000-000000000002"));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, Relid{2});
  ASSERT_TRUE(client->close_channel(*channel, Deadline::after(10s)).ok());  // then released
  // A request answered after RELID_RELEASED proves the server has processed the release.
  auto page = client->memory().allocate_pages(1);
  ASSERT_TRUE(page.has_value());
  GpaRanges ranges;
  const uint64_t pfn = page->first_pfn;
  ASSERT_TRUE(ranges.append(4096, 0, std::span(&pfn, 1)).ok());
  ASSERT_TRUE(client->create_gpadl(*second, ranges, Deadline::after(10s)).has_value());
  auto third = server_->add_offer(test_offer("00000000-0000-0000-0000-000000000003"));
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(*third, Relid{1});
}

TEST_F(BusServerClientTest, AGuestThatLeavesHasItsChannelsClosed) {
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  auto client = connect();
  ASSERT_NE(client, nullptr);
  auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s));
  ASSERT_TRUE(channel.has_value());
  client.reset();
  EXPECT_TRUE(handler_.wait([](auto& h) { return h.closes_ == 1 && !h.disconnected_.empty(); }));
  EXPECT_EQ(server_->guest_count(), 0u);
  // And may come back.
  auto again = connect();
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s)).has_value());
}

class LossRecorder : public BusClientHandler {
 public:
  void connection_lost() override {
    const std::lock_guard lock(mutex);
    lost = true;
    changed.notify_all();
  }
  // The handler runs on the reader thread after the waiting requests were released: wait.
  bool wait_lost() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return lost; });
  }
  std::mutex mutex;
  std::condition_variable changed;
  bool lost = false;
};

TEST_F(BusServerClientTest, AServerThatLeavesFailsEverythingOnTheGuest) {
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  LossRecorder recorder;
  auto client = connect(&recorder);
  ASSERT_NE(client, nullptr);
  auto channel = client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s));
  ASSERT_TRUE(channel.has_value());
  server_.reset();
  EXPECT_EQ(client->wait_for_offer([](auto&) { return false; }, Deadline::after(10s)).status(),
            Status{STATUS_DEVICE_REMOVED});
  EXPECT_TRUE(recorder.wait_lost());
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(client->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s)).status(),
            Status{STATUS_DEVICE_REMOVED});
  EXPECT_TRUE(client->close_channel(*channel, Deadline::after(10s)).ok());
  EXPECT_EQ(client->memory().usage().pages_in_use, 0u);
}

TEST_F(BusServerClientTest, AGuestSendingGarbageIsDroppedAndOthersCarryOn) {
  ASSERT_TRUE(server_->add_offer(test_offer(kInstance)).has_value());
  auto good = connect();
  ASSERT_NE(good, nullptr);
  auto rogue = BusSocket::connect(directory_.socket_path());
  ASSERT_TRUE(rogue.has_value());
  const std::vector<uint8_t> garbage = {0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5};
  ASSERT_TRUE(rogue->send(garbage, {}, Deadline::after(10s)).ok());
  ASSERT_TRUE(handler_.wait([](auto& h) { return !h.disconnected_.empty(); }));
  EXPECT_NE(handler_.disconnected_[0].second.find("undecodable"), std::string::npos);
  ASSERT_TRUE(rogue->wait_readable(Deadline::after(10s)));
  std::vector<uint8_t> buffer(240);
  EXPECT_EQ(rogue->receive(buffer).outcome, ReceiveOutcome::kClosed);
  EXPECT_TRUE(good->open_channel(Relid{1}, 2, 2, {}, Deadline::after(10s)).has_value());
}

TEST_F(BusServerClientTest, AHostThatNeverAnswersEndsTheConnectAtItsDeadline) {
  SocketDirectory silent_directory;
  auto silent = BusListener::listen(silent_directory.socket_path());
  ASSERT_TRUE(silent.has_value());
  auto client = BusClient::connect(silent_directory.socket_path(), nullptr, BusClientOptions{},
                                   Deadline::after(50ms));
  EXPECT_EQ(client.status(), Status{STATUS_TIMEOUT});
}

TEST_F(BusServerClientTest, NobodyListeningIsAConnectionRefused) {
  SocketDirectory empty;
  auto client =
      BusClient::connect(empty.socket_path(), nullptr, BusClientOptions{}, Deadline::after(1s));
  EXPECT_EQ(client.status(), Status{STATUS_CONNECTION_REFUSED});
}

}  // namespace
}  // namespace vmb::bus::testing
