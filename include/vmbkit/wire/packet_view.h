// SPDX-License-Identifier: MIT
// The validated view of one packet (wire-format.md §2, §4.2 items 3–5): validate_descriptor()
// checks the 16-byte descriptor against the bytes published, parse_packet() checks a private
// copy of a whole packet and returns a PacketView whose spans point into that copy. Neither
// touches shared memory: callers copy the packet out first (the incoming ring does). Not here:
// index checks (the ring), transaction-id checks (the channel), PFN range checks (memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <type_traits>

#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::wire {

// The PFNs of one GPA range, read from a validated packet copy (unaligned, little-endian).
class PfnList {
 public:
  constexpr PfnList() = default;
  PfnList(const std::byte* bytes, uint32_t count) : bytes_(bytes), count_(count) {}
  [[nodiscard]] uint32_t size() const { return count_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }
  // The i-th PFN; i < size().
  [[nodiscard]] uint64_t operator[](uint32_t i) const {
    uint64_t pfn;
    std::memcpy(&pfn, bytes_ + size_t{i} * kPfnSize, sizeof pfn);
    return pfn;
  }

 private:
  const std::byte* bytes_ = nullptr;
  uint32_t count_ = 0;
};

// One GPA range of a type-9 packet: byte_offset < 4096, byte_count >= 1, and
// pfns.size() == pfn_count(byte_offset, byte_count).
struct GpaRange {
  uint32_t byte_count = 0;
  uint32_t byte_offset = 0;
  PfnList pfns;
};

// The GPA ranges of a validated type-9 packet, walked in order (ranges vary in length, so
// there is no random access). Empty for other types.
class GpaRangeList {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = GpaRange;
    using difference_type = std::ptrdiff_t;
    using reference = GpaRange;  // ranges are decoded on access, not stored
    using pointer = void;
    Iterator() = default;
    Iterator(const std::byte* at, uint32_t remaining) : at_(at), remaining_(remaining) {}
    GpaRange operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator& other) const { return remaining_ == other.remaining_; }

   private:
    const std::byte* at_ = nullptr;
    uint32_t remaining_ = 0;
  };

  constexpr GpaRangeList() = default;
  GpaRangeList(const std::byte* first, uint32_t count) : first_(first), count_(count) {}
  [[nodiscard]] uint32_t size() const { return count_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }
  [[nodiscard]] Iterator begin() const { return {first_, count_}; }
  [[nodiscard]] Iterator end() const { return {first_, 0}; }

 private:
  const std::byte* first_ = nullptr;
  uint32_t count_ = 0;
};

// The ranges of a validated type-7 packet. Empty for other types.
class TransferPageRangeList {
 public:
  constexpr TransferPageRangeList() = default;
  TransferPageRangeList(const std::byte* first, uint32_t count) : first_(first), count_(count) {}
  [[nodiscard]] uint32_t size() const { return count_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }
  // The i-th range; i < size().
  [[nodiscard]] TransferPageRange operator[](uint32_t i) const {
    TransferPageRange range;
    std::memcpy(&range, first_ + size_t{i} * sizeof(TransferPageRange), sizeof range);
    return range;
  }

 private:
  const std::byte* first_ = nullptr;
  uint32_t count_ = 0;
};

// One validated packet. Every span and list points into the private copy given to
// parse_packet() and is valid as long as that copy is. The first five fields are laid out as
// the descriptor, so filling them is a 16-byte copy.
struct PacketView {
  PacketType type = PacketType::kInvalid;  // kDataInBand, kDataUsingTransferPages,
                                           // kDataUsingGpaDirect or kCompletion
  uint16_t offset8 = 0;
  uint16_t len8 = 0;
  uint16_t flags = 0;
  uint64_t transaction_id = 0;
  std::span<const std::byte> bytes;            // the whole packet, len8 * 8 bytes
  std::span<const std::byte> payload;          // [offset8 * 8, len8 * 8): padding included
  GpaRangeList gpa_ranges;                     // type 9
  TransferPageRangeList transfer_page_ranges;  // type 7
  uint16_t transfer_page_set_id = 0;           // type 7
  uint8_t sender_owns_set = 0;                 // type 7

  [[nodiscard]] bool completion_requested() const {
    return (flags & kFlagCompletionRequested) != 0;
  }
};
static_assert(offsetof(PacketView, type) == offsetof(PacketDescriptor, type));
static_assert(offsetof(PacketView, offset8) == offsetof(PacketDescriptor, offset8));
static_assert(offsetof(PacketView, len8) == offsetof(PacketDescriptor, len8));
static_assert(offsetof(PacketView, flags) == offsetof(PacketDescriptor, flags));
static_assert(offsetof(PacketView, transaction_id) == offsetof(PacketDescriptor, transaction_id));
static_assert(std::is_trivially_copyable_v<PacketView>);

