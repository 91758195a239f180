// SPDX-License-Identifier: MIT
// Decoding of received channel-management messages into a typed std::variant, with a reason for
// every refusal, and encoding of any such variant back to bytes (wire-format.md §4.2 rule 7,
// §5.2). The decoder checks only what the bytes alone can tell: size limits, the type and the
// type's minimum length. Whether a relid, GPADL handle or version is acceptable is the bus's
// business; GPADL_HEADER / GPADL_BODY are passed on undecoded for gpadl_messages.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <variant>

#include "vmbkit/wire/channel_connection_messages.h"
#include "vmbkit/wire/channel_message_header.h"
#include "vmbkit/wire/channel_offer_messages.h"
#include "vmbkit/wire/channel_open_messages.h"

namespace vmb::wire {

// A GPADL_HEADER or GPADL_BODY, passed through undecoded: its variable-length layout is parsed
// by gpadl_messages.h. Holds a private copy of the received bytes, header included; `size` is at
// least the type's fixed part (20 or 16) and at most kMaximumChannelMessageSize.
struct UndecodedGpadlMessage {
  ChannelMessageType type = ChannelMessageType::kGpadlHeader;
  size_t size = 0;
  std::array<uint8_t, kMaximumChannelMessageSize> bytes{};

  [[nodiscard]] std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};

// Every message vmbkit understands, as decoded from the wire. INITIATE_CONTACT and
// TL_CONNECT_REQUEST have two forms each, chosen by the received length.
using ChannelMessage =
    std::variant<InitiateContact, InitiateContactWithClientId, VersionResponse, Unload,
                 UnloadResponse, RequestOffers, OfferChannel, AllOffersDelivered,
                 RescindChannelOffer, RelidReleased, OpenChannel, OpenChannelResult, CloseChannel,
                 UndecodedGpadlMessage, GpadlCreated, GpadlTeardown, GpadlTorndown, ModifyChannel,
                 ModifyChannelResponse, TlConnectRequest, TlConnectRequestWithSiloId,
                 TlConnectResult>;

// Why the decoder refused a message. The bytes came from the peer: the caller fails the
// connection (decisions.md §7), it does not repair the message.
enum class ChannelMessageRejection : uint8_t {
  kLongerThanMaximum,  // more than kMaximumChannelMessageSize (240) bytes
  kShorterThanHeader,  // fewer than the 8 header bytes
  kUnknownType,        // msgtype 0, a reserved or 6.0-only type, or no type at all
  kShorterThanType,    // fewer bytes than minimum_channel_message_size(msgtype)
};

// A short English reason ("shorter than its type's minimum size").
std::string_view to_string(ChannelMessageRejection rejection);

// The outcome of decode_channel_message: one message or why the bytes were refused.
class [[nodiscard]] ChannelMessageDecodeResult {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor)
  ChannelMessageDecodeResult(ChannelMessage message) : storage_(std::move(message)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  ChannelMessageDecodeResult(ChannelMessageRejection rejection) : storage_(rejection) {}

  [[nodiscard]] bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  // The message; only when has_value().
  [[nodiscard]] const ChannelMessage& value() const& { return std::get<0>(storage_); }
  [[nodiscard]] ChannelMessage&& value() && { return std::get<0>(std::move(storage_)); }
  // The refusal; only when !has_value().
  [[nodiscard]] ChannelMessageRejection rejection() const { return std::get<1>(storage_); }
  // The message if it was decoded as a T, else nullptr.
  template <typename T>
  [[nodiscard]] const T* get_if() const {
    return has_value() ? std::get_if<T>(&std::get<0>(storage_)) : nullptr;
  }

 private:
  std::variant<ChannelMessage, ChannelMessageRejection> storage_;
};

// Decodes one received message. `received` is untrusted: it is copied into private memory before
// anything is read, msgtype is read once from the copy, and only the copy is used (the caller may
// reuse its buffer at once). A message longer than its type's minimum is accepted and the extra
// bytes are ignored (newer peers append fields), except that INITIATE_CONTACT of 56 bytes or more
// decodes as InitiateContactWithClientId and TL_CONNECT_REQUEST of 56 or more as
// TlConnectRequestWithSiloId. Reserved fields and header padding are kept as received.
ChannelMessageDecodeResult decode_channel_message(std::span<const uint8_t> received);

// The message type of a decoded message.
ChannelMessageType message_type(const ChannelMessage& message);

// Wire bytes of a message held in a ChannelMessage.
struct EncodedChannelMessage {
  std::array<uint8_t, kMaximumChannelMessageSize> bytes{};
  size_t size = 0;

  [[nodiscard]] std::span<const uint8_t> view() const { return {bytes.data(), size}; }
};

// Encodes any decoded message: the struct forms exactly as encode() does (sizeof the struct,
// header padding written as 0); an UndecodedGpadlMessage as its bytes, unchanged.
EncodedChannelMessage encode_channel_message(const ChannelMessage& message);

}  // namespace vmb::wire
