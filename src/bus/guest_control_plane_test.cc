// SPDX-License-Identifier: MIT
// GuestControlPlane unit tests: version fallback, offers and hot add, GPADL creation and
// teardown, open / close, rescind and relid release, unload, connection loss, and one test per
// way a host message is refused. Driven through RecordingGuestEffects; host messages are built
// by hand.
#include <gtest/gtest.h>

#include <numeric>

#include "bus/recording_guest_effects.h"
#include "bus/recording_host_effects.h"
#include "vmbkit/bus/guest_control_plane.h"

namespace vmb::bus::testing {
namespace {

using wire::ProtocolVersion;

constexpr int kMemoryFd = 42;  // never used as a descriptor: the fake only records it

wire::OfferChannel offer_of(uint32_t relid) {
  wire::OfferChannel offer{};
  offer.child_relid = relid;
  offer.connection_id = relid;
  return offer;
}

GpaRanges pages_of(uint64_t first, uint32_t count) {
  std::vector<uint64_t> pages(count);
  std::iota(pages.begin(), pages.end(), first);
  GpaRanges ranges;
  EXPECT_TRUE(ranges.append(count * 4096, 0, pages).ok());
  return ranges;
}

class GuestControlPlaneTest : public ::testing::Test {
 protected:
  template <typename T>
  void deliver(const T& message, AttachedFds fds = {}) {
    guest_.receive(wire::encode(message), std::move(fds));
  }
  void accept_version() {
    wire::VersionResponse response{};
    response.version_supported = 1;
    deliver(response);
  }
  // Connected, offers 1 and 2 known, ready.
  void become_ready() {
    ASSERT_TRUE(guest_.start(kMemoryFd).ok());
    accept_version();
    deliver(offer_of(1));
    deliver(offer_of(2));
    deliver(wire::AllOffersDelivered{});
    ASSERT_EQ(guest_.state(), GuestConnectionState::kReady);
  }
  GpadlHandle established_gpadl(uint32_t relid) {
    auto handle = guest_.create_gpadl(Relid{relid}, pages_of(10, 4));
    EXPECT_TRUE(handle.has_value());
    deliver(wire::GpadlCreated{
        .header = {}, .child_relid = relid, .gpadl = to_u32(*handle), .creation_status = 0});
    return *handle;
  }
  void open(uint32_t relid, GpadlHandle ring) {
    ASSERT_TRUE(guest_.open_channel(Relid{relid}, ring, 2, {}, 7, 8).ok());
  }
  [[nodiscard]] bool dropped() const {
    return guest_.state() == GuestConnectionState::kClosed &&
           effects_.count(GuestEffectKind::kDisconnect) == 1 &&
           effects_.effects.back().kind == GuestEffectKind::kDisconnect;
  }

