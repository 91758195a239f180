// SPDX-License-Identifier: MIT
// The channel-management message decoder and the variant encoder. Received bytes are untrusted
// (decisions.md §7): they are copied into a private buffer first, msgtype is read once from the
// copy (Linux once fetched msgtype and the payload size twice; wire-format.md §7 lesson 9), and
// the minimum length of the type is checked before any struct is formed. No allocation, no I/O.
#include "vmbkit/wire/channel_message_codec.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>

namespace vmb::wire {
namespace {

using MessageCopy = std::array<uint8_t, kMaximumChannelMessageSize>;

// The first sizeof(T) bytes of the private copy as a T. The caller has checked that the message
// holds at least that many bytes.
template <ChannelMessageStruct T>
ChannelMessage read_struct(const MessageCopy& copy) {
  std::array<uint8_t, sizeof(T)> image{};
  std::copy_n(copy.begin(), sizeof(T), image.begin());
  return std::bit_cast<T>(image);
}

// Picks the longer form of a message when the peer sent enough bytes for it.
template <ChannelMessageStruct Short, ChannelMessageStruct Long>
ChannelMessage read_by_size(const MessageCopy& copy, size_t size) {
  static_assert(sizeof(Long) > sizeof(Short) && Short::kType == Long::kType);
  return size >= sizeof(Long) ? read_struct<Long>(copy) : read_struct<Short>(copy);
}

ChannelMessage read_gpadl(ChannelMessageType type, const MessageCopy& copy, size_t size) {
  UndecodedGpadlMessage message;
  message.type = type;
  message.size = size;
  message.bytes = copy;
  return message;
}

}  // namespace

std::string_view to_string(ChannelMessageRejection rejection) {
  switch (rejection) {
    case ChannelMessageRejection::kLongerThanMaximum:
      return "longer than the 240-byte message maximum";
    case ChannelMessageRejection::kShorterThanHeader:
      return "shorter than the 8-byte message header";
    case ChannelMessageRejection::kUnknownType:
      return "unknown message type";
    case ChannelMessageRejection::kShorterThanType:
      return "shorter than its type's minimum size";
  }
  return "<unknown rejection>";
}

ChannelMessageDecodeResult decode_channel_message(std::span<const uint8_t> received) {
  // Sizes first: the span's size is the caller's, not the peer's, so reading it twice is safe.
  if (received.size() > kMaximumChannelMessageSize) {
    return ChannelMessageRejection::kLongerThanMaximum;
  }
  if (received.size() < kChannelMessageHeaderSize) {
    return ChannelMessageRejection::kShorterThanHeader;
  }
  const size_t size = received.size();
  // Copy out before reading anything, so every later read sees one stable snapshot even if the
  // sender's buffer changes underneath. Bytes past `size` stay zero and are never interpreted.
  MessageCopy copy{};
  std::memcpy(copy.data(), received.data(), size);

  uint32_t raw_type = 0;
  std::memcpy(&raw_type, copy.data(), sizeof(raw_type));
  const auto type = static_cast<ChannelMessageType>(raw_type);
  const size_t minimum = minimum_channel_message_size(type);
  if (minimum == 0) return ChannelMessageRejection::kUnknownType;
  if (size < minimum) return ChannelMessageRejection::kShorterThanType;

  switch (type) {
    case ChannelMessageType::kOfferChannel:
      return read_struct<OfferChannel>(copy);
    case ChannelMessageType::kRescindChannelOffer:
      return read_struct<RescindChannelOffer>(copy);
    case ChannelMessageType::kRequestOffers:
      return read_struct<RequestOffers>(copy);
    case ChannelMessageType::kAllOffersDelivered:
      return read_struct<AllOffersDelivered>(copy);
    case ChannelMessageType::kOpenChannel:
      return read_struct<OpenChannel>(copy);
    case ChannelMessageType::kOpenChannelResult:
      return read_struct<OpenChannelResult>(copy);
    case ChannelMessageType::kCloseChannel:
      return read_struct<CloseChannel>(copy);
    case ChannelMessageType::kGpadlHeader:
    case ChannelMessageType::kGpadlBody:
      return read_gpadl(type, copy, size);
    case ChannelMessageType::kGpadlCreated:
      return read_struct<GpadlCreated>(copy);
    case ChannelMessageType::kGpadlTeardown:
      return read_struct<GpadlTeardown>(copy);
    case ChannelMessageType::kGpadlTorndown:
      return read_struct<GpadlTorndown>(copy);
    case ChannelMessageType::kRelidReleased:
      return read_struct<RelidReleased>(copy);
    case ChannelMessageType::kInitiateContact:
      return read_by_size<InitiateContact, InitiateContactWithClientId>(copy, size);
    case ChannelMessageType::kVersionResponse:
      return read_struct<VersionResponse>(copy);
    case ChannelMessageType::kUnload:
      return read_struct<Unload>(copy);
    case ChannelMessageType::kUnloadResponse:
      return read_struct<UnloadResponse>(copy);
    case ChannelMessageType::kTlConnectRequest:
      return read_by_size<TlConnectRequest, TlConnectRequestWithSiloId>(copy, size);
    case ChannelMessageType::kModifyChannel:
      return read_struct<ModifyChannel>(copy);
    case ChannelMessageType::kTlConnectResult:
      return read_struct<TlConnectResult>(copy);
    case ChannelMessageType::kModifyChannelResponse:
      return read_struct<ModifyChannelResponse>(copy);
    case ChannelMessageType::kInvalid:
      break;
  }
  // minimum_channel_message_size() and this switch list the same types.
  return ChannelMessageRejection::kUnknownType;
}

ChannelMessageType message_type(const ChannelMessage& message) {
  return std::visit(
      [](const auto& body) -> ChannelMessageType {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, UndecodedGpadlMessage>) {
          return body.type;
        } else {
          return Body::kType;
        }
      },
      message);
}

EncodedChannelMessage encode_channel_message(const ChannelMessage& message) {
  EncodedChannelMessage encoded;
  std::visit(
      [&encoded](const auto& body) {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, UndecodedGpadlMessage>) {
          encoded.bytes = body.bytes;
          encoded.size = std::min(body.size, kMaximumChannelMessageSize);
        } else {
          const auto bytes = encode(body);
          std::copy(bytes.begin(), bytes.end(), encoded.bytes.begin());
          encoded.size = bytes.size();
        }
      },
      message);
  return encoded;
}

}  // namespace vmb::wire
