// SPDX-License-Identifier: MIT
// init, write and read for vmbkit-ring (see ring_commands.h). The packet work is the library's:
// write goes through wire::encode_gpa_direct_header and ring::OutgoingRing, read through
// ring::IncomingRing, so the tool shows exactly what a vmbkit channel would write and accept.
// dump and demo live in their own files.
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <span>
#include <vector>

#include "ring_commands.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/packet_encoder.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/packet_view.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::ring_tool {
namespace {

constexpr auto kInBand = static_cast<uint64_t>(wire::PacketType::kDataInBand);
constexpr auto kGpaDirect = static_cast<uint64_t>(wire::PacketType::kDataUsingGpaDirect);
constexpr auto kCompletion = static_cast<uint64_t>(wire::PacketType::kCompletion);

ExitCode report_corrupt(RingId ring, wire::CorruptReason reason) {
  fmt::print(stderr, "vmbkit-ring: the {} ring is corrupt: {}\n", ring_name(ring),
             wire::to_string(reason));
  return ExitCode::kCorrupt;
}

// The packet type to write, after checking it against the options: write can describe in-band,
// GPA-direct and completion packets (transfer-page packets need a transfer page set, which a
// ring file does not have).
wire::PacketType packet_type(const WriteOptions& options) {
  const bool has_ranges = !options.gpa_ranges.empty();
  const uint64_t type = options.type.value_or(has_ranges ? kGpaDirect : kInBand);
  if (has_ranges && type != kGpaDirect) {
    throw UsageError(fmt::format("--gpa needs --type 9 (GPA direct), not {}", hex_number(type)));
  }
  if (type == kGpaDirect && !has_ranges) {
    throw UsageError("--type 9 (GPA direct) needs at least one --gpa range");
  }
  if (type != kInBand && type != kGpaDirect && type != kCompletion) {
    throw UsageError(fmt::format(
        "--type {} cannot be written: use 6 (in-band), 9 (GPA direct, with --gpa) or 0xb "
        "(completion)",
        hex_number(type)));
  }
  if ((options.flags & ~uint64_t{wire::kDefinedPacketFlags}) != 0) {
    throw UsageError(fmt::format("--flags {}: only bit 0 (completion requested) is defined",
                                 hex_number(options.flags)));
  }
  return static_cast<wire::PacketType>(type);
}

// The GPA-direct extended header for the --gpa ranges (empty without ranges).
std::vector<std::byte> gpa_header(const std::vector<GpaArgument>& arguments) {
  if (arguments.empty()) return {};
  std::vector<wire::GpaRangeSpec> specs;
  specs.reserve(arguments.size());
  for (const GpaArgument& argument : arguments) {
    specs.push_back({argument.byte_count, argument.byte_offset, argument.pfns});
  }
  std::vector<std::byte> header(wire::gpa_direct_header_size(specs));
  const Result<size_t> written = wire::encode_gpa_direct_header(specs, header);
  if (!written) {
    throw UsageError(
        fmt::format("the --gpa ranges cannot be encoded: {}", to_string(written.status())));
  }
  header.resize(*written);
  return header;
}

}  // namespace

ExitCode run_init(const FileOptions& options) {
  const RingGeometry geometry = geometry_for_init(options.pages, options.receive_pages);
  const RingFile file = RingFile::create(options.path, geometry);
  for (const RingId ring : {RingId::kGuestToHost, RingId::kHostToGuest}) {
    // Like Linux, set feat_pending_send_sz on both rings at initialisation (wire-format.md
    // §1.1): each producer may then use the pending-send-size protocol.
    ring::initialize_control_page(file.view(ring).control, wire::kFeaturePendingSendSize);
  }
  return ExitCode::kOk;
}

ExitCode run_write(const WriteOptions& options) {
  const wire::PacketType type = packet_type(options);
  const std::vector<std::byte> extended_header = gpa_header(options.gpa_ranges);
  const wire::PacketLayout layout =
      wire::layout_packet(extended_header.size(), options.payload.size());
  if (!layout.valid) {
    throw UsageError(fmt::format("the packet would be longer than {} bytes (len8 is 16 bits)",
                                 wire::kMaximumPacketBytes));
  }

  const RingFile file = RingFile::open(options.file.path, options.file.pages,
                                       options.file.receive_pages, MapMode::kReadWrite);
  const RingId ring_id = ring_written_by(options.side);
  ring::OutgoingRing ring(file.view(ring_id));
  if (ring.corrupt()) return report_corrupt(ring_id, ring.corrupt_reason());

  const std::array<std::span<const std::byte>, 1> pieces{options.payload};
  ring::OutgoingPacket packet;
  packet.type = type;
  packet.flags = static_cast<uint16_t>(options.flags);
  packet.transaction_id = options.transaction_id;
  packet.extended_header = extended_header;
  packet.payload = pieces;
  switch (ring.try_write(packet)) {
    case ring::WriteResult::kWritten:
      break;
    case ring::WriteResult::kFull:
      if (layout.ring_bytes() > ring.max_ring_bytes()) {
        fmt::print(stderr,
                   "vmbkit-ring: the {} ring is full: the packet needs {} ring bytes and never "
                   "fits a {}-byte data area (at most {})\n",
                   ring_name(ring_id), layout.ring_bytes(), ring.data_size(),
                   ring.max_ring_bytes());
      } else {
        fmt::print(stderr, "vmbkit-ring: the {} ring is full: the packet needs {} ring bytes\n",
                   ring_name(ring_id), layout.ring_bytes());
      }
      return ExitCode::kFull;
    case ring::WriteResult::kCorrupt:
      return report_corrupt(ring_id, ring.corrupt_reason());
    case ring::WriteResult::kInvalidPacket:
      throw UsageError("the ring refused the packet as invalid");
  }
  // The tool signals nobody: whether the consumer should be woken is visible in dump
  // (interrupt_mask and the indices), so the answer is dropped.
  static_cast<void>(ring.commit());
  return ExitCode::kOk;
}

ExitCode run_read(const ReadOptions& options) {
  const RingFile file = RingFile::open(options.file.path, options.file.pages,
                                       options.file.receive_pages, MapMode::kReadWrite);
  const RingId ring_id = ring_read_by(options.side);
  const ring::RingView view = file.view(ring_id);
  ring::IncomingRing ring(view);
  // The whole data area as the packet limit: the tool accepts any packet that fits the ring.
  std::vector<std::byte> buffer(view.data_size);
  for (uint64_t count = 0; !options.max_packets || count < *options.max_packets; ++count) {
    wire::PacketView packet;
    switch (ring.read(buffer, &packet)) {
      case ring::ReadResult::kPacket:
        fmt::print("{}\n", format_packet(packet));
        // Published per packet, so every printed packet is consumed even if a later one is
        // corrupt. No one is signalled (see run_write).
        static_cast<void>(ring.commit_read());
        break;
      case ring::ReadResult::kEmpty:
        return ExitCode::kOk;
      case ring::ReadResult::kCorrupt:
        static_cast<void>(std::fflush(stdout));  // keep stdout before stderr
        return report_corrupt(ring_id, ring.corrupt_reason());
    }
  }
  return ExitCode::kOk;
}

}  // namespace vmb::ring_tool
