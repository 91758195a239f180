/* SPDX-License-Identifier: MIT */
/* vmbkit-example-echo-loopback: the echo server and client in one process, on a loopback bus.
 * Exits 0 when every answer was right. */
#include <stdio.h>

#include "echo_device.h"

int main(void) {
  PDEVICE_OBJECT bus = NULL;
  NTSTATUS status = VmbKitLoopbackBusCreate(&bus);
  if (status != STATUS_SUCCESS) {
    fprintf(stderr, "VmbKitLoopbackBusCreate: %s\n", VmbKitStatusName(status));
    return 1;
  }
  VMBCHANNEL server = NULL;
  int failed = 1;
  if (EchoServerStart(bus, &server) == STATUS_SUCCESS) {
    failed = EchoClientRun(bus);
    EchoServerStop(server);
  }
  VmbKitBusClose(bus);
  return failed;
}
