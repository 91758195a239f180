// SPDX-License-Identifier: MIT
// Reads the golden vectors in ../shared/vectors (format in their README.md) into plain structs:
// header keys as strings, key=value tokens on demand, and the offset lines as bytes. Test-only;
// the vectors are normative and are read at test time, never copied into the tree.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vmb::testing {

// One `# name:` block of a .vec file.
struct Vector {
  std::string name;
  std::map<std::string, std::string> headers;  // "kind" -> "ring-write", "before" -> "..."
  // (offset, bytes) runs in file order: for ring vectors the offset is into the data area.
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> runs;

  // The header's value ("" when absent).
  [[nodiscard]] std::string header(const std::string& key) const;
  // Every `key=value` token of a header line with that key (`range=` may repeat).
  [[nodiscard]] std::vector<std::string> tokens(const std::string& header_key,
                                                const std::string& token_key) const;
  // The single numeric token `token_key` of header `header_key` (hex 0x.. or decimal).
  [[nodiscard]] std::optional<uint64_t> number(const std::string& header_key,
                                               const std::string& token_key) const;
  // All bytes of the offset lines laid into a buffer of `size` bytes (zeros elsewhere).
  [[nodiscard]] std::vector<uint8_t> image(size_t size) const;
  // The offset lines concatenated in file order (a control message, or ring bytes in order).
  [[nodiscard]] std::vector<uint8_t> concatenated() const;
};

// Parses one .vec file from the vectors directory ("ring-inband.vec"). Aborts the test run
// with a clear message if the file is missing or malformed.
std::vector<Vector> load_vectors(const std::string& file_name);

// The vectors directory (VMBKIT_VECTORS_DIR, overridable with the environment variable).
std::string vectors_dir();

// Parses a number in the vectors' notation: 0x-prefixed hex or decimal.
uint64_t parse_number(const std::string& text);

// Parses a hex string ("0102ff", "-" = empty) into bytes.
std::vector<uint8_t> parse_hex(const std::string& text);

// Expands a packet payload token: hex, "-" (empty) or "pattern:N" (bytes i & 0xff).
std::vector<uint8_t> parse_payload(const std::string& text);

}  // namespace vmb::testing
