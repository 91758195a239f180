// SPDX-License-Identifier: MIT
// GPADL_HEADER / GPADL_BODY: the splitter against the golden vectors (gpadl_header_4_pages,
// gpadl_header_30_pages_part1, gpadl_body_30_pages_part2), message sizes at every boundary,
// reassembly (also of maximum-length and multi-range messages), and one test per rejection.
#include "vmbkit/wire/gpadl_messages.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "testing/vector_file.h"

namespace vmb::wire {
namespace {

std::vector<uint8_t> golden(const std::string& name) {
  static const auto vectors = testing::load_vectors("control-messages.vec");
  for (const auto& vector : vectors) {
    if (vector.name == name) return vector.concatenated();
  }
  ADD_FAILURE() << "no vector " << name;
  return {};
}

std::vector<uint64_t> consecutive(uint64_t first, size_t count) {
  std::vector<uint64_t> pfns(count);
  std::iota(pfns.begin(), pfns.end(), first);
  return pfns;
}

std::vector<uint8_t> bytes_of(const GpadlMessage& message) {
  return {message.bytes.begin(), message.bytes.begin() + message.size};
}

TEST(GpadlMessages, FourPagesFitTheHeaderGoldenVector) {
  const auto pfns = consecutive(0x10000, 4);
  const GpaRangeSpec range{16384, 0, pfns};
  auto messages = encode_gpadl(14, 0xe1e10, std::span(&range, 1));
  ASSERT_TRUE(messages);
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ(bytes_of((*messages)[0]), golden("gpadl_header_4_pages"));
}

TEST(GpadlMessages, ThirtyPagesSplitAsTheGoldenVectors) {
  const auto pfns = consecutive(0x20000, 30);
  const GpaRangeSpec range{122880, 0, pfns};
  auto messages = encode_gpadl(14, 0xe1e11, std::span(&range, 1));
  ASSERT_TRUE(messages);
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ(bytes_of((*messages)[0]), golden("gpadl_header_30_pages_part1"));
  EXPECT_EQ(bytes_of((*messages)[1]), golden("gpadl_body_30_pages_part2"));
}

TEST(GpadlMessages, GoldenMessagesReassemble) {
  GpadlFault fault{};
  auto reassembler = GpadlReassembler::begin(golden("gpadl_header_30_pages_part1"), &fault);
  ASSERT_TRUE(reassembler);
  EXPECT_EQ(reassembler->child_relid(), 14u);
  EXPECT_EQ(reassembler->gpadl(), 0xe1e11u);
  EXPECT_FALSE(reassembler->complete());
  EXPECT_EQ(reassembler->missing_words(), 4u);
  ASSERT_TRUE(reassembler->add_body(golden("gpadl_body_30_pages_part2"), &fault).ok());
  ASSERT_TRUE(reassembler->complete());
  const ReassembledGpadl gpadl = reassembler->take();
  EXPECT_EQ(gpadl.range_count, 1u);
  std::vector<uint64_t> expected{122880};
  const auto pfns = consecutive(0x20000, 30);
  expected.insert(expected.end(), pfns.begin(), pfns.end());
  EXPECT_EQ(gpadl.range_words, expected);
}

// Every message stays within 240 bytes; the header holds 27 words, each body 28.
TEST(GpadlMessages, SplitsAtEveryBoundary) {
  for (const size_t pages : {size_t{1}, size_t{26}, size_t{27}, size_t{54}, size_t{55},
                             size_t{1000}, kGpadlMaximumPages}) {
    SCOPED_TRACE(pages);
    const auto pfns = consecutive(0, pages);
    const GpaRangeSpec range{static_cast<uint32_t>(pages * 4096), 0, pfns};
    auto messages = encode_gpadl(1, 2, std::span(&range, 1));
    ASSERT_TRUE(messages);
    const size_t words = pages + 1;
    const size_t bodies = words <= 27 ? 0 : (words - 27 + 28 - 1) / 28;  // ceil
    ASSERT_EQ(messages->size(), 1 + bodies);
    size_t carried = 0;
    for (size_t i = 0; i < messages->size(); ++i) {
      const GpadlMessage& message = (*messages)[i];
      ASSERT_LE(message.size, kMaximumChannelMessageSize);
      const size_t fixed = i == 0 ? kGpadlHeaderFixedSize : kGpadlBodyFixedSize;
      carried += (message.size - fixed) / 8;
    }
    EXPECT_EQ(carried, words);
    auto reassembler = GpadlReassembler::begin((*messages)[0].span());
    ASSERT_TRUE(reassembler);
    for (size_t i = 1; i < messages->size(); ++i) {
      ASSERT_TRUE(reassembler->add_body((*messages)[i].span()).ok());
    }
    ASSERT_TRUE(reassembler->complete());
    EXPECT_EQ(reassembler->take().range_words.size(), words);
  }
}

TEST(GpadlMessages, SeveralRangesTravelAsOneWordStream) {
  const auto first = consecutive(100, 30);
  const auto second = consecutive(500, 2);
  const GpaRangeSpec ranges[] = {{30 * 4096, 0, first}, {5000, 96, second}};
  auto messages = encode_gpadl(3, 4, ranges);
  ASSERT_TRUE(messages);
  ASSERT_EQ(messages->size(), 2u);
  auto reassembler = GpadlReassembler::begin((*messages)[0].span());
  ASSERT_TRUE(reassembler);
  ASSERT_TRUE(reassembler->add_body((*messages)[1].span()).ok());
  const ReassembledGpadl gpadl = reassembler->take();
  EXPECT_EQ(gpadl.range_count, 2u);
  ASSERT_EQ(gpadl.range_words.size(), 34u);
  EXPECT_EQ(gpadl.range_words[31], uint64_t{5000} | (uint64_t{96} << 32));
  EXPECT_EQ(gpadl.range_words[33], 501u);
}

TEST(GpadlMessages, EncodeRejectsWhatTheReceiverWouldRefuse) {
  const auto pfns = consecutive(0, 2);
  const GpaRangeSpec zero_bytes{0, 0, std::span(pfns).first(1)};
  const GpaRangeSpec bad_offset{1, 4096, pfns};
  const GpaRangeSpec wrong_count{4096, 0, pfns};
  EXPECT_EQ(encode_gpadl(1, 1, {}).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(encode_gpadl(1, 1, std::span(&zero_bytes, 1)).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(encode_gpadl(1, 1, std::span(&bad_offset, 1)).status(), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(encode_gpadl(1, 1, std::span(&wrong_count, 1)).status(), STATUS_INVALID_PARAMETER);
  const auto too_many = consecutive(0, kGpadlMaximumPages + 1);
  const GpaRangeSpec too_large{static_cast<uint32_t>(too_many.size() * 4096), 0, too_many};
  EXPECT_EQ(encode_gpadl(1, 1, std::span(&too_large, 1)).status(), STATUS_INVALID_PARAMETER);
}

// Senders that always send 240-byte messages: the padding is ignored.
TEST(GpadlMessages, MaximumLengthMessagesAreAccepted) {
  std::vector<uint8_t> header = golden("gpadl_header_4_pages");
  header.resize(kMaximumChannelMessageSize, 0xEE);
  auto reassembler = GpadlReassembler::begin(header);
  ASSERT_TRUE(reassembler);
  ASSERT_TRUE(reassembler->complete());
  const ReassembledGpadl gpadl = reassembler->take();
  ASSERT_EQ(gpadl.range_words.size(), 5u);
  EXPECT_EQ(gpadl.range_words[4], 0x10003u);

  std::vector<uint8_t> body = golden("gpadl_body_30_pages_part2");
  body.resize(kMaximumChannelMessageSize, 0xEE);
  auto second = GpadlReassembler::begin(golden("gpadl_header_30_pages_part1"));
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->add_body(body).ok());
  EXPECT_TRUE(second->complete());
}

// ---- one test per rejection -------------------------------------------------------------------

std::vector<uint8_t> header_message(uint16_t range_buflen, uint16_t range_count, size_t words) {
  GpadlHeaderMessage fixed{};
  fixed.child_relid = 1;
  fixed.gpadl = 7;
  fixed.range_buflen = range_buflen;
  fixed.range_count = range_count;
  const auto head = encode(fixed);
  std::vector<uint8_t> bytes(head.begin(), head.end());
  bytes.resize(bytes.size() + words * 8, 0x01);
  return bytes;
}

std::vector<uint8_t> body_message(uint32_t gpadl, size_t words) {
  GpadlBodyMessage fixed{};
  fixed.gpadl = gpadl;
  const auto head = encode(fixed);
  std::vector<uint8_t> bytes(head.begin(), head.end());
  bytes.resize(bytes.size() + words * 8, 0x02);
  return bytes;
}

GpadlFault begin_fault(const std::vector<uint8_t>& message) {
  GpadlFault fault{};
  EXPECT_EQ(GpadlReassembler::begin(message, &fault).status(), STATUS_DATA_ERROR);
  return fault;
}

TEST(GpadlReassembler, RejectsShortHeader) {
  auto message = header_message(16, 1, 0);
  message.resize(19);
  EXPECT_EQ(begin_fault(message), GpadlFault::kMessageTooShort);
}

TEST(GpadlReassembler, RejectsOverlongHeader) {
  EXPECT_EQ(begin_fault(header_message(16, 1, 28)), GpadlFault::kMessageTooLong);
}

TEST(GpadlReassembler, RejectsWrongTypeForHeader) {
  auto message = header_message(16, 1, 2);
  message[0] = 9;
  EXPECT_EQ(begin_fault(message), GpadlFault::kWrongMessageType);
}

TEST(GpadlReassembler, RejectsZeroRangeCount) {
  EXPECT_EQ(begin_fault(header_message(16, 0, 2)), GpadlFault::kZeroRangeCount);
}

TEST(GpadlReassembler, RejectsBufferLengthNotInWords) {
  EXPECT_EQ(begin_fault(header_message(20, 1, 2)), GpadlFault::kBufferLengthNotWords);
}

TEST(GpadlReassembler, RejectsBufferTooShortForItsRanges) {
  EXPECT_EQ(begin_fault(header_message(8, 1, 1)), GpadlFault::kBufferTooShort);
  EXPECT_EQ(begin_fault(header_message(24, 2, 3)), GpadlFault::kBufferTooShort);
  EXPECT_EQ(begin_fault(header_message(0, 1, 0)), GpadlFault::kBufferTooShort);
}

class GpadlBodyRejection : public ::testing::Test {
 protected:
  void SetUp() override {
    // Announces 30 words, carries 2.
    auto reassembler = GpadlReassembler::begin(header_message(240, 1, 2));
    ASSERT_TRUE(reassembler);
    reassembler_.emplace(std::move(*reassembler));
  }
  GpadlFault add(const std::vector<uint8_t>& message) {
    GpadlFault fault{};
    EXPECT_EQ(reassembler_->add_body(message, &fault), STATUS_DATA_ERROR);
    // The reassembler stays failed: even a good body is refused now.
    GpadlFault again{};
    EXPECT_EQ(reassembler_->add_body(body_message(7, 1), &again), STATUS_DATA_ERROR);
    EXPECT_EQ(again, fault);
    return fault;
  }
  std::optional<GpadlReassembler> reassembler_;
};

TEST_F(GpadlBodyRejection, RejectsShortBody) {
  auto message = body_message(7, 0);
  message.resize(15);
  EXPECT_EQ(add(message), GpadlFault::kMessageTooShort);
}

TEST_F(GpadlBodyRejection, RejectsOverlongBody) {
  EXPECT_EQ(add(body_message(7, 29)), GpadlFault::kMessageTooLong);
}

TEST_F(GpadlBodyRejection, RejectsWrongTypeForBody) {
  auto message = body_message(7, 1);
  message[0] = 8;
  EXPECT_EQ(add(message), GpadlFault::kWrongMessageType);
}

TEST_F(GpadlBodyRejection, RejectsBodyForAnotherGpadl) {
  EXPECT_EQ(add(body_message(8, 1)), GpadlFault::kBodyForOtherGpadl);
}

TEST_F(GpadlBodyRejection, RejectsBodyWithoutWords) {
  auto message = body_message(7, 0);
  message.resize(23);  // 7 stray bytes, no whole word
  EXPECT_EQ(add(message), GpadlFault::kBodyWithoutWords);
}

TEST(GpadlReassembler, RejectsBodyAfterComplete) {
  auto reassembler = GpadlReassembler::begin(golden("gpadl_header_4_pages"));
  ASSERT_TRUE(reassembler);
  ASSERT_TRUE(reassembler->complete());
  GpadlFault fault{};
  EXPECT_EQ(reassembler->add_body(body_message(0xe1e10, 1), &fault), STATUS_DATA_ERROR);
  EXPECT_EQ(fault, GpadlFault::kBodyAfterComplete);
}

TEST(GpadlReassembler, FaultNamesAreDistinct) {
  EXPECT_NE(to_string(GpadlFault::kBodyAfterComplete), to_string(GpadlFault::kBodyWithoutWords));
  EXPECT_EQ(to_string(GpadlFault::kNone), "none");
}

}  // namespace
}  // namespace vmb::wire
