// SPDX-License-Identifier: MIT
// The hostile peer between processes: a guest process speaks the control protocol correctly
// (BusClient: contact, offers, ring GPADL, OPENCHANNEL) and then attacks the host's live server
// channel through the ring pages it legitimately owns and the eventfd it may signal. The host
// (this process, HostChannelBus) must fail that channel with the recorded reason, end the
// requests it had outstanding to that guest with STATUS_DEVICE_REMOVED, and keep serving a
// second, well-behaved guest process on another offer. The GPA-direct case is the real check
// of a guest's PFNs against the host's mapping of that guest's memfd.
#include <unistd.h>

#include <functional>

#include "bus/bus_test_support.h"
#include "child_process.h"
#include "hostile_fixture.h"
#include "vmbkit/bus/bus_client.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"

namespace vmb::testing {
namespace {

using integration::ChildProcess;
using integration::kProcessDeadline;
using integration::Pipe;

constexpr uint64_t kGuestPages = 256;

// What the hostile guest does once its channel is open: `to_host` is the ring the host reads,
// `from_host` the ring it writes, `signal` interrupts the host.
using ProcessAttackBody =
    std::function<void(RawRing& to_host, RawRing& from_host, const std::function<void()>& signal)>;

ring::RingView view_of(const RingMapping& mapping) {
  const RingMemory& memory = mapping.memory();
  return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
}

// The hostile guest process. Exit codes name the failing step.
int hostile_guest(const std::string& path, Pipe& go, Pipe& opened, Pipe& attack_go, Pipe& finish,
                  const ProcessAttackBody& attack) {
  if (!go.get()) return 1;
  bus::BusClientOptions options;
  options.memory_pages = kGuestPages;
  auto client = bus::BusClient::connect(path, nullptr, options, Deadline::after(kProcessDeadline));
  if (!client) return 2;
  auto offer = (*client)->wait_for_offer(
      [](const wire::OfferChannel& o) { return o.if_instance == kVictimInstance; },
      Deadline::after(kProcessDeadline));
  if (!offer) return 3;
  auto resources = (*client)->open_channel(bus::Relid{offer->child_relid}, 9, 9, {},
                                           Deadline::after(kProcessDeadline));
  if (!resources) return 4;
  opened.put(1);
  if (!attack_go.get()) return 5;
  RawRing to_host(view_of(resources->outgoing_ring));
  RawRing from_host(view_of(resources->incoming_ring));
  const int signal_fd = resources->signal_host.get();
  attack(to_host, from_host, [signal_fd] {
    const uint64_t one = 1;
    (void)::write(signal_fd, &one, sizeof one);
  });
  (void)finish.get(kProcessDeadline);  // keep the connection until the host has looked
  return 0;
}

// A well-behaved guest process on the bystander offer: 20 echoed requests.
int bystander_guest(const std::string& path, Pipe& go) {
  if (!go.get()) return 1;
  bus::GuestChannelBus::Options options;
  options.dispatch_threads = 1;
  options.client.memory_pages = kGuestPages;
  options.request_timeout = kProcessDeadline;
  auto guest = bus::GuestChannelBus::connect(path, options);
  if (!guest) return 2;
  auto driver = std::make_unique<VictimDriver>("bystander");
  VictimDriver* events = driver.get();
  auto client = Channel::create(**guest, EndpointRole::kClient, std::move(driver));
  if (!client->set_target(kBystanderType, kBystanderInstance).ok() || !client->enable().ok()) {
    return 3;
  }
  if (!events->wait_for_event("post_started")) return 4;
  for (int i = 0; i < 20; ++i) {
    const std::vector<std::byte> request = pattern_bytes(32, static_cast<uint8_t>(i));
    std::vector<std::byte> reply(32);
    const SyncRequestResult result = client->send_synchronous(
        request, nullptr, kSendWaitForCompletion, std::span(reply), Deadline::after(kPeerWait));
    if (!result.status.ok() || reply != request) return 5;
  }
  return 0;
}

class ProcessAttack : public ::testing::Test {
 protected:
  void TearDown() override {
    victim.reset();
    bystander.reset();
    host.reset();
  }
  // Forks both guests, starts the host, lets the hostile guest open, sends it three requests
  // it never answers, then lets it attack. Returns with the attack under way.
  void run(const ProcessAttackBody& attack) {
    hostile_ = std::make_unique<ChildProcess>([&] {
      go_.close_write();
      opened_.close_read();
      attack_go_.close_write();
      finish_.close_write();
      return hostile_guest(directory_.socket_path(), go_, opened_, attack_go_, finish_, attack);
    });
    bystander_guest_ = std::make_unique<ChildProcess>([&] {
      bystander_go_.close_write();
      return bystander_guest(directory_.socket_path(), bystander_go_);
    });
    ASSERT_TRUE(hostile_->started() && bystander_guest_->started());
    go_.close_read();
    opened_.close_write();
    attack_go_.close_read();
    finish_.close_read();
    bystander_go_.close_read();

    bus::HostChannelBus::Options options;
    options.dispatch_threads = 1;
    auto listened = bus::HostChannelBus::listen(directory_.socket_path(), options);
    ASSERT_TRUE(listened.has_value());
    host = std::move(*listened);
    auto victim_driver_owned = std::make_unique<VictimDriver>("victim");
    victim_driver = victim_driver_owned.get();
    victim = Channel::create(*host, EndpointRole::kServer, std::move(victim_driver_owned));
    bystander = Channel::create(*host, EndpointRole::kServer,
                                std::make_unique<VictimDriver>("bystander-server"));
    ASSERT_TRUE(victim->set_offer(kVictimType, kVictimInstance).ok());
    ASSERT_TRUE(bystander->set_offer(kBystanderType, kBystanderInstance).ok());
    for (Channel* server : {victim.get(), bystander.get()}) {
      ASSERT_TRUE(server->enable().ok());
      server->start();
    }
    go_.put(1);
    ASSERT_TRUE(opened_.get().has_value()) << "exit " << hostile_->exit_code(kPeerWait);
    ASSERT_TRUE(victim_driver->wait_for_event("post_started"));
    for (int i = 0; i < 3; ++i) {
      PacketObject* packet = victim->allocate_packet();
      ASSERT_NE(packet, nullptr);
      ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
      ASSERT_EQ(victim->send(*packet, pattern_bytes(24), {}, kSendWaitForCompletion),
                STATUS_SUCCESS);
    }
    attack_go_.put(1);
  }
  // The host failed the channel with `reason`, ended its three requests as removed, and the
  // bystander guest is served.
  void expect_contained(const std::string& reason) {
    ASSERT_TRUE(victim_driver->wait_for_event("closed"));
    const RecordedFailure failure = recorded_failure(*victim);
    EXPECT_EQ(failure.status, STATUS_DATA_ERROR);
    EXPECT_NE(failure.description.find(reason), std::string::npos) << failure.description;
    EXPECT_TRUE(victim_driver->wait_for_status(STATUS_DEVICE_REMOVED, 3));
    EXPECT_EQ(victim_driver->completions(), 3u);
    bystander_go_.put(1);
    EXPECT_EQ(bystander_guest_->exit_code(), 0);
    finish_.put(1);
    EXPECT_EQ(hostile_->exit_code(), 0);
  }

