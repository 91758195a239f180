// SPDX-License-Identifier: MIT
// GpaRanges: appending shape-checked ranges on the sending side, and parsing a peer's range
// words (a GPADL's range buffer) with every check of wire-format.md §4.2 item 4 plus the
// guest-memory bound of decisions.md §2. Reads private copies only, never shared memory.
#include "vmbkit/memory/gpa_ranges.h"

#include "vmbkit/wire/packet_format.h"

namespace vmb {
namespace {

RangeFault check_shape(uint32_t byte_count, uint32_t byte_offset, size_t pfn_count) {
  if (byte_count == 0) return RangeFault::kZeroByteCount;
  if (byte_offset >= wire::kPageSize) return RangeFault::kByteOffsetNotInPage;
  if (pfn_count != wire::pfn_count(byte_offset, byte_count)) return RangeFault::kPfnCountMismatch;
  return RangeFault::kNone;
}

Status fail(Status status, RangeFault reason, RangeFault* fault) {
  if (fault != nullptr) *fault = reason;
  return status;
}

}  // namespace

std::string_view to_string(RangeFault fault) {
  switch (fault) {
    case RangeFault::kNone:
      return "none";
    case RangeFault::kNoRanges:
      return "no ranges";
    case RangeFault::kTooManyRanges:
      return "more ranges than words";
    case RangeFault::kZeroByteCount:
      return "range byte_count 0";
    case RangeFault::kByteOffsetNotInPage:
      return "range byte_offset >= 4096";
    case RangeFault::kPfnCountMismatch:
      return "PFN count does not match the range";
    case RangeFault::kRangePastEnd:
      return "range passes the end of the words";
    case RangeFault::kWordsLeftOver:
      return "words left after the last range";
    case RangeFault::kPfnOutsideGuest:
      return "PFN outside guest memory";
  }
  return "<unknown>";
}

void GpaRanges::clear() {
  words_.clear();
  ranges_.clear();
  total_bytes_ = 0;
}

Status GpaRanges::append(uint32_t byte_count, uint32_t byte_offset, std::span<const uint64_t> pfns,
                         RangeFault* fault) {
  if (const RangeFault shape = check_shape(byte_count, byte_offset, pfns.size());
      shape != RangeFault::kNone) {
    return fail(Status{STATUS_INVALID_PARAMETER}, shape, fault);
  }
  const uint64_t* old_base = words_.data();
  words_.push_back(gpa_range_header_word(byte_count, byte_offset));
  const size_t first_pfn = words_.size();
  words_.insert(words_.end(), pfns.begin(), pfns.end());
  ranges_.push_back(wire::GpaRangeSpec{byte_count, byte_offset,
                                       std::span<const uint64_t>(words_).subspan(first_pfn)});
  total_bytes_ += byte_count;
  if (words_.data() != old_base) rebind_spans();
  return Status{};
}

void GpaRanges::rebind_spans() {
  size_t at = 0;
  for (wire::GpaRangeSpec& range : ranges_) {
    const size_t count = range.pfns.size();
    range.pfns = std::span<const uint64_t>(words_).subspan(at + 1, count);
    at += 1 + count;
  }
}

Status GpaRanges::check_inside(uint64_t guest_page_count, RangeFault* fault) const {
  for (const wire::GpaRangeSpec& range : ranges_) {
    for (const uint64_t pfn : range.pfns) {
      if (pfn >= guest_page_count) {
        return fail(Status{STATUS_INVALID_PARAMETER}, RangeFault::kPfnOutsideGuest, fault);
      }
    }
  }
  return Status{};
}

Result<GpaRanges> GpaRanges::from_words(std::vector<uint64_t> words, uint32_t range_count,
                                        uint64_t guest_page_count, RangeFault* fault) {
  const Status data_error{STATUS_DATA_ERROR};
  if (range_count == 0) return fail(data_error, RangeFault::kNoRanges, fault);
  // Every range needs a header word and at least one PFN.
  if (range_count > words.size() / 2) return fail(data_error, RangeFault::kTooManyRanges, fault);

  GpaRanges result;
  result.ranges_.reserve(range_count);
  size_t at = 0;
  for (uint32_t i = 0; i < range_count; ++i) {
    if (at >= words.size()) return fail(data_error, RangeFault::kRangePastEnd, fault);
    const uint64_t header = words[at];
    const auto byte_count = static_cast<uint32_t>(header);
    const auto byte_offset = static_cast<uint32_t>(header >> 32);
    if (byte_count == 0) return fail(data_error, RangeFault::kZeroByteCount, fault);
    if (byte_offset >= wire::kPageSize) {
      return fail(data_error, RangeFault::kByteOffsetNotInPage, fault);
    }
    // 64-bit arithmetic: at most 0x100001 PFNs, never an overflow.
    const uint64_t count = wire::pfn_count(byte_offset, byte_count);
    if (count > words.size() - at - 1) return fail(data_error, RangeFault::kRangePastEnd, fault);
    for (uint64_t p = 0; p < count; ++p) {
      if (words[at + 1 + p] >= guest_page_count) {
        return fail(data_error, RangeFault::kPfnOutsideGuest, fault);
      }
    }
    // Spans are bound after the words move into `result` (their buffer moves with them).
    result.ranges_.push_back(wire::GpaRangeSpec{byte_count, byte_offset, {}});
    result.total_bytes_ += byte_count;
    at += 1 + static_cast<size_t>(count);
  }
  if (at != words.size()) return fail(data_error, RangeFault::kWordsLeftOver, fault);
  result.words_ = std::move(words);
  size_t word = 0;
  for (wire::GpaRangeSpec& range : result.ranges_) {
    const auto count = static_cast<size_t>(wire::pfn_count(range.byte_offset, range.byte_count));
    range.pfns = std::span<const uint64_t>(result.words_).subspan(word + 1, count);
    word += 1 + count;
  }
  if (fault != nullptr) *fault = RangeFault::kNone;
  return result;
}

}  // namespace vmb
