// SPDX-License-Identifier: MIT
// parse_packet(): validation of one packet already copied into private memory (wire-format.md
// §4.2 items 3–5) and the PacketView over it, plus the GPA-range iterator. Every field is read
// from the copy with memcpy into a local and checked before it is used to locate anything.
// Not here: index checks and the copy itself (ring layer), transaction ids (channel layer).
#include <cstring>

#include "vmbkit/wire/packet_view.h"

namespace vmb::wire {
namespace {

template <typename T>
T load(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

}  // namespace

namespace detail {

// Type 9: a range count >= 1, then ranges whose fixed part and PFNs all lie before
// offset8 * 8. Each step advances at least 16 bytes, so the loop is bounded by header_bytes
// whatever range_count claims.
CorruptReason check_gpa_direct(std::span<const std::byte> packet, uint32_t header_bytes,
                               PacketView* view) {
  if (header_bytes < kFirstRangeOffset) return CorruptReason::kGpaHeaderTooShort;
  const auto header = load<GpaDirectHeader>(packet.data() + kExtendedHeaderOffset);
  if (header.range_count == 0) return CorruptReason::kGpaZeroRangeCount;
  uint64_t at = kFirstRangeOffset;
  for (uint32_t i = 0; i < header.range_count; ++i) {
    if (at + sizeof(GpaRangeHeader) > header_bytes) return CorruptReason::kGpaRangesBeyondOffset8;
    const auto range = load<GpaRangeHeader>(packet.data() + at);
    if (range.byte_count == 0) return CorruptReason::kGpaZeroByteCount;
    if (range.byte_offset >= kPageSize) return CorruptReason::kGpaByteOffsetNotInPage;
    at += sizeof(GpaRangeHeader) + pfn_count(range.byte_offset, range.byte_count) * kPfnSize;
    if (at > header_bytes) return CorruptReason::kGpaRangesBeyondOffset8;
  }
  view->gpa_ranges = GpaRangeList(packet.data() + kFirstRangeOffset, header.range_count);
  return CorruptReason::kNone;
}

// Type 7: the 8-byte header and range_count 8-byte ranges before offset8 * 8. Whether each
// range lies inside its transfer page set is for the layer that owns the set.
CorruptReason check_transfer_page(std::span<const std::byte> packet, uint32_t header_bytes,
                                  PacketView* view) {
  if (header_bytes < kFirstRangeOffset) return CorruptReason::kTransferPageHeaderTooShort;
  const auto header = load<TransferPageHeader>(packet.data() + kExtendedHeaderOffset);
  if (kFirstRangeOffset + uint64_t{header.range_count} * sizeof(TransferPageRange) > header_bytes) {
    return CorruptReason::kTransferPageRangesBeyondOffset8;
  }
  view->transfer_page_set_id = header.transfer_page_set_id;
  view->sender_owns_set = header.sender_owns_set;
  view->transfer_page_ranges =
      TransferPageRangeList(packet.data() + kFirstRangeOffset, header.range_count);
  return CorruptReason::kNone;
}

}  // namespace detail

GpaRange GpaRangeList::Iterator::operator*() const {
  const auto header = load<GpaRangeHeader>(at_);
  const auto pfns = static_cast<uint32_t>(pfn_count(header.byte_offset, header.byte_count));
  return {header.byte_count, header.byte_offset, PfnList(at_ + sizeof header, pfns)};
}

GpaRangeList::Iterator& GpaRangeList::Iterator::operator++() {
  const auto header = load<GpaRangeHeader>(at_);
  at_ += sizeof header + pfn_count(header.byte_offset, header.byte_count) * kPfnSize;
  --remaining_;
  return *this;
}

CorruptReason parse_packet(std::span<const std::byte> packet, PacketView* view) {
  if (packet.size() < kDescriptorSize) return CorruptReason::kPacketBeyondAvailable;
  const auto descriptor = load<PacketDescriptor>(packet.data());
  if (descriptor.offset8 < 2) return CorruptReason::kOffset8BelowMinimum;
  if (descriptor.offset8 > descriptor.len8) return CorruptReason::kOffset8AboveLen8;
  const uint32_t packet_bytes = uint32_t{descriptor.len8} * 8u;
  if (packet_bytes > packet.size()) return CorruptReason::kPacketBeyondAvailable;
  if (!is_accepted_type(descriptor.type)) return CorruptReason::kUnknownType;
  if ((descriptor.flags & ~kDefinedPacketFlags) != 0) return CorruptReason::kUndefinedFlag;

  return parse_validated_packet(descriptor, packet, view);
}

}  // namespace vmb::wire
