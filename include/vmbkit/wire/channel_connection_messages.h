// SPDX-License-Identifier: MIT
// The connection-level channel-management messages (wire-format.md §5.3, §5.5 steps 1 and 6):
// INITIATE_CONTACT, VERSION_RESPONSE, UNLOAD, UNLOAD_RESPONSE and the hv_sock pair
// TL_CONNECT_REQUEST / TL_CONNECT_RESULT. Plain trivially copyable structs whose bytes are the
// wire image; offsets include the 8-byte header. No behaviour: version choice is in
// protocol_version.h, decoding in channel_message_codec.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmbkit/wire/channel_message_header.h"
#include "vmbkit/wire/guid.h"

namespace vmb::wire {

// INITIATE_CONTACT (14), 40 bytes, guest→host. Linux vmbus_channel_initiate_contact, DPDK
// vmbus_chanmsg_connect, OpenVMM InitiateContact.
struct InitiateContact {
  static constexpr ChannelMessageType kType = ChannelMessageType::kInitiateContact;
  ChannelMessageHeader header;
  uint32_t version_requested;  // ProtocolVersion (protocol_version.h)
  uint32_t target_vcpu;        // virtual processor that receives host messages
  // Protocol < 5.0: the interrupt page GPA. >= 5.0: msg_sint u8 (byte 16), msg_vtl u8 (byte 17),
  // 2 reserved bytes (may be non-zero; ignore), feature_flags u32 (bytes 20–23; 6.0 only,
  // otherwise reserved: may be non-zero; ignore). Use the accessors below for the 5.x form.
  uint64_t interrupt_page;
  uint64_t monitor_page1;  // host→guest monitor page GPA
  uint64_t monitor_page2;  // guest→host monitor page GPA

