// SPDX-License-Identifier: MIT
// Builds the bytes of the four accepted packet types (wire-format.md §2): the GPA-direct and
// transfer-page extended headers on their own (the outgoing ring gathers descriptor, extended
// header and payload itself) and whole packets into a caller's buffer (tests, tools). Writes
// private memory only; never shared memory, never allocates. The encoder refuses specs the
// parser would reject, so what it builds always parses back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "vmbkit/status.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::wire {

// One GPA range to describe: pfns.size() must equal pfn_count(byte_offset, byte_count).
struct GpaRangeSpec {
  uint32_t byte_count = 0;
  uint32_t byte_offset = 0;  // < 4096
  std::span<const uint64_t> pfns;
};

// Everything needed to build one packet. Fields of other types are ignored.
struct PacketSpec {
  PacketType type = PacketType::kDataInBand;  // kDataInBand, kDataUsingTransferPages,
                                              // kDataUsingGpaDirect or kCompletion
  uint16_t flags = 0;                         // kFlagCompletionRequested or 0
  uint64_t transaction_id = 0;
  std::span<const GpaRangeSpec> gpa_ranges;                 // type 9: at least one
  uint16_t transfer_page_set_id = 0;                        // type 7
  uint8_t sender_owns_set = 0;                              // type 7
  std::span<const TransferPageRange> transfer_page_ranges;  // type 7
  std::span<const std::byte> payload;                       // padded with zeros to a multiple of 8
};

// offset8 and len8 of a packet with `extended_header_bytes` (a multiple of 8) after the
// descriptor and `payload_bytes` of payload. `valid` is false when len8 would pass 65535.
struct PacketLayout {
  bool valid = false;
  uint16_t offset8 = 0;
  uint16_t len8 = 0;
  [[nodiscard]] uint32_t packet_bytes() const { return uint32_t{len8} * 8u; }
  // Ring bytes the packet consumes: packet plus trailer.
  [[nodiscard]] uint32_t ring_bytes() const { return packet_bytes() + kTrailerSize; }
};

constexpr PacketLayout layout_packet(uint64_t extended_header_bytes, uint64_t payload_bytes) {
  const uint64_t header = kDescriptorSize + extended_header_bytes;
  const uint64_t total = align8(header + payload_bytes);
  if ((extended_header_bytes % 8) != 0 || total > kMaximumPacketBytes) return {};
  return {true, static_cast<uint16_t>(header / 8), static_cast<uint16_t>(total / 8)};
}

// Bytes of the GPA-direct extended header for these ranges (8 + per range 8 + 8 × PFNs).
size_t gpa_direct_header_size(std::span<const GpaRangeSpec> ranges);

// Bytes of the transfer-page extended header for `range_count` ranges (8 + 8 × count).
constexpr size_t transfer_page_header_size(size_t range_count) { return 8 + 8 * range_count; }

// Writes the GPA-direct extended header (reserved 0, range_count, ranges with PFNs) into `out`.
// Returns the bytes written, STATUS_INVALID_PARAMETER for no ranges or a range the parser would
// reject (byte_count 0, byte_offset >= 4096, wrong PFN count), STATUS_BUFFER_TOO_SMALL.
Result<size_t> encode_gpa_direct_header(std::span<const GpaRangeSpec> ranges,
                                        std::span<std::byte> out);

// Writes the transfer-page extended header (reserved byte 0) into `out`. Returns the bytes
// written or STATUS_BUFFER_TOO_SMALL.
Result<size_t> encode_transfer_page_header(uint16_t transfer_page_set_id, uint8_t sender_owns_set,
                                           std::span<const TransferPageRange> ranges,
                                           std::span<std::byte> out);

// Bytes encode_packet() writes for `spec` (len8 × 8), or STATUS_INVALID_PARAMETER when the
// spec cannot be encoded (type not accepted, undefined flag, bad range, len8 past 65535).
Result<size_t> encoded_packet_size(const PacketSpec& spec);

// Writes descriptor, extended header, payload and zero padding (no trailer) into `out`.
// Returns the bytes written (len8 × 8), STATUS_INVALID_PARAMETER as for encoded_packet_size(),
// or STATUS_BUFFER_TOO_SMALL.
Result<size_t> encode_packet(const PacketSpec& spec, std::span<std::byte> out);

}  // namespace vmb::wire
