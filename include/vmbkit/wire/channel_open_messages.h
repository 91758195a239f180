// SPDX-License-Identifier: MIT
// The per-channel messages after an offer (wire-format.md §5.3, §5.5 steps 3 and 4):
// OPENCHANNEL, OPENCHANNEL_RESULT, CLOSECHANNEL, MODIFYCHANNEL, MODIFYCHANNEL_RESPONSE and the
// fixed-size GPADL replies GPADL_CREATED, GPADL_TEARDOWN, GPADL_TORNDOWN. Plain trivially copyable
// structs whose bytes are the wire image; offsets include the 8-byte header. Not here: the
// variable-length GPADL_HEADER / GPADL_BODY (gpadl_messages.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmbkit/wire/channel_message_header.h"
#include "vmbkit/wire/channel_offer_messages.h"

namespace vmb::wire {

// OPENCHANNEL target_vp meaning "interrupts disabled" (OpenVMM VP_INDEX_DISABLE_INTERRUPT).
inline constexpr uint32_t kTargetVpInterruptsDisabled = 0xFFFFFFFF;

// OPENCHANNEL (5), 148 bytes, guest→host. Linux vmbus_channel_open_channel, DPDK
// vmbus_chanmsg_chopen. OpenVMM's extended form (156 bytes: connection_id, event_flag, flags)
// needs 6.0 features; vmbkit accepts it as a longer message and ignores the extra bytes.
struct OpenChannel {
  static constexpr ChannelMessageType kType = ChannelMessageType::kOpenChannel;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t openid;                  // echoed in OPENCHANNEL_RESULT; Linux sends the relid
  uint32_t ringbuffer_gpadlhandle;  // the GPADL holding both rings
  uint32_t target_vp;
  // Pages of the GPADL that belong to the guest→host ring, its control page included
  // (wire-format.md §1.3); the host→guest ring starts at this page.
  uint32_t downstream_ringbuffer_pageoffset;
  UserDefinedData user_data;
};
static_assert(sizeof(OpenChannel) == 148);
static_assert(offsetof(OpenChannel, child_relid) == 8);
static_assert(offsetof(OpenChannel, openid) == 12);
static_assert(offsetof(OpenChannel, ringbuffer_gpadlhandle) == 16);
static_assert(offsetof(OpenChannel, target_vp) == 20);
static_assert(offsetof(OpenChannel, downstream_ringbuffer_pageoffset) == 24);
static_assert(offsetof(OpenChannel, user_data) == 28);
static_assert(ChannelMessageStruct<OpenChannel>);

// OPENCHANNEL_RESULT (6), 20 bytes, host→guest. DPDK vmbus_chanmsg_chopen_resp.
struct OpenChannelResult {
  static constexpr ChannelMessageType kType = ChannelMessageType::kOpenChannelResult;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t openid;
  uint32_t status;  // 0 = success; anything else is a failure (QEMU sends 1)
};
static_assert(sizeof(OpenChannelResult) == 20);
static_assert(offsetof(OpenChannelResult, child_relid) == 8);
static_assert(offsetof(OpenChannelResult, openid) == 12);
static_assert(offsetof(OpenChannelResult, status) == 16);
static_assert(ChannelMessageStruct<OpenChannelResult>);

// CLOSECHANNEL (7), 12 bytes, guest→host; no reply. DPDK vmbus_chanmsg_chclose.
struct CloseChannel {
  static constexpr ChannelMessageType kType = ChannelMessageType::kCloseChannel;
  ChannelMessageHeader header;
  uint32_t child_relid;
};
static_assert(sizeof(CloseChannel) == 12);
static_assert(offsetof(CloseChannel, child_relid) == 8);
static_assert(ChannelMessageStruct<CloseChannel>);

// GPADL_CREATED (10), 20 bytes, host→guest. DPDK vmbus_chanmsg_gpadl_connresp.
struct GpadlCreated {
  static constexpr ChannelMessageType kType = ChannelMessageType::kGpadlCreated;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t gpadl;
  uint32_t creation_status;  // 0 = created; anything else is a failure
};
static_assert(sizeof(GpadlCreated) == 20);
static_assert(offsetof(GpadlCreated, child_relid) == 8);
static_assert(offsetof(GpadlCreated, gpadl) == 12);
static_assert(offsetof(GpadlCreated, creation_status) == 16);
static_assert(ChannelMessageStruct<GpadlCreated>);

// GPADL_TEARDOWN (11), 16 bytes, guest→host. DPDK vmbus_chanmsg_gpadl_disconn.
struct GpadlTeardown {
  static constexpr ChannelMessageType kType = ChannelMessageType::kGpadlTeardown;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t gpadl;
};
static_assert(sizeof(GpadlTeardown) == 16);
static_assert(offsetof(GpadlTeardown, child_relid) == 8);
static_assert(offsetof(GpadlTeardown, gpadl) == 12);
static_assert(ChannelMessageStruct<GpadlTeardown>);

// GPADL_TORNDOWN (12), 12 bytes, host→guest: the handle alone names the GPADL (no relid).
// Linux vmbus_channel_gpadl_torndown.
struct GpadlTorndown {
  static constexpr ChannelMessageType kType = ChannelMessageType::kGpadlTorndown;
  ChannelMessageHeader header;
  uint32_t gpadl;
};
static_assert(sizeof(GpadlTorndown) == 12);
static_assert(offsetof(GpadlTorndown, gpadl) == 8);
static_assert(ChannelMessageStruct<GpadlTorndown>);

// MODIFYCHANNEL (22), 16 bytes, guest→host, protocol 4.1+: moves the channel's interrupt to
// another virtual processor. Linux vmbus_channel_modifychannel.
struct ModifyChannel {
  static constexpr ChannelMessageType kType = ChannelMessageType::kModifyChannel;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t target_vp;
};
static_assert(sizeof(ModifyChannel) == 16);
static_assert(offsetof(ModifyChannel, child_relid) == 8);
static_assert(offsetof(ModifyChannel, target_vp) == 12);
static_assert(ChannelMessageStruct<ModifyChannel>);

// MODIFYCHANNEL_RESPONSE (24), 16 bytes, host→guest, sent only under protocol 5.3. Linux
// vmbus_channel_modifychannel_response.
struct ModifyChannelResponse {
  static constexpr ChannelMessageType kType = ChannelMessageType::kModifyChannelResponse;
  ChannelMessageHeader header;
  uint32_t child_relid;
  uint32_t status;  // 0 = success (an NTSTATUS)
};
static_assert(sizeof(ModifyChannelResponse) == 16);
static_assert(offsetof(ModifyChannelResponse, child_relid) == 8);
static_assert(offsetof(ModifyChannelResponse, status) == 12);
static_assert(ChannelMessageStruct<ModifyChannelResponse>);

}  // namespace vmb::wire
