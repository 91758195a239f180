// SPDX-License-Identifier: MIT
// MDL <-> GPA range conversions: describe_mdl_chain with MdlOffset / MdlLength and
// FORCE_MDL_LENGTH (decisions.md §3), one test per rejection; describe_pfns; and MdlChain, the
// receiver's MDLs over its own mapping of the sender's guest memory, with every check refused
// before anything is built, read-only mappings and scattered pages.
#include "vmbkit/memory/mdl_chain.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "vmbkit/mdl.h"
#include "vmbkit/memory/guest_memory.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb {
namespace {

struct MdlDeleter {
  void operator()(MDL* mdl) const { IoFreeMdl(mdl); }
};
using MdlPtr = std::unique_ptr<MDL, MdlDeleter>;

class MdlChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto guest = GuestMemory::create(kPages);
    ASSERT_TRUE(guest);
    guest_ = std::move(*guest);
    auto region = SharedRegion::adopt(UniqueFd(::dup(guest_->fd())));
    ASSERT_TRUE(region);
    auto server = GuestMemoryMapping::map(std::move(*region));
    ASSERT_TRUE(server);
    server_ = *server;
  }

  // A built MDL over `bytes` bytes at `offset` into a fresh page run.
  MdlPtr built_mdl(uint64_t pages, uint32_t offset, uint32_t bytes) {
    auto buffer = guest_->allocate_pages(pages);
    EXPECT_TRUE(buffer);
    MdlPtr mdl(IoAllocateMdl(buffer->address + offset, bytes, FALSE, FALSE, nullptr));
    MmBuildMdlForNonPagedPool(mdl.get());
    return mdl;
  }

  static std::vector<uint64_t> pfns_of(const wire::GpaRangeSpec& range) {
    return {range.pfns.begin(), range.pfns.end()};
  }

  static constexpr uint64_t kPages = 64;
  std::unique_ptr<GuestMemory> guest_;
  std::shared_ptr<const GuestMemoryMapping> server_;
  GpaRanges ranges_;
};

TEST_F(MdlChainTest, WholeMdlIsOneRange) {
  MdlPtr mdl = built_mdl(3, 100, 9000);
  ASSERT_TRUE(
      describe_mdl_chain(mdl.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_).ok());
  ASSERT_EQ(ranges_.size(), 1u);
  EXPECT_EQ(ranges_.ranges()[0].byte_count, 9000u);
  EXPECT_EQ(ranges_.ranges()[0].byte_offset, 100u);
  const PFN_NUMBER* pfns = MmGetMdlPfnArray(mdl.get());
  EXPECT_EQ(pfns_of(ranges_.ranges()[0]), (std::vector<uint64_t>{pfns[0], pfns[1], pfns[2]}));
}

TEST_F(MdlChainTest, OffsetAndLengthSelectPagesInside) {
  MdlPtr mdl = built_mdl(4, 100, 4 * 4096 - 100);
  // Bytes 5000..5999 of the buffer: page 1 of the MDL, offset 100 + 5000 - 4096 = 1004.
  ASSERT_TRUE(
      describe_mdl_chain(mdl.get(), 5000, 1000, MdlLengthMode::kWithinChain, kPages, &ranges_)
          .ok());
  ASSERT_EQ(ranges_.size(), 1u);
  EXPECT_EQ(ranges_.ranges()[0].byte_count, 1000u);
  EXPECT_EQ(ranges_.ranges()[0].byte_offset, 1004u);
  EXPECT_EQ(pfns_of(ranges_.ranges()[0]), (std::vector<uint64_t>{MmGetMdlPfnArray(mdl.get())[1]}));
}

