// SPDX-License-Identifier: MIT
// Every fixed-size VMBus channel-management message of wire-format.md §5 in one include: the
// header and message types, the message structs (grouped by connection, offer and open in their
// own headers) and the codec. Not included: the variable-length GPADL_HEADER / GPADL_BODY
// (gpadl_messages.h) and the protocol-version table (protocol_version.h).
#pragma once

#include "vmbkit/wire/channel_connection_messages.h"  // IWYU pragma: export
#include "vmbkit/wire/channel_message_codec.h"        // IWYU pragma: export
#include "vmbkit/wire/channel_message_header.h"       // IWYU pragma: export
#include "vmbkit/wire/channel_offer_messages.h"       // IWYU pragma: export
#include "vmbkit/wire/channel_open_messages.h"        // IWYU pragma: export
#include "vmbkit/wire/guid.h"                         // IWYU pragma: export
