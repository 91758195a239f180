// SPDX-License-Identifier: MIT
// GuestControlPlane and HostControlPlane talking to each other in one process, with a queue in
// between standing in for the socket (descriptors are dup'ed as SCM_RIGHTS would). Each test
// walks one whole sequence of wire-format.md §5.5 and checks both sides agree at every step:
// connect, offers, hot-added sub-channels, GPADL + open + close + teardown, rescind + release,
// unload and reconnect.
#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <numeric>

#include "bus/recording_guest_effects.h"
#include "bus/recording_host_effects.h"
#include "vmbkit/bus/guest_control_plane.h"
#include "vmbkit/bus/host_control_plane.h"

namespace vmb::bus::testing {
namespace {

struct Datagram {
  std::vector<uint8_t> bytes;
  std::vector<UniqueFd> fds;
};

// Records like RecordingGuestEffects and also queues each message for the host.
class QueueingGuestEffects : public RecordingGuestEffects {
 public:
  std::deque<Datagram> to_host;
  void send_to_host(std::span<const uint8_t> message, std::span<const int> fds) override {
    RecordingGuestEffects::send_to_host(message, fds);
    Datagram datagram{{message.begin(), message.end()}, {}};
    for (const int fd : fds) datagram.fds.emplace_back(::dup(fd));
    to_host.push_back(std::move(datagram));
  }
};

class QueueingHostEffects : public RecordingHostEffects {
 public:
  std::deque<Datagram> to_guest;
  void send_to_guest(std::span<const uint8_t> message) override {
    RecordingHostEffects::send_to_guest(message);
    to_guest.push_back(Datagram{{message.begin(), message.end()}, {}});
  }
};

wire::OfferChannel offer_of(uint32_t relid, uint16_t sub_channel_index = 0) {
  wire::OfferChannel offer{};
  offer.if_type = *Guid::parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");
  offer.if_instance = *Guid::parse("00000000-0000-0000-0000-000000000001");
  offer.sub_channel_index = sub_channel_index;
  offer.child_relid = relid;
  offer.connection_id = relid;
  return offer;
}

GpaRanges ring_pages(uint64_t first, uint32_t count) {
  std::vector<uint64_t> pages(count);
  std::iota(pages.begin(), pages.end(), first);
  GpaRanges ranges;
  EXPECT_TRUE(ranges.append(count * 4096, 0, pages).ok());
  return ranges;
}

class ControlPlanePairingTest : public ::testing::Test {
 protected:
  // Delivers queued datagrams both ways until both queues are empty.
  void pump() {
    for (int rounds = 0;
         rounds < 1000 && !(guest_effects_.to_host.empty() && host_effects_.to_guest.empty());
         ++rounds) {
      while (!guest_effects_.to_host.empty()) {
        Datagram datagram = std::move(guest_effects_.to_host.front());
        guest_effects_.to_host.pop_front();
        AttachedFds fds;
        for (UniqueFd& fd : datagram.fds) ASSERT_TRUE(fds.push(std::move(fd)));
        host_.receive(datagram.bytes, std::move(fds));
      }
      while (!host_effects_.to_guest.empty()) {
        Datagram datagram = std::move(host_effects_.to_guest.front());
        host_effects_.to_guest.pop_front();
        guest_.receive(datagram.bytes, {});
      }
    }
  }
  void connect() {
    ASSERT_TRUE(guest_.start(memory_.get()).ok());
    pump();
    ASSERT_EQ(guest_.state(), GuestConnectionState::kReady);
    ASSERT_EQ(host_.state(), HostConnectionState::kOffersRequested);
  }
  GpadlHandle open(uint32_t relid, uint64_t first_page) {
    auto handle = guest_.create_gpadl(Relid{relid}, ring_pages(first_page, 6));
    EXPECT_TRUE(handle.has_value());
    pump();
    EXPECT_TRUE(guest_effects_.of_kind(GuestEffectKind::kGpadlCreated).back()->status.ok());
    EXPECT_TRUE(
        guest_.open_channel(Relid{relid}, *handle, 3, {}, event_a_.get(), event_b_.get()).ok());
    pump();
    EXPECT_TRUE(host_.complete_open(Relid{relid}, Status{}).ok());
    pump();
    EXPECT_EQ(*guest_.channel_state(Relid{relid}), GuestChannelState::kOpen);
    EXPECT_EQ(*host_.offer_state(Relid{relid}), HostOfferState::kOpen);
    return *handle;
  }
  void expect_both_up() const {
    EXPECT_NE(host_.state(), HostConnectionState::kDisconnected) << host_.disconnect_reason();
    EXPECT_EQ(guest_effects_.count(GuestEffectKind::kDisconnect), 0u) << guest_.disconnect_reason();
  }

