// SPDX-License-Identifier: MIT
// HostControlPlane unit tests, per channel: GPADL reassembly and its checks (PFNs inside guest
// memory, handles, relids, limits), teardown, OPENCHANNEL validation (ring shape, downstream
// offset, descriptors), open results, CLOSECHANNEL and the races with a rescind. Connection and
// offer tests are in host_control_plane_test.cc.
#include <gtest/gtest.h>

#include <cstring>

#include "bus/host_control_plane_fixture.h"

namespace vmb::bus::testing {
namespace {

HostLimits limits_with_gpadls(uint32_t established, uint32_t pending) {
  HostLimits limits;
  limits.maximum_gpadls = established;
  limits.maximum_pending_gpadls = pending;
  return limits;
}

class HostChannelTest : public HostControlPlaneTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(host_.add_offer(make_offer(1)).ok());
    ASSERT_TRUE(host_.add_offer(make_offer(2, kInstanceB)).ok());
    connect_and_request_offers();
    effects_.clear();
  }
};

TEST_F(HostChannelTest, SingleMessageGpadlIsEstablishedWithItsPages) {
  send_gpadl(1, 0xE1E10, page_run(20, 3));
  const auto established = effects_.of_kind(HostEffectKind::kGpadlEstablished);
  ASSERT_EQ(established.size(), 1u);
  EXPECT_EQ(established[0]->relid, Relid{1});
  EXPECT_EQ(established[0]->handle, GpadlHandle{0xE1E10});
  EXPECT_EQ(established[0]->words, (std::vector<uint64_t>{3 * 4096, 20, 21, 22}));
  const auto created = effects_.last_sent<wire::GpadlCreated>();
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->child_relid, 1u);
  EXPECT_EQ(created->gpadl, 0xE1E10u);
  EXPECT_EQ(created->creation_status, 0u);
  EXPECT_EQ(host_.gpadl_count(), 1u);
}

TEST_F(HostChannelTest, MultiMessageGpadlCompletesOnItsLastBody) {
  const auto pages = page_run(100, 90);  // 27 words in the header, then 28 per body
  const wire::GpaRangeSpec range{90 * 4096, 0, pages};
  auto messages = wire::encode_gpadl(1, 5, std::span(&range, 1));
  ASSERT_TRUE(messages.has_value());
  ASSERT_EQ(messages->size(), 4u);
  for (size_t i = 0; i + 1 < messages->size(); ++i) {
    deliver_bytes((*messages)[i].span());
    EXPECT_EQ(effects_.effects.size(), 0u);
  }
  deliver_bytes(messages->back().span());
  const auto established = effects_.of_kind(HostEffectKind::kGpadlEstablished);
  ASSERT_EQ(established.size(), 1u);
  EXPECT_EQ(established[0]->words.size(), 91u);
  EXPECT_EQ(established[0]->words.back(), 189u);
}

TEST_F(HostChannelTest, DropsAGpadlWithAPfnOutsideGuestMemory) {
  send_gpadl(1, 5, {1022, 1023, 1024});  // the guest has 1024 pages
  EXPECT_TRUE(disconnected());
  EXPECT_NE(host_.disconnect_reason().find("PFN"), std::string::npos);
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlEstablished), 0u);
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 0u);
}

TEST_F(HostChannelTest, DropsAGpadlWhoseRangeIsMalformed) {
  std::vector<uint8_t> header(36, 0);  // fixed part + one range of one PFN
  wire::GpadlHeaderMessage fixed{};
  fixed.header.message_type = 8;
  fixed.child_relid = 1;
  fixed.gpadl = 5;
  fixed.range_buflen = 16;
  fixed.range_count = 1;
  std::memcpy(header.data(), &fixed, sizeof fixed);  // range word 0: byte_count 0, refused
  deliver_bytes(header);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsGpadlFramingFaults) {
  std::vector<uint8_t> header(20, 0);
  wire::GpadlHeaderMessage fixed{};
  fixed.header.message_type = 8;
  fixed.child_relid = 1;
  fixed.range_count = 0;  // no ranges
  std::memcpy(header.data(), &fixed, sizeof fixed);
  deliver_bytes(header);
  EXPECT_TRUE(disconnected());
  EXPECT_NE(host_.disconnect_reason().find("GPADL_HEADER"), std::string::npos);
}

