// SPDX-License-Identifier: MIT
// The soak's packets: every byte of a payload derives from (channel, sequence number), so the
// receiver regenerates and compares all of it instead of trusting a checksum alone. A 32-byte
// header leads each in-band payload; the packet's kind and sizes also derive from the sequence
// number, so both sides agree on them without a side channel. Pure functions: no I/O, no
// channel. Not here: sending or receiving (soak_client.h, soak_server.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vmb::soak {

enum class Kind : uint8_t {
  kAsyncRequest,  // wants a completion, routine checks it
  kOneWay,        // wants none
  kSyncRequest,   // synchronous request, reply checked by the caller
  kExternal,      // synchronous request with external data (GPA direct) from guest memory
};

struct PayloadHeader {
  uint64_t sequence;
  uint32_t channel;
  uint32_t inband_bytes;    // the whole in-band payload, header included
  uint32_t external_bytes;  // 0 unless kExternal
  uint8_t kind;
  uint8_t reserved[3];
  uint64_t checksum;  // of the sequence's bytes (what the reply echoes)
};
static_assert(sizeof(PayloadHeader) == 32);
inline constexpr uint32_t kHeaderBytes = sizeof(PayloadHeader);
inline constexpr uint32_t kMaximumInband = 2048;
inline constexpr uint32_t kMaximumExternal = 64 * 1024;

// What packet number `sequence` of `channel` is.
struct Shape {
  Kind kind = Kind::kOneWay;
  uint32_t inband_bytes = kHeaderBytes;
  uint32_t external_bytes = 0;
};
Shape shape_of(uint32_t channel, uint64_t sequence);

// The checksum of (channel, sequence): what the header carries and a reply echoes.
uint64_t checksum_of(uint32_t channel, uint64_t sequence);

// Fills `out` (shape.inband_bytes long) with the header and body of the packet.
void fill_inband(uint32_t channel, uint64_t sequence, const Shape& shape, std::span<std::byte> out);
// Fills `out` (shape.external_bytes long) with the external data of the packet.
void fill_external(uint32_t channel, uint64_t sequence, std::span<std::byte> out);

enum class Verdict : uint8_t { kIntact, kCorrupt };
// Checks a received in-band payload (padding after inband_bytes allowed) of `channel`;
// *header receives the header when it is readable. Every byte is compared.
Verdict check_inband(uint32_t channel, std::span<const std::byte> payload, PayloadHeader* header);
// Checks external data against the header's sequence.
Verdict check_external(const PayloadHeader& header, std::span<const std::byte> external);

// The 16-byte reply to a request: {sequence, checksum}.
struct Reply {
  uint64_t sequence;
  uint64_t checksum;
};
static_assert(sizeof(Reply) == 16);
bool reply_matches(uint32_t channel, uint64_t sequence, std::span<const std::byte> reply);

}  // namespace vmb::soak
