// SPDX-License-Identifier: MIT
// PacketVector and ring_before() (packet_vector.h): the vectors' packet notation
// (`type flags trans_id payload range= xfer_pageset_id sender_owns_set xfer_range=`) parsed
// into encoder input. Test-only.
#include "testing/packet_vector.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vmb::testing {
namespace {

[[noreturn]] void fail(const Vector& vector, const std::string& what) {
  std::fprintf(stderr, "packet_vector: %s: %s\n", vector.name.c_str(), what.c_str());
  std::abort();
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

uint64_t required_number(const Vector& vector, const std::string& header, const std::string& key) {
  const auto value = vector.number(header, key);
  if (!value) fail(vector, "missing " + header + " " + key);
  return *value;
}

PacketVector::PacketVector(const Vector& vector) {
  const auto type = static_cast<uint16_t>(required_number(vector, "packet", "type"));
  spec_.type = static_cast<wire::PacketType>(type);
  spec_.flags = static_cast<uint16_t>(required_number(vector, "packet", "flags"));
  spec_.transaction_id = required_number(vector, "packet", "trans_id");
  const auto payload_tokens = vector.tokens("packet", "payload");
  if (payload_tokens.size() != 1) fail(vector, "needs exactly one payload=");
  for (const uint8_t byte : parse_payload(payload_tokens.front())) {
    payload_.push_back(std::byte{byte});
  }
  spec_.payload = payload_;

  for (const std::string& token : vector.tokens("packet", "range")) {
    const auto fields = split(token, ':');
    if (fields.size() != 3) fail(vector, "bad range=" + token);
    Range range{static_cast<uint32_t>(parse_number(fields[0])),
                static_cast<uint32_t>(parse_number(fields[1])),
                {}};
    for (const std::string& pfn : split(fields[2], ',')) range.pfns.push_back(parse_number(pfn));
    ranges_.push_back(std::move(range));
  }
  for (const Range& range : ranges_) {
    range_specs_.push_back({range.byte_count, range.byte_offset, range.pfns});
  }
  spec_.gpa_ranges = range_specs_;

  if (const auto id = vector.number("packet", "xfer_pageset_id")) {
    spec_.transfer_page_set_id = static_cast<uint16_t>(*id);
  }
  if (const auto owns = vector.number("packet", "sender_owns_set")) {
    spec_.sender_owns_set = static_cast<uint8_t>(*owns);
  }
  for (const std::string& token : vector.tokens("packet", "xfer_range")) {
    const auto fields = split(token, ':');
    if (fields.size() != 2) fail(vector, "bad xfer_range=" + token);
    transfer_ranges_.push_back({static_cast<uint32_t>(parse_number(fields[0])),
                                static_cast<uint32_t>(parse_number(fields[1]))});
  }
  spec_.transfer_page_ranges = transfer_ranges_;
}

RingBefore ring_before(const Vector& vector) {
  RingBefore before;
  auto field = [&](const char* key, uint32_t* out) {
    if (const auto value = vector.number("before", key)) *out = static_cast<uint32_t>(*value);
  };
  field("write_index", &before.write_index);
  field("read_index", &before.read_index);
  field("interrupt_mask", &before.interrupt_mask);
  field("pending_send_sz", &before.pending_send_size);
  field("feature_bits", &before.feature_bits);
  return before;
}

}  // namespace vmb::testing