TEST_F(HostChannelTest, DropsAGpadlForARelidNeverOffered) {
  send_gpadl(77, 5, page_run(0, 1));
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsAReusedGpadlHandle) {
  send_gpadl(1, 5, page_run(0, 1));
  send_gpadl(2, 5, page_run(1, 1));
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsABodyForAGpadlNotBeingSent) {
  std::vector<uint8_t> body(24, 0);
  wire::GpadlBodyMessage fixed{};
  fixed.header.message_type = 9;
  fixed.gpadl = 5;
  std::memcpy(body.data(), &fixed, sizeof fixed);
  deliver_bytes(body);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, RefusesAGpadlOverTheLimitWithAFailureStatus) {
  RecordingHostEffects effects;
  HostControlPlane host(effects, limits_with_gpadls(1, 64));
  ASSERT_TRUE(host.add_offer(make_offer(1)).ok());
  wire::InitiateContact message{};
  message.version_requested = static_cast<uint32_t>(wire::ProtocolVersion::kWin10V5_3);
  host.receive(wire::encode(message), fds_of(1));
  host.receive(wire::encode(wire::RequestOffers{}), {});
  for (const uint32_t handle : {5u, 6u}) {
    const auto pages = page_run(handle, 1);
    const wire::GpaRangeSpec range{4096, 0, pages};
    const auto messages = wire::encode_gpadl(1, handle, std::span(&range, 1));
    for (const auto& part : *messages) host.receive(part.span(), {});
  }
  const auto created = effects.sent_of<wire::GpadlCreated>();
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].creation_status, 0u);
  EXPECT_EQ(created[1].creation_status, static_cast<uint32_t>(STATUS_INSUFFICIENT_RESOURCES));
  EXPECT_EQ(host.gpadl_count(), 1u);
  EXPECT_NE(host.state(), HostConnectionState::kDisconnected);
}

TEST_F(HostChannelTest, DropsTooManyGpadlsInFlight) {
  RecordingHostEffects effects;
  HostControlPlane host(effects, limits_with_gpadls(1024, 2));
  ASSERT_TRUE(host.add_offer(make_offer(1)).ok());
  wire::InitiateContact message{};
  message.version_requested = static_cast<uint32_t>(wire::ProtocolVersion::kWin10V5_3);
  host.receive(wire::encode(message), fds_of(1));
  host.receive(wire::encode(wire::RequestOffers{}), {});
  const auto pages = page_run(0, 40);
  const wire::GpaRangeSpec range{40 * 4096, 0, pages};
  for (const uint32_t handle : {5u, 6u, 7u}) {
    // Headers only: each GPADL stays incomplete.
    host.receive((*wire::encode_gpadl(1, handle, std::span(&range, 1)))[0].span(), {});
  }
  EXPECT_EQ(host.state(), HostConnectionState::kDisconnected);
  EXPECT_EQ(effects.count(HostEffectKind::kGpadlTornDown), 0u);
}

TEST_F(HostChannelTest, TeardownAnswersTorndown) {
  send_gpadl(1, 5, page_run(0, 2));
  effects_.clear();
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  const auto torn = effects_.of_kind(HostEffectKind::kGpadlTornDown);
  ASSERT_EQ(torn.size(), 1u);
  EXPECT_EQ(torn[0]->handle, GpadlHandle{5});
  const auto torndown = effects_.last_sent<wire::GpadlTorndown>();
  ASSERT_TRUE(torndown.has_value());
  EXPECT_EQ(torndown->gpadl, 5u);
  EXPECT_EQ(host_.gpadl_count(), 0u);
}

