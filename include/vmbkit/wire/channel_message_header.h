// SPDX-License-Identifier: MIT
// The header every VMBus channel-management message starts with, the message types, the 240-byte
// size limit and the per-type minimum sizes (wire-format.md §5.1–§5.2), plus the rules every
// message struct obeys and the encoder they share. The message bodies are in their own headers
// (channel_*_messages.h, gpadl_messages.h); decoding is in channel_message_codec.h.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace vmb::wire {

static_assert(std::endian::native == std::endian::little,
              "the wire structs are little-endian; a big-endian port needs byte swapping");

// Largest channel-management message payload (SynIC message payload, VMBUS_MSG_DSIZE_MAX).
inline constexpr size_t kMaximumChannelMessageSize = 240;

// Channel-management message types (Linux CHANNELMSG_*). 18–20 (reserved channels) and 25–29
// (protocol 6.0, feature-gated) exist on the wire but vmbkit does not speak them.
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
static_assert(offsetof(ChannelMessageHeader, message_type) == 0);
static_assert(offsetof(ChannelMessageHeader, padding) == 4);

inline constexpr size_t kChannelMessageHeaderSize = sizeof(ChannelMessageHeader);

// The size a sender emits for `type` and the least a receiver accepts (wire-format.md §5.2),
// header included. GPADL_HEADER and GPADL_BODY: their fixed part only (20 and 16), without
// ranges or PFNs. 0 for a type vmbkit does not know.
constexpr size_t minimum_channel_message_size(ChannelMessageType type) {
  switch (type) {
    case ChannelMessageType::kOfferChannel:
      return 196;
    case ChannelMessageType::kRescindChannelOffer:
      return 12;
    case ChannelMessageType::kRequestOffers:
      return 8;
    case ChannelMessageType::kAllOffersDelivered:
      return 8;
    case ChannelMessageType::kOpenChannel:
      return 148;
    case ChannelMessageType::kOpenChannelResult:
      return 20;
    case ChannelMessageType::kCloseChannel:
      return 12;
    case ChannelMessageType::kGpadlHeader:
      return 20;
    case ChannelMessageType::kGpadlBody:
      return 16;
    case ChannelMessageType::kGpadlCreated:
      return 20;
    case ChannelMessageType::kGpadlTeardown:
      return 16;
    case ChannelMessageType::kGpadlTorndown:
      return 12;
    case ChannelMessageType::kRelidReleased:
      return 12;
    case ChannelMessageType::kInitiateContact:
      return 40;
    case ChannelMessageType::kVersionResponse:
      return 16;
    case ChannelMessageType::kUnload:
      return 8;
    case ChannelMessageType::kUnloadResponse:
      return 8;
    case ChannelMessageType::kTlConnectRequest:
      return 40;
    case ChannelMessageType::kModifyChannel:
      return 16;
    case ChannelMessageType::kTlConnectResult:
      return 44;
    case ChannelMessageType::kModifyChannelResponse:
      return 16;
    case ChannelMessageType::kInvalid:
      break;
  }
  return 0;
}

// True for the types listed in ChannelMessageType other than kInvalid.
constexpr bool is_known_channel_message_type(uint32_t raw_type) {
  return minimum_channel_message_size(static_cast<ChannelMessageType>(raw_type)) != 0;
}

// The Linux name of a message type ("OPENCHANNEL"), or "<unknown>".
constexpr std::string_view to_string(ChannelMessageType type) {
  switch (type) {
    case ChannelMessageType::kInvalid:
      return "INVALID";
    case ChannelMessageType::kOfferChannel:
      return "OFFERCHANNEL";
    case ChannelMessageType::kRescindChannelOffer:
      return "RESCIND_CHANNELOFFER";
    case ChannelMessageType::kRequestOffers:
      return "REQUESTOFFERS";
    case ChannelMessageType::kAllOffersDelivered:
      return "ALLOFFERS_DELIVERED";
    case ChannelMessageType::kOpenChannel:
      return "OPENCHANNEL";
    case ChannelMessageType::kOpenChannelResult:
      return "OPENCHANNEL_RESULT";
    case ChannelMessageType::kCloseChannel:
      return "CLOSECHANNEL";
    case ChannelMessageType::kGpadlHeader:
      return "GPADL_HEADER";
    case ChannelMessageType::kGpadlBody:
      return "GPADL_BODY";
    case ChannelMessageType::kGpadlCreated:
      return "GPADL_CREATED";
    case ChannelMessageType::kGpadlTeardown:
      return "GPADL_TEARDOWN";
    case ChannelMessageType::kGpadlTorndown:
      return "GPADL_TORNDOWN";
    case ChannelMessageType::kRelidReleased:
      return "RELID_RELEASED";
    case ChannelMessageType::kInitiateContact:
      return "INITIATE_CONTACT";
    case ChannelMessageType::kVersionResponse:
      return "VERSION_RESPONSE";
    case ChannelMessageType::kUnload:
      return "UNLOAD";
    case ChannelMessageType::kUnloadResponse:
      return "UNLOAD_RESPONSE";
    case ChannelMessageType::kTlConnectRequest:
      return "TL_CONNECT_REQUEST";
    case ChannelMessageType::kModifyChannel:
      return "MODIFYCHANNEL";
    case ChannelMessageType::kTlConnectResult:
      return "TL_CONNECT_RESULT";
    case ChannelMessageType::kModifyChannelResponse:
      return "MODIFYCHANNEL_RESPONSE";
  }
  return "<unknown>";
}

// A fixed-size channel-management message struct: it starts with the 8-byte header, names its
// type as T::kType, has no padding bytes (so its object representation is its wire image), fits
// in one message and is at least as long as its type's minimum.
template <typename T>
concept ChannelMessageStruct =
    std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T> &&
        std::is_same_v<std::remove_cv_t<decltype(T::kType)>, ChannelMessageType> &&
        sizeof(T) >= minimum_channel_message_size(T::kType) &&
    sizeof(T) <= kMaximumChannelMessageSize;

// The exact wire bytes of `message`. The header is written here: msgtype = T::kType and padding
// 0, whatever `message.header` holds; every other byte is the struct's, reserved fields included
// (zero in a value-initialised struct).
template <ChannelMessageStruct T>
constexpr std::array<uint8_t, sizeof(T)> encode(const T& message) {
  auto bytes = std::bit_cast<std::array<uint8_t, sizeof(T)>>(message);
  const auto header = std::bit_cast<std::array<uint8_t, kChannelMessageHeaderSize>>(
      ChannelMessageHeader{static_cast<uint32_t>(T::kType), 0});
  for (size_t i = 0; i < header.size(); ++i) bytes[i] = header[i];
  return bytes;
}

}  // namespace vmb::wire
