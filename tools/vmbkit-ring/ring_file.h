// SPDX-License-Identifier: MIT
// RingFile: a ring file mapped into memory. The file has the layout of a channel's ring GPADL
// (wire-format.md §1.3): the guest→host ring (a 4096-byte control page and N data pages), then
// the host→guest ring (control page and M data pages). RingFile works out N and M, maps the
// file with mmap and hands out a ring::RingView per ring; the rings do all the reading and
// writing. Not here: any packet logic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "vmbkit/ring/ring_view.h"

namespace vmb::ring_tool {

// The two rings of a ring file, in file order.
enum class RingId : uint8_t {
  kGuestToHost,  // pages [0, 1 + N): the guest writes it, the host reads it
  kHostToGuest,  // pages [1 + N, 2 + N + M): the host writes it, the guest reads it
};

// Which end of the channel a command acts as: --side guest|host.
enum class Side : uint8_t { kGuest, kHost };

// The ring a side writes (guest→host for the guest) and the one it reads.
constexpr RingId ring_written_by(Side side) {
  return side == Side::kGuest ? RingId::kGuestToHost : RingId::kHostToGuest;
}
constexpr RingId ring_read_by(Side side) {
  return side == Side::kGuest ? RingId::kHostToGuest : RingId::kGuestToHost;
}

// "guest->host" or "host->guest".
const char* ring_name(RingId ring);

// Data pages per ring: N for the guest→host ring (--pages), M for host→guest
// (--receive-pages).
struct RingGeometry {
  uint32_t pages = 1;
  uint32_t receive_pages = 1;

  [[nodiscard]] uint64_t file_size() const;
  [[nodiscard]] uint32_t data_pages(RingId ring) const;
  // Byte offset of a ring's control page in the file.
  [[nodiscard]] uint64_t control_offset(RingId ring) const;
};

// The largest --pages / --receive-pages: a data area of at most ring::kMaximumDataSize.
inline constexpr uint32_t kMaximumDataPages = ring::kMaximumDataSize / 4096;

// The geometry from --pages / --receive-pages for `init`: receive_pages defaults to pages,
// pages to 1. Throws UsageError for 0 or more than kMaximumDataPages.
RingGeometry geometry_for_init(std::optional<uint64_t> pages,
                               std::optional<uint64_t> receive_pages);

// The geometry of an existing file of `file_size` bytes. With neither option, the file splits
// into two equal rings; with either, the same defaults as init apply and the size must match.
// Throws UsageError when the size does not fit.
RingGeometry geometry_for_file(uint64_t file_size, std::optional<uint64_t> pages,
                               std::optional<uint64_t> receive_pages);

enum class MapMode : uint8_t {
  kReadWrite,  // MAP_SHARED: what the rings write reaches the file
  kSnapshot,   // MAP_PRIVATE, copy on write: nothing ever reaches the file (dump)
};

// An open, mapped ring file. Move-only; unmaps and closes on destruction.
class RingFile {
 public:
  // Creates (or truncates) `path` to the geometry's size, zero-filled, and maps it.
  static RingFile create(const std::string& path, const RingGeometry& geometry);
  // Opens an existing ring file. Throws UsageError (missing file, wrong size, ...).
  static RingFile open(const std::string& path, std::optional<uint64_t> pages,
                       std::optional<uint64_t> receive_pages, MapMode mode);

  RingFile(RingFile&& other) noexcept;
  RingFile& operator=(RingFile&&) = delete;
  RingFile(const RingFile&) = delete;
  RingFile& operator=(const RingFile&) = delete;
  ~RingFile();

  [[nodiscard]] const RingGeometry& geometry() const { return geometry_; }
  // A view of one ring; valid while this RingFile lives.
  [[nodiscard]] ring::RingView view(RingId ring) const;

 private:
  RingFile(int fd, std::byte* base, const RingGeometry& geometry);

  int fd_ = -1;
  std::byte* base_ = nullptr;
  RingGeometry geometry_;
};

}  // namespace vmb::ring_tool
