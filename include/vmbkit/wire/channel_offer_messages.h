// SPDX-License-Identifier: MIT
// The channel-offer messages (wire-format.md §5.3, §5.5 steps 2 and 5): REQUESTOFFERS,
// OFFERCHANNEL, ALLOFFERS_DELIVERED, RESCIND_CHANNELOFFER and RELID_RELEASED. Plain trivially
// copyable structs whose bytes are the wire image; offsets include the 8-byte header. No
// behaviour: the offer/rescind state machine belongs to the bus layer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "vmbkit/wire/channel_message_header.h"
#include "vmbkit/wire/guid.h"

namespace vmb::wire {

// Bytes of device-defined data in an offer or an open request (MAX_USER_DEFINED_BYTES).
inline constexpr size_t kUserDefinedDataSize = 120;
using UserDefinedData = std::array<uint8_t, kUserDefinedDataSize>;

// OFFERCHANNEL chn_flags bits. Under protocol 6.0 feature flags 0x2/0x4/0x8 are reused for
// confidential-ring properties; vmbkit (5.0–5.3) reads them with the meanings below.
inline constexpr uint16_t kOfferFlagEnumerateDeviceInterface = 0x1;
inline constexpr uint16_t kOfferFlagServerSupportsTransferPages = 0x2;
inline constexpr uint16_t kOfferFlagServerSupportsGpadls = 0x4;
inline constexpr uint16_t kOfferFlagNamedPipeMode = 0x10;
inline constexpr uint16_t kOfferFlagLoopbackOffer = 0x100;
inline constexpr uint16_t kOfferFlagParentOffer = 0x200;
inline constexpr uint16_t kOfferFlagRequestMonitoredNotification = 0x400;
inline constexpr uint16_t kOfferFlagTlnpiProviderOffer = 0x2000;

// user_def[0..3] of a named-pipe offer (kOfferFlagNamedPipeMode).
inline constexpr uint32_t kPipeModeByte = 0;
inline constexpr uint32_t kPipeModeMessage = 4;

// OFFERCHANNEL (1), 196 bytes, host→guest. Linux vmbus_channel_offer_channel, DPDK
// vmbus_chanmsg_choffer, OpenVMM OfferChannel. The two reserved u64 words are kept as bytes so
// the struct has 4-byte alignment and no tail padding (196 is not a multiple of 8).
struct OfferChannel {
  static constexpr ChannelMessageType kType = ChannelMessageType::kOfferChannel;
  ChannelMessageHeader header;
  Guid if_type;      // device class (netvsc f8615163-df3e-46c5-913f-f2d2f965ed0e, ...)
  Guid if_instance;  // this device; sub-channels repeat their primary's pair
  // DPDK: channel latency in 100 ns units (u64). Reserved: may be non-zero; ignore.
  std::array<uint8_t, 8> reserved1;
  // DPDK: channel revision u32, server context size u32. Reserved: may be non-zero; ignore.
  std::array<uint8_t, 8> reserved2;
  uint16_t chn_flags;  // kOfferFlag*
  uint16_t mmio_megabytes;
  UserDefinedData user_def;    // pipe offers: pipe mode u32 (kPipeMode*), then 116 bytes
  uint16_t sub_channel_index;  // 0 = primary channel
  // OpenVMM: mmio_megabytes_optional. Reserved for vmbkit: may be non-zero; ignore.
  uint16_t mmio_megabytes_optional;
  uint32_t child_relid;
  uint8_t monitorid;                // group = id / 32, bit = id % 32 (Hyper-V signalling only)
  uint8_t monitor_allocated;        // bit 0; other bits may be non-zero; ignore
  uint16_t is_dedicated_interrupt;  // bit 0; other bits may be non-zero; ignore
  uint32_t connection_id;  // Hyper-V signalling id; vmbkit signals through eventfds instead
};
static_assert(sizeof(OfferChannel) == 196);
static_assert(offsetof(OfferChannel, if_type) == 8);
static_assert(offsetof(OfferChannel, if_instance) == 24);
static_assert(offsetof(OfferChannel, reserved1) == 40);
static_assert(offsetof(OfferChannel, reserved2) == 48);
static_assert(offsetof(OfferChannel, chn_flags) == 56);
static_assert(offsetof(OfferChannel, mmio_megabytes) == 58);
static_assert(offsetof(OfferChannel, user_def) == 60);
static_assert(offsetof(OfferChannel, sub_channel_index) == 180);
static_assert(offsetof(OfferChannel, mmio_megabytes_optional) == 182);
static_assert(offsetof(OfferChannel, child_relid) == 184);
static_assert(offsetof(OfferChannel, monitorid) == 188);
static_assert(offsetof(OfferChannel, monitor_allocated) == 189);
static_assert(offsetof(OfferChannel, is_dedicated_interrupt) == 190);
static_assert(offsetof(OfferChannel, connection_id) == 192);
static_assert(ChannelMessageStruct<OfferChannel>);

// RESCIND_CHANNELOFFER (2), 12 bytes, host→guest. DPDK vmbus_chanmsg_chrescind.
struct RescindChannelOffer {
  static constexpr ChannelMessageType kType = ChannelMessageType::kRescindChannelOffer;
  ChannelMessageHeader header;
  uint32_t child_relid;
};
static_assert(sizeof(RescindChannelOffer) == 12);
static_assert(offsetof(RescindChannelOffer, child_relid) == 8);
static_assert(ChannelMessageStruct<RescindChannelOffer>);

// REQUESTOFFERS (3), 8 bytes, guest→host: header only.
struct RequestOffers {
  static constexpr ChannelMessageType kType = ChannelMessageType::kRequestOffers;
  ChannelMessageHeader header;
};
static_assert(sizeof(RequestOffers) == 8);
static_assert(ChannelMessageStruct<RequestOffers>);

// ALLOFFERS_DELIVERED (4), 8 bytes, host→guest: header only.
struct AllOffersDelivered {
  static constexpr ChannelMessageType kType = ChannelMessageType::kAllOffersDelivered;
  ChannelMessageHeader header;
};
static_assert(sizeof(AllOffersDelivered) == 8);
static_assert(ChannelMessageStruct<AllOffersDelivered>);

// RELID_RELEASED (13), 12 bytes, guest→host: the guest is done with a rescinded relid; only
// then may the host reuse it. DPDK vmbus_chanmsg_chfree.
struct RelidReleased {
  static constexpr ChannelMessageType kType = ChannelMessageType::kRelidReleased;
  ChannelMessageHeader header;
  uint32_t child_relid;
};
static_assert(sizeof(RelidReleased) == 12);
static_assert(offsetof(RelidReleased, child_relid) == 8);
static_assert(ChannelMessageStruct<RelidReleased>);

}  // namespace vmb::wire
