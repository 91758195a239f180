// SPDX-License-Identifier: MIT
// vmb::Guid: a 16-byte GUID held in the byte order it travels in on VMBus (wire-format.md §5.6:
// Microsoft's mixed-endian layout, Data1/Data2/Data3 little-endian, Data4 as written), with the
// canonical text form and conversion to and from the C GUID of nt_types.h. It is not a generator
// of new GUIDs and knows no device classes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "vmbkit/nt_types.h"

namespace vmb {

struct Guid {
  // Wire order: "f8615163-df3e-46c5-913f-f2d2f965ed0e" is 63 51 61 f8 3e df c5 46 91 3f ...
  std::array<uint8_t, 16> bytes{};

  // Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits in either case), optionally in
  // braces as Windows writes it. Anything else (other lengths, missing dashes, non-hex) →
  // nullopt.
  static constexpr std::optional<Guid> parse(std::string_view text);

  // The lower-case canonical text, without braces.
  [[nodiscard]] std::string to_string() const;

  // From / to the C struct, whose Data1..Data3 are native integers.
  static constexpr Guid from_nt(const GUID& guid);
  [[nodiscard]] constexpr GUID to_nt() const;

  [[nodiscard]] constexpr bool is_zero() const { return *this == Guid{}; }

  friend constexpr bool operator==(const Guid&, const Guid&) = default;
  friend constexpr auto operator<=>(const Guid&, const Guid&) = default;
};
static_assert(sizeof(Guid) == 16 && alignof(Guid) == 1);
static_assert(std::is_trivially_copyable_v<Guid>);
static_assert(std::has_unique_object_representations_v<Guid>);

// Writes to_string() (lets GoogleTest print GUIDs readably).
std::ostream& operator<<(std::ostream& stream, const Guid& guid);

namespace guid_detail {

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Text position of each wire byte: the three leading fields are reversed (little-endian).
inline constexpr std::array<uint8_t, 16> kTextOffsetOfWireByte = {
    6,  4,  2,  0,  // Data1, u32 little-endian
    11, 9,          // Data2
    16, 14,         // Data3
    19, 21,         // Data4[0..1]
    24, 26, 28, 30, 32, 34};

}  // namespace guid_detail

constexpr std::optional<Guid> Guid::parse(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') {
    text = text.substr(1, 36);
  }
  if (text.size() != 36) return std::nullopt;
  for (const size_t dash : std::array<size_t, 4>{8, 13, 18, 23}) {
    if (text[dash] != '-') return std::nullopt;
  }
  Guid guid;
  for (size_t i = 0; i < guid.bytes.size(); ++i) {
    const size_t at = guid_detail::kTextOffsetOfWireByte[i];
    const int high = guid_detail::hex_value(text[at]);
    const int low = guid_detail::hex_value(text[at + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    guid.bytes[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return guid;
}

constexpr Guid Guid::from_nt(const GUID& guid) {
  Guid result;
  for (size_t i = 0; i < 4; ++i) result.bytes[i] = static_cast<uint8_t>(guid.Data1 >> (8 * i));
  for (size_t i = 0; i < 2; ++i) {
    result.bytes[4 + i] = static_cast<uint8_t>(guid.Data2 >> (8 * i));
    result.bytes[6 + i] = static_cast<uint8_t>(guid.Data3 >> (8 * i));
  }
  for (size_t i = 0; i < 8; ++i) result.bytes[8 + i] = guid.Data4[i];
  return result;
}

constexpr GUID Guid::to_nt() const {
  GUID guid{};
  for (size_t i = 0; i < 4; ++i) guid.Data1 |= uint32_t{bytes[i]} << (8 * i);
  guid.Data2 = static_cast<uint16_t>(bytes[4] | (bytes[5] << 8));
  guid.Data3 = static_cast<uint16_t>(bytes[6] | (bytes[7] << 8));
  for (size_t i = 0; i < 8; ++i) guid.Data4[i] = bytes[8 + i];
  return guid;
}

}  // namespace vmb
