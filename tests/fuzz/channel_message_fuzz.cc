// SPDX-License-Identifier: MIT
// Fuzz target for control-message handling: arbitrary bytes from a peer into
// decode_channel_message(). It must never crash, every refusal must name the reason the bytes
// actually have, and every accepted message must re-encode to the bytes it came from (the first
// sizeof(struct) bytes, header padding written as 0) and decode again to the same message.
// Seeds: tests/fuzz/corpus/channel_message/, written by src/wire/channel_message_corpus_test.cc.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "vmbkit/wire/channel_messages.h"

namespace {

using vmb::wire::ChannelMessageRejection;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "channel_message_fuzz: %s\n", what);
    std::abort();
  }
}

// The reason the decoder must give for bytes it refused, derived from the bytes independently.
ChannelMessageRejection expected_rejection(std::span<const uint8_t> input) {
  if (input.size() > vmb::wire::kMaximumChannelMessageSize) {
    return ChannelMessageRejection::kLongerThanMaximum;
  }
  if (input.size() < vmb::wire::kChannelMessageHeaderSize) {
    return ChannelMessageRejection::kShorterThanHeader;
  }
  uint32_t raw_type = 0;
  std::memcpy(&raw_type, input.data(), sizeof(raw_type));
  if (!vmb::wire::is_known_channel_message_type(raw_type)) {
    return ChannelMessageRejection::kUnknownType;
  }
  return ChannelMessageRejection::kShorterThanType;
}

void check_accepted(std::span<const uint8_t> input, const vmb::wire::ChannelMessage& message) {
  const auto type = vmb::wire::message_type(message);
  uint32_t raw_type = 0;
  std::memcpy(&raw_type, input.data(), sizeof(raw_type));
  require(static_cast<uint32_t>(type) == raw_type, "decoded type differs from msgtype");
  require(input.size() >= vmb::wire::minimum_channel_message_size(type), "accepted a short one");

  const auto encoded = vmb::wire::encode_channel_message(message);
  require(encoded.size >= vmb::wire::kChannelMessageHeaderSize, "encoded less than a header");
  require(encoded.size <= input.size(), "encoded more bytes than were received");
  const bool undecoded = std::holds_alternative<vmb::wire::UndecodedGpadlMessage>(message);
  if (undecoded) {
    require(encoded.size == input.size(), "GPADL pass-through changed the length");
  }
  // Round trip: msgtype and body identical; padding as received (pass-through) or 0 (encoder).
  require(std::memcmp(encoded.bytes.data(), input.data(), 4) == 0, "msgtype changed");
  const std::array<uint8_t, 4> zero_padding{};
  const uint8_t* expected_padding = undecoded ? input.data() + 4 : zero_padding.data();
  require(std::memcmp(encoded.bytes.data() + 4, expected_padding, 4) == 0,
          "header padding not as specified");
  require(std::memcmp(encoded.bytes.data() + 8, input.data() + 8, encoded.size - 8) == 0,
          "re-encoded body differs from the received bytes");

  // The re-encoded bytes decode to the same alternative and encode to the same bytes again.
  const auto again = vmb::wire::decode_channel_message(encoded.view());
  require(again.has_value(), "re-encoded message refused");
  require(again.value().index() == message.index(), "re-encoded message changed form");
  const auto twice = vmb::wire::encode_channel_message(again.value());
  require(twice.size == encoded.size &&
              std::memcmp(twice.bytes.data(), encoded.bytes.data(), encoded.size) == 0,
          "encoding is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input =
      size == 0 ? std::span<const uint8_t>{} : std::span<const uint8_t>{data, size};
  const auto decoded = vmb::wire::decode_channel_message(input);
  if (!decoded.has_value()) {
    require(decoded.rejection() == expected_rejection(input), "refused for the wrong reason");
    require(!vmb::wire::to_string(decoded.rejection()).empty(), "rejection without a reason");
    return 0;
  }
  check_accepted(input, decoded.value());
  return 0;
}
