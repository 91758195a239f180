/* SPDX-License-Identifier: MIT */
/* vmbkit-example-echo-server SOCKET: the echo server as a host process. It listens on SOCKET
 * (its directory is created private if missing), offers the echo channel to every guest that
 * connects, and serves until SIGINT or SIGTERM. It writes "ready" on stdout once listening. */
#include <signal.h>
#include <stdio.h>

#include "echo_device.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
    return 2;
  }
  /* Stop signals are taken synchronously below; blocked before the library starts threads,
   * which inherit the mask. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  PDEVICE_OBJECT bus = NULL;
  NTSTATUS status = VmbKitBusListen(argv[1], &bus);
  if (status != STATUS_SUCCESS) {
    fprintf(stderr, "VmbKitBusListen %s: %s\n", argv[1], VmbKitStatusName(status));
    return 1;
  }
  VMBCHANNEL server = NULL;
  if (EchoServerStart(bus, &server) != STATUS_SUCCESS) {
    VmbKitBusClose(bus);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  EchoServerStop(server);
  VmbKitBusClose(bus);
  return 0;
}
