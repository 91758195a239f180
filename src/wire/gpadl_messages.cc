// SPDX-License-Identifier: MIT
// The GPADL splitter: a GPADL's ranges as one stream of u64 range words, cut into a
// GPADL_HEADER carrying the first 27 and GPADL_BODY messages carrying 28 each
// (wire-format.md §5.3; vectors gpadl_header_* and gpadl_body_* in control-messages.vec).
#include "vmbkit/wire/gpadl_messages.h"

#include <algorithm>
#include <cstring>

#include "vmbkit/wire/packet_format.h"

namespace vmb::wire {
namespace {

// Copies the fixed part of a message and `words` range words after it into `message`.
template <ChannelMessageStruct Fixed>
void fill_message(const Fixed& fixed, std::span<const uint64_t> words, GpadlMessage* message) {
  const auto head = encode(fixed);
  std::memcpy(message->bytes.data(), head.data(), head.size());
  std::memcpy(message->bytes.data() + head.size(), words.data(), words.size_bytes());
  message->size = static_cast<uint32_t>(head.size() + words.size_bytes());
}

}  // namespace

size_t gpadl_range_words(std::span<const GpaRangeSpec> ranges) {
  size_t words = 0;
  for (const GpaRangeSpec& range : ranges) words += 1 + range.pfns.size();
  return words;
}

Result<std::vector<GpadlMessage>> encode_gpadl(uint32_t child_relid, uint32_t gpadl,
                                               std::span<const GpaRangeSpec> ranges) {
  if (ranges.empty()) return Status{STATUS_INVALID_PARAMETER};
  for (const GpaRangeSpec& range : ranges) {
    if (range.byte_count == 0 || range.byte_offset >= kPageSize ||
        range.pfns.size() != pfn_count(range.byte_offset, range.byte_count)) {
      return Status{STATUS_INVALID_PARAMETER};
    }
  }
  const size_t total = gpadl_range_words(ranges);
  if (total > kGpadlMaximumWords) return Status{STATUS_INVALID_PARAMETER};

  std::vector<uint64_t> words;
  words.reserve(total);
  for (const GpaRangeSpec& range : ranges) {
    words.push_back(uint64_t{range.byte_count} | (uint64_t{range.byte_offset} << 32));
    words.insert(words.end(), range.pfns.begin(), range.pfns.end());
  }

  std::vector<GpadlMessage> messages(1);
  GpadlHeaderMessage header{};
  header.child_relid = child_relid;
  header.gpadl = gpadl;
  header.range_buflen = static_cast<uint16_t>(total * 8);     // total <= 8191: fits
  header.range_count = static_cast<uint16_t>(ranges.size());  // <= total / 2: fits
  const std::span<const uint64_t> all(words);
  size_t sent = std::min(total, kGpadlHeaderMaximumWords);
  fill_message(header, all.first(sent), &messages[0]);
  while (sent < total) {
    const size_t count = std::min(total - sent, kGpadlBodyMaximumWords);
    GpadlBodyMessage body{};
    body.message_number = 0;  // not interpreted; Linux sends 0 (vector gpadl_body_30_pages_part2)
    body.gpadl = gpadl;
    fill_message(body, all.subspan(sent, count), &messages.emplace_back());
    sent += count;
  }
  return messages;
}

std::string_view to_string(GpadlFault fault) {
  switch (fault) {
    case GpadlFault::kNone:
      return "none";
    case GpadlFault::kMessageTooShort:
      return "GPADL message shorter than its fixed part";
    case GpadlFault::kMessageTooLong:
      return "GPADL message longer than 240 bytes";
    case GpadlFault::kWrongMessageType:
      return "not a GPADL_HEADER / GPADL_BODY";
    case GpadlFault::kZeroRangeCount:
      return "GPADL range_count 0";
    case GpadlFault::kBufferLengthNotWords:
      return "GPADL range_buflen not a multiple of 8";
    case GpadlFault::kBufferTooShort:
      return "GPADL range_buflen too short for its ranges";
    case GpadlFault::kBodyForOtherGpadl:
      return "GPADL_BODY for another GPADL";
    case GpadlFault::kBodyAfterComplete:
      return "GPADL_BODY after the GPADL was complete";
    case GpadlFault::kBodyWithoutWords:
      return "GPADL_BODY without a whole PFN";
  }
  return "<unknown>";
}

}  // namespace vmb::wire