  RecordingGuestEffects effects_;
  GuestControlPlane guest_{effects_};
};

TEST_F(GuestControlPlaneTest, StartSendsTheNewestVersionWithTheMemoryDescriptor) {
  ASSERT_TRUE(guest_.start(kMemoryFd).ok());
  const auto contact = effects_.last_sent<wire::InitiateContact>();
  ASSERT_TRUE(contact.has_value());
  EXPECT_EQ(contact->version_requested, static_cast<uint32_t>(ProtocolVersion::kWin10V5_3));
  EXPECT_EQ(effects_.effects.back().fds, std::vector<int>{kMemoryFd});
  EXPECT_EQ(guest_.start(kMemoryFd), Status{STATUS_INVALID_DEVICE_STATE});
}

TEST_F(GuestControlPlaneTest, FallsBackVersionByVersionThenGivesUp) {
  ASSERT_TRUE(guest_.start(kMemoryFd).ok());
  for (const ProtocolVersion next :
       {ProtocolVersion::kWin10V5_2, ProtocolVersion::kWin10V5_1, ProtocolVersion::kWin10V5}) {
    deliver(wire::VersionResponse{});
    const auto contact = effects_.last_sent<wire::InitiateContact>();
    ASSERT_TRUE(contact.has_value());
    EXPECT_EQ(contact->version_requested, static_cast<uint32_t>(next));
    EXPECT_EQ(effects_.effects.back().fds, std::vector<int>{kMemoryFd});
  }
  deliver(wire::VersionResponse{});
  const auto failed = effects_.of_kind(GuestEffectKind::kConnectFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]->status, Status{STATUS_REVISION_MISMATCH});
  EXPECT_EQ(guest_.state(), GuestConnectionState::kClosed);
}

TEST_F(GuestControlPlaneTest, AnAcceptedVersionRequestsOffers) {
  ASSERT_TRUE(guest_.start(kMemoryFd).ok());
  deliver(wire::VersionResponse{});
  accept_version();
  EXPECT_EQ(guest_.version(), ProtocolVersion::kWin10V5_2);
  EXPECT_EQ(effects_.count(GuestEffectKind::kConnected), 1u);
  EXPECT_TRUE(effects_.last_sent<wire::RequestOffers>().has_value());
  EXPECT_EQ(guest_.state(), GuestConnectionState::kOffersPending);
}

TEST_F(GuestControlPlaneTest, AFailedConnectionStateIsARefusal) {
  ASSERT_TRUE(guest_.start(kMemoryFd).ok());
  wire::VersionResponse response{};
  response.version_supported = 1;
  response.connection_state = 2;
  deliver(response);
  const auto failed = effects_.of_kind(GuestEffectKind::kConnectFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]->status, Status{STATUS_CONNECTION_REFUSED});
}

TEST_F(GuestControlPlaneTest, TracksOffersAndHotAdds) {
  become_ready();
  EXPECT_EQ(effects_.count(GuestEffectKind::kOfferReceived), 2u);
  EXPECT_EQ(effects_.count(GuestEffectKind::kAllOffersDelivered), 1u);
  deliver(offer_of(3));
  EXPECT_EQ(effects_.count(GuestEffectKind::kOfferReceived), 3u);
  ASSERT_NE(guest_.offer(Relid{3}), nullptr);
  EXPECT_EQ(*guest_.channel_state(Relid{3}), GuestChannelState::kClosed);
}

TEST_F(GuestControlPlaneTest, DropsOffersWithZeroOrDuplicateRelids) {
  become_ready();
  deliver(offer_of(2));
  EXPECT_TRUE(dropped());
  GuestControlPlane other(effects_);
  ASSERT_TRUE(other.start(kMemoryFd).ok());
  other.receive(wire::encode(wire::VersionResponse{.header = {},
                                                   .version_supported = 1,
                                                   .connection_state = 0,
                                                   .padding = 0,
                                                   .msg_conn_id = 4}),
                {});
  other.receive(wire::encode(offer_of(0)), {});
  EXPECT_EQ(other.state(), GuestConnectionState::kClosed);
}

TEST_F(GuestControlPlaneTest, DropsHostMessagesThatCarryDescriptors) {
  ASSERT_TRUE(guest_.start(kMemoryFd).ok());
  AttachedFds fds;
  fds.push(make_test_fd());
  deliver(wire::VersionResponse{}, std::move(fds));
  EXPECT_TRUE(dropped());
  // Pending negotiation ends with the drop.
  EXPECT_EQ(effects_.count(GuestEffectKind::kConnectFailed), 1u);
}

TEST_F(GuestControlPlaneTest, DropsAnythingButAVersionResponseWhileNegotiating) {
  ASSERT_TRUE(guest_.start(kMemoryFd).ok());
  deliver(offer_of(1));
  EXPECT_TRUE(dropped());
}

