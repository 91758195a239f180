// SPDX-License-Identifier: MIT
// GpaRanges: an owned list of GPA ranges {byte_count, byte_offset, PFNs}, the neutral form in
// which external data and GPADLs travel between the memory layer and the layers that put them
// on the wire. The storage is the wire's own range layout as u64 words (per range: one word
// byte_count | byte_offset << 32, then its PFNs), so words() is exactly a GPADL's range buffer
// and a GPA-direct packet's range block, and ranges() feeds wire::encode_gpa_direct_header.
// Also here: the receiver's validation of range words against a guest's page count. Not here:
// packet or message framing (wire), MDLs (mdl_chain.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vmbkit/status.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb {

// Why a list of ranges was refused: one value per check, in the order the checks run.
enum class RangeFault : uint8_t {
  kNone = 0,
  kNoRanges,             // range count 0, or nothing to describe
  kTooManyRanges,        // more ranges than the words could hold
  kZeroByteCount,        // a range with byte_count == 0
  kByteOffsetNotInPage,  // a range with byte_offset >= 4096
  kPfnCountMismatch,     // a range's PFNs != ceil((byte_offset + byte_count) / 4096)
  kRangePastEnd,         // a range's header or PFNs pass the words present
  kWordsLeftOver,        // words remain after range_count ranges
  kPfnOutsideGuest,      // a PFN >= the guest's page count
};

// A short stable name for logs ("PFN outside guest memory").
std::string_view to_string(RangeFault fault);

// An owned, shape-valid list of GPA ranges: every range has byte_count >= 1, byte_offset <
// 4096 and exactly pfn_count(byte_offset, byte_count) PFNs. Whether the PFNs lie inside some
// guest's memory is checked separately (check_inside, from_words). Move-only: ranges() points
// into the words. Not thread-safe; one owner at a time.
class GpaRanges {
 public:
  GpaRanges() = default;
  GpaRanges(GpaRanges&&) noexcept = default;
  GpaRanges& operator=(GpaRanges&&) noexcept = default;
  GpaRanges(const GpaRanges&) = delete;
  GpaRanges& operator=(const GpaRanges&) = delete;
  ~GpaRanges() = default;

  // Parses received range words: exactly `range_count` ranges filling all of `words`, each
  // shape-valid, every PFN < guest_page_count. On failure returns STATUS_DATA_ERROR (the peer's
  // bytes are bad) and sets *fault if given.
  static Result<GpaRanges> from_words(std::vector<uint64_t> words, uint32_t range_count,
                                      uint64_t guest_page_count, RangeFault* fault = nullptr);

  // Removes every range (keeps the capacity, so a sender can reuse one list).
  void clear();

  // Appends one range. STATUS_INVALID_PARAMETER (and *fault) if it is not shape-valid.
  Status append(uint32_t byte_count, uint32_t byte_offset, std::span<const uint64_t> pfns,
                RangeFault* fault = nullptr);

  // STATUS_INVALID_PARAMETER (and *fault = kPfnOutsideGuest) unless every PFN is below
  // guest_page_count.
  Status check_inside(uint64_t guest_page_count, RangeFault* fault = nullptr) const;

  [[nodiscard]] size_t size() const { return ranges_.size(); }
  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  // The ranges, in order; their pfns spans point into words().
  [[nodiscard]] std::span<const wire::GpaRangeSpec> ranges() const { return ranges_; }
  // The wire layout of all ranges (8 bytes per range header + 8 per PFN).
  [[nodiscard]] std::span<const uint64_t> words() const { return words_; }
  // Sum of the ranges' byte counts.
  [[nodiscard]] uint64_t total_bytes() const { return total_bytes_; }
  // Number of PFNs over all ranges.
  [[nodiscard]] uint64_t total_pfns() const { return words_.size() - ranges_.size(); }

 private:
  void rebind_spans();
  std::vector<uint64_t> words_;
  std::vector<wire::GpaRangeSpec> ranges_;
  uint64_t total_bytes_ = 0;
};

// The u64 word holding a range's byte_count (low half) and byte_offset (high half).
constexpr uint64_t gpa_range_header_word(uint32_t byte_count, uint32_t byte_offset) {
  return uint64_t{byte_count} | (uint64_t{byte_offset} << 32);
}

}  // namespace vmb