  [[nodiscard]] constexpr uint8_t msg_sint() const {
    return static_cast<uint8_t>(interrupt_page & 0xFF);
  }
  [[nodiscard]] constexpr uint8_t msg_vtl() const {
    return static_cast<uint8_t>((interrupt_page >> 8) & 0xFF);
  }
  [[nodiscard]] constexpr uint32_t feature_flags() const {
    return static_cast<uint32_t>(interrupt_page >> 32);
  }
  // Sets the >= 5.0 form of bytes 16–23 (reserved bytes 18–19 become 0).
  constexpr void set_message_target(uint8_t sint, uint8_t vtl, uint32_t features = 0) {
    interrupt_page = uint64_t{sint} | (uint64_t{vtl} << 8) | (uint64_t{features} << 32);
  }
};
static_assert(sizeof(InitiateContact) == 40);
static_assert(offsetof(InitiateContact, version_requested) == 8);
static_assert(offsetof(InitiateContact, target_vcpu) == 12);
static_assert(offsetof(InitiateContact, interrupt_page) == 16);
static_assert(offsetof(InitiateContact, monitor_page1) == 24);
static_assert(offsetof(InitiateContact, monitor_page2) == 32);
static_assert(ChannelMessageStruct<InitiateContact>);

// INITIATE_CONTACT, 56-byte form: the 40-byte message plus a client-id GUID (OpenVMM
// InitiateContact2, used with the 6.0 client_id feature). A receiver that gets 56 bytes or more
// sees this form; below 6.0 the client id means nothing and is ignored.
struct InitiateContactWithClientId {
  static constexpr ChannelMessageType kType = ChannelMessageType::kInitiateContact;
  InitiateContact contact;
  Guid client_id;
};
static_assert(sizeof(InitiateContactWithClientId) == 56);
static_assert(offsetof(InitiateContactWithClientId, contact) == 0);
static_assert(offsetof(InitiateContactWithClientId, client_id) == 40);
static_assert(ChannelMessageStruct<InitiateContactWithClientId>);

// VERSION_RESPONSE connection_state values.
enum class ConnectionState : uint8_t {
  kSuccessful = 0,
  kFailedLowResources = 1,
  kFailedUnknown = 2,
};

// VERSION_RESPONSE (15), 16 bytes, host→guest. Linux vmbus_channel_version_response, OpenVMM
// VersionResponse. Protocol 6.0 appends supported_features u32 @16 (and more); vmbkit does not
// speak 6.0, so a longer response is accepted and the extra bytes ignored.
struct VersionResponse {
  static constexpr ChannelMessageType kType = ChannelMessageType::kVersionResponse;
  ChannelMessageHeader header;
  uint8_t version_supported;  // non-zero = the requested version is accepted
  uint8_t connection_state;   // ConnectionState
  uint16_t padding;           // may be non-zero; ignore
  uint32_t msg_conn_id;       // >= 5.0: connection id for later guest→host messages
};
static_assert(sizeof(VersionResponse) == 16);
static_assert(offsetof(VersionResponse, version_supported) == 8);
static_assert(offsetof(VersionResponse, connection_state) == 9);
static_assert(offsetof(VersionResponse, padding) == 10);
static_assert(offsetof(VersionResponse, msg_conn_id) == 12);
static_assert(ChannelMessageStruct<VersionResponse>);

// UNLOAD (16), 8 bytes, guest→host: header only.
struct Unload {
  static constexpr ChannelMessageType kType = ChannelMessageType::kUnload;
  ChannelMessageHeader header;
};
static_assert(sizeof(Unload) == 8);
static_assert(ChannelMessageStruct<Unload>);

// UNLOAD_RESPONSE (17), 8 bytes, host→guest: header only (OpenVMM UNLOAD_COMPLETE).
struct UnloadResponse {
  static constexpr ChannelMessageType kType = ChannelMessageType::kUnloadResponse;
  ChannelMessageHeader header;
};
static_assert(sizeof(UnloadResponse) == 8);
static_assert(ChannelMessageStruct<UnloadResponse>);

// TL_CONNECT_REQUEST (21), 40 bytes, guest→host: an hv_sock connection request. Linux
// vmbus_channel_tl_connect_request, OpenVMM TlConnectRequest.
struct TlConnectRequest {
  static constexpr ChannelMessageType kType = ChannelMessageType::kTlConnectRequest;
  ChannelMessageHeader header;
  Guid guest_endpoint_id;
  Guid host_service_id;
};
static_assert(sizeof(TlConnectRequest) == 40);
static_assert(offsetof(TlConnectRequest, guest_endpoint_id) == 8);
static_assert(offsetof(TlConnectRequest, host_service_id) == 24);
static_assert(ChannelMessageStruct<TlConnectRequest>);

// TL_CONNECT_REQUEST, 56-byte form from protocol 5.2 (OpenVMM TlConnectRequest2): appends the
// silo GUID. As OpenVMM does, a receiver picks this form by size alone, since some senders keep
// sending 40 bytes under newer protocols.
struct TlConnectRequestWithSiloId {
  static constexpr ChannelMessageType kType = ChannelMessageType::kTlConnectRequest;
  TlConnectRequest request;
  Guid silo_id;
};
static_assert(sizeof(TlConnectRequestWithSiloId) == 56);
static_assert(offsetof(TlConnectRequestWithSiloId, request) == 0);
static_assert(offsetof(TlConnectRequestWithSiloId, silo_id) == 40);
static_assert(ChannelMessageStruct<TlConnectRequestWithSiloId>);

// TL_CONNECT_RESULT (23), 44 bytes, host→guest: the answer to a TL_CONNECT_REQUEST. OpenVMM
// TlConnectResult.
struct TlConnectResult {
  static constexpr ChannelMessageType kType = ChannelMessageType::kTlConnectResult;
  ChannelMessageHeader header;
  Guid endpoint_id;
  Guid service_id;
  int32_t status;  // an NTSTATUS; 0 = connected
};
static_assert(sizeof(TlConnectResult) == 44);
static_assert(offsetof(TlConnectResult, endpoint_id) == 8);
static_assert(offsetof(TlConnectResult, service_id) == 24);
static_assert(offsetof(TlConnectResult, status) == 40);
static_assert(ChannelMessageStruct<TlConnectResult>);

}  // namespace vmb::wire
