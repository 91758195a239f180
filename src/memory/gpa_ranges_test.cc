// SPDX-License-Identifier: MIT
// GpaRanges: appending and its rejections, the wire layout of words() against the GPA-direct
// golden vectors (ring-gpa-direct.vec), parsing received words with one test per rejection,
// and the malformed GPA vectors (malformed.vec) refused for the same reasons.
#include "vmbkit/memory/gpa_ranges.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "testing/vector_file.h"

namespace vmb {
namespace {

std::vector<uint64_t> words_of(std::span<const uint8_t> bytes) {
  std::vector<uint64_t> words(bytes.size() / 8);
  if (!words.empty()) std::memcpy(words.data(), bytes.data(), words.size() * 8);
  return words;
}

// The range block [24, offset8 * 8) and range_count of a GPA-direct packet at offset 0.
struct PacketRanges {
  std::vector<uint64_t> words;
  uint32_t range_count = 0;
};
PacketRanges packet_ranges(const testing::Vector& vector) {
  const std::vector<uint8_t> bytes = vector.concatenated();
  uint16_t offset8 = 0;
  uint32_t range_count = 0;
  std::memcpy(&offset8, bytes.data() + 2, 2);
  std::memcpy(&range_count, bytes.data() + 20, 4);
  const size_t end = size_t{offset8} * 8;
  if (end < 24 || end > bytes.size()) return {{}, range_count};
  return {words_of(std::span(bytes).subspan(24, end - 24)), range_count};
}

const testing::Vector& find(const std::vector<testing::Vector>& vectors, const std::string& name) {
  for (const auto& vector : vectors) {
    if (vector.name == name) return vector;
  }
  ADD_FAILURE() << "no vector " << name;
  return vectors.front();
}

TEST(GpaRanges, AppendKeepsTheWireLayout) {
  GpaRanges ranges;
  const std::vector<uint64_t> first{0x12345, 0x12346};
  const std::vector<uint64_t> second{0xbbbb};
  ASSERT_TRUE(ranges.append(5000, 100, first).ok());
  ASSERT_TRUE(ranges.append(512, 0, second).ok());
  EXPECT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges.total_bytes(), 5512u);
  EXPECT_EQ(ranges.total_pfns(), 3u);
  const std::vector<uint64_t> expected{gpa_range_header_word(5000, 100), 0x12345, 0x12346,
                                       gpa_range_header_word(512, 0), 0xbbbb};
  EXPECT_EQ(std::vector<uint64_t>(ranges.words().begin(), ranges.words().end()), expected);
  EXPECT_EQ(ranges.ranges()[1].pfns.data(), ranges.words().data() + 4);
}

TEST(GpaRanges, SpansFollowTheWordsWhenTheyGrow) {
  GpaRanges ranges;
  for (uint64_t i = 0; i < 500; ++i) {
    const std::vector<uint64_t> pfn{i};
    ASSERT_TRUE(ranges.append(4096, 0, pfn).ok());
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    ASSERT_EQ(ranges.ranges()[i].pfns.data(), ranges.words().data() + 2 * i + 1);
    ASSERT_EQ(ranges.ranges()[i].pfns[0], i);
  }
  GpaRanges moved = std::move(ranges);
  EXPECT_EQ(moved.ranges()[499].pfns[0], 499u);
  moved.clear();
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(moved.total_bytes(), 0u);
}

TEST(GpaRanges, AppendRejectsZeroByteCount) {
  GpaRanges ranges;
  RangeFault fault{};
  const std::vector<uint64_t> pfn{1};
  EXPECT_EQ(ranges.append(0, 0, pfn, &fault), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(fault, RangeFault::kZeroByteCount);
  EXPECT_TRUE(ranges.empty());
}

TEST(GpaRanges, AppendRejectsByteOffsetOutsideThePage) {
  GpaRanges ranges;
  RangeFault fault{};
  const std::vector<uint64_t> pfns{1, 2};
  EXPECT_EQ(ranges.append(1, 4096, pfns, &fault), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(fault, RangeFault::kByteOffsetNotInPage);
}

TEST(GpaRanges, AppendRejectsWrongPfnCount) {
  GpaRanges ranges;
  RangeFault fault{};
  const std::vector<uint64_t> one{1};
  const std::vector<uint64_t> three{1, 2, 3};
  EXPECT_EQ(ranges.append(4097, 0, one, &fault), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(fault, RangeFault::kPfnCountMismatch);
  EXPECT_EQ(ranges.append(4097, 0, three, &fault), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(fault, RangeFault::kPfnCountMismatch);
}

TEST(GpaRanges, CheckInsideFindsPfnsPastTheGuest) {
  GpaRanges ranges;
  const std::vector<uint64_t> pfns{3, 9};
  ASSERT_TRUE(ranges.append(8192, 0, pfns).ok());
  EXPECT_TRUE(ranges.check_inside(10).ok());
  RangeFault fault{};
  EXPECT_EQ(ranges.check_inside(9, &fault), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(fault, RangeFault::kPfnOutsideGuest);
}

// Every accepted GPA-direct vector: the ranges given in its header, appended here, produce
// exactly the packet's range block, and parsing that block gives them back.
TEST(GpaRanges, MatchesGpaDirectGoldenVectors) {
  const auto vectors = testing::load_vectors("ring-gpa-direct.vec");
  ASSERT_FALSE(vectors.empty());
  for (const auto& vector : vectors) {
    SCOPED_TRACE(vector.name);
    GpaRanges built;
    for (const std::string& token : vector.tokens("packet", "range")) {
      std::istringstream fields(token);
      std::string count, offset, pfn_list;
      std::getline(fields, count, ':');
      std::getline(fields, offset, ':');
      std::getline(fields, pfn_list);
      std::vector<uint64_t> pfns;
      std::istringstream pfn_fields(pfn_list);
      for (std::string pfn; std::getline(pfn_fields, pfn, ',');) {
        pfns.push_back(testing::parse_number(pfn));
      }
      ASSERT_TRUE(built
                      .append(static_cast<uint32_t>(testing::parse_number(count)),
                              static_cast<uint32_t>(testing::parse_number(offset)), pfns)
                      .ok());
    }
    const PacketRanges packet = packet_ranges(vector);
    EXPECT_EQ(packet.range_count, built.size());
    EXPECT_EQ(std::vector<uint64_t>(built.words().begin(), built.words().end()), packet.words);
    auto parsed = GpaRanges::from_words(packet.words, packet.range_count, uint64_t{1} << 40);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->size(), built.size());
    EXPECT_EQ(parsed->total_bytes(), built.total_bytes());
  }
}

// The malformed GPA-direct vectors whose range blocks this parser sees are refused, each for
// the reason the vector names.
TEST(GpaRanges, RejectsMalformedGpaVectors) {
  const auto vectors = testing::load_vectors("malformed.vec");
  const std::vector<std::pair<std::string, RangeFault>> cases{
      {"gpa_range_count_0", RangeFault::kNoRanges},
      {"gpa_pfns_beyond_offset8", RangeFault::kRangePastEnd},
      {"gpa_byte_offset_not_in_page", RangeFault::kByteOffsetNotInPage},
      {"gpa_byte_count_0", RangeFault::kZeroByteCount},
  };
  for (const auto& [name, expected] : cases) {
    SCOPED_TRACE(name);
    const PacketRanges packet = packet_ranges(find(vectors, name));
    RangeFault fault{};
    EXPECT_EQ(GpaRanges::from_words(packet.words, packet.range_count, 1u << 30, &fault).status(),
              STATUS_DATA_ERROR);
    EXPECT_EQ(fault, expected);
  }
}

struct FromWordsCase {
  const char* name;
  std::vector<uint64_t> words;
  uint32_t range_count;
  RangeFault fault;
};

class GpaRangesFromWords : public ::testing::TestWithParam<FromWordsCase> {};

TEST_P(GpaRangesFromWords, RejectsWithItsReason) {
  const FromWordsCase& c = GetParam();
  RangeFault fault{};
  auto result = GpaRanges::from_words(c.words, c.range_count, 16, &fault);
  EXPECT_EQ(result.status(), STATUS_DATA_ERROR);
  EXPECT_EQ(fault, c.fault);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCheck, GpaRangesFromWords,
    ::testing::Values(
        FromWordsCase{"NoRanges", {gpa_range_header_word(1, 0), 1}, 0, RangeFault::kNoRanges},
        FromWordsCase{"MoreRangesThanWords",
                      {gpa_range_header_word(1, 0), 1, 2},
                      2,
                      RangeFault::kTooManyRanges},
        FromWordsCase{"SecondHeaderMissing",
                      {gpa_range_header_word(8192, 0), 1, 2, 3},
                      2,
                      RangeFault::kRangePastEnd},
        FromWordsCase{
            "ZeroByteCount", {gpa_range_header_word(0, 0), 1}, 1, RangeFault::kZeroByteCount},
        FromWordsCase{"ByteOffset4096",
                      {gpa_range_header_word(1, 4096), 1, 2},
                      1,
                      RangeFault::kByteOffsetNotInPage},
        FromWordsCase{"ByteOffsetHuge",
                      {gpa_range_header_word(1, 0xFFFFFFFF), 1, 2},
                      1,
                      RangeFault::kByteOffsetNotInPage},
        FromWordsCase{
            "PfnsPastEnd", {gpa_range_header_word(4097, 0), 1}, 1, RangeFault::kRangePastEnd},
        FromWordsCase{"MaximumByteCountPastEnd",
                      {gpa_range_header_word(0xFFFFFFFF, 4095), 1},
                      1,
                      RangeFault::kRangePastEnd},
        FromWordsCase{
            "PfnAtGuestEnd", {gpa_range_header_word(1, 0), 16}, 1, RangeFault::kPfnOutsideGuest},
        FromWordsCase{
            "PfnHuge", {gpa_range_header_word(1, 0), UINT64_MAX}, 1, RangeFault::kPfnOutsideGuest},
        FromWordsCase{
            "WordsLeftOver", {gpa_range_header_word(1, 0), 1, 2}, 1, RangeFault::kWordsLeftOver}),
    [](const auto& test_case) { return std::string(test_case.param.name); });

TEST(GpaRanges, FromWordsAcceptsSeveralRanges) {
  const std::vector<uint64_t> words{gpa_range_header_word(100, 4000), 1, 2,
                                    gpa_range_header_word(4096, 0), 15};
  RangeFault fault = RangeFault::kWordsLeftOver;
  auto ranges = GpaRanges::from_words(words, 2, 16, &fault);
  ASSERT_TRUE(ranges);
  EXPECT_EQ(fault, RangeFault::kNone);
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ(ranges->ranges()[0].byte_offset, 4000u);
  EXPECT_EQ(ranges->ranges()[0].pfns.size(), 2u);
  EXPECT_EQ(ranges->ranges()[1].pfns[0], 15u);
  EXPECT_EQ(ranges->total_bytes(), 4196u);
}

TEST(GpaRanges, FaultNamesAreDistinct) {
  EXPECT_EQ(to_string(RangeFault::kPfnOutsideGuest), "PFN outside guest memory");
  EXPECT_NE(to_string(RangeFault::kRangePastEnd), to_string(RangeFault::kWordsLeftOver));
}

}  // namespace
}  // namespace vmb
