// SPDX-License-Identifier: MIT
// Parsing and formatting for vmbkit-ring (see packet_text.h). Parsers are strict: a value that
// does not fit, a stray character or a wrong PFN count is a usage error with a message that
// names the value, never silently truncated.
#include "packet_text.h"

#include <fmt/format.h>

#include <limits>

#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::ring_tool {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits `text` at every `separator` (an empty text gives one empty piece).
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      pieces.push_back(text.substr(start));
      return pieces;
    }
    pieces.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

uint64_t parse_number(std::string_view text, uint64_t maximum, std::string_view what) {
  const auto bad = [&](std::string_view why) {
    return UsageError(fmt::format("{} '{}' {} (decimal or 0x-prefixed hex)", what, text, why));
  };
  uint64_t base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  if (digits.empty()) throw bad("is not a number");
  uint64_t value = 0;
  for (const char c : digits) {
    const int digit = hex_digit(c);
    if (digit < 0 || static_cast<uint64_t>(digit) >= base) throw bad("is not a number");
    if (value > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(digit)) / base) {
      throw bad("is too large");
    }
    value = value * base + static_cast<uint64_t>(digit);
  }
  if (value > maximum) throw bad(fmt::format("is larger than {}", maximum));
  return value;
}

std::vector<std::byte> parse_hex(std::string_view text) {
  if (text.size() % 2 != 0) {
    throw UsageError(fmt::format("payload '{}' has an odd number of hex digits", text));
  }
  std::vector<std::byte> bytes;
  bytes.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = hex_digit(text[i]);
    const int low = hex_digit(text[i + 1]);
    if (high < 0 || low < 0) {
      throw UsageError(fmt::format("payload '{}' is not hex (two digits per byte)", text));
    }
    bytes.push_back(static_cast<std::byte>(high * 16 + low));
  }
  return bytes;
}

GpaArgument parse_gpa_argument(std::string_view text) {
  const std::vector<std::string_view> fields = split(text, ':');
  if (fields.size() != 3) {
    throw UsageError(fmt::format("--gpa '{}' is not BYTES:OFFSET:PFN[,PFN...]", text));
  }
  GpaArgument range;
  range.byte_count = static_cast<uint32_t>(
      parse_number(fields[0], std::numeric_limits<uint32_t>::max(), "--gpa byte count"));
  range.byte_offset =
      static_cast<uint32_t>(parse_number(fields[1], wire::kPageSize - 1, "--gpa byte offset"));
  if (range.byte_count == 0) throw UsageError(fmt::format("--gpa '{}': byte count is 0", text));
  for (const std::string_view pfn : split(fields[2], ',')) {
    range.pfns.push_back(parse_number(pfn, std::numeric_limits<uint64_t>::max(), "--gpa PFN"));
  }
  const uint64_t needed = wire::pfn_count(range.byte_offset, range.byte_count);
  if (needed > wire::kMaximumPfnsPerRange) {
    throw UsageError(fmt::format("--gpa '{}' spans {} pages; a range holds at most {}", text,
                                 needed, wire::kMaximumPfnsPerRange));
  }
  if (range.pfns.size() != needed) {
    throw UsageError(
        fmt::format("--gpa '{}': {} bytes at offset {} span {} page(s), so {} PFN(s) "
                    "are needed, not {}",
                    text, range.byte_count, range.byte_offset, needed, needed, range.pfns.size()));
  }
  return range;
}

std::string to_hex(const std::byte* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    const auto value = static_cast<unsigned>(bytes[i]);
    text.push_back(kDigits[value >> 4U]);
    text.push_back(kDigits[value & 0xFU]);
  }
  return text;
}

std::string hex_number(uint64_t value) { return fmt::format("{:#x}", value); }

std::string format_packet(const wire::PacketView& packet) {
  std::string line = fmt::format("type={} flags={} trans_id={} payload={}",
                                 hex_number(static_cast<uint16_t>(packet.type)),
                                 hex_number(packet.flags), hex_number(packet.transaction_id),
                                 to_hex(packet.payload.data(), packet.payload.size()));
  if (packet.type == wire::PacketType::kDataUsingGpaDirect) {
    line += " ranges=";
    const char* range_separator = "";
    for (const wire::GpaRange range : packet.gpa_ranges) {
      line += fmt::format("{}{}:{}:", range_separator, range.byte_count, range.byte_offset);
      range_separator = ";";
      for (uint32_t i = 0; i < range.pfns.size(); ++i) {
        line += fmt::format("{}{}", i == 0 ? "" : ",", hex_number(range.pfns[i]));
      }
    }
  } else if (packet.type == wire::PacketType::kDataUsingTransferPages) {
    line += fmt::format(" pageset={} ranges=", hex_number(packet.transfer_page_set_id));
    for (uint32_t i = 0; i < packet.transfer_page_ranges.size(); ++i) {
      const wire::TransferPageRange range = packet.transfer_page_ranges[i];
      line += fmt::format("{}{}:{}", i == 0 ? "" : ";", range.byte_count, range.byte_offset);
    }
  }
  return line;
}

}  // namespace vmb::ring_tool
