// SPDX-License-Identifier: MIT
// The text side of vmbkit-ring: parsing the numbers, hex payloads and --gpa ranges a user
// types, and formatting a validated packet as the one line `read` and `dump` print. Numbers in
// and out are decimal or 0x-prefixed hex. Pure functions over private memory; no ring access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vmbkit/wire/packet_view.h"

namespace vmb::ring_tool {

// A mistake in what the user typed; main() prints it and exits with status 1.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a decimal or 0x-prefixed hex number that must fit in `maximum`. `what` names the
// value in the error message. Throws UsageError.
uint64_t parse_number(std::string_view text, uint64_t maximum, std::string_view what);

// Parses a hex byte string ("0102ff", upper or lower case, "" = empty). Throws UsageError.
std::vector<std::byte> parse_hex(std::string_view text);

// One --gpa argument, BYTES:OFFSET:PFN[,PFN...], with its PFNs in owned storage.
struct GpaArgument {
  uint32_t byte_count = 0;
  uint32_t byte_offset = 0;
  std::vector<uint64_t> pfns;
};

// Parses BYTES:OFFSET:PFN[,PFN...]. Checks what the encoder would refuse, so the user gets a
// precise message: BYTES >= 1, OFFSET < 4096, and exactly ceil((OFFSET + BYTES) / 4096) PFNs.
// Throws UsageError.
GpaArgument parse_gpa_argument(std::string_view text);

// Lower-case hex of `bytes`, two digits per byte, no separators ("" for none).
std::string to_hex(const std::byte* bytes, size_t size);

// 0x-prefixed lower-case hex of a number ("0x0", "0xcafe").
std::string hex_number(uint64_t value);

// The line `read` prints for one packet:
//   type=0x6 flags=0x1 trans_id=0x1122334455667788 payload=<hex, padding included>
// followed by ` ranges=BYTES:OFFSET:PFN,PFN;...` for GPA-direct packets and
// ` pageset=ID ranges=BYTES:OFFSET;...` for transfer-page packets.
std::string format_packet(const wire::PacketView& packet);

}  // namespace vmb::ring_tool
