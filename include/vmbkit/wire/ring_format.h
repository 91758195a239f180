// SPDX-License-Identifier: MIT
// The Hyper-V ring layout (wire-format.md §1–§2): control-page field offsets, the 16-byte packet
// descriptor, packet types and flags, and the size arithmetic every ring user shares. Plain
// constants and trivially copyable structs only: no I/O, no pointers into shared memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace vmb::wire {

inline constexpr uint32_t kPageSize = 4096;
inline constexpr uint32_t kControlPageSize = 4096;

// Byte offsets in the ring control page (wire-format.md §1.1). Each field is a u32 written by
// one side only; the reserved bytes (16–63, 68–4095) may be non-zero; ignore.
inline constexpr size_t kWriteIndexOffset = 0;        // producer
inline constexpr size_t kReadIndexOffset = 4;         // consumer
inline constexpr size_t kInterruptMaskOffset = 8;     // consumer: 1 = do not signal me
inline constexpr size_t kPendingSendSizeOffset = 12;  // producer: blocked until > N bytes free
inline constexpr size_t kFeatureBitsOffset = 64;
inline constexpr uint32_t kFeaturePendingSendSize = 0x1;  // feat_pending_send_sz

// Packet types (wire-format.md §2.4). vmbkit's reader accepts only the four in use.
enum class PacketType : uint16_t {
  kInvalid = 0x0,
  kSynch = 0x1,
  kAddTransferPageSet = 0x2,
  kRemoveTransferPageSet = 0x3,
  kEstablishGpadl = 0x4,
  kTeardownGpadl = 0x5,
  kDataInBand = 0x6,
  kDataUsingTransferPages = 0x7,
  kDataUsingGpadl = 0x8,
  kDataUsingGpaDirect = 0x9,
  kCancelRequest = 0xA,
  kCompletion = 0xB,
  kDataUsingAdditionalPacket = 0xC,
  kAdditionalData = 0xD,
};

// Descriptor flag bit 0 (VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED); no other bit exists.
inline constexpr uint16_t kFlagCompletionRequested = 0x1;
inline constexpr uint16_t kDefinedPacketFlags = kFlagCompletionRequested;

// The 16-byte descriptor at the start of every packet (Linux vmpacket_descriptor, DPDK
// vmbus_chanpkt_hdr, OpenVMM PacketDescriptor).
struct PacketDescriptor {
  uint16_t type;     // PacketType
  uint16_t offset8;  // descriptor + extended header, in 8-byte units; payload starts here
  uint16_t len8;     // whole packet in 8-byte units, trailer excluded
  uint16_t flags;    // kFlagCompletionRequested
  uint64_t transaction_id;
};
static_assert(sizeof(PacketDescriptor) == 16);
static_assert(std::is_trivially_copyable_v<PacketDescriptor>);
static_assert(offsetof(PacketDescriptor, type) == 0);
static_assert(offsetof(PacketDescriptor, offset8) == 2);
static_assert(offsetof(PacketDescriptor, len8) == 4);
static_assert(offsetof(PacketDescriptor, flags) == 6);
static_assert(offsetof(PacketDescriptor, transaction_id) == 8);

inline constexpr uint32_t kDescriptorSize = sizeof(PacketDescriptor);
inline constexpr uint32_t kTrailerSize = 8;
// The smallest packet: a bare descriptor plus its trailer.
inline constexpr uint32_t kMinimumPacketRingBytes = kDescriptorSize + kTrailerSize;
// len8 and offset8 are u16: at most 65535 * 8 bytes per packet.
inline constexpr uint32_t kMaximumPacketBytes = 0xFFFFu * 8u;

// Rounds n up to a multiple of 8 (the wire counts in 8-byte units).
constexpr uint64_t align8(uint64_t n) { return (n + 7u) & ~uint64_t{7}; }

// The trailer value Hyper-V writes after each packet: the packet's start index << 32.
constexpr uint64_t trailer_for(uint32_t start_index) { return uint64_t{start_index} << 32; }

// Bytes between read and write index: (write_index - read_index) mod size (wire-format.md §1.2).
// Both indices must already be validated (< size).
constexpr uint32_t ring_used_bytes(uint32_t size, uint32_t write_index, uint32_t read_index) {
  return write_index >= read_index ? write_index - read_index : size - (read_index - write_index);
}

// Free bytes as the producer sees them; an empty ring reports `size`. A write of `total` ring
// bytes (packet plus trailer) fits only if free > total: the ring is never filled completely.
constexpr uint32_t ring_free_bytes(uint32_t size, uint32_t write_index, uint32_t read_index) {
  return size - ring_used_bytes(size, write_index, read_index);
}

// Rule A (wire-format.md §3.3), evaluated after publishing write_index and a full fence:
// signal the consumer iff its interrupt_mask is 0 and the ring was empty before the first
// write of the batch (read_index == the write index before that write).
constexpr bool producer_should_signal(uint32_t interrupt_mask, uint32_t read_index,
                                      uint32_t old_write_index) {
  return interrupt_mask == 0 && read_index == old_write_index;
}

// Rule B consumer side (wire-format.md §3.3), after publishing read_index for a batch: signal
// the producer iff it advertised feat_pending_send_sz, is waiting (pending != 0), and this
// batch moved free space from <= pending to > pending. Equality means "still not enough".
constexpr bool consumer_should_signal(uint32_t feature_bits, uint32_t pending_send_size,
                                      uint32_t free_before, uint32_t free_after) {
  return (feature_bits & kFeaturePendingSendSize) != 0 && pending_send_size != 0 &&
         free_before <= pending_send_size && free_after > pending_send_size;
}

}  // namespace vmb::wire
