// SPDX-License-Identifier: MIT
// Golden-vector parser: a line-oriented reader of the .vec format described in
// ../shared/vectors/README.md. It accepts exactly that format and fails loudly on anything else.
#include "testing/vector_file.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vmb::testing {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "vector_file: %s\n", what.c_str());
  std::abort();
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::string vectors_dir() {
  if (const char* env = std::getenv("VMBKIT_VECTORS_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return VMBKIT_VECTORS_DIR;
}

uint64_t parse_number(const std::string& text) {
  if (text.empty()) fail("empty number");
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(text, &used, 0);
  } catch (const std::exception&) {
    fail("bad number '" + text + "'");
  }
  if (used != text.size()) fail("bad number '" + text + "'");
  return value;
}

std::vector<uint8_t> parse_hex(const std::string& text) {
  std::vector<uint8_t> bytes;
  if (text == "-") return bytes;
  if (text.size() % 2 != 0) fail("odd hex length '" + text + "'");
  for (size_t i = 0; i < text.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(parse_number("0x" + text.substr(i, 2))));
  }
  return bytes;
}

std::vector<uint8_t> parse_payload(const std::string& text) {
  if (text.rfind("pattern:", 0) == 0) {
    const uint64_t count = parse_number(text.substr(8));
    std::vector<uint8_t> bytes(count);
    for (uint64_t i = 0; i < count; ++i) bytes[i] = static_cast<uint8_t>(i & 0xffu);
    return bytes;
  }
  return parse_hex(text);
}

std::string Vector::header(const std::string& key) const {
  const auto found = headers.find(key);
  return found == headers.end() ? "" : found->second;
}

std::vector<std::string> Vector::tokens(const std::string& header_key,
                                        const std::string& token_key) const {
  std::vector<std::string> values;
  std::istringstream words(header(header_key));
  std::string word;
  const std::string prefix = token_key + "=";
  while (words >> word) {
    if (word.rfind(prefix, 0) == 0) values.push_back(word.substr(prefix.size()));
  }
  return values;
}

std::optional<uint64_t> Vector::number(const std::string& header_key,
                                       const std::string& token_key) const {
  const auto values = tokens(header_key, token_key);
  if (values.empty()) return std::nullopt;
  if (values.size() != 1) fail(name + ": token " + token_key + " repeats");
  return parse_number(values.front());
}

std::vector<uint8_t> Vector::image(size_t size) const {
  std::vector<uint8_t> bytes(size, 0);
  for (const auto& [offset, run] : runs) {
    if (offset + run.size() > size) fail(name + ": offset line outside the image");
    std::copy(run.begin(), run.end(), bytes.begin() + offset);
  }
  return bytes;
}

std::vector<uint8_t> Vector::concatenated() const {
  std::vector<uint8_t> bytes;
  for (const auto& run : runs) bytes.insert(bytes.end(), run.second.begin(), run.second.end());
  return bytes;
}

std::vector<Vector> load_vectors(const std::string& file_name) {
  const std::string path = vectors_dir() + "/" + file_name;
  std::ifstream file(path);
  if (!file) fail("cannot open " + path);
  std::vector<Vector> vectors;
  std::string line;
  while (std::getline(file, line)) {
    line = trim(line);
    if (line.empty()) continue;
    if (line.rfind("# name:", 0) == 0) {
      vectors.emplace_back();
      vectors.back().name = trim(line.substr(7));
      continue;
    }
    if (vectors.empty()) continue;  // file description before the first vector
    Vector& vector = vectors.back();
    if (line.rfind("offset ", 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) fail(path + ": bad offset line '" + line + "'");
      const auto offset =
          static_cast<uint32_t>(parse_number("0x" + trim(line.substr(7, colon - 7))));
      std::vector<uint8_t> run;
      std::istringstream hex(line.substr(colon + 1));
      std::string byte;
      while (hex >> byte) run.push_back(static_cast<uint8_t>(parse_number("0x" + byte)));
      // Consecutive lines extend the current run.
      if (!vector.runs.empty() &&
          vector.runs.back().first + vector.runs.back().second.size() == offset) {
        auto& last = vector.runs.back().second;
        last.insert(last.end(), run.begin(), run.end());
      } else {
        vector.runs.emplace_back(offset, std::move(run));
      }
      continue;
    }
    if (line.rfind("# ", 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      const std::string key = trim(line.substr(2, colon - 2));
      const std::string value = trim(line.substr(colon + 1));
      auto& slot = vector.headers[key];
      slot = slot.empty() ? value : slot + " " + value;  // repeated keys (note:) accumulate
      continue;
    }
    fail(path + ": unexpected line '" + line + "'");
  }
  if (vectors.empty()) fail(path + " holds no vectors");
  return vectors;
}

}  // namespace vmb::testing