// True for the four packet types vmbkit accepts (wire-format.md §2.4).
constexpr bool is_accepted_type(uint16_t type) {
  constexpr uint32_t kAccepted = 1u << static_cast<uint16_t>(PacketType::kDataInBand) |
                                 1u << static_cast<uint16_t>(PacketType::kDataUsingTransferPages) |
                                 1u << static_cast<uint16_t>(PacketType::kDataUsingGpaDirect) |
                                 1u << static_cast<uint16_t>(PacketType::kCompletion);
  return type < 32 && ((kAccepted >> type) & 1u) != 0;
}

// Checks a descriptor copied out of the ring (wire-format.md §4.2 item 3, in that order):
// `available` is the bytes published from the packet's start (trailer included in the need),
// `maximum_packet_bytes` the reader's limit for len8 * 8. Returns kNone when valid.
constexpr CorruptReason validate_descriptor(const PacketDescriptor& descriptor, uint32_t available,
                                            uint32_t maximum_packet_bytes) {
  if (descriptor.offset8 < 2) return CorruptReason::kOffset8BelowMinimum;
  if (descriptor.offset8 > descriptor.len8) return CorruptReason::kOffset8AboveLen8;
  const uint32_t packet_bytes = uint32_t{descriptor.len8} * 8u;
  if (uint64_t{packet_bytes} + kTrailerSize > available) {
    return CorruptReason::kPacketBeyondAvailable;
  }
  if (packet_bytes > maximum_packet_bytes) return CorruptReason::kPacketTooLarge;
  if (!is_accepted_type(descriptor.type)) return CorruptReason::kUnknownType;
  if ((descriptor.flags & ~kDefinedPacketFlags) != 0) return CorruptReason::kUndefinedFlag;
  return CorruptReason::kNone;
}

// Validates a private copy of one packet (its first len8 * 8 bytes; extra bytes are ignored)
// and fills *view. Checks the descriptor (as validate_descriptor, with no trailer and no size
// limit beyond `packet.size()`: a len8 past the copy is kPacketBeyondAvailable) and the type's
// extended header (§4.2 items 4–5). Returns kNone on success; *view is unspecified otherwise.
[[nodiscard]] CorruptReason parse_packet(std::span<const std::byte> packet, PacketView* view);

namespace detail {
// The extended-header checks of parse_packet() (packet_view.cc); they fill the type's fields.
CorruptReason check_gpa_direct(std::span<const std::byte> packet, uint32_t header_bytes,
                               PacketView* view);
CorruptReason check_transfer_page(std::span<const std::byte> packet, uint32_t header_bytes,
                                  PacketView* view);
}  // namespace detail

// The second half of parse_packet(), for a caller that has already run validate_descriptor()
// on `descriptor` and holds a private copy whose first len8 * 8 bytes are `packet` (the
// incoming ring): fills *view and checks the type's extended header (§4.2 items 4–5). Inline
// so that in-band and completion packets cost a handful of stores.
inline CorruptReason parse_validated_packet(const PacketDescriptor& descriptor,
                                            std::span<const std::byte> packet, PacketView* view) {
  const uint32_t packet_bytes = uint32_t{descriptor.len8} * 8u;
  const uint32_t header_bytes = uint32_t{descriptor.offset8} * 8u;
  view->type = static_cast<PacketType>(descriptor.type);
  view->offset8 = descriptor.offset8;
  view->len8 = descriptor.len8;
  view->flags = descriptor.flags;
  view->transaction_id = descriptor.transaction_id;
  view->bytes = {packet.data(), packet_bytes};
  view->payload = {packet.data() + header_bytes, packet_bytes - header_bytes};
  view->gpa_ranges = {};
  view->transfer_page_ranges = {};
  view->transfer_page_set_id = 0;
  view->sender_owns_set = 0;
  if (descriptor.type == static_cast<uint16_t>(PacketType::kDataUsingGpaDirect)) {
    return detail::check_gpa_direct(packet, header_bytes, view);
  }
  if (descriptor.type == static_cast<uint16_t>(PacketType::kDataUsingTransferPages)) {
    return detail::check_transfer_page(packet, header_bytes, view);
  }
  return CorruptReason::kNone;  // in-band and completion: no extended header to check
}

}  // namespace vmb::wire
