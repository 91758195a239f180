/* SPDX-License-Identifier: MIT */
/* The packaging test's C11 consumer: the installed C API headers compile as C, and a C program
 * links libvmbkit (C++ inside: threads, allocation) through the installed package and runs a
 * little of it — a loopback bus created and closed. Not a unit test of the API. */
#include <stdio.h>
#include <string.h>

#include "vmbkit/kmcl.h"
#include "vmbkit/mdl.h"
#include "vmbkit/nt_types.h"
#include "vmbkit/ntstatus.h"

int main(void) {
  NTSTATUS status = STATUS_BUFFER_TOO_SMALL;
  PDEVICE_OBJECT bus = NULL;
  if (NT_SUCCESS(status)) {
    fprintf(stderr, "consumer_c: an error status passed NT_SUCCESS\n");
    return 1;
  }
  if (strcmp(VmbKitStatusName(status), "STATUS_BUFFER_TOO_SMALL") != 0) {
    fprintf(stderr, "consumer_c: VmbKitStatusName gave the wrong name\n");
    return 1;
  }
  status = VmbKitLoopbackBusCreate(&bus);
  if (status != STATUS_SUCCESS || bus == NULL) {
    fprintf(stderr, "consumer_c: VmbKitLoopbackBusCreate returned %s\n", VmbKitStatusName(status));
    return 1;
  }
  VmbKitBusClose(bus);
  printf("consumer_c: ok\n");
  return 0;
}
