// SPDX-License-Identifier: MIT
// Payload generation and checking for the soak (see soak_payload.h). Bytes come from
// SplitMix64 over (channel, sequence, word index): cheap, and any corruption, shift or mix-up of
// two packets shows as a mismatch.
#include "soak_payload.h"

#include <cstring>

namespace vmb::soak {
namespace {

constexpr uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

uint64_t seed_of(uint32_t channel, uint64_t sequence) {
  return mix((uint64_t{channel} << 48) ^ sequence);
}

// Writes the byte stream of `seed` from stream offset `offset` into `out`.
void fill_stream(uint64_t seed, uint64_t offset, std::span<std::byte> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const uint64_t at = offset + i;
    const uint64_t word = mix(seed + at / 8);
    out[i] = static_cast<std::byte>(word >> ((at % 8) * 8));
  }
}

bool stream_matches(uint64_t seed, uint64_t offset, std::span<const std::byte> bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint64_t at = offset + i;
    const uint64_t word = mix(seed + at / 8);
    if (bytes[i] != static_cast<std::byte>(word >> ((at % 8) * 8))) return false;
  }
  return true;
}

}  // namespace

Shape shape_of(uint32_t channel, uint64_t sequence) {
  const uint64_t r = mix(seed_of(channel, sequence) ^ 0x5eed);
  Shape shape;
  const uint32_t pick = static_cast<uint32_t>(r % 100);
  if (pick < 40) {
    shape.kind = Kind::kAsyncRequest;
  } else if (pick < 75) {
    shape.kind = Kind::kOneWay;
  } else if (pick < 92) {
    shape.kind = Kind::kSyncRequest;
  } else {
    shape.kind = Kind::kExternal;
  }
  shape.inband_bytes =
      kHeaderBytes + static_cast<uint32_t>((r >> 8) % (kMaximumInband - kHeaderBytes));
  if (shape.kind == Kind::kExternal) {
    shape.external_bytes = 1 + static_cast<uint32_t>((r >> 24) % kMaximumExternal);
  }
  return shape;
}

uint64_t checksum_of(uint32_t channel, uint64_t sequence) {
  return mix(seed_of(channel, sequence) ^ 0xc4ec);
}

void fill_inband(uint32_t channel, uint64_t sequence, const Shape& shape,
                 std::span<std::byte> out) {
  PayloadHeader header{};
  header.sequence = sequence;
  header.channel = channel;
  header.inband_bytes = shape.inband_bytes;
  header.external_bytes = shape.external_bytes;
  header.kind = static_cast<uint8_t>(shape.kind);
  header.checksum = checksum_of(channel, sequence);
  std::memcpy(out.data(), &header, sizeof header);
  fill_stream(seed_of(channel, sequence), 0, out.subspan(kHeaderBytes));
}

void fill_external(uint32_t channel, uint64_t sequence, std::span<std::byte> out) {
  fill_stream(seed_of(channel, sequence) ^ 0xe7, 0, out);
}

Verdict check_inband(uint32_t channel, std::span<const std::byte> payload, PayloadHeader* header) {
  if (payload.size() < kHeaderBytes) return Verdict::kCorrupt;
  std::memcpy(header, payload.data(), sizeof *header);
  if (header->channel != channel || header->inband_bytes < kHeaderBytes ||
      header->inband_bytes > payload.size() || payload.size() - header->inband_bytes >= 8 ||
      header->checksum != checksum_of(channel, header->sequence) || header->reserved[0] != 0 ||
      header->reserved[1] != 0 || header->reserved[2] != 0) {
    return Verdict::kCorrupt;
  }
  const Shape shape = shape_of(channel, header->sequence);
  if (header->kind != static_cast<uint8_t>(shape.kind) ||
      header->inband_bytes != shape.inband_bytes ||
      header->external_bytes != shape.external_bytes) {
    return Verdict::kCorrupt;
  }
  const auto body = payload.subspan(kHeaderBytes, header->inband_bytes - kHeaderBytes);
  return stream_matches(seed_of(channel, header->sequence), 0, body) ? Verdict::kIntact
                                                                     : Verdict::kCorrupt;
}

Verdict check_external(const PayloadHeader& header, std::span<const std::byte> external) {
  if (external.size() != header.external_bytes) return Verdict::kCorrupt;
  return stream_matches(seed_of(header.channel, header.sequence) ^ 0xe7, 0, external)
             ? Verdict::kIntact
             : Verdict::kCorrupt;
}

bool reply_matches(uint32_t channel, uint64_t sequence, std::span<const std::byte> reply) {
  if (reply.size() < sizeof(Reply)) return false;
  Reply got;
  std::memcpy(&got, reply.data(), sizeof got);
  return got.sequence == sequence && got.checksum == checksum_of(channel, sequence);
}

}  // namespace vmb::soak
