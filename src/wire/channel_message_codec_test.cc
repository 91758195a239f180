// SPDX-License-Identifier: MIT
// Unit tests of the channel-message codec: one test per rejection branch, the byte layouts of the
// messages no golden vector covers (UNLOAD, MODIFYCHANNEL, TL_CONNECT_*, the 56-byte forms), and
// the untrusted-input rules (reserved bytes kept, padding ignored, private copy).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "vmbkit/wire/channel_messages.h"

namespace vmb::wire {
namespace {

std::vector<uint8_t> message_of_size(uint32_t type, size_t size, uint8_t fill = 0) {
  std::vector<uint8_t> bytes(size, fill);
  for (size_t i = 0; i < 4 && i < size; ++i) bytes[i] = static_cast<uint8_t>(type >> (8 * i));
  return bytes;
}

ChannelMessageRejection rejection_of(const std::vector<uint8_t>& bytes) {
  const auto decoded = decode_channel_message(bytes);
  EXPECT_FALSE(decoded.has_value());
  return decoded.has_value() ? ChannelMessageRejection{} : decoded.rejection();
}

constexpr Guid kNetvscClass = *Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e");
constexpr Guid kStorvscClass = *Guid::parse("ba6163d9-04a1-4d29-b605-72e2ffb1dc7f");

TEST(ChannelMessageCodec, RejectsEmptyInput) {
  EXPECT_EQ(rejection_of({}), ChannelMessageRejection::kShorterThanHeader);
  const auto decoded = decode_channel_message(std::span<const uint8_t>{});
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.rejection(), ChannelMessageRejection::kShorterThanHeader);
}

TEST(ChannelMessageCodec, RejectsShorterThanHeader) {
  // A known type in the first four bytes does not help when the padding word is missing.
  EXPECT_EQ(rejection_of(message_of_size(3, 7)), ChannelMessageRejection::kShorterThanHeader);
  EXPECT_EQ(rejection_of(message_of_size(3, 4)), ChannelMessageRejection::kShorterThanHeader);
}

TEST(ChannelMessageCodec, RejectsLongerThanMaximum) {
  EXPECT_EQ(rejection_of(message_of_size(3, 241)), ChannelMessageRejection::kLongerThanMaximum);
  EXPECT_EQ(rejection_of(message_of_size(1, 4096)), ChannelMessageRejection::kLongerThanMaximum);
}

TEST(ChannelMessageCodec, AcceptsExactlyMaximum) {
  const auto decoded = decode_channel_message(message_of_size(1, 240));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_NE(decoded.get_if<OfferChannel>(), nullptr);
}

TEST(ChannelMessageCodec, RejectsUnknownTypes) {
  // 0 = invalid, 18–20 reserved-channel messages, 25–29 6.0-only, and beyond.
  for (const uint32_t type :
       {0u, 18u, 19u, 20u, 25u, 26u, 27u, 28u, 29u, 30u, 0x100u, 0x80000001u, 0xFFFFFFFFu}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(rejection_of(message_of_size(type, 240)), ChannelMessageRejection::kUnknownType);
  }
}

TEST(ChannelMessageCodec, RejectsEveryTypeOneByteShort) {
  for (uint32_t raw = 1; raw <= 24; ++raw) {
    const auto type = static_cast<ChannelMessageType>(raw);
    const size_t minimum = minimum_channel_message_size(type);
    if (minimum == 0) continue;
    SCOPED_TRACE(to_string(type));
    EXPECT_TRUE(decode_channel_message(message_of_size(raw, minimum)).has_value());
    if (minimum > kChannelMessageHeaderSize) {
      EXPECT_EQ(rejection_of(message_of_size(raw, minimum - 1)),
                ChannelMessageRejection::kShorterThanType);
      EXPECT_EQ(rejection_of(message_of_size(raw, kChannelMessageHeaderSize)),
                ChannelMessageRejection::kShorterThanType);
    }
  }
}

TEST(ChannelMessageCodec, EveryRejectionHasAReason) {
  for (const auto rejection :
       {ChannelMessageRejection::kLongerThanMaximum, ChannelMessageRejection::kShorterThanHeader,
        ChannelMessageRejection::kUnknownType, ChannelMessageRejection::kShorterThanType}) {
    EXPECT_NE(to_string(rejection), "<unknown rejection>");
  }
  EXPECT_EQ(to_string(ChannelMessageRejection::kShorterThanType),
            "shorter than its type's minimum size");
}

TEST(ChannelMessageCodec, MinimumSizesEqualStructSizes) {
  EXPECT_EQ(minimum_channel_message_size(OfferChannel::kType), sizeof(OfferChannel));
  EXPECT_EQ(minimum_channel_message_size(InitiateContact::kType), sizeof(InitiateContact));
  EXPECT_EQ(minimum_channel_message_size(TlConnectRequest::kType), sizeof(TlConnectRequest));
  EXPECT_EQ(minimum_channel_message_size(TlConnectResult::kType), sizeof(TlConnectResult));
  EXPECT_EQ(minimum_channel_message_size(OpenChannel::kType), sizeof(OpenChannel));
  EXPECT_EQ(minimum_channel_message_size(ModifyChannelResponse::kType),
            sizeof(ModifyChannelResponse));
  EXPECT_FALSE(is_known_channel_message_type(0));
  EXPECT_TRUE(is_known_channel_message_type(24));
}

TEST(ChannelMessageCodec, KeepsReservedBytesAndHeaderPaddingAsReceived) {
  OfferChannel offer{};
  offer.child_relid = 7;
  auto bytes = encode(offer);
  bytes[4] = 0xEE;                                                   // header padding
  bytes[40] = 0x11;                                                  // reserved1
  bytes[offsetof(OfferChannel, is_dedicated_interrupt) + 1] = 0x80;  // undefined bits
  const auto decoded = decode_channel_message(bytes);
  ASSERT_TRUE(decoded.has_value());
  const auto* message = decoded.get_if<OfferChannel>();
  ASSERT_NE(message, nullptr);
  EXPECT_EQ(message->child_relid, 7u);
  EXPECT_EQ(message->header.padding, 0xEEu);
  EXPECT_EQ(message->reserved1[0], 0x11);
  // Re-encoding writes the header afresh (padding 0) and keeps every other byte.
  const auto again = encode(*message);
  EXPECT_EQ(again[4], 0);
  EXPECT_TRUE(std::equal(again.begin() + 8, again.end(), bytes.begin() + 8));
}

TEST(ChannelMessageCodec, DecodesFromAPrivateCopy) {
  auto bytes = encode(CloseChannel{.header = {}, .child_relid = 9});
  const auto decoded = decode_channel_message(bytes);
  std::fill(bytes.begin(), bytes.end(), 0xFF);  // the sender's buffer changes afterwards
  ASSERT_NE(decoded.get_if<CloseChannel>(), nullptr);
  EXPECT_EQ(decoded.get_if<CloseChannel>()->child_relid, 9u);
}

TEST(ChannelMessageCodec, EncoderWritesTheTypeWhateverTheHeaderHolds) {
  RequestOffers request{};
  request.header = {0xDEAD, 0xBEEF};
  EXPECT_EQ(encode(request), (std::array<uint8_t, 8>{3, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(ChannelMessageCodec, UnloadPairIsHeaderOnly) {
  EXPECT_EQ(encode(Unload{}), (std::array<uint8_t, 8>{16, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(encode(UnloadResponse{}), (std::array<uint8_t, 8>{17, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_NE(decode_channel_message(encode(Unload{})).get_if<Unload>(), nullptr);
  EXPECT_NE(decode_channel_message(encode(UnloadResponse{})).get_if<UnloadResponse>(), nullptr);
}

TEST(ChannelMessageCodec, ModifyChannelLayout) {
  const auto bytes = encode(ModifyChannel{.header = {}, .child_relid = 14, .target_vp = 3});
  EXPECT_EQ(bytes, (std::array<uint8_t, 16>{22, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 3, 0, 0, 0}));
  const auto response =
      encode(ModifyChannelResponse{.header = {}, .child_relid = 14, .status = 0xC0000001});
  EXPECT_EQ(response,
            (std::array<uint8_t, 16>{24, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0xC0}));
}

TEST(ChannelMessageCodec, TlConnectLayouts) {
  TlConnectRequest request{};
  request.guest_endpoint_id = kNetvscClass;
  request.host_service_id = kStorvscClass;
  const auto bytes = encode(request);
  EXPECT_EQ(bytes[0], 21);
  EXPECT_TRUE(std::equal(kNetvscClass.bytes.begin(), kNetvscClass.bytes.end(), bytes.begin() + 8));
  EXPECT_TRUE(
      std::equal(kStorvscClass.bytes.begin(), kStorvscClass.bytes.end(), bytes.begin() + 24));

  TlConnectResult result{};
  result.endpoint_id = kNetvscClass;
  result.status = -1073741823;  // 0xC0000001
  const auto result_bytes = encode(result);
  EXPECT_EQ(result_bytes.size(), 44u);
  EXPECT_EQ(result_bytes[0], 23);
  EXPECT_EQ(result_bytes[40], 0x01);
  EXPECT_EQ(result_bytes[43], 0xC0);
  const auto decoded = decode_channel_message(result_bytes);
  ASSERT_NE(decoded.get_if<TlConnectResult>(), nullptr);
  EXPECT_EQ(decoded.get_if<TlConnectResult>()->status, result.status);
}

TEST(ChannelMessageCodec, InitiateContactPicksItsFormBySize) {
  InitiateContactWithClientId contact{};
  contact.contact.version_requested = 0x00060000;
  contact.contact.set_message_target(2, 0, 0x8);
  contact.client_id = kStorvscClass;
  const auto bytes = encode(contact);
  ASSERT_EQ(bytes.size(), 56u);
  EXPECT_EQ(bytes[0], 14);
  EXPECT_EQ(bytes[16], 2);     // msg_sint
  EXPECT_EQ(bytes[20], 8);     // feature_flags
  EXPECT_EQ(bytes[40], 0xd9);  // client id, wire order

  const auto full = decode_channel_message(bytes);
  ASSERT_NE(full.get_if<InitiateContactWithClientId>(), nullptr);
  EXPECT_EQ(full.get_if<InitiateContactWithClientId>()->client_id, kStorvscClass);
  EXPECT_EQ(full.get_if<InitiateContactWithClientId>()->contact.feature_flags(), 8u);

  // 55 bytes: the 40-byte form, the partial client id ignored.
  const auto partial = decode_channel_message(std::span(bytes).first(55));
  ASSERT_NE(partial.get_if<InitiateContact>(), nullptr);
  EXPECT_EQ(partial.get_if<InitiateContact>()->msg_sint(), 2);
  EXPECT_EQ(message_type(partial.value()), ChannelMessageType::kInitiateContact);
}

TEST(ChannelMessageCodec, TlConnectRequestPicksItsFormBySize) {
  TlConnectRequestWithSiloId request{};
  request.request.guest_endpoint_id = kNetvscClass;
  request.silo_id = kStorvscClass;
  const auto bytes = encode(request);
  ASSERT_EQ(bytes.size(), 56u);
  EXPECT_EQ(bytes[0], 21);
  const auto full = decode_channel_message(bytes);
  ASSERT_NE(full.get_if<TlConnectRequestWithSiloId>(), nullptr);
  EXPECT_EQ(full.get_if<TlConnectRequestWithSiloId>()->silo_id, kStorvscClass);
  const auto shorter = decode_channel_message(std::span(bytes).first(40));
  ASSERT_NE(shorter.get_if<TlConnectRequest>(), nullptr);
  EXPECT_EQ(shorter.get_if<TlConnectRequest>()->guest_endpoint_id, kNetvscClass);
}

TEST(ChannelMessageCodec, InitiateContactTargetAccessors) {
  InitiateContact contact{};
  contact.interrupt_page = 0x1234'5678'0000'0102;
  EXPECT_EQ(contact.msg_sint(), 0x02);
  EXPECT_EQ(contact.msg_vtl(), 0x01);
  EXPECT_EQ(contact.feature_flags(), 0x12345678u);
  contact.set_message_target(2, 1);
  EXPECT_EQ(contact.interrupt_page, 0x0102u);
}

TEST(ChannelMessageCodec, GpadlMessagesNeedTheirFixedPart) {
  EXPECT_EQ(rejection_of(message_of_size(8, 19)), ChannelMessageRejection::kShorterThanType);
  EXPECT_EQ(rejection_of(message_of_size(9, 15)), ChannelMessageRejection::kShorterThanType);
  const auto body = decode_channel_message(message_of_size(9, 240, 0x33));
  ASSERT_NE(body.get_if<UndecodedGpadlMessage>(), nullptr);
  EXPECT_EQ(body.get_if<UndecodedGpadlMessage>()->type, ChannelMessageType::kGpadlBody);
  EXPECT_EQ(body.get_if<UndecodedGpadlMessage>()->size, 240u);
}

TEST(ChannelMessageCodec, VariantEncoderMatchesStructEncoder) {
  const OpenChannelResult result{.header = {}, .child_relid = 1, .openid = 2, .status = 3};
  const auto encoded = encode_channel_message(ChannelMessage{result});
  const auto direct = encode(result);
  EXPECT_TRUE(std::ranges::equal(encoded.view(), direct));
  EXPECT_EQ(message_type(ChannelMessage{result}), ChannelMessageType::kOpenChannelResult);
}

TEST(ChannelMessageCodec, TypeNames) {
  EXPECT_EQ(to_string(ChannelMessageType::kOfferChannel), "OFFERCHANNEL");
  EXPECT_EQ(to_string(ChannelMessageType::kModifyChannelResponse), "MODIFYCHANNEL_RESPONSE");
  EXPECT_EQ(to_string(static_cast<ChannelMessageType>(19)), "<unknown>");
}

}  // namespace
}  // namespace vmb::wire
