/* SPDX-License-Identifier: MIT */
/* The echo device of vmbkit's examples: what its server (VSP) and client (VSC) agree on, and the
 * two halves as functions, so one process (loopback bus) or two (a bus over a Unix socket) can
 * run them. Written only against vmbkit/kmcl.h, as a KMCL driver would be.
 *
 * Protocol: the client sends ECHO_REQUEST messages. ECHO_OPERATION_ECHO: the server completes
 * the packet with the request's text, upper-cased. ECHO_OPERATION_SUM: the request carries
 * external data (an MDL); the server completes with ECHO_SUM_RESPONSE, the byte count and the
 * sum of the bytes it read from guest memory. */
#ifndef VMBKIT_EXAMPLES_ECHO_DEVICE_H_
#define VMBKIT_EXAMPLES_ECHO_DEVICE_H_

#include "vmbkit/kmcl.h"
#include "vmbkit/mdl.h"

/* The echo device's interface type and its one instance (defined in echo_server.c). */
extern const GUID kEchoInterfaceType;
extern const GUID kEchoInterfaceInstance;

enum { ECHO_OPERATION_ECHO = 1, ECHO_OPERATION_SUM = 2 };
enum { ECHO_TEXT_BYTES = 56 };

typedef struct _ECHO_REQUEST {
  UINT32 Operation;
  UINT32 TextLength; /* ECHO_OPERATION_ECHO: bytes used in Text */
  char Text[ECHO_TEXT_BYTES];
} ECHO_REQUEST; /* 64 bytes: a multiple of 8, as packets are */

typedef struct _ECHO_SUM_RESPONSE {
  UINT64 ByteCount;
  UINT64 Sum;
} ECHO_SUM_RESPONSE;

/* The server: offers the echo channel on Bus and serves it until EchoServerStop. */
NTSTATUS EchoServerStart(PDEVICE_OBJECT Bus, VMBCHANNEL* Channel);
void EchoServerStop(VMBCHANNEL Channel);

/* The client: opens the echo channel on Bus, runs the exchanges and checks every answer.
 * Returns 0 when all were right, 1 otherwise (the reason printed on stderr). */
int EchoClientRun(PDEVICE_OBJECT Bus);

#endif /* VMBKIT_EXAMPLES_ECHO_DEVICE_H_ */
