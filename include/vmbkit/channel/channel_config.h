// SPDX-License-Identifier: MIT
// ChannelConfig: what a channel is set up with between allocation and Enable (kmcl-api.md
// §4.2), with vmbkit's defaults where KMCL documents none (docs/kmcl.md), and the format flags
// of a send. Plain data; validation of single values is here, state rules are in channel.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vmbkit/wire/guid.h"

namespace vmb {

// Send flags (KMCL's VMBUS_CHANNEL_FORMAT_FLAG_*).
inline constexpr uint32_t kSendWaitForCompletion = 0x1;
inline constexpr uint32_t kSendForceMdlLength = 0x2;
inline constexpr uint32_t kSendPagedBuffer = 0x4;
inline constexpr uint32_t kSendDefinedFlags = 0x7;

// Offer flags (KMCL's VMBUS_SERVER_CHANNEL_INIT_FLAG_*); recorded, not interpreted.
inline constexpr uint32_t kServerDefinedFlags = 0x1F;

struct ChannelConfig {
  // Largest in-band payload this endpoint sends (VmbChannelInitSetMaximumPacketSize).
  uint32_t maximum_packet_size = 4096;
  // Largest external data of one packet and longest MDL chain
  // (VmbChannelInitSetMaximumExternalData).
  uint32_t maximum_external_bytes = 1u << 20;
  uint32_t maximum_external_chain = 16;
  // Client: data pages of each ring, the control page excluded.
  uint32_t incoming_ring_pages = 32;
  uint32_t outgoing_ring_pages = 32;
  // Recorded only (V1 has no accessor for the area).
  uint32_t client_context_size = 0;
  bool pipe_mode = false;
  std::u16string friendly_name;
  // Server: the offer. Client: the target (instance: std::nullopt = any).
  std::optional<Guid> interface_type;
  std::optional<Guid> interface_instance;
  // Server: the offer's sub_channel_index (0 = the device's primary channel; wire-format.md
  // §5.5 step 7). Client: the index of the offer it opens (only that one).
  uint16_t sub_channel_index = 0;
  // Server offer details, recorded.
  uint32_t server_flags = 0;
  uint16_t mmio_megabytes = 0;
  uint16_t mmio_megabytes_optional = 0;
  uint8_t target_vtl = 0;
};

// Limits of the setters.
inline constexpr uint32_t kMaximumRingPages = 65536;
// An in-band payload must leave room for the descriptor and the largest GPA header in a
// 65535 * 8 byte packet; KMCL drivers use far less.
inline constexpr uint32_t kMaximumPacketSizeLimit = 0x40000;
inline constexpr uint32_t kMaximumExternalChainLimit = 1024;
// Default delivered-but-uncompleted incoming packets (VmbChannelSetTransactionQuota).
inline constexpr uint32_t kDefaultTransactionQuota = 64;

}  // namespace vmb