TEST_F(MdlChainTest, ChainGivesOneRangePerMdlTouched) {
  MdlPtr first = built_mdl(1, 0, 1000);
  MdlPtr empty = built_mdl(1, 0, 0);
  MdlPtr second = built_mdl(2, 50, 5000);
  MdlPtr third = built_mdl(1, 0, 300);
  first->Next = empty.get();
  empty->Next = second.get();
  second->Next = third.get();
  // From byte 900: 100 bytes of the first, all of the second, 10 of the third.
  ASSERT_TRUE(
      describe_mdl_chain(first.get(), 900, 5110, MdlLengthMode::kWithinChain, kPages, &ranges_)
          .ok());
  ASSERT_EQ(ranges_.size(), 3u);
  EXPECT_EQ(ranges_.ranges()[0].byte_count, 100u);
  EXPECT_EQ(ranges_.ranges()[0].byte_offset, 900u);
  EXPECT_EQ(ranges_.ranges()[1].byte_count, 5000u);
  EXPECT_EQ(ranges_.ranges()[1].byte_offset, 50u);
  EXPECT_EQ(ranges_.ranges()[1].pfns.size(), 2u);
  EXPECT_EQ(ranges_.ranges()[2].byte_count, 10u);
  EXPECT_EQ(ranges_.total_bytes(), 5110u);
  // Length 0: to the end of the chain.
  ASSERT_TRUE(
      describe_mdl_chain(first.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_).ok());
  EXPECT_EQ(ranges_.total_bytes(), 6300u);
  EXPECT_EQ(ranges_.size(), 3u);
}