  // The attack was harmless: no failure, the requests still outstanding, the bystander served.
  void expect_unharmed() {
    bystander_go_.put(1);
    EXPECT_EQ(bystander_guest_->exit_code(), 0);
    EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
    EXPECT_EQ(victim_driver->completions(), 0u);
    finish_.put(1);
    EXPECT_EQ(hostile_->exit_code(), 0);
  }

  std::unique_ptr<bus::HostChannelBus> host;
  std::unique_ptr<Channel> victim;
  std::unique_ptr<Channel> bystander;
  VictimDriver* victim_driver = nullptr;

 private:
  bus::testing::SocketDirectory directory_;
  Pipe go_, opened_, attack_go_, finish_, bystander_go_;
  std::unique_ptr<ChildProcess> hostile_;
  std::unique_ptr<ChildProcess> bystander_guest_;
};

TEST_F(ProcessAttack, DescriptorWithOffset8BelowMinimum) {
  ASSERT_NO_FATAL_FAILURE(run([](RawRing& to_host, RawRing&, const std::function<void()>& signal) {
    to_host.publish_packet(RawPacket(6, 1, 4).bytes());
    signal();
  }));
  expect_contained("incoming ring: offset8 < 2");
}

TEST_F(ProcessAttack, WriteIndexOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(run([](RawRing& to_host, RawRing&, const std::function<void()>& signal) {
    to_host.store(wire::kWriteIndexOffset, to_host.data_size() + 64);
    signal();
  }));
  expect_contained("incoming ring: index out of range");
}

TEST_F(ProcessAttack, CompletionForAnIdNeverIssued) {
  ASSERT_NO_FATAL_FAILURE(run([](RawRing& to_host, RawRing&, const std::function<void()>& signal) {
    to_host.publish_packet(RawPacket(0xB, 2, 2, 0, 0xbad).bytes());
    signal();
  }));
  expect_contained("completion for unknown transaction id 0xbad");
}

TEST_F(ProcessAttack, GpaDirectNamingAPagePastTheGuestsMemory) {
  // One range, one page, PFN = the guest's page count: checked against the host's mapping of
  // the guest's memfd, which has exactly kGuestPages pages.
  ASSERT_NO_FATAL_FAILURE(run([](RawRing& to_host, RawRing&, const std::function<void()>& signal) {
    to_host.publish_packet(RawPacket(9, 5, 7, 1, 1)
                               .put<uint32_t>(20, 1)
                               .put<uint32_t>(24, 4096)
                               .put<uint64_t>(32, kGuestPages)
                               .bytes());
    signal();
  }));
  expect_contained("external data: PFN outside guest memory");
}

TEST_F(ProcessAttack, SignalStormIsHarmless) {
  ASSERT_NO_FATAL_FAILURE(run([](RawRing&, RawRing&, const std::function<void()>& signal) {
    for (int i = 0; i < 100'000; ++i) signal();
  }));
  // Nothing to contain: the channel keeps its requests outstanding, the bystander is served.
  expect_unharmed();
}

}  // namespace
}  // namespace vmb::testing
