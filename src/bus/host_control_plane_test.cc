// SPDX-License-Identifier: MIT
// HostControlPlane unit tests, connection and offers: version negotiation, descriptor counts,
// undecodable and misdirected messages, REQUESTOFFERS, hot add, sub-channels, rescind and relid
// release, unload, connection loss. GPADL and open/close tests are in
// host_control_plane_channels_test.cc. Driven through RecordingHostEffects.
#include <gtest/gtest.h>

#include "bus/host_control_plane_fixture.h"

namespace vmb::bus::testing {
namespace {

using wire::ProtocolVersion;

TEST_F(HostControlPlaneTest, AcceptsEachSupportedVersion) {
  for (const ProtocolVersion version : wire::kSupportedProtocolVersions) {
    SCOPED_TRACE(static_cast<uint32_t>(version));
    RecordingHostEffects effects;
    HostControlPlane host(effects);
    wire::InitiateContact message{};
    message.version_requested = static_cast<uint32_t>(version);
    host.receive(wire::encode(message), fds_of(1));
    const auto response = effects.last_sent<wire::VersionResponse>();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->version_supported, 1);
    EXPECT_EQ(response->connection_state, 0);
    EXPECT_EQ(response->msg_conn_id, kMessageConnectionId);
    EXPECT_EQ(host.state(), HostConnectionState::kContacted);
    EXPECT_EQ(host.version(), version);
    EXPECT_EQ(host.guest_page_count(), 1024u);
    EXPECT_EQ(effects.memory_fds.size(), 1u);
  }
}

TEST_F(HostControlPlaneTest, RejectsOtherVersionsWithZeroResponseAndStaysOpen) {
  for (const uint32_t version : {0x0000000Du, 0x00040001u, 0x00060000u, 0x00050004u, 0u}) {
    SCOPED_TRACE(version);
    effects_.clear();
    wire::InitiateContact message{};
    message.version_requested = version;
    deliver(message, fds_of(1));
    const auto response = effects_.last_sent<wire::VersionResponse>();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->version_supported, 0);
    EXPECT_EQ(response->msg_conn_id, 0u);
    EXPECT_EQ(effects_.count(HostEffectKind::kMapMemory), 0u);
    EXPECT_EQ(host_.state(), HostConnectionState::kAwaitingContact);
  }
  // The guest's fallback to a supported version then succeeds.
  contact(ProtocolVersion::kWin10V5_2);
  EXPECT_EQ(host_.state(), HostConnectionState::kContacted);
  EXPECT_EQ(host_.version(), ProtocolVersion::kWin10V5_2);
}

TEST_F(HostControlPlaneTest, AcceptsTheClientIdFormOfInitiateContact) {
  wire::InitiateContactWithClientId message{};
  message.contact.version_requested = static_cast<uint32_t>(ProtocolVersion::kWin10V5);
  deliver(message, fds_of(1));
  EXPECT_EQ(host_.state(), HostConnectionState::kContacted);
}

TEST_F(HostControlPlaneTest, DropsInitiateContactWithoutTheMemoryDescriptor) {
  wire::InitiateContact message{};
  message.version_requested = static_cast<uint32_t>(ProtocolVersion::kWin10V5_3);
  deliver(message);
  EXPECT_TRUE(disconnected());
  EXPECT_NE(host_.disconnect_reason().find("descriptors"), std::string::npos);
}

TEST_F(HostControlPlaneTest, DropsInitiateContactWithTwoDescriptors) {
  wire::InitiateContact message{};
  message.version_requested = static_cast<uint32_t>(ProtocolVersion::kWin10V5_3);
  deliver(message, fds_of(2));
  EXPECT_TRUE(disconnected());
}

TEST_F(HostControlPlaneTest, UnusableMemoryAnswersFailedStateAndDrops) {
  effects_.memory_pages = Status{STATUS_DATA_ERROR};
  contact();
  const auto responses = effects_.sent_of<wire::VersionResponse>();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].version_supported, 1);
  EXPECT_EQ(responses[0].connection_state,
            static_cast<uint8_t>(wire::ConnectionState::kFailedUnknown));
  EXPECT_TRUE(disconnected());
  EXPECT_EQ(effects_.count(HostEffectKind::kMemoryReleased), 0u);
}

TEST_F(HostControlPlaneTest, DropsMessagesBeforeContact) {
  deliver(wire::RequestOffers{});
  EXPECT_TRUE(disconnected());
}

TEST_F(HostControlPlaneTest, DropsASecondInitiateContact) {
  contact();
  contact();
  EXPECT_TRUE(disconnected());
  EXPECT_EQ(effects_.count(HostEffectKind::kMemoryReleased), 1u);
}

