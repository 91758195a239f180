// SPDX-License-Identifier: MIT
// Fuzz target for the incoming ring: arbitrary control-page and data bytes, then a script of
// reads, commits, index changes and rule-C calls. It must never crash, hang or touch memory
// outside the ring (the split-copy data area is an exact-size allocation, so ASan sees any
// overrun); every delivered packet must lie inside the caller's buffer and satisfy the
// validator's invariants; and once corrupt, the ring must stay corrupt with its first reason.
// Input: [0] area (bit 0 double mapping, bits 1-7 size code), [1..2] buffer size (u16),
// [3..18] write_index, read_index, pending_send_sz, feature_bits (u32 each), then data-area
// bytes, then script bytes. Seeds: tests/fuzz/corpus/incoming_ring/.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "testing/ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"

namespace {

using vmb::ring::IncomingRing;
using vmb::ring::ReadResult;
namespace wire = vmb::wire;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "incoming_ring_fuzz: %s\n", what);
    std::abort();
  }
}

uint32_t take32(const uint8_t* at) {
  uint32_t value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// Every span of a delivered packet lies inside `buffer`, and the lists agree with the header.
void check_packet(const wire::PacketView& view, const std::vector<std::byte>& buffer) {
  require(view.bytes.data() == buffer.data(), "packet not at the buffer start");
  require(view.bytes.size() == size_t{view.len8} * 8 && view.bytes.size() <= buffer.size(),
          "packet size");
  require(view.offset8 >= 2 && view.offset8 <= view.len8, "offset8");
  require(view.payload.data() == view.bytes.data() + size_t{view.offset8} * 8, "payload start");
  require(wire::is_accepted_type(static_cast<uint16_t>(view.type)), "type");
  require((view.flags & ~wire::kDefinedPacketFlags) == 0, "flags");
  uint64_t sum = 0;
  for (const wire::GpaRange range : view.gpa_ranges) {
    require(range.byte_count != 0 && range.byte_offset < wire::kPageSize, "range");
    require(range.pfns.size() == wire::pfn_count(range.byte_offset, range.byte_count), "pfns");
    for (uint32_t i = 0; i < range.pfns.size(); ++i) sum += range.pfns[i];  // ASan-checked
  }
  for (uint32_t i = 0; i < view.transfer_page_ranges.size(); ++i) {
    sum += view.transfer_page_ranges[i].byte_count;
  }
  for (const std::byte byte : view.payload) sum += static_cast<uint8_t>(byte);
  // Keep the reads: the sum must reach memory the optimiser cannot see through.
  static std::atomic<uint64_t> sink;
  sink.store(sum, std::memory_order_relaxed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 19;
  if (size < kHeader) return 0;
  const bool doubled = (data[0] & 1) != 0;
  const uint32_t size_code = data[0] >> 1;
  // Double mapping needs whole pages; split copies also get odd small areas.
  const uint32_t data_size = doubled || size_code == 0 ? 4096 : 32 + 8 * (size_code - 1);
  const uint32_t buffer_size = uint32_t{data[1]} | uint32_t{data[2]} << 8;

  vmb::testing::RingMemory memory(data_size, doubled);
  memory.set_control_word(wire::kWriteIndexOffset, take32(data + 3));
  memory.set_control_word(wire::kReadIndexOffset, take32(data + 7));
  memory.set_control_word(wire::kPendingSendSizeOffset, take32(data + 11));
  memory.set_control_word(wire::kFeatureBitsOffset, take32(data + 15));
  size_t at = kHeader;
  const size_t data_bytes = std::min<size_t>(size - at, data_size);
  std::memcpy(memory.data(), data + at, data_bytes);
  at += data_bytes;

  IncomingRing ring(memory.view());
  std::vector<std::byte> buffer(buffer_size);
  wire::PacketView view;
  wire::CorruptReason first_reason = ring.corrupt_reason();
  auto step = [&](uint8_t op) {
    switch (op % 5) {
      case 0:
      case 1: {
        const ReadResult result = ring.read(buffer, &view);
        if (result == ReadResult::kPacket) check_packet(view, buffer);
        if (result == ReadResult::kCorrupt) {
          require(ring.corrupt_reason() != wire::CorruptReason::kNone, "corrupt without reason");
        }
        break;
      }
      case 2:
        (void)ring.commit_read();
        break;
      case 3:
        ring.mask_interrupts();
        (void)ring.unmask_and_check();
        break;
      case 4:
        memory.set_control_word(wire::kWriteIndexOffset, uint32_t{op} * 8);
        (void)ring.has_data();
        break;
    }
    if (first_reason == wire::CorruptReason::kNone) first_reason = ring.corrupt_reason();
    require(ring.corrupt_reason() == first_reason, "corrupt reason changed");
  };
  for (; at < size; ++at) step(data[at]);
  // Then drain whatever is left: bounded, since each packet consumes at least 24 bytes.
  for (int i = 0; i < 1000 && ring.read(buffer, &view) == ReadResult::kPacket; ++i) {
    check_packet(view, buffer);
  }
  (void)ring.commit_read();
  if (ring.corrupt()) {
    const wire::CorruptReason reason = ring.corrupt_reason();
    require(ring.read(buffer, &view) == ReadResult::kCorrupt, "corrupt ring delivered");
    require(!ring.commit_read() && ring.corrupt_reason() == reason, "corrupt ring recovered");
  }
  return 0;
}
