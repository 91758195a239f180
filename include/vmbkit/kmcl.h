/* SPDX-License-Identifier: MIT */
/* vmbkit's KMCL C API: the VMBus Kernel Mode Client Library of Windows
 * (vmbuskernelmodeclientlibapi.h) with the same names, types, constants and NTSTATUS values, so
 * a driver's protocol code compiles against it with no more than an include change. It brings
 * in, in order: the handles, constants and callback types (kmcl/kmcl_types.h); the 41 functions
 * of KMCL_CLIENT_INTERFACE_V1 (kmcl/kmcl_functions.h); the 14 server-only functions
 * (kmcl/kmcl_server_functions.h); the interface structures and their query functions
 * (kmcl/kmcl_interface.h); and vmbkit's own additions, prefixed VmbKit: buses, guest memory,
 * failure reasons, logging (kmcl/vmbkit_extensions.h). The MDL helpers are in vmbkit/mdl.h.
 *
 * Every function is a plain C export, never throws, and checks its arguments. Behaviour follows
 * kmcl-api.md as fixed by decisions.md; vmbkit's choices where both are silent are listed in
 * docs/kmcl.md. The header is C11 (compiled with -std=c11 -Wpedantic in the tests) and C++. */
#ifndef VMBKIT_KMCL_H_
#define VMBKIT_KMCL_H_

#include "vmbkit/kmcl/kmcl_functions.h"
#include "vmbkit/kmcl/kmcl_interface.h"
#include "vmbkit/kmcl/kmcl_server_functions.h"
#include "vmbkit/kmcl/kmcl_types.h"
#include "vmbkit/kmcl/vmbkit_extensions.h"

#endif /* VMBKIT_KMCL_H_ */