TEST_F(GuestControlPlaneTest, DropsGuestToHostAndUnaskedMessages) {
  const std::vector<std::vector<uint8_t>> messages = {
      [] {
        auto bytes = wire::encode(wire::RequestOffers{});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(wire::ModifyChannelResponse{});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(wire::AllOffersDelivered{});  // a second one
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(wire::UnloadResponse{});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(
            wire::GpadlCreated{.header = {}, .child_relid = 1, .gpadl = 9, .creation_status = 0});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(wire::GpadlTorndown{.header = {}, .gpadl = 9});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(
            wire::OpenChannelResult{.header = {}, .child_relid = 1, .openid = 1, .status = 0});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      [] {
        auto bytes = wire::encode(wire::RescindChannelOffer{.header = {}, .child_relid = 9});
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
      }(),
      {1, 2, 3},
  };
  for (size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE(i);
    effects_.clear();
    GuestControlPlane guest(effects_);
    ASSERT_TRUE(guest.start(kMemoryFd).ok());
    guest.receive(wire::encode(wire::VersionResponse{.header = {},
                                                     .version_supported = 1,
                                                     .connection_state = 0,
                                                     .padding = 0,
                                                     .msg_conn_id = 4}),
                  {});
    guest.receive(wire::encode(offer_of(1)), {});
    guest.receive(wire::encode(wire::AllOffersDelivered{}), {});
    ASSERT_EQ(guest.state(), GuestConnectionState::kReady);
    guest.receive(messages[i], {});
    EXPECT_EQ(guest.state(), GuestConnectionState::kClosed);
    EXPECT_EQ(effects_.count(GuestEffectKind::kDisconnect), 1u);
  }
}

TEST_F(GuestControlPlaneTest, CreateGpadlSendsItsMessagesAndAwaitsTheAnswer) {
  become_ready();
  effects_.clear();
  auto first = guest_.create_gpadl(Relid{1}, pages_of(100, 60));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, GpadlHandle{GuestControlPlane::kFirstGpadlHandle});
  EXPECT_EQ(effects_.count(GuestEffectKind::kSend), 3u);  // 61 words: 27 + 28 + 6
  auto second = guest_.create_gpadl(Relid{1}, pages_of(200, 1));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(to_u32(*second), GuestControlPlane::kFirstGpadlHandle + 1);

  deliver(wire::GpadlCreated{
      .header = {}, .child_relid = 1, .gpadl = to_u32(*first), .creation_status = 0});
  deliver(wire::GpadlCreated{
      .header = {}, .child_relid = 1, .gpadl = to_u32(*second), .creation_status = 0xC000009A});
  const auto created = effects_.of_kind(GuestEffectKind::kGpadlCreated);
  ASSERT_EQ(created.size(), 2u);
  EXPECT_TRUE(created[0]->status.ok());
  EXPECT_EQ(created[1]->status, Status{STATUS_UNSUCCESSFUL});
  // The refused one is gone: tearing it down is a caller error.
  EXPECT_EQ(guest_.teardown_gpadl(Relid{1}, *second), Status{STATUS_INVALID_PARAMETER});
}

TEST_F(GuestControlPlaneTest, DropsGpadlCreatedNamingAnotherRelid) {
  become_ready();
  auto handle = guest_.create_gpadl(Relid{1}, pages_of(100, 1));
  ASSERT_TRUE(handle.has_value());
  deliver(wire::GpadlCreated{
      .header = {}, .child_relid = 2, .gpadl = to_u32(*handle), .creation_status = 0});
  EXPECT_TRUE(dropped());
  // The pending creation completed before the drop.
  EXPECT_EQ(effects_.of_kind(GuestEffectKind::kGpadlCreated)[0]->status,
            Status{STATUS_DEVICE_REMOVED});
}

TEST_F(GuestControlPlaneTest, CreateGpadlNeedsAnOfferedRelid) {
  EXPECT_EQ(guest_.create_gpadl(Relid{1}, pages_of(0, 1)).status(),
            Status{STATUS_INVALID_DEVICE_STATE});
  become_ready();
  EXPECT_EQ(guest_.create_gpadl(Relid{9}, pages_of(0, 1)).status(),
            Status{STATUS_INVALID_DEVICE_STATE});
  EXPECT_EQ(guest_.create_gpadl(Relid{1}, GpaRanges{}).status(), Status{STATUS_INVALID_PARAMETER});
}

