/* SPDX-License-Identifier: MIT */
/* vmbkit-example-echo-client SOCKET: the echo client as a guest process. It joins the bus of a
 * running vmbkit-example-echo-server, runs the exchanges once and exits 0 when every answer was
 * right. */
#include <stdio.h>

#include "echo_device.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
    return 2;
  }
  PDEVICE_OBJECT bus = NULL;
  NTSTATUS status = VmbKitBusConnect(argv[1], &bus);
  if (status != STATUS_SUCCESS) {
    fprintf(stderr, "VmbKitBusConnect %s: %s\n", argv[1], VmbKitStatusName(status));
    return 1;
  }
  const int failed = EchoClientRun(bus);
  VmbKitBusClose(bus);
  return failed;
}
