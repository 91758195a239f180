// SPDX-License-Identifier: MIT
// The header every VMBus channel-management message starts with, the message types and the
// 240-byte size limit (wire-format.md §5.1–§5.2). The message bodies are in their own headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace vmb::wire {

// Largest channel-management message payload (SynIC message payload, VMBUS_MSG_DSIZE_MAX).
inline constexpr size_t kMaximumChannelMessageSize = 240;

// Channel-management message types (Linux CHANNELMSG_*).
enum class ChannelMessageType : uint32_t {
  kInvalid = 0,
  kOfferChannel = 1,
  kRescindChannelOffer = 2,
  kRequestOffers = 3,
  kAllOffersDelivered = 4,
  kOpenChannel = 5,
  kOpenChannelResult = 6,
  kCloseChannel = 7,
  kGpadlHeader = 8,
  kGpadlBody = 9,
  kGpadlCreated = 10,
  kGpadlTeardown = 11,
  kGpadlTorndown = 12,
  kRelidReleased = 13,
  kInitiateContact = 14,
  kVersionResponse = 15,
  kUnload = 16,
  kUnloadResponse = 17,
  kTlConnectRequest = 21,
  kModifyChannel = 22,
  kTlConnectResult = 23,
  kModifyChannelResponse = 24,
};

// {u32 msgtype, u32 padding}: padding is written as 0; may be non-zero on receipt; ignore.
struct ChannelMessageHeader {
  uint32_t message_type;
  uint32_t padding;
};
static_assert(sizeof(ChannelMessageHeader) == 8);
static_assert(std::is_trivially_copyable_v<ChannelMessageHeader>);

}  // namespace vmb::wire