// kmcl-api.md §4.7: DeleteGpadl blocks while the server has the GPADL mapped. The guest may
// reuse the pages once it has GPADL_TORNDOWN, so that answer waits for the server's unmap.
TEST_F(HostChannelTest, TeardownOfAMappedGpadlIsAnsweredAfterTheUnmap) {
  send_gpadl(1, 5, page_run(0, 2));
  ASSERT_TRUE(host_.map_gpadl(Relid{1}, GpadlHandle{5}).ok());
  effects_.clear();
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  EXPECT_EQ(effects_.effects.size(), 0u) << "no GPADL_TORNDOWN while the server maps it";
  EXPECT_EQ(host_.gpadl_count(), 1u);
  EXPECT_FALSE(disconnected());
  // Being torn down: it cannot be mapped again, nor opened as a ring.
  host_.unmap_gpadl(Relid{2}, GpadlHandle{5});  // another relid's: ignored
  EXPECT_EQ(effects_.effects.size(), 0u);
  host_.unmap_gpadl(Relid{1}, GpadlHandle{5});
  ASSERT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
  const auto torndown = effects_.last_sent<wire::GpadlTorndown>();
  ASSERT_TRUE(torndown.has_value());
  EXPECT_EQ(torndown->gpadl, 5u);
  EXPECT_EQ(host_.gpadl_count(), 0u);
  host_.unmap_gpadl(Relid{1}, GpadlHandle{5});  // a second unmap changes nothing
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
}

TEST_F(HostChannelTest, AnUnmappedGpadlIsTornDownAtOnce) {
  send_gpadl(1, 5, page_run(0, 2));
  ASSERT_TRUE(host_.map_gpadl(Relid{1}, GpadlHandle{5}).ok());
  host_.unmap_gpadl(Relid{1}, GpadlHandle{5});
  effects_.clear();
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
  EXPECT_TRUE(effects_.last_sent<wire::GpadlTorndown>().has_value());
}

TEST_F(HostChannelTest, MapRefusesWhatIsNotAnEstablishedIdleGpadlOfTheRelid) {
  EXPECT_EQ(host_.map_gpadl(Relid{1}, GpadlHandle{5}), Status{STATUS_INVALID_PARAMETER});
  send_gpadl(1, 5, page_run(0, 2));
  EXPECT_EQ(host_.map_gpadl(Relid{2}, GpadlHandle{5}), Status{STATUS_INVALID_PARAMETER});
  ASSERT_TRUE(host_.map_gpadl(Relid{1}, GpadlHandle{5}).ok());
  EXPECT_EQ(host_.map_gpadl(Relid{1}, GpadlHandle{5}), Status{STATUS_INVALID_PARAMETER});
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  host_.unmap_gpadl(Relid{1}, GpadlHandle{6});  // not this one
  EXPECT_EQ(host_.map_gpadl(Relid{1}, GpadlHandle{5}), Status{STATUS_INVALID_PARAMETER});
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 0u);
}

TEST_F(HostChannelTest, DropsASecondTeardownWhileTheFirstWaitsForTheUnmap) {
  send_gpadl(1, 5, page_run(0, 2));
  ASSERT_TRUE(host_.map_gpadl(Relid{1}, GpadlHandle{5}).ok());
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  EXPECT_TRUE(disconnected());
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);  // released with the guest
}

TEST_F(HostChannelTest, DropsOpenOnAGpadlBeingTornDown) {
  send_gpadl(1, 5, page_run(16, 8));
  ASSERT_TRUE(host_.map_gpadl(Relid{1}, GpadlHandle{5}).ok());
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  send_open(1, 5, 4);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, ConnectionLostReleasesAGpadlWaitingForItsUnmap) {
  send_gpadl(1, 5, page_run(0, 2));
  ASSERT_TRUE(host_.map_gpadl(Relid{1}, GpadlHandle{5}).ok());
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  host_.connection_lost();
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
  EXPECT_EQ(host_.gpadl_count(), 0u);
  EXPECT_EQ(host_.map_gpadl(Relid{1}, GpadlHandle{5}), Status{STATUS_DEVICE_REMOVED});
  host_.unmap_gpadl(Relid{1}, GpadlHandle{5});  // the server lets go later: nothing to send
  for (const auto& message : effects_.sent()) {
    EXPECT_FALSE(std::holds_alternative<wire::GpadlTorndown>(message));
  }
}

TEST_F(HostChannelTest, DropsTeardownOfAnUnknownGpadl) {
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsTeardownNamingAnotherRelid) {
  send_gpadl(1, 5, page_run(0, 2));
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 2, .gpadl = 5});
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsTeardownOfAnOpenChannelsRing) {
  open_channel(1, 5);
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 5});
  EXPECT_TRUE(disconnected());
  EXPECT_EQ(effects_.count(HostEffectKind::kChannelClosed), 1u);
}