TEST_F(MdlChainTest, RejectsRangePastTheChain) {
  MdlPtr first = built_mdl(1, 0, 1000);
  MdlPtr second = built_mdl(1, 0, 1000);
  first->Next = second.get();
  const auto describe = [&](uint32_t offset, uint32_t length) {
    return describe_mdl_chain(first.get(), offset, length, MdlLengthMode::kWithinChain, kPages,
                              &ranges_);
  };
  EXPECT_TRUE(describe(1999, 1).ok());
  EXPECT_EQ(describe(1999, 2), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(describe(2000, 0), STATUS_INVALID_PARAMETER);  // nothing left to describe
  EXPECT_EQ(describe(UINT32_MAX, UINT32_MAX), STATUS_INVALID_PARAMETER);
}

TEST_F(MdlChainTest, RejectsAnUnusableMdlThatIsUsed) {
  std::vector<std::byte> heap(100);
  MdlPtr good = built_mdl(1, 0, 100);
  MdlPtr outside(IoAllocateMdl(heap.data(), 100, FALSE, FALSE, nullptr));
  MmBuildMdlForNonPagedPool(outside.get());
  good->Next = outside.get();
  EXPECT_EQ(describe_mdl_chain(good.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_),
            STATUS_INVALID_PARAMETER);
  // The same chain, using only the good MDL's bytes, is fine.
  EXPECT_TRUE(
      describe_mdl_chain(good.get(), 0, 100, MdlLengthMode::kWithinChain, kPages, &ranges_).ok());
  EXPECT_EQ(
      describe_mdl_chain(outside.get(), 0, 0, MdlLengthMode::kForceMdlLength, kPages, &ranges_),
      STATUS_INVALID_PARAMETER);
}

TEST_F(MdlChainTest, RejectsAnUnbuiltMdl) {
  auto buffer = guest_->allocate(64);
  ASSERT_TRUE(buffer);
  MdlPtr unbuilt(IoAllocateMdl(buffer->address, 64, FALSE, FALSE, nullptr));
  EXPECT_EQ(describe_mdl_chain(unbuilt.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_),
            STATUS_INVALID_PARAMETER);
}

TEST_F(MdlChainTest, RejectsPfnsOutsideTheGuest) {
  MdlPtr mdl = built_mdl(1, 0, 16);
  const uint64_t pfn = MmGetMdlPfnArray(mdl.get())[0];
  EXPECT_EQ(describe_mdl_chain(mdl.get(), 0, 0, MdlLengthMode::kWithinChain, pfn, &ranges_),
            STATUS_INVALID_PARAMETER);
  EXPECT_TRUE(
      describe_mdl_chain(mdl.get(), 0, 0, MdlLengthMode::kWithinChain, pfn + 1, &ranges_).ok());
}

TEST_F(MdlChainTest, RejectsNullAndCycles) {
  EXPECT_EQ(describe_mdl_chain(nullptr, 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_),
            STATUS_INVALID_PARAMETER);
  MdlPtr mdl = built_mdl(1, 0, 16);
  EXPECT_EQ(describe_mdl_chain(mdl.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, nullptr),
            STATUS_INVALID_PARAMETER);
  mdl->Next = mdl.get();
  EXPECT_EQ(describe_mdl_chain(mdl.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_),
            STATUS_INVALID_PARAMETER);
  mdl->Next = nullptr;
}

TEST_F(MdlChainTest, ForceMdlLengthReachesTheEndOfTheLastPage) {
  // ByteOffset 100, ByteCount 5000: the pages end at 8192, so 8092 bytes may be described.
  MdlPtr mdl = built_mdl(2, 100, 5000);
  MdlPtr next = built_mdl(1, 0, 4096);
  mdl->Next = next.get();  // ignored with FORCE_MDL_LENGTH
  const auto describe = [&](uint32_t offset, uint32_t length) {
    return describe_mdl_chain(mdl.get(), offset, length, MdlLengthMode::kForceMdlLength, kPages,
                              &ranges_);
  };
  ASSERT_TRUE(describe(0, 8092).ok());
  ASSERT_EQ(ranges_.size(), 1u);
  EXPECT_EQ(ranges_.ranges()[0].byte_count, 8092u);
  EXPECT_EQ(ranges_.ranges()[0].pfns.size(), 2u);
  EXPECT_TRUE(describe(8000, 92).ok());
  EXPECT_EQ(describe(0, 8093), STATUS_INVALID_PARAMETER);  // into the next page
  EXPECT_EQ(describe(8092, 1), STATUS_INVALID_PARAMETER);
  // Length 0: the first MDL's bytes from the offset, never the chain.
  ASSERT_TRUE(describe(1000, 0).ok());
  EXPECT_EQ(ranges_.total_bytes(), 4000u);
  EXPECT_EQ(describe(5000, 0), STATUS_INVALID_PARAMETER);
}

TEST_F(MdlChainTest, DescribePfnsMakesOneWholePageRange) {
  const std::vector<PFN_NUMBER> pfns{7, 3, 60};
  ASSERT_TRUE(describe_pfns(pfns.data(), 3, kPages, &ranges_).ok());
  ASSERT_EQ(ranges_.size(), 1u);
  EXPECT_EQ(ranges_.ranges()[0].byte_count, 3u * 4096);
  EXPECT_EQ(ranges_.ranges()[0].byte_offset, 0u);
  EXPECT_EQ(pfns_of(ranges_.ranges()[0]), (std::vector<uint64_t>{7, 3, 60}));
}

TEST_F(MdlChainTest, DescribePfnsRejectsBadArguments) {
  const std::vector<PFN_NUMBER> pfns{1, kPages};
  EXPECT_EQ(describe_pfns(nullptr, 1, kPages, &ranges_), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(describe_pfns(pfns.data(), 0, kPages, &ranges_), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(describe_pfns(pfns.data(), kMaximumExternalPfns + 1, kPages, &ranges_),
            STATUS_INVALID_PARAMETER);
  EXPECT_EQ(describe_pfns(pfns.data(), 2, kPages, &ranges_), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(describe_pfns(pfns.data(), 1, kPages, nullptr), STATUS_INVALID_PARAMETER);
}

// ---- receiving --------------------------------------------------------------------------------

TEST_F(MdlChainTest, ReceivedChainMapsTheSendersBytes) {
  MdlPtr mdl = built_mdl(2, 10, 6000);
  std::memset(MmGetSystemAddressForMdlSafe(mdl.get(), NormalPagePriority), 0x5A, 6000);
  ASSERT_TRUE(
      describe_mdl_chain(mdl.get(), 0, 0, MdlLengthMode::kWithinChain, kPages, &ranges_).ok());
  auto chain = MdlChain::from_ranges(server_, ranges_, /*read_only=*/false);
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->length(), 1u);
  PMDL received = chain->first();
  EXPECT_EQ(received->Next, nullptr);
  EXPECT_EQ(MmGetMdlByteCount(received), 6000u);
  EXPECT_EQ(MmGetMdlByteOffset(received), 10u);
  EXPECT_EQ(MmGetMdlBaseVa(received), nullptr);
  EXPECT_NE(received->MdlFlags & MDL_PAGES_LOCKED, 0);
  EXPECT_NE(received->MdlFlags & MDL_WRITE_OPERATION, 0);
  EXPECT_EQ(MmGetMdlPfnArray(received)[1], MmGetMdlPfnArray(mdl.get())[1]);
  auto* bytes = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(received, NormalPagePriority));
  ASSERT_NE(bytes, nullptr);
  EXPECT_NE(received->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA, 0);
  for (int i = 0; i < 6000; ++i) ASSERT_EQ(bytes[i], std::byte{0x5A}) << i;
  bytes[0] = std::byte{0x11};  // writable, and seen by the sender
  EXPECT_EQ(static_cast<std::byte*>(mdl->MappedSystemVa)[0], std::byte{0x11});
}

TEST_F(MdlChainTest, ScatteredPagesAreMappedContiguously) {
  for (uint64_t pfn = 0; pfn < 8; ++pfn) std::memset(server_->pages(pfn, 1), int(pfn), 4096);
  const std::vector<uint64_t> pfns{5, 2, 7};
  ASSERT_TRUE(ranges_.append(3 * 4096 - 100, 100, pfns).ok());
  auto chain = MdlChain::from_ranges(server_, ranges_, /*read_only=*/true);
  ASSERT_TRUE(chain);
  PMDL mdl = chain->first();
  EXPECT_EQ(mdl->MdlFlags & MDL_WRITE_OPERATION, 0);
  auto* bytes = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority));
  ASSERT_NE(bytes, nullptr);
  EXPECT_EQ(bytes[0], std::byte{5});
  EXPECT_EQ(bytes[4096 - 100 - 1], std::byte{5});
  EXPECT_EQ(bytes[4096 - 100], std::byte{2});
  EXPECT_EQ(bytes[2 * 4096 - 100], std::byte{7});
  // A second call returns the same mapping; unmapping then mapping again works.
  EXPECT_EQ(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority), bytes);
  MmUnmapLockedPages(bytes, mdl);
  EXPECT_EQ(mdl->MdlFlags & MDL_MAPPED_TO_SYSTEM_VA, 0);
  auto* again = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again[4096 - 100], std::byte{2});
}

