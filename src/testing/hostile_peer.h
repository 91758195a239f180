// SPDX-License-Identifier: MIT
// HostilePeer: the far end of one live channel under test, driven by a test instead of by a
// channel. It holds exactly what a real peer legitimately holds — both rings' control pages and
// data areas, mapped from guest memory, and the right to signal — and uses it raw: it can
// behave (send well-formed packets, read the victim's packets and complete them) or attack
// (store any value in any control-page word, publish arbitrary bytes as packets, complete
// unknown or repeated transaction ids, storm signals, vanish). HostileBus (hostile_bus.h)
// creates one per attacked channel. Test-only. Not here: the victim's checks (the channel
// core) or anything between processes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "vmbkit/channel/channel.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory_mapping.h"
#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/packet_encoder.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::testing {

// One ring's shared memory, as raw as a peer holds it. Control words are accessed atomically
// (seq_cst: an attack should be visible to the victim's next load, not merely eventually);
// data bytes with memcpy at ring offsets taken modulo the data size, wrapping at the end.
class RawRing {
 public:
  explicit RawRing(const ring::RingView& view) : view_(view) {}
  [[nodiscard]] uint32_t load(size_t offset) const;
  void store(size_t offset, uint32_t value);
  [[nodiscard]] uint32_t write_index() const { return load(wire::kWriteIndexOffset); }
  [[nodiscard]] uint32_t read_index() const { return load(wire::kReadIndexOffset); }
  [[nodiscard]] uint32_t interrupt_mask() const { return load(wire::kInterruptMaskOffset); }
  [[nodiscard]] uint32_t pending_send_size() const { return load(wire::kPendingSendSizeOffset); }
  [[nodiscard]] uint32_t feature_bits() const { return load(wire::kFeatureBitsOffset); }
  void write(uint32_t at, std::span<const std::byte> bytes);
  void read(uint32_t at, std::span<std::byte> out) const;
  // As a producer that owns this ring's write index: copies `packet`, zero padding and a
  // Hyper-V trailer at the current write index, then publishes the index past them. Checks
  // nothing, signals nobody. For peers that hold a ring without a HostilePeer (another
  // process's guest).
  void publish_packet(std::span<const std::byte> packet);
  [[nodiscard]] uint32_t data_size() const { return view_.data_size; }
  [[nodiscard]] const ring::RingView& view() const { return view_; }

 private:
  ring::RingView view_;
};

// A packet the victim wrote, as the peer read (and validated) it.
struct ReceivedPacket {
  wire::PacketType type = wire::PacketType::kInvalid;
  uint16_t flags = 0;
  uint64_t transaction_id = 0;
  std::vector<std::byte> payload;  // padding included
  uint32_t gpa_range_count = 0;
  [[nodiscard]] bool completion_requested() const {
    return (flags & wire::kFlagCompletionRequested) != 0;
  }
};

// State shared by a HostilePeer and the victim's connection: who is still attached, and the
// signals that crossed. Lock order: `lifecycle`, then `mutex`, then the victim's own locks.
// `victim` is cleared under both before the victim channel can be destroyed, so a call through
// it reaches a live channel: signals need only `mutex`; delivering "peer closed" holds
// `lifecycle` (posting that event takes the victim's mutex, which the victim holds while it
// signals, so it must not happen under `mutex`).
struct HostileLink {
  std::mutex lifecycle;
  std::mutex mutex;
  std::condition_variable changed;
  Channel* victim = nullptr;
  bool victim_closed = false;  // the victim closed its side (Disable, failure, peer close)
  bool peer_closed = false;    // the peer went away (HostilePeer::close)
  uint64_t signals_from_victim = 0;
  std::optional<Status> open_reply;  // server victim: its answer to the open
};

class HostilePeer {
 public:
  // Takes the peer's own mappings of the two rings: `to_victim` is the ring the victim reads,
  // `from_victim` the ring it writes. `guest` is the guest memory both sides map.
  HostilePeer(EndpointRole victim_role, std::shared_ptr<HostileLink> link, RingMapping to_victim,
              RingMapping from_victim, std::shared_ptr<const GuestMemoryMapping> guest);
  HostilePeer(const HostilePeer&) = delete;
  HostilePeer& operator=(const HostilePeer&) = delete;