TEST_F(GuestControlPlaneTest, OpenSendsOpenChannelWithBothEventDescriptors) {
  become_ready();
  const GpadlHandle ring = established_gpadl(1);
  open(1, ring);
  const auto message = effects_.last_sent<wire::OpenChannel>();
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->child_relid, 1u);
  EXPECT_EQ(message->ringbuffer_gpadlhandle, to_u32(ring));
  EXPECT_EQ(message->downstream_ringbuffer_pageoffset, 2u);
  EXPECT_EQ(effects_.effects.back().fds, (std::vector<int>{7, 8}));
  EXPECT_EQ(guest_.open_channel(Relid{1}, ring, 2, {}, 7, 8), Status{STATUS_INVALID_DEVICE_STATE});

  deliver(wire::OpenChannelResult{.header = {}, .child_relid = 1, .openid = 1, .status = 0});
  EXPECT_EQ(*guest_.channel_state(Relid{1}), GuestChannelState::kOpen);
  EXPECT_TRUE(effects_.of_kind(GuestEffectKind::kOpenCompleted)[0]->status.ok());
}

TEST_F(GuestControlPlaneTest, OpenNeedsAnEstablishedGpadlOfTheSameRelid) {
  become_ready();
  auto pending = guest_.create_gpadl(Relid{1}, pages_of(0, 4));
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(guest_.open_channel(Relid{1}, *pending, 2, {}, 7, 8),
            Status{STATUS_INVALID_DEVICE_STATE});
  const GpadlHandle other = established_gpadl(2);
  EXPECT_EQ(guest_.open_channel(Relid{1}, other, 2, {}, 7, 8), Status{STATUS_INVALID_DEVICE_STATE});
  EXPECT_EQ(guest_.open_channel(Relid{2}, other, 2, {}, -1, 8), Status{STATUS_INVALID_PARAMETER});
}

TEST_F(GuestControlPlaneTest, AFailedOpenLeavesTheChannelClosed) {
  become_ready();
  const GpadlHandle ring = established_gpadl(1);
  open(1, ring);
  deliver(wire::OpenChannelResult{.header = {}, .child_relid = 1, .openid = 1, .status = 1});
  EXPECT_EQ(effects_.of_kind(GuestEffectKind::kOpenCompleted)[0]->status,
            Status{STATUS_UNSUCCESSFUL});
  EXPECT_EQ(*guest_.channel_state(Relid{1}), GuestChannelState::kClosed);
  open(1, ring);  // may try again
}

TEST_F(GuestControlPlaneTest, CloseThenTeardown) {
  become_ready();
  const GpadlHandle ring = established_gpadl(1);
  EXPECT_EQ(guest_.close_channel(Relid{1}), Status{STATUS_INVALID_DEVICE_STATE});
  open(1, ring);
  deliver(wire::OpenChannelResult{.header = {}, .child_relid = 1, .openid = 1, .status = 0});
  EXPECT_EQ(guest_.teardown_gpadl(Relid{1}, ring), Status{STATUS_INVALID_DEVICE_STATE});
  ASSERT_TRUE(guest_.close_channel(Relid{1}).ok());
  EXPECT_TRUE(effects_.last_sent<wire::CloseChannel>().has_value());
  ASSERT_TRUE(guest_.teardown_gpadl(Relid{1}, ring).ok());
  const auto teardown = effects_.last_sent<wire::GpadlTeardown>();
  ASSERT_TRUE(teardown.has_value());
  EXPECT_EQ(teardown->gpadl, to_u32(ring));
  deliver(wire::GpadlTorndown{.header = {}, .gpadl = to_u32(ring)});
  EXPECT_EQ(effects_.count(GuestEffectKind::kGpadlTornDown), 1u);
  EXPECT_FALSE(dropped());
}

TEST_F(GuestControlPlaneTest, RescindEndsAPendingOpenAndIgnoresItsLateResult) {
  become_ready();
  const GpadlHandle ring = established_gpadl(1);
  open(1, ring);
  deliver(wire::RescindChannelOffer{.header = {}, .child_relid = 1});
  const auto opens = effects_.of_kind(GuestEffectKind::kOpenCompleted);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0]->status, Status{STATUS_DEVICE_REMOVED});
  EXPECT_EQ(effects_.count(GuestEffectKind::kOfferRescinded), 1u);
  deliver(wire::OpenChannelResult{.header = {},
                                  .child_relid = 1,
                                  .openid = 1,
                                  .status = static_cast<uint32_t>(STATUS_DEVICE_REMOVED)});
  EXPECT_EQ(effects_.count(GuestEffectKind::kOpenCompleted), 1u);
  EXPECT_FALSE(dropped());
  EXPECT_TRUE(guest_.close_channel(Relid{1}).ok());  // no message: the host closed it
  ASSERT_TRUE(guest_.release_relid(Relid{1}).ok());
  const auto released = effects_.last_sent<wire::RelidReleased>();
  ASSERT_TRUE(released.has_value());
  EXPECT_EQ(released->child_relid, 1u);
  EXPECT_EQ(guest_.offer(Relid{1}), nullptr);
  deliver(offer_of(1));  // the relid may come back
  EXPECT_FALSE(dropped());
}