TEST_F(MdlChainTest, ReadOnlyChainRefusesWrites) {
  const std::vector<uint64_t> contiguous{3};
  const std::vector<uint64_t> scattered{4, 1};
  ASSERT_TRUE(ranges_.append(4096, 0, contiguous).ok());
  ASSERT_TRUE(ranges_.append(8192, 0, scattered).ok());
  auto chain = MdlChain::from_ranges(server_, ranges_, /*read_only=*/true);
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->length(), 2u);
  auto* first = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(chain->first(), 0));
  auto* second = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(chain->first()->Next, 0));
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // other threads may exist (TSan)
  EXPECT_DEATH({ first[0] = std::byte{1}; }, "");
  EXPECT_DEATH({ second[0] = std::byte{1}; }, "");
}

TEST_F(MdlChainTest, NoWritePriorityMapsReadOnly) {
  const std::vector<uint64_t> pfn{2};
  ASSERT_TRUE(ranges_.append(16, 0, pfn).ok());
  auto chain = MdlChain::from_ranges(server_, ranges_, /*read_only=*/false);
  ASSERT_TRUE(chain);
  auto* bytes = static_cast<std::byte*>(
      MmGetSystemAddressForMdlSafe(chain->first(), NormalPagePriority | MdlMappingNoWrite));
  ASSERT_NE(bytes, nullptr);
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // other threads may exist (TSan)
  EXPECT_DEATH({ bytes[0] = std::byte{1}; }, "");
}

TEST_F(MdlChainTest, ChainKeepsTheGuestMappingAlive) {
  const std::vector<uint64_t> pfn{1};
  ASSERT_TRUE(ranges_.append(16, 0, pfn).ok());
  auto chain = MdlChain::from_ranges(server_, ranges_, false);
  ASSERT_TRUE(chain);
  server_.reset();
  MdlChain moved = std::move(*chain);
  auto* bytes = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(moved.first(), 0));
  ASSERT_NE(bytes, nullptr);
  bytes[0] = std::byte{9};  // still mapped
  EXPECT_EQ(guest_->mapping()->pages(1, 1)[0], std::byte{9});
}

TEST_F(MdlChainTest, ResetLetsGoOfTheMdlsAndTheGuestMapping) {
  const std::vector<uint64_t> pfn{1};
  ASSERT_TRUE(ranges_.append(16, 0, pfn).ok());
  auto chain = MdlChain::from_ranges(server_, ranges_, false);
  ASSERT_TRUE(chain);
  ASSERT_NE(MmGetSystemAddressForMdlSafe(chain->first(), 0), nullptr);  // a window to release
  const std::weak_ptr<const GuestMemoryMapping> mapping = server_;
  server_.reset();
  ASSERT_FALSE(mapping.expired());  // the chain holds it
  chain->reset();
  EXPECT_EQ(chain->first(), nullptr);
  EXPECT_EQ(chain->length(), 0u);
  EXPECT_TRUE(mapping.expired());
  chain->reset();  // an empty chain: nothing to do
  EXPECT_EQ(chain->first(), nullptr);
}