  [[nodiscard]] EndpointRole victim_role() const { return victim_role_; }
  [[nodiscard]] RawRing& to_victim() { return to_victim_; }
  [[nodiscard]] RawRing& from_victim() { return from_victim_; }
  [[nodiscard]] const std::shared_ptr<const GuestMemoryMapping>& guest_memory() const {
    return guest_;
  }

  // ---- Behaving: the peer's producer side. One thread at a time. ----
  // Encodes `spec`, writes it with its trailer at the peer's write position, publishes it and
  // signals the victim when rule A says so. STATUS_INVALID_PARAMETER for a spec the encoder
  // refuses, STATUS_BUFFER_OVERFLOW when the ring has no room (nothing written).
  Status send(const wire::PacketSpec& spec);
  // As send(), but never signals: the victim sees the packet on its next drain.
  Status send_quietly(const wire::PacketSpec& spec);
  Status send_inband(std::span<const std::byte> payload, uint64_t transaction_id,
                     bool completion_requested);
  Status complete(uint64_t transaction_id, std::span<const std::byte> payload);

  // ---- Attacking ----
  // Copies `bytes` to the peer's write position (wrapping), then publishes write_index moved
  // by `advance` bytes (mod the data size; any value, aligned or not). No space check, no
  // signal. The peer's write position follows the published index.
  void publish_raw(std::span<const std::byte> bytes, uint32_t advance);
  // Publishes `bytes` as one packet: copies them and a Hyper-V trailer, advances by their
  // length rounded up to 8 plus the trailer, and signals. Nothing checks the bytes.
  void publish_packet_bytes(std::span<const std::byte> bytes);
  [[nodiscard]] uint32_t write_position() const { return write_position_; }
  // Interrupts the victim (whatever the rules say). Any thread; ignored once it closed.
  void signal_victim();

  // ---- Reading the victim's packets (one thread at a time) ----
  // The next packet the victim wrote, waiting at most `wait` for a signal when the ring is
  // empty. Publishes the read index (and signals the victim if rule B says so) before waiting.
  // std::nullopt when nothing came, or the victim wrote a corrupt ring (peer_read_error()).
  std::optional<ReceivedPacket> receive(std::chrono::milliseconds wait);
  // Publishes the read index of what receive() consumed; signals by rule B. Returns the signal.
  bool commit_reads();
  [[nodiscard]] wire::CorruptReason peer_read_error() const { return reader_.corrupt_reason(); }

  // ---- Signals and lifetime ----
  [[nodiscard]] uint64_t signals_from_victim() const;
  // Waits until more than `seen` signals arrived; false after `wait`.
  bool wait_for_signal(uint64_t seen, std::chrono::milliseconds wait);
  // The peer goes away: the victim sees its peer close. Idempotent.
  void close();
  [[nodiscard]] bool victim_closed() const;
  // Waits for the victim to close its side; false after `wait`.
  bool wait_for_victim_close(std::chrono::milliseconds wait);
  // Server victims: the answer to the open (std::nullopt until it came).
  std::optional<Status> wait_for_open_reply(std::chrono::milliseconds wait);

  // The bus's handle on the shared state.
  [[nodiscard]] const std::shared_ptr<HostileLink>& link() const { return link_; }

 private:
  Status write_packet(const wire::PacketSpec& spec, bool signal);

  const EndpointRole victim_role_;
  std::shared_ptr<HostileLink> link_;
  RingMapping to_victim_mapping_;
  RingMapping from_victim_mapping_;
  std::shared_ptr<const GuestMemoryMapping> guest_;
  RawRing to_victim_;
  RawRing from_victim_;
  ring::IncomingRing reader_;
  std::vector<std::byte> read_buffer_;
  uint32_t write_position_ = 0;
};

}  // namespace vmb::testing