TEST_F(HostChannelTest, OpenRequestCarriesTheRingAndBothEventDescriptors) {
  send_gpadl(1, 5, page_run(30, 6));
  send_open(1, 5, 2);
  const auto opens = effects_.of_kind(HostEffectKind::kOpenRequested);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0]->relid, Relid{1});
  EXPECT_EQ(opens[0]->words, page_run(30, 6));
  EXPECT_EQ(opens[0]->downstream_page_offset, 2u);
  ASSERT_EQ(effects_.event_fds.size(), 1u);
  EXPECT_TRUE(effects_.event_fds[0].first.valid());
  EXPECT_TRUE(effects_.event_fds[0].second.valid());
  EXPECT_EQ(*host_.offer_state(Relid{1}), HostOfferState::kOpening);
  EXPECT_TRUE(effects_.sent_of<wire::OpenChannelResult>().empty());  // not before complete_open

  ASSERT_TRUE(host_.complete_open(Relid{1}, Status{}).ok());
  const auto result = effects_.last_sent<wire::OpenChannelResult>();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->child_relid, 1u);
  EXPECT_EQ(result->openid, 1u);
  EXPECT_EQ(result->status, 0u);
  EXPECT_EQ(*host_.offer_state(Relid{1}), HostOfferState::kOpen);
}

TEST_F(HostChannelTest, AFailedOpenLeavesTheOfferClosedAndTheGpadlReusable) {
  send_gpadl(1, 5, page_run(30, 4));
  send_open(1, 5, 2);
  ASSERT_TRUE(host_.complete_open(Relid{1}, Status{STATUS_INSUFFICIENT_RESOURCES}).ok());
  EXPECT_EQ(effects_.last_sent<wire::OpenChannelResult>()->status,
            static_cast<uint32_t>(STATUS_INSUFFICIENT_RESOURCES));
  EXPECT_EQ(*host_.offer_state(Relid{1}), HostOfferState::kOffered);
  send_open(1, 5, 2);
  EXPECT_EQ(*host_.offer_state(Relid{1}), HostOfferState::kOpening);
}

TEST_F(HostChannelTest, DropsOpenWithoutTwoDescriptors) {
  send_gpadl(1, 5, page_run(30, 4));
  send_open(1, 5, 2, 1);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsOpenWithADownstreamOffsetLeavingARingTooSmall) {
  for (const uint32_t downstream : {0u, 1u, 3u, 4u, 0xFFFFFFFFu}) {
    SCOPED_TRACE(downstream);
    RecordingHostEffects effects;
    HostControlPlane host(effects);
    ASSERT_TRUE(host.add_offer(make_offer(1)).ok());
    wire::InitiateContact message{};
    message.version_requested = static_cast<uint32_t>(wire::ProtocolVersion::kWin10V5_3);
    host.receive(wire::encode(message), fds_of(1));
    host.receive(wire::encode(wire::RequestOffers{}), {});
    const auto pages = page_run(0, 4);  // 4 pages: only offset 2 leaves 2 + 2
    const wire::GpaRangeSpec range{4 * 4096, 0, pages};
    host.receive((*wire::encode_gpadl(1, 5, std::span(&range, 1)))[0].span(), {});
    wire::OpenChannel open{};
    open.child_relid = 1;
    open.ringbuffer_gpadlhandle = 5;
    open.downstream_ringbuffer_pageoffset = downstream;
    host.receive(wire::encode(open), fds_of(2));
    EXPECT_EQ(host.state(), HostConnectionState::kDisconnected);
  }
}

