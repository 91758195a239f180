/* SPDX-License-Identifier: MIT */
/* The packaging test's C11 consumer: the C headers compile as C and a C program links
 * libvmbkit (which is C++ inside) through the installed package. Not a unit test. */
#include <stdio.h>
#include <string.h>

#include "vmbkit/nt_types.h"
#include "vmbkit/ntstatus.h"
/* The KMCL C API header, once it exists, must compile as C11 on its own too. */
#ifdef __has_include
#if __has_include("vmbkit/kmcl.h")
#include "vmbkit/kmcl.h"
#endif
#endif

int main(void) {
  NTSTATUS status = STATUS_BUFFER_TOO_SMALL;
  if (NT_SUCCESS(status)) {
    fprintf(stderr, "consumer_c: an error status passed NT_SUCCESS\n");
    return 1;
  }
  if (strcmp(VmbKitStatusName(status), "STATUS_BUFFER_TOO_SMALL") != 0) {
    fprintf(stderr, "consumer_c: VmbKitStatusName gave the wrong name\n");
    return 1;
  }
  printf("consumer_c: ok\n");
  return 0;
}
