// SPDX-License-Identifier: MIT
// The packet encoder (packet_encoder.h): extended headers and whole packets built into private
// buffers, byte for byte as wire-format.md §2 lays them out. Refuses anything parse_packet()
// would reject, so encoded packets always parse back. Not here: ring placement and trailers
// (the outgoing ring writes those).
#include "vmbkit/wire/packet_encoder.h"

#include <cstring>

#include "vmbkit/wire/packet_view.h"

namespace vmb::wire {
namespace {

template <typename T>
void store(std::byte* at, const T& value) {
  std::memcpy(at, &value, sizeof value);
}

bool range_is_valid(const GpaRangeSpec& range) {
  return range.byte_count != 0 && range.byte_offset < kPageSize &&
         range.pfns.size() == pfn_count(range.byte_offset, range.byte_count);
}

// Bytes of the extended header `spec` needs, or STATUS_INVALID_PARAMETER.
Result<size_t> extended_header_size(const PacketSpec& spec) {
  switch (spec.type) {
    case PacketType::kDataInBand:
    case PacketType::kCompletion:
      return size_t{0};
    case PacketType::kDataUsingTransferPages:
      return transfer_page_header_size(spec.transfer_page_ranges.size());
    case PacketType::kDataUsingGpaDirect:
      if (spec.gpa_ranges.empty()) return Status(STATUS_INVALID_PARAMETER);
      for (const GpaRangeSpec& range : spec.gpa_ranges) {
        if (!range_is_valid(range)) return Status(STATUS_INVALID_PARAMETER);
      }
      return gpa_direct_header_size(spec.gpa_ranges);
    default:
      return Status(STATUS_INVALID_PARAMETER);
  }
}

}  // namespace

size_t gpa_direct_header_size(std::span<const GpaRangeSpec> ranges) {
  size_t bytes = sizeof(GpaDirectHeader);
  for (const GpaRangeSpec& range : ranges) {
    bytes += sizeof(GpaRangeHeader) + range.pfns.size() * kPfnSize;
  }
  return bytes;
}

Result<size_t> encode_gpa_direct_header(std::span<const GpaRangeSpec> ranges,
                                        std::span<std::byte> out) {
  if (ranges.empty() || ranges.size() > UINT32_MAX) return Status(STATUS_INVALID_PARAMETER);
  for (const GpaRangeSpec& range : ranges) {
    if (!range_is_valid(range)) return Status(STATUS_INVALID_PARAMETER);
  }
  const size_t bytes = gpa_direct_header_size(ranges);
  if (out.size() < bytes) return Status(STATUS_BUFFER_TOO_SMALL);
  std::byte* at = out.data();
  store(at, GpaDirectHeader{0, static_cast<uint32_t>(ranges.size())});
  at += sizeof(GpaDirectHeader);
  for (const GpaRangeSpec& range : ranges) {
    store(at, GpaRangeHeader{range.byte_count, range.byte_offset});
    at += sizeof(GpaRangeHeader);
    std::memcpy(at, range.pfns.data(), range.pfns.size_bytes());
    at += range.pfns.size_bytes();
  }
  return bytes;
}

Result<size_t> encode_transfer_page_header(uint16_t transfer_page_set_id, uint8_t sender_owns_set,
                                           std::span<const TransferPageRange> ranges,
                                           std::span<std::byte> out) {
  if (ranges.size() > UINT32_MAX) return Status(STATUS_INVALID_PARAMETER);
  const size_t bytes = transfer_page_header_size(ranges.size());
  if (out.size() < bytes) return Status(STATUS_BUFFER_TOO_SMALL);
  store(out.data(), TransferPageHeader{transfer_page_set_id, sender_owns_set, 0,
                                       static_cast<uint32_t>(ranges.size())});
  if (!ranges.empty()) {
    std::memcpy(out.data() + sizeof(TransferPageHeader), ranges.data(), ranges.size_bytes());
  }
  return bytes;
}

Result<size_t> encoded_packet_size(const PacketSpec& spec) {
  if ((spec.flags & ~kDefinedPacketFlags) != 0) return Status(STATUS_INVALID_PARAMETER);
  const Result<size_t> extended = extended_header_size(spec);
  if (!extended) return extended.status();
  const PacketLayout layout = layout_packet(*extended, spec.payload.size());
  if (!layout.valid) return Status(STATUS_INVALID_PARAMETER);
  return size_t{layout.packet_bytes()};
}

Result<size_t> encode_packet(const PacketSpec& spec, std::span<std::byte> out) {
  const Result<size_t> size = encoded_packet_size(spec);
  if (!size) return size;
  if (out.size() < *size) return Status(STATUS_BUFFER_TOO_SMALL);
  const size_t extended = *extended_header_size(spec);
  const PacketLayout layout = layout_packet(extended, spec.payload.size());

  std::memset(out.data(), 0, *size);  // padding and reserved fields are zero
  store(out.data(), PacketDescriptor{static_cast<uint16_t>(spec.type), layout.offset8, layout.len8,
                                     spec.flags, spec.transaction_id});
  const std::span<std::byte> header = out.subspan(kDescriptorSize, extended);
  if (spec.type == PacketType::kDataUsingGpaDirect) {
    if (!encode_gpa_direct_header(spec.gpa_ranges, header)) return Status(STATUS_INVALID_PARAMETER);
  } else if (spec.type == PacketType::kDataUsingTransferPages) {
    if (!encode_transfer_page_header(spec.transfer_page_set_id, spec.sender_owns_set,
                                     spec.transfer_page_ranges, header)) {
      return Status(STATUS_INVALID_PARAMETER);
    }
  }
  if (!spec.payload.empty()) {
    std::memcpy(out.data() + kDescriptorSize + extended, spec.payload.data(), spec.payload.size());
  }
  return *size;
}

}  // namespace vmb::wire