TEST_F(HostControlPlaneTest, DropsUndecodableMessages) {
  const std::vector<std::vector<uint8_t>> garbage = {{},
                                                     {3, 0, 0},
                                                     std::vector<uint8_t>(241, 0),
                                                     {99, 0, 0, 0, 0, 0, 0, 0},
                                                     {5, 0, 0, 0, 0, 0, 0, 0}};
  for (const auto& bytes : garbage) {
    SCOPED_TRACE(bytes.size());
    RecordingHostEffects effects;
    HostControlPlane host(effects);
    host.receive(bytes, {});
    EXPECT_EQ(host.state(), HostConnectionState::kDisconnected);
    EXPECT_EQ(effects.count(HostEffectKind::kDisconnect), 1u);
    EXPECT_NE(host.disconnect_reason().find("undecodable"), std::string::npos);
  }
}

TEST_F(HostControlPlaneTest, DropsHostToGuestMessagesFromTheGuest) {
  contact();
  deliver(make_offer(1));
  EXPECT_TRUE(disconnected());
  EXPECT_NE(host_.disconnect_reason().find("OFFERCHANNEL"), std::string::npos);
}

TEST_F(HostControlPlaneTest, DropsDescriptorsOnAPlainMessage) {
  contact();
  deliver(wire::RequestOffers{}, fds_of(1));
  EXPECT_TRUE(disconnected());
}

TEST_F(HostControlPlaneTest, IgnoresEverythingAfterADisconnect) {
  deliver(wire::RequestOffers{});
  ASSERT_TRUE(disconnected());
  const size_t effects_before = effects_.effects.size();
  contact();
  host_.connection_lost();
  EXPECT_EQ(effects_.effects.size(), effects_before);
  EXPECT_EQ(host_.add_offer(make_offer(1)), Status{STATUS_DEVICE_REMOVED});
}

TEST_F(HostControlPlaneTest, RequestOffersSendsEveryOfferThenAllOffersDelivered) {
  ASSERT_TRUE(host_.add_offer(make_offer(7)).ok());
  ASSERT_TRUE(host_.add_offer(make_offer(3, kInstanceB)).ok());
  ASSERT_TRUE(host_.add_offer(make_offer(2, kInstanceA, 1)).ok());
  contact();
  EXPECT_EQ(effects_.count(HostEffectKind::kSend), 1u);  // offers wait for REQUESTOFFERS
  deliver(wire::RequestOffers{});
  const auto sent = effects_.sent();
  ASSERT_EQ(sent.size(), 5u);
  // In the order added: the primary (7) before its sub-channel (2), whatever the relids.
  EXPECT_EQ(std::get<wire::OfferChannel>(sent[1]).child_relid, 7u);
  EXPECT_EQ(std::get<wire::OfferChannel>(sent[2]).child_relid, 3u);
  EXPECT_EQ(std::get<wire::OfferChannel>(sent[3]).child_relid, 2u);
  EXPECT_EQ(std::get<wire::OfferChannel>(sent[3]).sub_channel_index, 1u);
  EXPECT_TRUE(std::holds_alternative<wire::AllOffersDelivered>(sent[4]));
  EXPECT_EQ(*host_.offer_state(Relid{7}), HostOfferState::kOffered);
}

TEST_F(HostControlPlaneTest, DropsASecondRequestOffers) {
  connect_and_request_offers();
  deliver(wire::RequestOffers{});
  EXPECT_TRUE(disconnected());
}

TEST_F(HostControlPlaneTest, HotAddedOffersGoOutAtOnce) {
  connect_and_request_offers();
  effects_.clear();
  ASSERT_TRUE(host_.add_offer(make_offer(5)).ok());
  ASSERT_TRUE(host_.add_offer(make_offer(6, kInstanceA, 1)).ok());
  ASSERT_TRUE(host_.add_offer(make_offer(8, kInstanceA, 2)).ok());
  const auto offers = effects_.sent_of<wire::OfferChannel>();
  ASSERT_EQ(offers.size(), 3u);
  EXPECT_EQ(offers[2].sub_channel_index, 2u);
  EXPECT_EQ(offers[2].if_instance, kInstanceA);
  EXPECT_EQ(effects_.count(HostEffectKind::kSend), 3u);  // no second ALLOFFERS_DELIVERED
}