TEST_F(GuestControlPlaneTest, ReleaseWaitsForUnansweredGpadlRequests) {
  become_ready();
  EXPECT_EQ(guest_.release_relid(Relid{1}), Status{STATUS_INVALID_DEVICE_STATE});
  ASSERT_TRUE(guest_.create_gpadl(Relid{1}, pages_of(0, 1)).has_value());
  deliver(wire::RescindChannelOffer{.header = {}, .child_relid = 1});
  EXPECT_EQ(guest_.release_relid(Relid{1}), Status{STATUS_INVALID_DEVICE_STATE});
  deliver(wire::GpadlCreated{.header = {},
                             .child_relid = 1,
                             .gpadl = GuestControlPlane::kFirstGpadlHandle,
                             .creation_status = 0xC0000184});
  EXPECT_TRUE(guest_.release_relid(Relid{1}).ok());
}

TEST_F(GuestControlPlaneTest, DropsARescindOfAnUnknownRelid) {
  become_ready();
  deliver(wire::RescindChannelOffer{.header = {}, .child_relid = 9});
  EXPECT_TRUE(dropped());
}

TEST_F(GuestControlPlaneTest, UnloadIgnoresInterimMessagesAndEndsOnTheResponse) {
  become_ready();
  const GpadlHandle ring = established_gpadl(1);
  open(1, ring);
  ASSERT_TRUE(guest_.unload().ok());
  EXPECT_TRUE(effects_.last_sent<wire::Unload>().has_value());
  deliver(offer_of(5));
  deliver(wire::OpenChannelResult{.header = {}, .child_relid = 1, .openid = 1, .status = 0});
  EXPECT_EQ(effects_.count(GuestEffectKind::kOfferReceived), 2u);
  deliver(wire::UnloadResponse{});
  EXPECT_EQ(effects_.count(GuestEffectKind::kUnloaded), 1u);
  EXPECT_EQ(effects_.of_kind(GuestEffectKind::kOpenCompleted)[0]->status,
            Status{STATUS_DEVICE_REMOVED});
  EXPECT_EQ(guest_.state(), GuestConnectionState::kClosed);
  EXPECT_EQ(guest_.offer(Relid{1}), nullptr);
}

TEST_F(GuestControlPlaneTest, ConnectionLossCompletesEveryPendingRequest) {
  become_ready();
  const GpadlHandle ring = established_gpadl(1);
  open(1, ring);
  ASSERT_TRUE(guest_.create_gpadl(Relid{2}, pages_of(0, 1)).has_value());
  const GpadlHandle torn = established_gpadl(2);
  ASSERT_TRUE(guest_.teardown_gpadl(Relid{2}, torn).ok());
  effects_.clear();
  guest_.connection_lost();
  EXPECT_EQ(effects_.count(GuestEffectKind::kOpenCompleted), 1u);
  EXPECT_EQ(effects_.of_kind(GuestEffectKind::kGpadlCreated)[0]->status,
            Status{STATUS_DEVICE_REMOVED});
  EXPECT_EQ(effects_.count(GuestEffectKind::kGpadlTornDown), 1u);
  EXPECT_EQ(effects_.count(GuestEffectKind::kDisconnect), 0u);
  EXPECT_EQ(guest_.state(), GuestConnectionState::kClosed);
  guest_.connection_lost();
  EXPECT_EQ(effects_.count(GuestEffectKind::kOpenCompleted), 1u);
}

}  // namespace
}  // namespace vmb::bus::testing
