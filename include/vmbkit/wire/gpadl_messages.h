// SPDX-License-Identifier: MIT
// GPADL_HEADER (8) and GPADL_BODY (9), wire-format.md §5.3: their fixed parts as structs, the
// splitter that turns a GPADL's ranges into one header and as many body messages as needed
// (each at most 240 bytes), and the reassembler that checks and joins them on the other side.
// A GPADL's ranges travel as one stream of u64 "range words" (per range: byte_count |
// byte_offset << 32, then its PFNs), cut at message boundaries. This file checks the messages'
// framing and counts; the ranges' contents (byte_offset < 4096, PFN counts, PFNs inside the
// guest) are checked by vmb::GpaRanges::from_words in the memory layer. Not here: the other
// GPADL messages (CREATED, TEARDOWN, TORNDOWN: channel_messages.h) or GPADL handle tables (bus).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vmbkit/status.h"
#include "vmbkit/wire/channel_message_header.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb::wire {

// Fixed part of GPADL_HEADER (Linux vmbus_channel_gpadl_header, DPDK vmbus_chanmsg_gpadl_conn);
// range words follow at offset 20.
struct GpadlHeaderMessage {
  static constexpr ChannelMessageType kType = ChannelMessageType::kGpadlHeader;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t gpadl;         // handle chosen by the guest
  uint16_t range_buflen;  // bytes of all range words, including those sent in GPADL_BODY
  uint16_t range_count;
};
static_assert(sizeof(GpadlHeaderMessage) == 20);
static_assert(offsetof(GpadlHeaderMessage, child_relid) == 8);
static_assert(offsetof(GpadlHeaderMessage, gpadl) == 12);
static_assert(offsetof(GpadlHeaderMessage, range_buflen) == 16);
static_assert(offsetof(GpadlHeaderMessage, range_count) == 18);
static_assert(ChannelMessageStruct<GpadlHeaderMessage>);

// Fixed part of GPADL_BODY (Linux vmbus_channel_gpadl_body, DPDK vmbus_chanmsg_gpadl_subconn);
// range words (in practice PFNs) follow at offset 16.
struct GpadlBodyMessage {
  static constexpr ChannelMessageType kType = ChannelMessageType::kGpadlBody;
  ChannelMessageHeader header;
  uint32_t message_number;  // not interpreted by receivers; vmbkit, like Linux, sends 0
  uint32_t gpadl;
};
static_assert(sizeof(GpadlBodyMessage) == 16);
static_assert(offsetof(GpadlBodyMessage, message_number) == 8);
static_assert(offsetof(GpadlBodyMessage, gpadl) == 12);
static_assert(ChannelMessageStruct<GpadlBodyMessage>);

inline constexpr size_t kGpadlHeaderFixedSize = sizeof(GpadlHeaderMessage);  // 20
inline constexpr size_t kGpadlBodyFixedSize = sizeof(GpadlBodyMessage);      // 16
// Range words per message: 27 in the header (20 + 27 * 8 = 236), 28 per body (16 + 28 * 8).
inline constexpr size_t kGpadlHeaderMaximumWords =
    (kMaximumChannelMessageSize - kGpadlHeaderFixedSize) / 8;
inline constexpr size_t kGpadlBodyMaximumWords =
    (kMaximumChannelMessageSize - kGpadlBodyFixedSize) / 8;
// range_buflen is a u16: a GPADL carries at most 8191 words (65 528 bytes), i.e. at most 8190
// pages (32 MiB) in one range. Hyper-V has the same limit; larger buffers need several GPADLs.
inline constexpr size_t kGpadlMaximumWords = 0xFFFF / 8;
inline constexpr size_t kGpadlMaximumPages = kGpadlMaximumWords - 1;

// One encoded channel message (at most 240 bytes).
struct GpadlMessage {
  std::array<uint8_t, kMaximumChannelMessageSize> bytes{};
  uint32_t size = 0;
  [[nodiscard]] std::span<const uint8_t> span() const { return {bytes.data(), size}; }
};

// Range words of these ranges (1 per range + 1 per PFN).
size_t gpadl_range_words(std::span<const GpaRangeSpec> ranges);

// The GPADL_HEADER and GPADL_BODY messages describing `ranges` as GPADL `gpadl` of channel
// `child_relid`: the header carries the first 27 range words, each body the next 28; every
// message is exactly as long as its words. STATUS_INVALID_PARAMETER for no ranges, a range the
// receiver would reject (byte_count 0, byte_offset >= 4096, wrong PFN count) or more than
// kGpadlMaximumWords words.
Result<std::vector<GpadlMessage>> encode_gpadl(uint32_t child_relid, uint32_t gpadl,
                                               std::span<const GpaRangeSpec> ranges);

// Why GPADL messages were refused (all are peer errors: fail the offer's GPADL, never clamp).
enum class GpadlFault : uint8_t {
  kNone = 0,
  kMessageTooShort,       // shorter than the fixed part (20 or 16 bytes)
  kMessageTooLong,        // longer than 240 bytes
  kWrongMessageType,      // not GPADL_HEADER (begin) / GPADL_BODY (add_body)
  kZeroRangeCount,        // range_count == 0
  kBufferLengthNotWords,  // range_buflen not a multiple of 8
  kBufferTooShort,        // range_buflen < 16 * range_count (each range needs >= 1 PFN)
  kBodyForOtherGpadl,     // a body whose gpadl differs from the header's
  kBodyAfterComplete,     // a body when every word has arrived
  kBodyWithoutWords,      // a body carrying no whole word
};

std::string_view to_string(GpadlFault fault);

// A GPADL whose messages were all received and checked: range_words.size() ==
// range_buflen / 8. Check the words with vmb::GpaRanges::from_words before use.
struct ReassembledGpadl {
  uint32_t child_relid = 0;
  uint32_t gpadl = 0;
  uint16_t range_count = 0;
  std::vector<uint64_t> range_words;
};

// Joins one GPADL's messages: begin() with the GPADL_HEADER, add_body() per GPADL_BODY until
// complete(), then take(). A message may be longer than its words (senders that always send
// 240 bytes): only range_buflen bytes in all are used, the rest is ignored. Abandoning a
// reassembler mid-way (teardown, channel failure) just drops it. Not thread-safe.
class GpadlReassembler {
 public:
  // Starts from a GPADL_HEADER message (header included). STATUS_DATA_ERROR (and *fault).
  static Result<GpadlReassembler> begin(std::span<const uint8_t> message,
                                        GpadlFault* fault = nullptr);

  // Adds one GPADL_BODY message. STATUS_DATA_ERROR (and *fault); the reassembler is then
  // unusable and should be dropped.
  Status add_body(std::span<const uint8_t> message, GpadlFault* fault = nullptr);

  [[nodiscard]] bool complete() const { return words_.size() == expected_words_; }
  [[nodiscard]] uint32_t child_relid() const { return child_relid_; }
  [[nodiscard]] uint32_t gpadl() const { return gpadl_; }
  // Words still missing.
  [[nodiscard]] size_t missing_words() const { return expected_words_ - words_.size(); }

  // The reassembled GPADL; call once, when complete().
  [[nodiscard]] ReassembledGpadl take();

 private:
  GpadlReassembler() = default;
  void append_words(std::span<const uint8_t> bytes);
  uint32_t child_relid_ = 0;
  uint32_t gpadl_ = 0;
  uint16_t range_count_ = 0;
  size_t expected_words_ = 0;
  GpadlFault failure_ = GpadlFault::kNone;
  std::vector<uint64_t> words_;
};

}  // namespace vmb::wire
