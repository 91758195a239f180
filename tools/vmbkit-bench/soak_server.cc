// SPDX-License-Identifier: MIT
// SoakServerDriver (see soak_server.h).
#include "soak_server.h"

#include <vector>

#include "soak_payload.h"
#include "vmbkit/mdl.h"

namespace vmb::soak {

Status SoakServerDriver::opened(Channel& /*channel*/) {
  const std::lock_guard lock(mutex_);
  ++tally_.opens;
  return Status{};
}

bool SoakServerDriver::external_intact(Channel& channel, IncomingPacket& packet,
                                       const void* header_bytes) {
  const auto& header = *static_cast<const PayloadHeader*>(header_bytes);
  const Result<PMDL> chain = channel.external_data(packet, true);
  if (!chain) return false;
  std::vector<std::byte> gathered;
  for (PMDL mdl = *chain; mdl != nullptr; mdl = mdl->Next) {
    const auto* bytes = static_cast<const std::byte*>(
        MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority | MdlMappingNoWrite));
    if (bytes == nullptr) return false;
    gathered.insert(gathered.end(), bytes, bytes + MmGetMdlByteCount(mdl));
  }
  return check_external(header, gathered) == Verdict::kIntact;
}

void SoakServerDriver::process_packet(Channel& channel, IncomingPacket& packet,
                                      std::span<std::byte> payload, bool external_data) {
  PayloadHeader header{};
  bool intact = check_inband(channel_, payload, &header) == Verdict::kIntact;
  const bool wants_external = intact && header.kind == static_cast<uint8_t>(Kind::kExternal);
  if (intact && wants_external != external_data) intact = false;
  if (intact && external_data) intact = external_intact(channel, packet, &header);
  {
    const std::lock_guard lock(mutex_);
    if (!intact) {
      ++tally_.corrupted;
    } else {
      ++tally_.packets;
      tally_.bytes += uint64_t{header.inband_bytes} + header.external_bytes;
      if (header.sequence == tally_.next_sequence) {
        ++tally_.next_sequence;
      } else if (header.sequence > tally_.next_sequence) {
        tally_.lost += header.sequence - tally_.next_sequence;
        tally_.next_sequence = header.sequence + 1;
      } else {
        ++tally_.duplicated;
      }
    }
  }
  if (!packet.completion_requested()) {
    channel.complete(packet, {});
    return;
  }
  const Reply reply{header.sequence, intact ? header.checksum : 0};
  channel.complete(packet, std::as_bytes(std::span(&reply, 1)));
}

ServerTally SoakServerDriver::tally() const {
  const std::lock_guard lock(mutex_);
  return tally_;
}

}  // namespace vmb::soak