TEST_F(MdlChainTest, FromRangesRejectsPfnsOutsideTheGuest) {
  const std::vector<uint64_t> pfns{1, kPages};
  ASSERT_TRUE(ranges_.append(8192, 0, pfns).ok());
  RangeFault fault{};
  EXPECT_EQ(MdlChain::from_ranges(server_, ranges_, false, &fault).status(), STATUS_DATA_ERROR);
  EXPECT_EQ(fault, RangeFault::kPfnOutsideGuest);
  EXPECT_EQ(MdlChain::from_ranges(nullptr, ranges_, false).status(), STATUS_INVALID_PARAMETER);
}

TEST_F(MdlChainTest, FromRangesRejectsNoRanges) {
  RangeFault fault{};
  EXPECT_EQ(MdlChain::from_ranges(server_, ranges_, false, &fault).status(), STATUS_DATA_ERROR);
  EXPECT_EQ(fault, RangeFault::kNoRanges);
}

// Raw range bytes as a peer could write them, bypassing every sender-side check.
std::vector<std::byte> raw_ranges(std::initializer_list<uint64_t> words) {
  std::vector<std::byte> bytes(words.size() * 8);
  std::memcpy(bytes.data(), std::data(words), bytes.size());
  return bytes;
}

struct PacketCase {
  const char* name;
  std::vector<std::byte> bytes;
  RangeFault fault;
};

class MdlChainFromPacket : public MdlChainTest, public ::testing::WithParamInterface<PacketCase> {};

TEST_P(MdlChainFromPacket, RejectsBeforeBuildingAnything) {
  const PacketCase& c = GetParam();
  const wire::GpaRangeList list(c.bytes.data(), 1);
  RangeFault fault{};
  EXPECT_EQ(MdlChain::from_packet_ranges(server_, list, false, &fault).status(), STATUS_DATA_ERROR);
  EXPECT_EQ(fault, c.fault);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCheck, MdlChainFromPacket,
    ::testing::Values(PacketCase{"ZeroByteCount", raw_ranges({gpa_range_header_word(0, 0), 1}),
                                 RangeFault::kZeroByteCount},
                      PacketCase{"ByteOffsetOutsidePage",
                                 raw_ranges({gpa_range_header_word(1, 5000), 1, 2}),
                                 RangeFault::kByteOffsetNotInPage},
                      PacketCase{"PfnOutsideGuest",
                                 raw_ranges({gpa_range_header_word(4097, 0), 1, 64}),
                                 RangeFault::kPfnOutsideGuest}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST_F(MdlChainTest, FromPacketRangesBuildsFromAParsedPacket) {
  const std::vector<uint64_t> first{3, 4};
  const std::vector<uint64_t> second{9};
  const wire::GpaRangeSpec specs[] = {{5000, 10, first}, {100, 0, second}};
  wire::PacketSpec spec;
  spec.type = wire::PacketType::kDataUsingGpaDirect;
  spec.flags = wire::kFlagCompletionRequested;
  spec.transaction_id = 1;
  spec.gpa_ranges = specs;
  std::vector<std::byte> packet(256);
  auto size = wire::encode_packet(spec, packet);
  ASSERT_TRUE(size);
  wire::PacketView view;
  ASSERT_EQ(wire::parse_packet(std::span(packet).first(*size), &view), wire::CorruptReason::kNone);
  auto chain = MdlChain::from_packet_ranges(server_, view.gpa_ranges, true);
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->length(), 2u);
  EXPECT_TRUE(chain->read_only());
  EXPECT_EQ(MmGetMdlPfnArray(chain->first())[1], 4u);
  EXPECT_EQ(MmGetMdlByteCount(chain->first()->Next), 100u);
  EXPECT_EQ(MmGetMdlPfnArray(chain->first()->Next)[0], 9u);
}

}  // namespace
}  // namespace vmb
