// SPDX-License-Identifier: MIT
// DoubleMappedBuffer (double_mapped_buffer.h): reserve 2 * size bytes of address space, then
// map the same memfd over both halves with MAP_FIXED | MAP_SHARED. Test-only.
#include "testing/double_mapped_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace vmb::testing {
namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::abort();
}

}  // namespace

DoubleMappedBuffer::DoubleMappedBuffer(uint32_t size) : size_(size) {
  const auto page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  if (size == 0 || size % page != 0) {
    std::fprintf(stderr, "DoubleMappedBuffer: size %u is not a positive page multiple\n", size);
    std::abort();
  }
  fd_ = memfd_create("vmbkit-test-ring", MFD_CLOEXEC);
  if (fd_ < 0) die("memfd_create");
  if (ftruncate(fd_, size) != 0) die("ftruncate");
  // Reserve the whole window first so nothing else can land between the two mappings.
  void* window = mmap(nullptr, size_t{size} * 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (window == MAP_FAILED) die("mmap reserve");
  auto* base = static_cast<std::byte*>(window);
  for (int copy = 0; copy < 2; ++copy) {
    void* at = base + size_t{size} * static_cast<size_t>(copy);
    if (mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_, 0) != at) {
      die("mmap fixed");
    }
  }
  data_ = base;
}

DoubleMappedBuffer::~DoubleMappedBuffer() {
  if (data_ != nullptr) munmap(data_, size_t{size_} * 2);
  if (fd_ >= 0) close(fd_);
}

}  // namespace vmb::testing
