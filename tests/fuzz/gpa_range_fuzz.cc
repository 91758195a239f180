// SPDX-License-Identifier: MIT
// Fuzz target for received GPA ranges (decisions.md §2, wire-format.md §4.2 item 4): arbitrary
// range words from a peer into GpaRanges::from_words against a 64-page guest. It must never
// crash; its verdict and fault must match an independent reference check; every accepted list
// must become an MdlChain whose every byte, mapped with MmGetSystemAddressForMdlSafe, is the
// guest's byte at the PFN the range names; and the list must round-trip through the GPA-direct
// encoder and parser. Input: u32 range_count, u8 flags (bit 0 read-only), then range words.
// Seeds: tests/fuzz/corpus/gpa_range/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "vmbkit/mdl.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory.h"
#include "vmbkit/memory/mdl_chain.h"
#include "vmbkit/wire/packet_encoder.h"
#include "vmbkit/wire/packet_view.h"

namespace {

constexpr uint64_t kGuestPages = 64;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "gpa_range_fuzz: %s\n", what);
    std::abort();
  }
}

// One guest whose page p is filled with the byte p, and a server-side mapping of it.
struct Guest {
  std::unique_ptr<vmb::GuestMemory> memory;
  std::shared_ptr<const vmb::GuestMemoryMapping> server;
};
const Guest& guest() {
  static const Guest instance = [] {
    Guest g;
    auto memory = vmb::GuestMemory::create(kGuestPages);
    require(memory.has_value(), "cannot create guest memory");
    g.memory = std::move(*memory);
    for (uint64_t pfn = 0; pfn < kGuestPages; ++pfn) {
      std::memset(g.memory->mapping()->pages(pfn, 1), static_cast<int>(pfn), 4096);
    }
    g.server = g.memory->mapping();
    return g;
  }();
  return instance;
}

// The reference: the same rules, written as plainly as possible.
vmb::RangeFault reference(const std::vector<uint64_t>& words, uint32_t range_count) {
  using vmb::RangeFault;
  if (range_count == 0) return RangeFault::kNoRanges;
  if (uint64_t{range_count} * 2 > words.size()) return RangeFault::kTooManyRanges;
  uint64_t at = 0;
  for (uint32_t r = 0; r < range_count; ++r) {
    if (at >= words.size()) return RangeFault::kRangePastEnd;
    const uint64_t count = words[at] & 0xFFFFFFFF;
    const uint64_t offset = words[at] >> 32;
    if (count == 0) return RangeFault::kZeroByteCount;
    if (offset >= 4096) return RangeFault::kByteOffsetNotInPage;
    const uint64_t pfns = (offset + count + 4095) / 4096;
    if (at + 1 + pfns > words.size()) return RangeFault::kRangePastEnd;
    for (uint64_t p = 0; p < pfns; ++p) {
      if (words[at + 1 + p] >= kGuestPages) return RangeFault::kPfnOutsideGuest;
    }
    at += 1 + pfns;
  }
  return at == words.size() ? RangeFault::kNone : RangeFault::kWordsLeftOver;
}

// Every byte the chain describes is the fill byte of the page its range names.
void check_chain(const vmb::MdlChain& chain, const vmb::GpaRanges& ranges) {
  require(chain.length() == ranges.size(), "chain length differs from range count");
  PMDL mdl = chain.first();
  for (const auto& range : ranges.ranges()) {
    require(mdl != nullptr, "chain too short");
    require(MmGetMdlByteCount(mdl) == range.byte_count, "byte count differs");
    const auto* bytes =
        static_cast<const uint8_t*>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority));
    require(bytes != nullptr, "an accepted range could not be mapped");
    // Probe the first and last byte of every page piece (a full scan is too slow to fuzz).
    for (uint64_t i = 0; i < range.pfns.size(); ++i) {
      const uint64_t page_start = i * 4096;
      const uint64_t first = page_start < range.byte_offset ? 0 : page_start - range.byte_offset;
      const uint64_t end =
          std::min<uint64_t>(range.byte_count, page_start + 4096 - range.byte_offset);
      require(bytes[first] == static_cast<uint8_t>(range.pfns[i]), "wrong page at piece start");
      require(bytes[end - 1] == static_cast<uint8_t>(range.pfns[i]), "wrong page at piece end");
    }
    mdl = mdl->Next;
  }
  require(mdl == nullptr, "chain too long");
}

void round_trip(const vmb::GpaRanges& ranges) {
  vmb::wire::PacketSpec spec;
  spec.type = vmb::wire::PacketType::kDataUsingGpaDirect;
  spec.flags = vmb::wire::kFlagCompletionRequested;
  spec.transaction_id = 1;
  spec.gpa_ranges = ranges.ranges();
  auto size = vmb::wire::encoded_packet_size(spec);
  if (!size) return;  // more than one packet can carry: not this target's concern
  std::vector<std::byte> packet(*size);
  require(vmb::wire::encode_packet(spec, packet).has_value(), "encoder refused its own size");
  vmb::wire::PacketView view;
  require(vmb::wire::parse_packet(packet, &view) == vmb::wire::CorruptReason::kNone,
          "parser refused an accepted range list");
  auto chain = vmb::MdlChain::from_packet_ranges(guest().server, view.gpa_ranges, true);
  require(chain.has_value(), "packet ranges refused after from_words accepted them");
  check_chain(*chain, ranges);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  uint32_t range_count = 0;
  std::memcpy(&range_count, data, 4);
  const bool read_only = (data[4] & 1) != 0;
  std::vector<uint64_t> words((size - 5) / 8);
  if (!words.empty()) std::memcpy(words.data(), data + 5, words.size() * 8);

  const vmb::RangeFault expected = reference(words, range_count);
  vmb::RangeFault fault = vmb::RangeFault::kNone;
  auto ranges = vmb::GpaRanges::from_words(words, range_count, kGuestPages, &fault);
  require(ranges.has_value() == (expected == vmb::RangeFault::kNone), "verdict differs");
  require(fault == expected, "fault differs from the reference");
  if (!ranges) return 0;

  require(ranges->words().size() == words.size(), "words lost");
  auto chain = vmb::MdlChain::from_ranges(guest().server, *ranges, read_only);
  require(chain.has_value(), "MdlChain refused accepted ranges");
  check_chain(*chain, *ranges);
  round_trip(*ranges);
  return 0;
}
