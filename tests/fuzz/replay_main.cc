// SPDX-License-Identifier: MIT
// A main() for fuzz targets in ordinary builds: feeds every file named on the command line (or
// found in a named directory) to LLVMFuzzerTestOneInput once, so each corpus runs as a
// regression test without libFuzzer. Fails when no input was found, so an empty corpus never
// passes silently.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool replay_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::vector<char> bytes{std::istreambuf_iterator<char>(file),
                                std::istreambuf_iterator<char>()};
  // A copy in its own allocation, so ASan sees reads past the input's end.
  std::vector<uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
        if (entry.is_regular_file()) {
          if (!replay_file(entry.path())) return 1;
          ++replayed;
        }
      }
    } else {
      if (!replay_file(path)) return 1;
      ++replayed;
    }
  }
  std::printf("replay: %zu inputs, no crash\n", replayed);
  return replayed > 0 ? 0 : 1;
}
