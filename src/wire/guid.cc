// SPDX-License-Identifier: MIT
// Text output of vmb::Guid. Parsing and the C-struct conversions are constexpr in the header;
// this file holds only what needs std::string or streams.
#include "vmbkit/wire/guid.h"

#include <ostream>

namespace vmb {

std::string Guid::to_string() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(36, '-');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const size_t at = guid_detail::kTextOffsetOfWireByte[i];
    text[at] = kDigits[bytes[i] >> 4];
    text[at + 1] = kDigits[bytes[i] & 0xF];
  }
  return text;
}

std::ostream& operator<<(std::ostream& stream, const Guid& guid) {
  return stream << guid.to_string();
}

}  // namespace vmb
