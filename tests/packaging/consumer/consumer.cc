// SPDX-License-Identifier: MIT
// The packaging test's C++ consumer: includes installed public headers and calls into
// libvmbkit, proving the headers are complete and self-contained and the library links.
// Not a unit test: it checks only that the installed package works.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "vmbkit/ntstatus.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/ring_format.h"
#if __has_include("vmbkit/kmcl.h")
#include "vmbkit/kmcl.h"
#endif

int main() {
  const vmb::Status status{STATUS_DEVICE_REMOVED};
  if (vmb::to_string(status) != "STATUS_DEVICE_REMOVED") {
    std::fprintf(stderr, "consumer_cxx: to_string gave the wrong name\n");
    return 1;
  }
  // A symbol from the library itself, not only inline header code.
  if (std::strcmp(VmbKitStatusName(STATUS_CANCELLED), "STATUS_CANCELLED") != 0) {
    std::fprintf(stderr, "consumer_cxx: VmbKitStatusName gave the wrong name\n");
    return 1;
  }
  static_assert(vmb::wire::kControlPageSize == 4096);
  std::printf("consumer_cxx: ok\n");
  return 0;
}
