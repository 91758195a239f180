// SPDX-License-Identifier: MIT
// Pipe mode (kmcl-api.md §7.11, wire-format.md §2.8): a channel created with
// VMBUS_CHANNEL_INIT_FLAG_IS_PIPE, or a server offered with OFFER_AS_PIPE, frames every in-band
// payload with an 8-byte pipe header {u32 packet_type, u32 data_size}. Drivers see only their
// bytes: the header is added on send and checked and removed on delivery, and data_size gives
// the exact length the 8-byte packet padding would otherwise hide. Pipes have no transactions
// and no external memory. Types 1 (data) and 2 (partial) carry data; vmbkit sends only type 1
// and treats the GPA-direct setup/teardown and indication types (3-5), which no vmbkit peer
// sends, as a broken pipe.
#include <array>
#include <cstring>
#include <string>

#include "kmcl/kmcl_shim.h"

namespace vmb::kmcl {
namespace {

constexpr uint32_t kPipeData = 1;
constexpr uint32_t kPipePartial = 2;

struct PipeHeader {
  uint32_t packet_type;
  uint32_t data_size;
};
static_assert(sizeof(PipeHeader) == 8, "wire-format.md §2.8");

}  // namespace

bool configured_as_pipe(const Channel& channel) {
  const ChannelConfig config = channel.config();
  return config.pipe_mode ||
         (channel.role() == EndpointRole::kServer &&
          (config.server_flags & VMBUS_SERVER_CHANNEL_INIT_FLAG_OFFER_AS_PIPE) != 0);
}

NTSTATUS send_pipe(PacketObject& packet, std::span<const std::byte> inband,
                   const ExternalData& external, uint32_t flags) {
  if (external.kind != ExternalData::Kind::kNone) return STATUS_INVALID_PARAMETER;
  if ((flags & VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION) != 0) return STATUS_INVALID_PARAMETER;
  if (inband.size() > kMaximumPipePayload) return STATUS_INVALID_PARAMETER;
  // The channel copies the bytes into the ring before send() returns, so a buffer on this
  // thread's stack is enough.
  std::array<std::byte, sizeof(PipeHeader) + kMaximumPipePayload> framed;
  const PipeHeader header{kPipeData, static_cast<uint32_t>(inband.size())};
  std::memcpy(framed.data(), &header, sizeof header);
  if (!inband.empty()) std::memcpy(framed.data() + sizeof header, inband.data(), inband.size());
  return packet.channel()
      .send(packet, std::span<const std::byte>(framed.data(), sizeof header + inband.size()),
            external, flags)
      .code();
}

std::optional<std::span<std::byte>> receive_pipe(Channel& channel, IncomingPacket& packet,
                                                 std::span<std::byte> payload, bool external_data) {
  std::string reason;
  PipeHeader header{};
  if (external_data) {
    reason = "pipe: a packet with external data";
  } else if (payload.size() < sizeof header) {
    reason = "pipe: a packet shorter than the pipe header";
  } else {
    std::memcpy(&header, payload.data(), sizeof header);
    if (header.packet_type != kPipeData && header.packet_type != kPipePartial) {
      reason = "pipe: packet type " + std::to_string(header.packet_type) + " not supported";
    } else if (header.data_size > payload.size() - sizeof header) {
      reason = "pipe: data_size beyond the packet";
    }
  }
  if (!reason.empty()) {
    channel.fail(Status{STATUS_DATA_ERROR}, std::move(reason));  // the first reason is kept
    channel.fail_packet(packet);
    return std::nullopt;
  }
  return payload.subspan(sizeof header, header.data_size);
}

}  // namespace vmb::kmcl
