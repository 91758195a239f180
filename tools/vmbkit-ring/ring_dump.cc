// SPDX-License-Identifier: MIT
// `vmbkit-ring dump`: prints both control pages and decodes the packets between read_index and
// write_index of each ring without consuming them. The file is mapped copy-on-write and the
// incoming ring is never committed, so the file is left exactly as it was. Packets are read by
// ring::IncomingRing, so dump accepts and rejects what a vmbkit channel would; it adds only the
// trailer check the reader deliberately skips (decisions.md §8), shown as a note.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "ring_commands.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/packet_view.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::ring_tool {
namespace {

// The control-page fields dump shows, copied out of the snapshot.
struct ControlFields {
  uint32_t write_index = 0;
  uint32_t read_index = 0;
  uint32_t interrupt_mask = 0;
  uint32_t pending_send_size = 0;
  uint32_t feature_bits = 0;
};

uint32_t load_u32(const std::byte* control, size_t offset) {
  // A plain copy: the mapping is a private snapshot that nothing in this process writes, and
  // dump decides nothing from these values (the incoming ring loads and validates its own).
  uint32_t value = 0;
  std::memcpy(&value, control + offset, sizeof value);
  return value;
}

ControlFields load_control(const std::byte* control) {
  return {load_u32(control, wire::kWriteIndexOffset), load_u32(control, wire::kReadIndexOffset),
          load_u32(control, wire::kInterruptMaskOffset),
          load_u32(control, wire::kPendingSendSizeOffset),
          load_u32(control, wire::kFeatureBitsOffset)};
}

bool index_valid(uint32_t index, uint32_t size) { return index < size && index % 8 == 0; }

void print_header(RingId ring_id, const RingGeometry& geometry, const ControlFields& control,
                  uint32_t data_size) {
  const char* writer = ring_id == RingId::kGuestToHost ? "guest" : "host";
  const char* reader = ring_id == RingId::kGuestToHost ? "host" : "guest";
  fmt::print(
      "{} ring ({} writes, {} reads): control page at file offset {}, {} data page(s) "
      "({} bytes)\n",
      ring_name(ring_id), writer, reader, hex_number(geometry.control_offset(ring_id)),
      geometry.data_pages(ring_id), data_size);
  fmt::print(
      "  write_index={} read_index={} interrupt_mask={} pending_send_sz={} "
      "feature_bits={}\n",
      hex_number(control.write_index), hex_number(control.read_index),
      hex_number(control.interrupt_mask), hex_number(control.pending_send_size),
      hex_number(control.feature_bits));
  if (index_valid(control.write_index, data_size) && index_valid(control.read_index, data_size)) {
    const uint32_t used = control.write_index >= control.read_index
                              ? control.write_index - control.read_index
                              : data_size - (control.read_index - control.write_index);
    fmt::print("  unread={} bytes free={} bytes\n", used, data_size - used);
  }
}

// The trailer's value as stored (8-byte aligned, so it never straddles the wrap).
uint64_t load_trailer(const ring::RingView& view, uint32_t at) {
  uint64_t value = 0;
  std::memcpy(&value, view.data + at, sizeof value);
  return value;
}

// Dumps one ring; returns false if it is corrupt (the reason is on stderr).
bool dump_ring(const RingFile& file, RingId ring_id) {
  const ring::RingView view = file.view(ring_id);
  const ControlFields control = load_control(view.control);
  print_header(ring_id, file.geometry(), control, view.data_size);

  ring::IncomingRing ring(view);
  std::vector<std::byte> buffer(view.data_size);
  uint32_t start = control.read_index;
  uint32_t packets = 0;
  for (;;) {
    wire::PacketView packet;
    const ring::ReadResult result = ring.read(buffer, &packet);
    if (result == ring::ReadResult::kEmpty) break;
    if (result == ring::ReadResult::kCorrupt) {
      static_cast<void>(std::fflush(stdout));  // keep stdout before stderr
      fmt::print(stderr, "vmbkit-ring: the {} ring is corrupt: {}\n", ring_name(ring_id),
                 wire::to_string(ring.corrupt_reason()));
      return false;
    }
    ++packets;
    fmt::print("  packet at {} offset8={} len8={}: {}\n", hex_number(start), packet.offset8,
               packet.len8, format_packet(packet));
    if (packet.type == wire::PacketType::kDataUsingTransferPages) {
      fmt::print("    sender_owns_set={}\n", hex_number(packet.sender_owns_set));
    }
    // start + len8 * 8 stays below 2 * data_size <= 2 GiB: no u32 overflow.
    uint32_t trailer_at = start + packet.len8 * 8U;
    if (trailer_at >= view.data_size) trailer_at -= view.data_size;
    const uint64_t trailer = load_trailer(view, trailer_at);
    if (trailer != wire::trailer_for(start)) {
      fmt::print("    note: trailer is {}, Hyper-V writes {} (readers ignore it)\n",
                 hex_number(trailer), hex_number(wire::trailer_for(start)));
    }
    start = trailer_at + wire::kTrailerSize;
    if (start >= view.data_size) start -= view.data_size;
  }
  if (packets == 0) fmt::print("  no unread packets\n");
  return true;
}

}  // namespace

ExitCode run_dump(const FileOptions& options) {
  const RingFile file =
      RingFile::open(options.path, options.pages, options.receive_pages, MapMode::kSnapshot);
  // Both rings are always shown; a corrupt first ring does not hide the second.
  const bool guest_to_host_ok = dump_ring(file, RingId::kGuestToHost);
  const bool host_to_guest_ok = dump_ring(file, RingId::kHostToGuest);
  return guest_to_host_ok && host_to_guest_ok ? ExitCode::kOk : ExitCode::kCorrupt;
}

}  // namespace vmb::ring_tool