TEST_F(HostChannelTest, DropsOpenOnAGpadlThatIsNotOnePageAlignedRange) {
  const auto first = page_run(0, 2);
  const auto second = page_run(10, 2);
  const wire::GpaRangeSpec two_ranges[] = {{2 * 4096, 0, first}, {2 * 4096, 0, second}};
  const auto messages = wire::encode_gpadl(1, 5, two_ranges);
  for (const auto& part : *messages) deliver_bytes(part.span());
  ASSERT_EQ(host_.gpadl_count(), 1u);
  send_open(1, 5, 2);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsOpenOnAnUnalignedRange) {
  const auto pages = page_run(0, 5);
  const wire::GpaRangeSpec range{4 * 4096, 16, pages};
  const auto messages = wire::encode_gpadl(1, 5, std::span(&range, 1));
  for (const auto& part : *messages) deliver_bytes(part.span());
  send_open(1, 5, 2);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsOpenOnAnotherRelidsGpadl) {
  send_gpadl(2, 5, page_run(0, 4));
  send_open(1, 5, 2);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsOpenOfAnOpenChannel) {
  open_channel(1, 5);
  send_gpadl(1, 6, page_run(40, 4));
  send_open(1, 6, 2);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, DropsOpenForARelidNeverOffered) {
  send_open(55, 5, 2);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, OpenCrossingARescindIsRefusedNotDropped) {
  send_gpadl(1, 5, page_run(0, 4));
  ASSERT_TRUE(host_.remove_offer(Relid{1}).ok());
  effects_.clear();
  send_open(1, 5, 2);
  const auto result = effects_.last_sent<wire::OpenChannelResult>();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, static_cast<uint32_t>(STATUS_DEVICE_REMOVED));
  EXPECT_EQ(effects_.count(HostEffectKind::kOpenRequested), 0u);
  EXPECT_NE(host_.state(), HostConnectionState::kDisconnected);
}

TEST_F(HostChannelTest, GpadlCrossingARescindIsRefusedNotDropped) {
  ASSERT_TRUE(host_.remove_offer(Relid{1}).ok());
  effects_.clear();
  send_gpadl(1, 5, page_run(0, 4));
  const auto created = effects_.last_sent<wire::GpadlCreated>();
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->creation_status, static_cast<uint32_t>(STATUS_DEVICE_REMOVED));
  EXPECT_EQ(host_.gpadl_count(), 0u);
  EXPECT_NE(host_.state(), HostConnectionState::kDisconnected);
}

TEST_F(HostChannelTest, CloseChannelClosesAndAllowsAReopen) {
  open_channel(1, 5);
  effects_.clear();
  deliver(wire::CloseChannel{.header = {}, .child_relid = 1});
  ASSERT_EQ(effects_.effects.size(), 1u);  // CLOSECHANNEL has no reply
  EXPECT_EQ(effects_.effects[0].kind, HostEffectKind::kChannelClosed);
  EXPECT_EQ(*host_.offer_state(Relid{1}), HostOfferState::kOffered);
  send_open(1, 5, 4);
  EXPECT_EQ(*host_.offer_state(Relid{1}), HostOfferState::kOpening);
}

TEST_F(HostChannelTest, CloseWhileOpeningCancelsTheOpen) {
  send_gpadl(1, 5, page_run(0, 4));
  send_open(1, 5, 2);
  deliver(wire::CloseChannel{.header = {}, .child_relid = 1});
  EXPECT_EQ(effects_.count(HostEffectKind::kChannelClosed), 1u);
  EXPECT_EQ(host_.complete_open(Relid{1}, Status{}), Status{STATUS_INVALID_DEVICE_STATE});
  EXPECT_TRUE(effects_.sent_of<wire::OpenChannelResult>().empty());
}

TEST_F(HostChannelTest, CloseOfAClosedChannelIsIgnored) {
  deliver(wire::CloseChannel{.header = {}, .child_relid = 1});
  EXPECT_EQ(effects_.effects.size(), 0u);
  EXPECT_NE(host_.state(), HostConnectionState::kDisconnected);
}

TEST_F(HostChannelTest, DropsCloseForARelidNeverOffered) {
  deliver(wire::CloseChannel{.header = {}, .child_relid = 3});
  EXPECT_TRUE(disconnected());
}

TEST_F(HostChannelTest, SubChannelsOpenLikePrimaries) {
  ASSERT_TRUE(host_.add_offer(make_offer(3, kInstanceA, 1)).ok());
  send_gpadl(1, 5, page_run(0, 4));
  send_gpadl(3, 6, page_run(4, 4));
  send_open(1, 5, 2);
  send_open(3, 6, 2);
  ASSERT_TRUE(host_.complete_open(Relid{1}, Status{}).ok());
  ASSERT_TRUE(host_.complete_open(Relid{3}, Status{}).ok());
  EXPECT_EQ(*host_.offer_state(Relid{3}), HostOfferState::kOpen);
  EXPECT_EQ(effects_.event_fds.size(), 2u);
}

}  // namespace
}  // namespace vmb::bus::testing
