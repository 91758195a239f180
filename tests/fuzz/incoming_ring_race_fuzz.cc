// SPDX-License-Identifier: MIT
// Fuzz target for the incoming ring under a hostile peer that writes while the reader reads:
// a peer thread interleaves well-formed packets (through an OutgoingRing) with arbitrary
// pokes at data bytes and control words, following the input as a script, while the main
// thread reads, commits and unmasks. Whatever the timing, the reader must not crash, hang or
// leave the ring's memory; delivered packets must satisfy the validator's invariants; and a
// corrupt ring must stay corrupt. Input: [0] area (bit 0 double mapping, bits 1-7 size code),
// then the peer's script (op byte + argument bytes, replayed cyclically).
// Seeds: tests/fuzz/corpus/incoming_ring_race/.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "testing/ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"

namespace {

using vmb::ring::IncomingRing;
using vmb::ring::OutgoingRing;
using vmb::ring::ReadResult;
namespace wire = vmb::wire;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "incoming_ring_race_fuzz: %s\n", what);
    std::abort();
  }
}

// The hostile part of the peer: a plain byte store racing the reader's copies, exactly what a
// guest or host in another address space can do. Not instrumented by ThreadSanitizer: the race
// is the point of the test (the reader copies before it parses), not a bug to report.
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize("thread")))
#endif
void poke(std::byte* data, uint32_t offset, uint8_t value) {
  // Safety: offset < data_size, checked by the caller.
  *reinterpret_cast<volatile unsigned char*>(data + offset) = value;
}

// A forged write_index makes the reader copy bytes the peer's OutgoingRing is still writing:
// exactly the hostile case the reader must survive, but a real data race in C++ terms, which
// ThreadSanitizer (rightly) reports. Under TSan the peer therefore only pokes bytes and the
// other control words; ASan and plain builds forge indices too.
#if defined(__SANITIZE_THREAD__)
constexpr bool kForgeIndices = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kForgeIndices = false;
#else
constexpr bool kForgeIndices = true;
#endif
#else
constexpr bool kForgeIndices = true;
#endif

std::atomic_ref<uint32_t> word(std::byte* control, size_t offset) {
  // Safety: control is the page-aligned test control page; offset is a field offset.
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(control + offset));
}

void run_peer(const vmb::testing::RingMemory& memory, const uint8_t* script, size_t length,
              const std::atomic<bool>& done) {
  OutgoingRing ring(memory.view());
  std::vector<std::byte> payload(256, std::byte{0xA5});
  const uint32_t size = memory.data_size();
  size_t at = 0;
  auto next = [&] { return script[at++ % length]; };
  for (int pass = 0; pass < 20000 && !done.load(std::memory_order_relaxed); ++pass) {
    const uint8_t op = next();
    switch (op % 6) {
      case 0:
      case 1: {  // a well-formed packet, so the reader makes progress between attacks
        const std::span<const std::byte> body = std::span(payload).first(next());
        (void)ring.try_write(wire::PacketType::kDataInBand, op & 1, op, body);
        (void)ring.commit();
        break;
      }
      case 2:  // a data byte anywhere in the area, including inside published packets
        poke(memory.data(), (uint32_t{next()} << 4 | next()) % size, next());
        break;
      case 3:  // an arbitrary write_index (out of range, misaligned or plausible)
        if (kForgeIndices) {
          word(memory.control(), wire::kWriteIndexOffset)
              .store(uint32_t{next()} << 8 | next(), std::memory_order_release);
        }
        break;
      case 4:  // a plausible-looking write_index move
        if (kForgeIndices) {
          word(memory.control(), wire::kWriteIndexOffset)
              .store((8u * next()) % size, std::memory_order_release);
        }
        break;
      case 5:  // the producer's other fields
        word(memory.control(), wire::kPendingSendSizeOffset)
            .store(8u * next(), std::memory_order_relaxed);
        word(memory.control(), wire::kFeatureBitsOffset).store(op >> 7, std::memory_order_relaxed);
        break;
    }
  }
}

void check_packet(const wire::PacketView& view, const std::vector<std::byte>& buffer) {
  require(view.bytes.data() == buffer.data() && view.bytes.size() <= buffer.size(), "bytes");
  require(view.bytes.size() == size_t{view.len8} * 8, "len8");
  require(view.offset8 >= 2 && view.offset8 <= view.len8, "offset8");
  require(wire::is_accepted_type(static_cast<uint16_t>(view.type)), "type");
  for (const wire::GpaRange range : view.gpa_ranges) {
    require(range.pfns.size() == wire::pfn_count(range.byte_offset, range.byte_count), "pfns");
    if (range.pfns.size() != 0) (void)range.pfns[range.pfns.size() - 1];
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool doubled = (data[0] & 1) != 0;
  const uint32_t size_code = data[0] >> 1;
  const uint32_t data_size = doubled || size_code == 0 ? 4096 : 32 + 8 * (size_code - 1);
  vmb::testing::RingMemory memory(data_size, doubled, wire::kFeaturePendingSendSize);

  std::atomic<bool> done{false};
  std::thread peer([&] { run_peer(memory, data + 1, size - 1, done); });
  IncomingRing ring(memory.view());
  std::vector<std::byte> buffer(2048);
  wire::PacketView view;
  for (int i = 0; i < 3000 && !ring.corrupt(); ++i) {
    const ReadResult result = ring.read(buffer, &view);
    if (result == ReadResult::kPacket) check_packet(view, buffer);
    if (i % 7 == 0) (void)ring.commit_read();
    if (result == ReadResult::kEmpty) {
      ring.mask_interrupts();
      (void)ring.unmask_and_check();
      std::this_thread::yield();  // let the peer run; not synchronisation
    }
  }
  done.store(true, std::memory_order_relaxed);
  peer.join();
  if (ring.corrupt()) {
    const wire::CorruptReason reason = ring.corrupt_reason();
    require(reason != wire::CorruptReason::kNone, "corrupt without a reason");
    require(ring.read(buffer, &view) == ReadResult::kCorrupt, "corrupt ring delivered");
    require(!ring.commit_read() && ring.corrupt_reason() == reason, "corrupt ring recovered");
  }
  return 0;
}
