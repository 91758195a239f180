// SPDX-License-Identifier: MIT
// VMBus protocol versions (wire-format.md §5.4), the set vmbkit speaks (5.0–5.3) and the two
// halves of version negotiation (§5.5 step 1): the host's accept-or-reject decision with the
// VERSION_RESPONSE it implies, and the guest's choice of the next version to try. Pure constexpr
// functions; the connection state machine that uses them belongs to the bus layer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "vmbkit/wire/channel_connection_messages.h"

namespace vmb::wire {

// A version as it travels in INITIATE_CONTACT: major << 16 | minor. Any u32 may arrive from a
// peer; the named values are the ones Linux and OpenVMM define.
enum class ProtocolVersion : uint32_t {
  kWs2008 = 0x0000000D,     // Windows Server 2008 (0.13)
  kWin7 = 0x00010001,       // Windows 7 / 2008 R2
  kWin8 = 0x00020004,       // Windows 8 / 2012
  kWin8_1 = 0x00030000,     // Windows 8.1 / 2012 R2
  kWin10 = 0x00040000,      // Windows 10
  kWin10V4_1 = 0x00040001,  // Windows 10 RS3
  kWin10V5 = 0x00050000,    // later Windows 10
  kWin10V5_1 = 0x00050001,  // Windows 10 RS4
  kWin10V5_2 = 0x00050002,  // Windows Server 2019 / RS5
  kWin10V5_3 = 0x00050003,  // Windows Server 2022
  kCopper = 0x00060000,     // OpenVMM: feature-flag negotiation
};

constexpr ProtocolVersion make_protocol_version(uint16_t major, uint16_t minor) {
  return static_cast<ProtocolVersion>((uint32_t{major} << 16) | minor);
}
constexpr uint16_t major_of(ProtocolVersion version) {
  return static_cast<uint16_t>(static_cast<uint32_t>(version) >> 16);
}
constexpr uint16_t minor_of(ProtocolVersion version) {
  return static_cast<uint16_t>(static_cast<uint32_t>(version) & 0xFFFF);
}

// The Linux name of a known version ("VERSION_WIN10_V5_3"), or "<unknown>".
constexpr std::string_view to_string(ProtocolVersion version) {
  switch (version) {
    case ProtocolVersion::kWs2008:
      return "VERSION_WS2008";
    case ProtocolVersion::kWin7:
      return "VERSION_WIN7";
    case ProtocolVersion::kWin8:
      return "VERSION_WIN8";
    case ProtocolVersion::kWin8_1:
      return "VERSION_WIN8_1";
    case ProtocolVersion::kWin10:
      return "VERSION_WIN10";
    case ProtocolVersion::kWin10V4_1:
      return "VERSION_WIN10_V4_1";
    case ProtocolVersion::kWin10V5:
      return "VERSION_WIN10_V5";
    case ProtocolVersion::kWin10V5_1:
      return "VERSION_WIN10_V5_1";
    case ProtocolVersion::kWin10V5_2:
      return "VERSION_WIN10_V5_2";
    case ProtocolVersion::kWin10V5_3:
      return "VERSION_WIN10_V5_3";
    case ProtocolVersion::kCopper:
      return "VERSION_COPPER";
  }
  return "<unknown>";
}

// The versions vmbkit speaks, highest first: the order in which a vmbkit guest offers them, as
// Linux does from 5.3 downwards. All have the >= 5.0 INITIATE_CONTACT form (msg_sint/msg_vtl,
// no interrupt page) and VERSION_RESPONSE's msg_conn_id. 6.0 is left out: its feature flags and
// longer messages are not implemented.
inline constexpr std::array<ProtocolVersion, 4> kSupportedProtocolVersions = {
    ProtocolVersion::kWin10V5_3, ProtocolVersion::kWin10V5_2, ProtocolVersion::kWin10V5_1,
    ProtocolVersion::kWin10V5};

inline constexpr ProtocolVersion kNewestSupportedProtocolVersion = kSupportedProtocolVersions[0];

constexpr bool is_supported_protocol_version(ProtocolVersion version) {
  for (const ProtocolVersion supported : kSupportedProtocolVersions) {
    if (supported == version) return true;
  }
  return false;
}

// The host's answer to INITIATE_CONTACT(requested): accept exactly the supported versions (as
// OpenVMM accepts exactly its list) and reject anything else, so the guest retries lower.
enum class VersionDecision : uint8_t { kAccept, kReject };

constexpr VersionDecision negotiate_protocol_version(ProtocolVersion requested) {
  return is_supported_protocol_version(requested) ? VersionDecision::kAccept
                                                  : VersionDecision::kReject;
}

// The VERSION_RESPONSE a host sends for `requested`: accepted → version_supported 1,
// connection_state 0 and `message_connection_id`; rejected → all fields 0.
constexpr VersionResponse version_response_for(ProtocolVersion requested,
                                               uint32_t message_connection_id) {
  VersionResponse response{};
  if (negotiate_protocol_version(requested) == VersionDecision::kAccept) {
    response.version_supported = 1;
    response.connection_state = static_cast<uint8_t>(ConnectionState::kSuccessful);
    response.msg_conn_id = message_connection_id;
  }
  return response;
}

// The guest's next attempt after the host rejected `rejected`: the highest supported version
// below it, or nullopt when none is left (the guest gives up).
constexpr std::optional<ProtocolVersion> next_protocol_version_to_try(ProtocolVersion rejected) {
  for (const ProtocolVersion supported : kSupportedProtocolVersions) {
    if (static_cast<uint32_t>(supported) < static_cast<uint32_t>(rejected)) return supported;
  }
  return std::nullopt;
}

}  // namespace vmb::wire
