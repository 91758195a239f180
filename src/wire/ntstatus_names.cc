// SPDX-License-Identifier: MIT
// The C entry point for status names; the table itself lives in vmbkit/ntstatus.h.
#include "vmbkit/ntstatus.h"
#include "vmbkit/status.h"

extern "C" const char* VmbKitStatusName(NTSTATUS Status) {
  // Every name in the table is a string literal, so data() is NUL-terminated.
  return vmb::to_string(vmb::Status{Status}).data();
}