TEST_F(HostControlPlaneTest, AddOfferRefusesBadRelidsAndOrphanSubChannels) {
  EXPECT_EQ(host_.add_offer(make_offer(0)), Status{STATUS_INVALID_PARAMETER});
  ASSERT_TRUE(host_.add_offer(make_offer(1)).ok());
  EXPECT_EQ(host_.add_offer(make_offer(1, kInstanceB)), Status{STATUS_INVALID_PARAMETER});
  EXPECT_EQ(host_.add_offer(make_offer(2, kInstanceB, 1)), Status{STATUS_INVALID_PARAMETER});
  auto other_type = make_offer(3, kInstanceA, 1);
  other_type.if_type = kInstanceB;
  EXPECT_EQ(host_.add_offer(other_type), Status{STATUS_INVALID_PARAMETER});
  EXPECT_TRUE(host_.add_offer(make_offer(4, kInstanceA, 1)).ok());
}

TEST_F(HostControlPlaneTest, RemovingAnUnsentOfferReleasesItsRelidAtOnce) {
  ASSERT_TRUE(host_.add_offer(make_offer(4)).ok());
  contact();
  ASSERT_TRUE(host_.remove_offer(Relid{4}).ok());
  EXPECT_EQ(effects_.count(HostEffectKind::kRelidReleased), 1u);
  EXPECT_TRUE(effects_.sent_of<wire::RescindChannelOffer>().empty());
  EXPECT_EQ(host_.offer_state(Relid{4}), nullptr);
  EXPECT_EQ(host_.remove_offer(Relid{4}), Status{STATUS_INVALID_PARAMETER});
}

TEST_F(HostControlPlaneTest, RescindHoldsTheRelidUntilReleased) {
  ASSERT_TRUE(host_.add_offer(make_offer(4)).ok());
  connect_and_request_offers();
  ASSERT_TRUE(host_.remove_offer(Relid{4}).ok());
  const auto rescinds = effects_.sent_of<wire::RescindChannelOffer>();
  ASSERT_EQ(rescinds.size(), 1u);
  EXPECT_EQ(rescinds[0].child_relid, 4u);
  EXPECT_EQ(*host_.offer_state(Relid{4}), HostOfferState::kRescinded);
  EXPECT_EQ(host_.remove_offer(Relid{4}), Status{STATUS_INVALID_DEVICE_STATE});
  EXPECT_EQ(host_.add_offer(make_offer(4)), Status{STATUS_INVALID_PARAMETER});
  EXPECT_EQ(effects_.count(HostEffectKind::kRelidReleased), 0u);

  wire::RelidReleased released{};
  released.child_relid = 4;
  deliver(released);
  EXPECT_EQ(effects_.count(HostEffectKind::kRelidReleased), 1u);
  EXPECT_EQ(host_.offer_state(Relid{4}), nullptr);
  EXPECT_TRUE(host_.add_offer(make_offer(4)).ok());  // reusable now
}

TEST_F(HostControlPlaneTest, DropsRelidReleasedForAnOfferNotRescinded) {
  ASSERT_TRUE(host_.add_offer(make_offer(4)).ok());
  connect_and_request_offers();
  wire::RelidReleased released{};
  released.child_relid = 4;
  deliver(released);
  EXPECT_TRUE(disconnected());
}

TEST_F(HostControlPlaneTest, RescindingAnOpenChannelClosesItFirst) {
  open_channel(9, 100);
  effects_.clear();
  ASSERT_TRUE(host_.remove_offer(Relid{9}).ok());
  ASSERT_EQ(effects_.effects.size(), 2u);
  EXPECT_EQ(effects_.effects[0].kind, HostEffectKind::kChannelClosed);
  EXPECT_TRUE(effects_.last_sent<wire::RescindChannelOffer>().has_value());
  // The guest closes (ignored: already closed here), tears down, releases.
  deliver(wire::CloseChannel{.header = {}, .child_relid = 9});
  deliver(wire::GpadlTeardown{.header = {}, .child_relid = 9, .gpadl = 100});
  EXPECT_TRUE(effects_.last_sent<wire::GpadlTorndown>().has_value());
  deliver(wire::RelidReleased{.header = {}, .child_relid = 9});
  EXPECT_EQ(effects_.count(HostEffectKind::kRelidReleased), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kChannelClosed), 1u);
  EXPECT_NE(host_.state(), HostConnectionState::kDisconnected);
}

TEST_F(HostControlPlaneTest, RelidReleasedDropsGpadlsTheGuestKept) {
  open_channel(9, 100);
  ASSERT_TRUE(host_.remove_offer(Relid{9}).ok());
  effects_.clear();
  deliver(wire::RelidReleased{.header = {}, .child_relid = 9});
  ASSERT_EQ(effects_.effects.size(), 2u);
  EXPECT_EQ(effects_.effects[0].kind, HostEffectKind::kGpadlTornDown);
  EXPECT_EQ(effects_.effects[1].kind, HostEffectKind::kRelidReleased);
  EXPECT_EQ(host_.gpadl_count(), 0u);
}

