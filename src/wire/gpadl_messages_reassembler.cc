// SPDX-License-Identifier: MIT
// GpadlReassembler: checks a peer's GPADL_HEADER and GPADL_BODY messages (framing, counts,
// handle) and joins their range words. Reads only the private message copies it is given; the
// words' meaning is checked by vmb::GpaRanges::from_words.
#include "vmbkit/wire/gpadl_messages.h"

#include <algorithm>
#include <cstring>

namespace vmb::wire {
namespace {

template <typename T>
T load(std::span<const uint8_t> bytes) {
  T value;
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

Status fail(GpadlFault reason, GpadlFault* fault) {
  if (fault != nullptr) *fault = reason;
  return Status{STATUS_DATA_ERROR};
}

GpadlFault check_frame(std::span<const uint8_t> message, size_t fixed_size,
                       ChannelMessageType type) {
  if (message.size() < fixed_size) return GpadlFault::kMessageTooShort;
  if (message.size() > kMaximumChannelMessageSize) return GpadlFault::kMessageTooLong;
  if (load<ChannelMessageHeader>(message).message_type != static_cast<uint32_t>(type)) {
    return GpadlFault::kWrongMessageType;
  }
  return GpadlFault::kNone;
}

}  // namespace

Result<GpadlReassembler> GpadlReassembler::begin(std::span<const uint8_t> message,
                                                 GpadlFault* fault) {
  if (const GpadlFault frame =
          check_frame(message, kGpadlHeaderFixedSize, ChannelMessageType::kGpadlHeader);
      frame != GpadlFault::kNone) {
    return fail(frame, fault);
  }
  const auto header = load<GpadlHeaderMessage>(message);
  if (header.range_count == 0) return fail(GpadlFault::kZeroRangeCount, fault);
  if (header.range_buflen % 8 != 0) return fail(GpadlFault::kBufferLengthNotWords, fault);
  // Each range is a header word plus at least one PFN.
  if (header.range_buflen / 8 < 2 * size_t{header.range_count}) {
    return fail(GpadlFault::kBufferTooShort, fault);
  }
  GpadlReassembler reassembler;
  reassembler.child_relid_ = header.child_relid;
  reassembler.gpadl_ = header.gpadl;
  reassembler.range_count_ = header.range_count;
  reassembler.expected_words_ = header.range_buflen / 8;
  reassembler.words_.reserve(reassembler.expected_words_);
  reassembler.append_words(message.subspan(kGpadlHeaderFixedSize));
  if (fault != nullptr) *fault = GpadlFault::kNone;
  return reassembler;
}

Status GpadlReassembler::add_body(std::span<const uint8_t> message, GpadlFault* fault) {
  if (failure_ != GpadlFault::kNone) return fail(failure_, fault);
  GpadlFault reason = check_frame(message, kGpadlBodyFixedSize, ChannelMessageType::kGpadlBody);
  if (reason == GpadlFault::kNone) {
    const auto body = load<GpadlBodyMessage>(message);
    if (body.gpadl != gpadl_) {
      reason = GpadlFault::kBodyForOtherGpadl;
    } else if (complete()) {
      reason = GpadlFault::kBodyAfterComplete;
    } else if (message.size() - kGpadlBodyFixedSize < 8) {
      reason = GpadlFault::kBodyWithoutWords;
    }
  }
  if (reason != GpadlFault::kNone) {
    failure_ = reason;
    return fail(reason, fault);
  }
  append_words(message.subspan(kGpadlBodyFixedSize));
  if (fault != nullptr) *fault = GpadlFault::kNone;
  return Status{};
}

void GpadlReassembler::append_words(std::span<const uint8_t> bytes) {
  // Whole words only, and never more than range_buflen announced: senders that always send
  // full 240-byte messages pad with bytes that mean nothing.
  const size_t count = std::min(bytes.size() / 8, missing_words());
  const size_t old_size = words_.size();
  words_.resize(old_size + count);
  std::memcpy(words_.data() + old_size, bytes.data(), count * 8);
}

ReassembledGpadl GpadlReassembler::take() {
  return ReassembledGpadl{child_relid_, gpadl_, range_count_, std::move(words_)};
}

}  // namespace vmb::wire
