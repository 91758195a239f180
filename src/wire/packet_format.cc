// SPDX-License-Identifier: MIT
// Names for wire::CorruptReason (packet_format.h): short, stable strings that logs, the
// channel's failure record and `vmbkit-ring dump` show. Nothing else lives here.
#include "vmbkit/wire/packet_format.h"

namespace vmb::wire {

std::string_view to_string(CorruptReason reason) {
  switch (reason) {
    case CorruptReason::kNone:
      return "not corrupt";
    case CorruptReason::kIndexOutOfRange:
      return "index out of range";
    case CorruptReason::kIndexMisaligned:
      return "index not a multiple of 8";
    case CorruptReason::kTooFewBytesAvailable:
      return "fewer than 24 bytes available";
    case CorruptReason::kOffset8BelowMinimum:
      return "offset8 < 2";
    case CorruptReason::kOffset8AboveLen8:
      return "offset8 > len8";
    case CorruptReason::kPacketBeyondAvailable:
      return "packet beyond the bytes available";
    case CorruptReason::kPacketTooLarge:
      return "packet larger than the maximum";
    case CorruptReason::kUnknownType:
      return "unknown packet type";
    case CorruptReason::kUndefinedFlag:
      return "undefined flag bit";
    case CorruptReason::kGpaHeaderTooShort:
      return "GPA-direct header too short";
    case CorruptReason::kGpaZeroRangeCount:
      return "GPA-direct range count 0";
    case CorruptReason::kGpaZeroByteCount:
      return "GPA range byte_count 0";
    case CorruptReason::kGpaByteOffsetNotInPage:
      return "GPA range byte_offset >= 4096";
    case CorruptReason::kGpaRangesBeyondOffset8:
      return "GPA ranges pass offset8";
    case CorruptReason::kTransferPageHeaderTooShort:
      return "transfer-page header too short";
    case CorruptReason::kTransferPageRangesBeyondOffset8:
      return "transfer-page ranges pass offset8";
    case CorruptReason::kUnusableView:
      return "unusable ring view";
  }
  return "unknown corrupt reason";
}

}  // namespace vmb::wire
