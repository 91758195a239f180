// SPDX-License-Identifier: MIT
// Ring-file geometry and mapping for vmbkit-ring (see ring_file.h). One mmap of the whole file:
// the rings split copies at the end of the data area, so no double mapping is needed.
#include "ring_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "packet_text.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::ring_tool {
namespace {

constexpr uint64_t kPage = wire::kPageSize;

uint32_t checked_pages(uint64_t pages, const char* option) {
  if (pages == 0 || pages > kMaximumDataPages) {
    throw UsageError(fmt::format("{} {} is out of range (1 to {} data pages)", option, pages,
                                 kMaximumDataPages));
  }
  return static_cast<uint32_t>(pages);
}

std::string system_error(const std::string& what, const std::string& path) {
  return fmt::format("{} {}: {}", what, path, std::strerror(errno));
}

}  // namespace

const char* ring_name(RingId ring) {
  return ring == RingId::kGuestToHost ? "guest->host" : "host->guest";
}

uint64_t RingGeometry::file_size() const { return (2ULL + pages + receive_pages) * kPage; }

uint32_t RingGeometry::data_pages(RingId ring) const {
  return ring == RingId::kGuestToHost ? pages : receive_pages;
}

uint64_t RingGeometry::control_offset(RingId ring) const {
  return ring == RingId::kGuestToHost ? 0 : (1ULL + pages) * kPage;
}

RingGeometry geometry_for_init(std::optional<uint64_t> pages,
                               std::optional<uint64_t> receive_pages) {
  RingGeometry geometry;
  geometry.pages = checked_pages(pages.value_or(1), "--pages");
  geometry.receive_pages = checked_pages(receive_pages.value_or(geometry.pages), "--receive-pages");
  return geometry;
}

RingGeometry geometry_for_file(uint64_t file_size, std::optional<uint64_t> pages,
                               std::optional<uint64_t> receive_pages) {
  if (pages || receive_pages) {
    const RingGeometry geometry = geometry_for_init(pages, receive_pages);
    if (geometry.file_size() != file_size) {
      throw UsageError(fmt::format(
          "the file has {} bytes, but --pages {} --receive-pages {} need (2 + {} + {}) * 4096 = {}",
          file_size, geometry.pages, geometry.receive_pages, geometry.pages, geometry.receive_pages,
          geometry.file_size()));
    }
    return geometry;
  }
  // Two equal rings of (1 + N) pages each.
  if (file_size % (2 * kPage) != 0 || file_size < 4 * kPage) {
    throw UsageError(fmt::format(
        "the file has {} bytes, which is not two equal rings of a control page and at least one "
        "data page; give --pages/--receive-pages for unequal rings",
        file_size));
  }
  const uint64_t data_pages = file_size / (2 * kPage) - 1;
  RingGeometry geometry;
  geometry.pages = checked_pages(data_pages, "--pages");
  geometry.receive_pages = geometry.pages;
  return geometry;
}

RingFile RingFile::create(const std::string& path, const RingGeometry& geometry) {
  // O_TRUNC then ftruncate: every byte of the new size reads as zero, old contents included.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UsageError(system_error("cannot create", path));
  if (::ftruncate(fd, static_cast<off_t>(geometry.file_size())) != 0) {
    const std::string message = system_error("cannot size", path);
    ::close(fd);
    throw UsageError(message);
  }
  void* base = ::mmap(nullptr, geometry.file_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    const std::string message = system_error("cannot map", path);
    ::close(fd);
    throw UsageError(message);
  }
  return RingFile(fd, static_cast<std::byte*>(base), geometry);
}

RingFile RingFile::open(const std::string& path, std::optional<uint64_t> pages,
                        std::optional<uint64_t> receive_pages, MapMode mode) {
  const int fd =
      ::open(path.c_str(), (mode == MapMode::kReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw UsageError(system_error("cannot open", path));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    throw UsageError(fmt::format("{} is not a regular file", path));
  }
  RingGeometry geometry;
  try {
    geometry = geometry_for_file(static_cast<uint64_t>(status.st_size), pages, receive_pages);
  } catch (...) {
    ::close(fd);
    throw;
  }
  // A snapshot is a private copy-on-write mapping: even if something wrote through it, the
  // file would not change, so dump can never disturb a ring.
  const int flags = mode == MapMode::kReadWrite ? MAP_SHARED : MAP_PRIVATE;
  void* base = ::mmap(nullptr, geometry.file_size(), PROT_READ | PROT_WRITE, flags, fd, 0);
  if (base == MAP_FAILED) {
    const std::string message = system_error("cannot map", path);
    ::close(fd);
    throw UsageError(message);
  }
  return RingFile(fd, static_cast<std::byte*>(base), geometry);
}

RingFile::RingFile(int fd, std::byte* base, const RingGeometry& geometry)
    : fd_(fd), base_(base), geometry_(geometry) {}

RingFile::RingFile(RingFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      base_(std::exchange(other.base_, nullptr)),
      geometry_(other.geometry_) {}

RingFile::~RingFile() {
  if (base_ != nullptr) ::munmap(base_, geometry_.file_size());
  if (fd_ >= 0) ::close(fd_);
}

ring::RingView RingFile::view(RingId ring) const {
  ring::RingView view;
  // Safety: control_offset() + 4096 + data_pages * 4096 <= file_size(), the mapped length, and
  // every offset is a multiple of 4096 from a page-aligned mapping.
  view.control = base_ + geometry_.control_offset(ring);
  view.data = view.control + wire::kControlPageSize;
  view.data_size = geometry_.data_pages(ring) * wire::kPageSize;
  view.data_doubled = false;
  return view;
}

}  // namespace vmb::ring_tool
