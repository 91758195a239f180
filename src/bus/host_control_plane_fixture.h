// SPDX-License-Identifier: MIT
// The GoogleTest fixture shared by HostControlPlane's unit tests: a control plane over a
// RecordingHostEffects plus helpers that play a well-behaved guest (contact, request offers,
// create a GPADL, open a channel) so each test only spells out the step it is about. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "bus/recording_host_effects.h"
#include "vmbkit/bus/host_control_plane.h"
#include "vmbkit/wire/gpadl_messages.h"

namespace vmb::bus::testing {

inline constexpr Guid kNetvscType = *Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e");
inline constexpr Guid kInstanceA = *Guid::parse("11111111-2222-3333-4444-555555555555");
inline constexpr Guid kInstanceB = *Guid::parse("66666666-7777-8888-9999-aaaaaaaaaaaa");

inline wire::OfferChannel make_offer(uint32_t relid, Guid instance = kInstanceA,
                                     uint16_t sub_channel_index = 0) {
  wire::OfferChannel offer{};
  offer.if_type = kNetvscType;
  offer.if_instance = instance;
  offer.sub_channel_index = sub_channel_index;
  offer.child_relid = relid;
  offer.connection_id = relid;
  return offer;
}

// Pages [first, first + count).
inline std::vector<uint64_t> page_run(uint64_t first, uint64_t count) {
  std::vector<uint64_t> pages(count);
  std::iota(pages.begin(), pages.end(), first);
  return pages;
}

class HostControlPlaneTest : public ::testing::Test {
 protected:
  template <typename T>
  void deliver(const T& message, AttachedFds fds = {}) {
    const auto bytes = wire::encode(message);
    host_.receive(bytes, std::move(fds));
  }
  void deliver_bytes(std::span<const uint8_t> bytes, AttachedFds fds = {}) {
    host_.receive(bytes, std::move(fds));
  }
  static AttachedFds fds_of(size_t count) {
    AttachedFds fds;
    for (size_t i = 0; i < count; ++i) fds.push(make_test_fd());
    return fds;
  }

  void contact(wire::ProtocolVersion version = wire::ProtocolVersion::kWin10V5_3) {
    wire::InitiateContact message{};
    message.version_requested = static_cast<uint32_t>(version);
    deliver(message, fds_of(1));
  }
  void connect_and_request_offers() {
    contact();
    deliver(wire::RequestOffers{});
  }
  // Sends the GPADL's header and bodies, as one page-aligned range over `pages`.
  void send_gpadl(uint32_t relid, uint32_t handle, const std::vector<uint64_t>& pages) {
    const wire::GpaRangeSpec range{static_cast<uint32_t>(pages.size() * 4096), 0, pages};
    auto messages = wire::encode_gpadl(relid, handle, std::span(&range, 1));
    ASSERT_TRUE(messages.has_value());
    for (const wire::GpadlMessage& message : *messages) deliver_bytes(message.span());
  }
  void send_open(uint32_t relid, uint32_t handle, uint32_t downstream, size_t fd_count = 2) {
    wire::OpenChannel open{};
    open.child_relid = relid;
    open.openid = relid;
    open.ringbuffer_gpadlhandle = handle;
    open.downstream_ringbuffer_pageoffset = downstream;
    deliver(open, fds_of(fd_count));
  }
  // Offer `relid` (unless offered), connect, create a 4 + 4 page ring GPADL and open it.
  void open_channel(uint32_t relid, uint32_t handle) {
    if (host_.offer_state(Relid{relid}) == nullptr) {
      ASSERT_TRUE(host_.add_offer(make_offer(relid)).ok());
    }
    if (host_.state() == HostConnectionState::kAwaitingContact) connect_and_request_offers();
    send_gpadl(relid, handle, page_run(16, 8));
    send_open(relid, handle, 4);
    ASSERT_TRUE(host_.complete_open(Relid{relid}, Status{}).ok());
    ASSERT_EQ(*host_.offer_state(Relid{relid}), HostOfferState::kOpen);
  }

  [[nodiscard]] bool disconnected() const {
    return host_.state() == HostConnectionState::kDisconnected &&
           effects_.count(HostEffectKind::kDisconnect) == 1 &&
           effects_.effects.back().kind == HostEffectKind::kDisconnect;
  }

  RecordingHostEffects effects_;
  HostControlPlane host_{effects_};
};

}  // namespace vmb::bus::testing