TEST_F(HostControlPlaneTest, ConnectionLossClosesReleasesAndUnmaps) {
  open_channel(9, 100);
  ASSERT_TRUE(host_.add_offer(make_offer(10, kInstanceB)).ok());
  ASSERT_TRUE(host_.remove_offer(Relid{10}).ok());
  effects_.clear();
  host_.connection_lost();
  EXPECT_EQ(host_.state(), HostConnectionState::kDisconnected);
  EXPECT_EQ(effects_.count(HostEffectKind::kChannelClosed), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kRelidReleased), 1u);  // the rescinded one
  EXPECT_EQ(effects_.count(HostEffectKind::kMemoryReleased), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kSend), 0u);
  EXPECT_EQ(effects_.count(HostEffectKind::kDisconnect), 0u);
  host_.connection_lost();
  EXPECT_EQ(effects_.count(HostEffectKind::kMemoryReleased), 1u);
}

TEST_F(HostControlPlaneTest, AViolationCleansUpBeforeTheDisconnect) {
  open_channel(9, 100);
  effects_.clear();
  deliver(wire::VersionResponse{});
  ASSERT_TRUE(disconnected());
  EXPECT_EQ(effects_.effects.front().kind, HostEffectKind::kChannelClosed);
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kMemoryReleased), 1u);
}

TEST_F(HostControlPlaneTest, UnloadClosesEverythingAndAllowsANewContact) {
  open_channel(9, 100);
  effects_.clear();
  deliver(wire::Unload{});
  EXPECT_EQ(effects_.count(HostEffectKind::kChannelClosed), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kGpadlTornDown), 1u);
  EXPECT_EQ(effects_.count(HostEffectKind::kMemoryReleased), 1u);
  EXPECT_TRUE(effects_.last_sent<wire::UnloadResponse>().has_value());
  EXPECT_EQ(host_.state(), HostConnectionState::kAwaitingContact);
  EXPECT_EQ(*host_.offer_state(Relid{9}), HostOfferState::kNotSent);

  effects_.clear();
  connect_and_request_offers();
  EXPECT_EQ(effects_.sent_of<wire::OfferChannel>().size(), 1u);
  EXPECT_EQ(*host_.offer_state(Relid{9}), HostOfferState::kOffered);
}

TEST_F(HostControlPlaneTest, ModifyChannelIsAnsweredOnlyUnderProtocol5_3) {
  open_channel(9, 100);
  effects_.clear();
  deliver(wire::ModifyChannel{.header = {}, .child_relid = 9, .target_vp = 3});
  const auto response = effects_.last_sent<wire::ModifyChannelResponse>();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->child_relid, 9u);
  EXPECT_EQ(response->status, 0u);

  RecordingHostEffects effects;
  HostControlPlane host(effects);
  ASSERT_TRUE(host.add_offer(make_offer(9)).ok());
  wire::InitiateContact contact_5_2{};
  contact_5_2.version_requested = static_cast<uint32_t>(ProtocolVersion::kWin10V5_2);
  host.receive(wire::encode(contact_5_2), fds_of(1));
  host.receive(wire::encode(wire::RequestOffers{}), {});
  effects.clear();
  host.receive(wire::encode(wire::ModifyChannel{.header = {}, .child_relid = 9, .target_vp = 3}),
               {});
  EXPECT_EQ(effects.effects.size(), 0u);
}

TEST_F(HostControlPlaneTest, DropsModifyChannelForAnUnknownRelid) {
  connect_and_request_offers();
  deliver(wire::ModifyChannel{.header = {}, .child_relid = 77, .target_vp = 0});
  EXPECT_TRUE(disconnected());
}

TEST_F(HostControlPlaneTest, RefusesHvSockConnections) {
  connect_and_request_offers();
  wire::TlConnectRequest request{};
  request.guest_endpoint_id = kInstanceA;
  request.host_service_id = kInstanceB;
  deliver(request);
  const auto result = effects_.last_sent<wire::TlConnectResult>();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->endpoint_id, kInstanceA);
  EXPECT_EQ(result->status, static_cast<int32_t>(STATUS_CONNECTION_REFUSED));
  EXPECT_NE(host_.state(), HostConnectionState::kDisconnected);
}

}  // namespace
}  // namespace vmb::bus::testing
