// SPDX-License-Identifier: MIT
// Packet bodies after the 16-byte descriptor (wire-format.md §2.6–§2.7): the GPA-direct and
// transfer-page extended headers as trivially copyable structs with their sizes and offsets
// pinned, the PFN-count arithmetic, and CorruptReason, one value per check of wire-format.md
// §4.2 that the ring and the packet parser perform. Layouts and constants only: the parser is
// in packet_view.h, the encoder in packet_encoder.h. Not here: completion transaction-id checks
// (§4.2 item 6, channel layer) and PFN-inside-guest-memory checks (memory layer).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "vmbkit/wire/ring_format.h"

namespace vmb::wire {

static_assert(std::endian::native == std::endian::little,
              "vmbkit reads little-endian wire fields with plain loads");

// GPA-direct (type 9) header after the descriptor: Linux vmbus_packet_mpb_array minus its
// descriptor, DPDK vmbus_chanpkt_sglist. Ranges follow at packet offset 24.
struct GpaDirectHeader {
  uint32_t reserved;  // may be non-zero; ignore
  uint32_t range_count;
};
static_assert(sizeof(GpaDirectHeader) == 8);
static_assert(std::is_trivially_copyable_v<GpaDirectHeader>);
static_assert(offsetof(GpaDirectHeader, reserved) == 0);
static_assert(offsetof(GpaDirectHeader, range_count) == 4);

// The fixed part of one GPA range; pfn_count(byte_offset, byte_count) u64 PFNs follow it.
struct GpaRangeHeader {
  uint32_t byte_count;
  uint32_t byte_offset;  // offset of the first byte in the first page, < 4096
};
static_assert(sizeof(GpaRangeHeader) == 8);
static_assert(std::is_trivially_copyable_v<GpaRangeHeader>);
static_assert(offsetof(GpaRangeHeader, byte_count) == 0);
static_assert(offsetof(GpaRangeHeader, byte_offset) == 4);

// Transfer-page (type 7) header after the descriptor: DPDK vmbus_chanpkt_rxbuf.
struct TransferPageHeader {
  uint16_t transfer_page_set_id;  // netvsc's receive buffer: 0xCAFE
  uint8_t sender_owns_set;
  uint8_t reserved;  // may be non-zero; ignore
  uint32_t range_count;
};
static_assert(sizeof(TransferPageHeader) == 8);
static_assert(std::is_trivially_copyable_v<TransferPageHeader>);
static_assert(offsetof(TransferPageHeader, transfer_page_set_id) == 0);
static_assert(offsetof(TransferPageHeader, sender_owns_set) == 2);
static_assert(offsetof(TransferPageHeader, reserved) == 3);
static_assert(offsetof(TransferPageHeader, range_count) == 4);

// One transfer-page range: an offset into the previously established transfer page set.
struct TransferPageRange {
  uint32_t byte_count;
  uint32_t byte_offset;
  constexpr bool operator==(const TransferPageRange&) const = default;
};
static_assert(sizeof(TransferPageRange) == 8);
static_assert(std::is_trivially_copyable_v<TransferPageRange>);
static_assert(offsetof(TransferPageRange, byte_count) == 0);
static_assert(offsetof(TransferPageRange, byte_offset) == 4);

// Packet offsets of the extended headers and their ranges.
inline constexpr uint32_t kExtendedHeaderOffset = kDescriptorSize;  // 16
inline constexpr uint32_t kFirstRangeOffset = kDescriptorSize + 8;  // 24
inline constexpr uint32_t kPfnSize = 8;
// mu_msvm's GPA_RANGE_MAX_PFN_COUNT; a range needing more PFNs cannot be described.
inline constexpr uint64_t kMaximumPfnsPerRange = 0xFFFFF;

// PFNs a GPA range spans: ceil((byte_offset + byte_count) / 4096), in 64-bit arithmetic so
// no peer-supplied value can overflow it (wire-format.md §4.2 item 4).
constexpr uint64_t pfn_count(uint32_t byte_offset, uint32_t byte_count) {
  return (uint64_t{byte_offset} + uint64_t{byte_count} + (kPageSize - 1)) / kPageSize;
}

// Why the ring or the parser refused the peer's bytes: one value per check of wire-format.md
// §4.2, in the order the checks run. kNone means "not corrupt".
enum class CorruptReason : uint8_t {
  kNone = 0,
  // Item 1: indices (every load).
  kIndexOutOfRange,  // a published index is >= the data-area size
  kIndexMisaligned,  // a published index is not a multiple of 8
  // Item 2: available bytes.
  kTooFewBytesAvailable,  // 0 < available < 24
  // Item 3: descriptor.
  kOffset8BelowMinimum,    // offset8 < 2
  kOffset8AboveLen8,       // offset8 > len8
  kPacketBeyondAvailable,  // len8 * 8 + 8 > bytes published
  kPacketTooLarge,         // len8 * 8 > the reader's maximum packet size
  kUnknownType,            // type not in {6, 7, 9, 0xB}
  kUndefinedFlag,          // flags & ~1 != 0
  // Item 4: GPA direct (type 9).
  kGpaHeaderTooShort,       // offset8 * 8 < 24
  kGpaZeroRangeCount,       // range_count == 0
  kGpaZeroByteCount,        // a range with byte_count == 0
  kGpaByteOffsetNotInPage,  // a range with byte_offset >= 4096
  kGpaRangesBeyondOffset8,  // ranges and their PFNs pass offset8 * 8
  // Item 5: transfer page (type 7).
  kTransferPageHeaderTooShort,       // offset8 * 8 < 24
  kTransferPageRangesBeyondOffset8,  // 24 + 8 * range_count > offset8 * 8
  // Not the peer's fault: the ring was constructed over an unusable RingView.
  kUnusableView,
};
inline constexpr size_t kCorruptReasonCount = 18;

// A short stable name ("offset8 > len8") for logs and `vmbkit-ring dump`.
std::string_view to_string(CorruptReason reason);

}  // namespace vmb::wire
