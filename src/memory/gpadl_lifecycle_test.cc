// SPDX-License-Identifier: MIT
// A GPADL's whole life across the memory layer, as the bus and channel will drive it: a guest
// allocates ring pages, describes them, splits the description into GPADL messages; the server
// adopts the guest's memfd, reassembles and validates the GPADL, maps both rings (doubled) and
// an MDL chain over it; both sides exchange bytes; then everything is torn down and the guest
// frees the buffer. Afterwards no mapping and no guest page may be left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "vmbkit/mdl.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory.h"
#include "vmbkit/memory/mdl_chain.h"
#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/wire/gpadl_messages.h"

namespace vmb {
namespace {

// Mappings of memfd-backed files: the only kind the memory layer makes. Counting every line of
// /proc/self/maps would also count what sanitizer runtimes and malloc map on their own.
size_t count_memfd_mappings() {
  std::ifstream maps("/proc/self/maps");
  size_t lines = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find("/memfd:") != std::string::npos) ++lines;
  }
  return lines;
}

constexpr uint64_t kRingPages = 20;  // per direction, control page included

// One full establish / use / teardown cycle; failures are reported through gtest.
void run_cycle(GuestMemory& guest) {
  // Guest: both rings in one page-aligned buffer, described as one range (40 PFNs: the GPADL
  // needs a GPADL_BODY after its header).
  auto buffer = guest.allocate_pages(2 * kRingPages);
  ASSERT_TRUE(buffer);
  GpaRanges described;
  ASSERT_TRUE(guest.mapping()->describe(buffer->address, buffer->size, &described).ok());
  auto messages = wire::encode_gpadl(7, 0xe1e10, described.ranges());
  ASSERT_TRUE(messages);
  ASSERT_EQ(messages->size(), 2u);

  {
    // Server: adopt the memfd, reassemble, validate against the guest's size.
    auto region = SharedRegion::adopt(UniqueFd(::dup(guest.fd())));
    ASSERT_TRUE(region);
    auto server = GuestMemoryMapping::map(std::move(*region));
    ASSERT_TRUE(server);
    auto reassembler = wire::GpadlReassembler::begin((*messages)[0].span());
    ASSERT_TRUE(reassembler);
    ASSERT_TRUE(reassembler->add_body((*messages)[1].span()).ok());
    ASSERT_TRUE(reassembler->complete());
    wire::ReassembledGpadl gpadl = reassembler->take();
    auto ranges = GpaRanges::from_words(std::move(gpadl.range_words), gpadl.range_count,
                                        (*server)->page_count());
    ASSERT_TRUE(ranges);
    ASSERT_EQ(ranges->size(), 1u);
    const auto pfns = ranges->ranges()[0].pfns;
    ASSERT_EQ(pfns.size(), 2 * kRingPages);

    // Both sides map the guest->host ring (pages [0, 20) of the GPADL).
    auto guest_ring = RingMapping::map(guest.mapping()->region(), pfns.first(kRingPages));
    auto server_ring = RingMapping::map((*server)->region(), pfns.first(kRingPages));
    ASSERT_TRUE(guest_ring && server_ring);
    EXPECT_TRUE(server_ring->memory().data_doubled);
    std::memcpy(guest_ring->memory().data + guest_ring->memory().data_size - 3, "wrapped", 7);
    EXPECT_EQ(
        std::memcmp(server_ring->memory().data + server_ring->memory().data_size - 3, "wrapped", 7),
        0);
    EXPECT_EQ(std::memcmp(server_ring->memory().data, "pped", 4), 0);

    // The server's MDL over the whole GPADL (VmbChannelMapGpadl) sees the same bytes.
    auto chain = MdlChain::from_ranges(*server, *ranges, /*read_only=*/true);
    ASSERT_TRUE(chain);
    const auto* bytes =
        static_cast<const std::byte*>(MmGetSystemAddressForMdlSafe(chain->first(), 0));
    ASSERT_NE(bytes, nullptr);
    // Linear, as the guest laid it out: the packet's head ends ring 1, its tail starts ring 1's
    // data area (page 1), where the double mapping put it.
    EXPECT_EQ(std::memcmp(bytes + kRingPages * 4096 - 3, "wra", 3), 0);
    EXPECT_EQ(std::memcmp(bytes + 4096, "pped", 4), 0);
  }  // teardown: chain, rings, server mapping

  ASSERT_TRUE(guest.free(buffer->address).ok());
  EXPECT_EQ(guest.usage().pages_in_use, 0u);
}

TEST(GpadlLifecycle, TeardownLeavesNoMappingAndNoPageBehind) {
  auto guest = GuestMemory::create(256);
  ASSERT_TRUE(guest);
  const size_t before = count_memfd_mappings();
  ASSERT_GT(before, 0u);  // the guest memory itself: proves the filter sees memfd mappings
  for (int i = 0; i < 5; ++i) run_cycle(**guest);
  EXPECT_EQ(count_memfd_mappings(), before);
  EXPECT_EQ((*guest)->usage().free_extents, 1u);
}

}  // namespace
}  // namespace vmb
