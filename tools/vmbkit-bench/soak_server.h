// SPDX-License-Identifier: MIT
// The soak's server side: a ChannelDriver that checks every packet it receives — each in-band
// byte and each external byte regenerated and compared, the sequence numbers of the channel
// counted for gaps (lost) and repeats (duplicated) — and answers requests with the
// {sequence, checksum} reply the client checks. Runs on the channel's dispatch context. Not
// here: sending (soak_client.h) or processes (soak_run.h).
#pragma once

#include <cstdint>
#include <mutex>

#include "vmbkit/channel/channel.h"

namespace vmb::soak {

struct ServerTally {
  uint64_t packets = 0;
  uint64_t bytes = 0;  // in-band plus external
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t corrupted = 0;
  uint64_t next_sequence = 0;  // the sequence number expected next
  uint64_t opens = 0;
};

class SoakServerDriver final : public ChannelDriver {
 public:
  explicit SoakServerDriver(uint32_t channel) : channel_(channel) {}
  void process_packet(Channel& channel, IncomingPacket& packet, std::span<std::byte> payload,
                      bool external_data) override;
  Status opened(Channel& channel) override;
  [[nodiscard]] ServerTally tally() const;

 private:
  // Checks the external data of `packet`; false if it is missing or wrong.
  static bool external_intact(Channel& channel, IncomingPacket& packet, const void* header);

  const uint32_t channel_;
  mutable std::mutex mutex_;
  ServerTally tally_;
};

}  // namespace vmb::soak