  UniqueFd memory_ = make_test_fd();
  UniqueFd event_a_ = make_test_fd();
  UniqueFd event_b_ = make_test_fd();
  QueueingGuestEffects guest_effects_;
  QueueingHostEffects host_effects_;
  GuestControlPlane guest_{guest_effects_};
  HostControlPlane host_{host_effects_};
};

TEST_F(ControlPlanePairingTest, ConnectsAndLearnsEveryOffer) {
  ASSERT_TRUE(host_.add_offer(offer_of(1)).ok());
  ASSERT_TRUE(host_.add_offer(offer_of(2, 1)).ok());
  connect();
  EXPECT_EQ(guest_.version(), wire::ProtocolVersion::kWin10V5_3);
  EXPECT_EQ(host_.version(), wire::ProtocolVersion::kWin10V5_3);
  EXPECT_EQ(host_effects_.memory_fds.size(), 1u);
  ASSERT_NE(guest_.offer(Relid{2}), nullptr);
  EXPECT_EQ(guest_.offer(Relid{2})->sub_channel_index, 1u);
  // Hot add of a third sub-channel after the guest is ready.
  ASSERT_TRUE(host_.add_offer(offer_of(3, 2)).ok());
  pump();
  EXPECT_EQ(guest_effects_.count(GuestEffectKind::kOfferReceived), 3u);
  expect_both_up();
}

TEST_F(ControlPlanePairingTest, OpensClosesAndTearsDownTwoChannels) {
  ASSERT_TRUE(host_.add_offer(offer_of(1)).ok());
  ASSERT_TRUE(host_.add_offer(offer_of(2, 1)).ok());
  connect();
  const GpadlHandle first = open(1, 10);
  const GpadlHandle second = open(2, 20);
  ASSERT_EQ(host_effects_.event_fds.size(), 2u);
  EXPECT_TRUE(host_effects_.event_fds[0].first.valid());
  const auto opens = host_effects_.of_kind(HostEffectKind::kOpenRequested);
  EXPECT_EQ(opens[1]->words.front(), 20u);
  EXPECT_EQ(opens[1]->downstream_page_offset, 3u);

  ASSERT_TRUE(guest_.close_channel(Relid{1}).ok());
  ASSERT_TRUE(guest_.teardown_gpadl(Relid{1}, first).ok());
  pump();
  EXPECT_EQ(host_effects_.count(HostEffectKind::kChannelClosed), 1u);
  EXPECT_EQ(guest_effects_.count(GuestEffectKind::kGpadlTornDown), 1u);
  EXPECT_EQ(*host_.offer_state(Relid{2}), HostOfferState::kOpen);
  EXPECT_EQ(host_.gpadl_count(), 1u);
  (void)second;
  expect_both_up();
}

TEST_F(ControlPlanePairingTest, RescindOfAnOpenChannelEndsInRelease) {
  ASSERT_TRUE(host_.add_offer(offer_of(1)).ok());
  connect();
  const GpadlHandle ring = open(1, 10);
  ASSERT_TRUE(host_.remove_offer(Relid{1}).ok());
  pump();
  EXPECT_EQ(guest_effects_.count(GuestEffectKind::kOfferRescinded), 1u);
  // What a guest driver does on rescind: close, tear down, release.
  ASSERT_TRUE(guest_.close_channel(Relid{1}).ok());
  ASSERT_TRUE(guest_.teardown_gpadl(Relid{1}, ring).ok());
  pump();
  ASSERT_TRUE(guest_.release_relid(Relid{1}).ok());
  pump();
  EXPECT_EQ(host_effects_.count(HostEffectKind::kRelidReleased), 1u);
  EXPECT_EQ(host_.offer_state(Relid{1}), nullptr);
  // The relid is free for a new offer, which reaches the guest.
  ASSERT_TRUE(host_.add_offer(offer_of(1)).ok());
  pump();
  EXPECT_NE(guest_.offer(Relid{1}), nullptr);
  expect_both_up();
}

TEST_F(ControlPlanePairingTest, OpenCrossingARescindFailsCleanly) {
  ASSERT_TRUE(host_.add_offer(offer_of(1)).ok());
  connect();
  auto handle = guest_.create_gpadl(Relid{1}, ring_pages(10, 4));
  ASSERT_TRUE(handle.has_value());
  pump();
  ASSERT_TRUE(guest_.open_channel(Relid{1}, *handle, 2, {}, event_a_.get(), event_b_.get()).ok());
  ASSERT_TRUE(host_.remove_offer(Relid{1}).ok());  // before the host reads OPENCHANNEL
  pump();
  const auto opens = guest_effects_.of_kind(GuestEffectKind::kOpenCompleted);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0]->status, Status{STATUS_DEVICE_REMOVED});
  EXPECT_EQ(host_effects_.count(HostEffectKind::kOpenRequested), 0u);
  ASSERT_TRUE(guest_.release_relid(Relid{1}).ok());
  pump();
  EXPECT_EQ(host_effects_.count(HostEffectKind::kGpadlTornDown), 1u);  // dropped with the relid
  expect_both_up();
}

TEST_F(ControlPlanePairingTest, UnloadThenANewConnectionSeesTheOffersAgain) {
  ASSERT_TRUE(host_.add_offer(offer_of(1)).ok());
  connect();
  open(1, 10);
  ASSERT_TRUE(guest_.unload().ok());
  pump();
  EXPECT_EQ(guest_effects_.count(GuestEffectKind::kUnloaded), 1u);
  EXPECT_EQ(host_effects_.count(HostEffectKind::kChannelClosed), 1u);
  EXPECT_EQ(host_effects_.count(HostEffectKind::kMemoryReleased), 1u);

  QueueingGuestEffects second_effects;
  GuestControlPlane second(second_effects);
  ASSERT_TRUE(second.start(memory_.get()).ok());
  for (int i = 0; i < 10; ++i) {
    while (!second_effects.to_host.empty()) {
      Datagram datagram = std::move(second_effects.to_host.front());
      second_effects.to_host.pop_front();
      AttachedFds fds;
      for (UniqueFd& fd : datagram.fds) ASSERT_TRUE(fds.push(std::move(fd)));
      host_.receive(datagram.bytes, std::move(fds));
    }
    while (!host_effects_.to_guest.empty()) {
      second.receive(host_effects_.to_guest.front().bytes, {});
      host_effects_.to_guest.pop_front();
    }
  }
  EXPECT_EQ(second.state(), GuestConnectionState::kReady);
  EXPECT_NE(second.offer(Relid{1}), nullptr);
  expect_both_up();
}

}  // namespace
}  // namespace vmb::bus::testing
