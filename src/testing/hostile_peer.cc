// SPDX-License-Identifier: MIT
// HostilePeer (see hostile_peer.h): raw control-word and data access to both rings of one
// channel, a producer that writes whatever it is told, and a consumer that reads the victim's
// packets through the ring layer's validating reader.
#include "testing/hostile_peer.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "vmbkit/wire/packet_view.h"

namespace vmb::testing {

uint32_t RawRing::load(size_t offset) const {
  // Safety: the control page is mapped for the life of the peer and page-aligned; every
  // offset passed is a u32 field's offset (a multiple of 4) inside the page. seq_cst: the
  // peer's attack and its next check of the victim's fields must not be reordered.
  return std::atomic_ref<uint32_t>(
             *std::launder(reinterpret_cast<uint32_t*>(view_.control + offset)))
      .load(std::memory_order_seq_cst);
}

void RawRing::store(size_t offset, uint32_t value) {
  // Safety: as load(). seq_cst for the same reason, and so a store of write_index releases
  // the packet bytes copied before it (the victim's acquire load pairs with it).
  std::atomic_ref<uint32_t>(*std::launder(reinterpret_cast<uint32_t*>(view_.control + offset)))
      .store(value, std::memory_order_seq_cst);
}

void RawRing::write(uint32_t at, std::span<const std::byte> bytes) {
  const uint32_t size = view_.data_size;
  uint32_t position = at % size;
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t piece = std::min<size_t>(bytes.size() - done, size - position);
    // Safety: [position, position + piece) lies inside the data area.
    std::memcpy(view_.data + position, bytes.data() + done, piece);
    done += piece;
    position = 0;
  }
}

void RawRing::read(uint32_t at, std::span<std::byte> out) const {
  const uint32_t size = view_.data_size;
  uint32_t position = at % size;
  size_t done = 0;
  while (done < out.size()) {
    const size_t piece = std::min<size_t>(out.size() - done, size - position);
    // Safety: as write().
    std::memcpy(out.data() + done, view_.data + position, piece);
    done += piece;
    position = 0;
  }
}

void RawRing::publish_packet(std::span<const std::byte> packet) {
  const uint32_t at = write_index() % view_.data_size;
  const size_t padded = wire::align8(packet.size());
  std::vector<std::byte> framed(padded + wire::kTrailerSize);
  if (!packet.empty()) std::memcpy(framed.data(), packet.data(), packet.size());
  const uint64_t trailer = wire::trailer_for(at);
  std::memcpy(framed.data() + padded, &trailer, sizeof trailer);
  write(at, framed);
  store(wire::kWriteIndexOffset,
        static_cast<uint32_t>((uint64_t{at} + framed.size()) % view_.data_size));
}

namespace {

ring::RingView view_of(const RingMapping& mapping) {
  const RingMemory& memory = mapping.memory();
  return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
}

}  // namespace

HostilePeer::HostilePeer(EndpointRole victim_role, std::shared_ptr<HostileLink> link,
                         RingMapping to_victim, RingMapping from_victim,
                         std::shared_ptr<const GuestMemoryMapping> guest)
    : victim_role_(victim_role),
      link_(std::move(link)),
      to_victim_mapping_(std::move(to_victim)),
      from_victim_mapping_(std::move(from_victim)),
      guest_(std::move(guest)),
      to_victim_(view_of(to_victim_mapping_)),
      from_victim_(view_of(from_victim_mapping_)),
      reader_(view_of(from_victim_mapping_)),
      read_buffer_(from_victim_.data_size() - 16),
      write_position_(to_victim_.write_index() % to_victim_.data_size()) {}

Status HostilePeer::send(const wire::PacketSpec& spec) { return write_packet(spec, true); }

Status HostilePeer::send_quietly(const wire::PacketSpec& spec) { return write_packet(spec, false); }

Status HostilePeer::write_packet(const wire::PacketSpec& spec, bool signal) {
  const Result<size_t> size = wire::encoded_packet_size(spec);
  if (!size) return Status{STATUS_INVALID_PARAMETER};
  std::vector<std::byte> bytes(*size + wire::kTrailerSize);
  if (!wire::encode_packet(spec, bytes)) return Status{STATUS_INVALID_PARAMETER};
  const uint64_t trailer = wire::trailer_for(write_position_);
  std::memcpy(bytes.data() + *size, &trailer, sizeof trailer);
  const uint32_t data_size = to_victim_.data_size();
  const uint32_t read_index = to_victim_.read_index();
  if (read_index >= data_size || read_index % 8 != 0 ||
      wire::ring_free_bytes(data_size, write_position_, read_index) <= bytes.size()) {
    return Status{STATUS_BUFFER_OVERFLOW};
  }
  const uint32_t before = write_position_;
  publish_raw(bytes, static_cast<uint32_t>(bytes.size()));
  // Rule A, as a real producer applies it after its seq_cst publish.
  if (signal &&
      wire::producer_should_signal(to_victim_.interrupt_mask(), to_victim_.read_index(), before)) {
    signal_victim();
  }
  return Status{};
}

Status HostilePeer::send_inband(std::span<const std::byte> payload, uint64_t transaction_id,
                                bool completion_requested) {
  wire::PacketSpec spec;
  spec.type = wire::PacketType::kDataInBand;
  spec.flags = completion_requested ? wire::kFlagCompletionRequested : 0;
  spec.transaction_id = transaction_id;
  spec.payload = payload;
  return send(spec);
}

Status HostilePeer::complete(uint64_t transaction_id, std::span<const std::byte> payload) {
  wire::PacketSpec spec;
  spec.type = wire::PacketType::kCompletion;
  spec.transaction_id = transaction_id;
  spec.payload = payload;
  return send(spec);
}

void HostilePeer::publish_raw(std::span<const std::byte> bytes, uint32_t advance) {
  to_victim_.write(write_position_, bytes);
  const uint32_t size = to_victim_.data_size();
  write_position_ = static_cast<uint32_t>((uint64_t{write_position_} + advance) % size);
  to_victim_.store(wire::kWriteIndexOffset, write_position_);
}

void HostilePeer::publish_packet_bytes(std::span<const std::byte> bytes) {
  const size_t padded = wire::align8(bytes.size());
  std::vector<std::byte> framed(padded + wire::kTrailerSize);
  if (!bytes.empty()) std::memcpy(framed.data(), bytes.data(), bytes.size());
  const uint64_t trailer = wire::trailer_for(write_position_);
  std::memcpy(framed.data() + padded, &trailer, sizeof trailer);
  publish_raw(framed, static_cast<uint32_t>(framed.size()));
  signal_victim();
}

void HostilePeer::signal_victim() {
  const std::lock_guard lock(link_->mutex);
  if (link_->victim != nullptr && !link_->peer_closed) link_->victim->deliver_signal();
}

std::optional<ReceivedPacket> HostilePeer::receive(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const uint64_t seen = signals_from_victim();
    wire::PacketView view;
    const ring::ReadResult result = reader_.read(read_buffer_, &view);
    if (result == ring::ReadResult::kPacket) {
      ReceivedPacket packet;
      packet.type = view.type;
      packet.flags = view.flags;
      packet.transaction_id = view.transaction_id;
      packet.payload.assign(view.payload.begin(), view.payload.end());
      packet.gpa_range_count = view.gpa_ranges.size();
      return packet;
    }
    if (result == ring::ReadResult::kCorrupt) return std::nullopt;
    // Publish what was read first: the victim signals (rule A) only when it finds the ring
    // empty, and it measures that against the published read index.
    commit_reads();
    if (reader_.has_data()) continue;  // written between our read and our commit: no signal
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    if (!wait_for_signal(seen, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - now + std::chrono::milliseconds(1)))) {
      return std::nullopt;
    }
  }
}

bool HostilePeer::commit_reads() {
  const bool signal = reader_.commit_read();
  if (signal) signal_victim();
  return signal;
}

uint64_t HostilePeer::signals_from_victim() const {
  const std::lock_guard lock(link_->mutex);
  return link_->signals_from_victim;
}

bool HostilePeer::wait_for_signal(uint64_t seen, std::chrono::milliseconds wait) {
  std::unique_lock lock(link_->mutex);
  return link_->changed.wait_for(lock, wait, [&] { return link_->signals_from_victim > seen; });
}

void HostilePeer::close() {
  const std::lock_guard lifecycle(link_->lifecycle);
  Channel* victim;
  {
    const std::lock_guard lock(link_->mutex);
    if (link_->peer_closed) return;
    link_->peer_closed = true;
    victim = link_->victim_closed ? nullptr : link_->victim;
    link_->changed.notify_all();
  }
  // Under `lifecycle`: the victim cannot finish closing (and be destroyed) meanwhile.
  if (victim != nullptr) victim->deliver_peer_closed();
}

bool HostilePeer::victim_closed() const {
  const std::lock_guard lock(link_->mutex);
  return link_->victim_closed;
}

bool HostilePeer::wait_for_victim_close(std::chrono::milliseconds wait) {
  std::unique_lock lock(link_->mutex);
  return link_->changed.wait_for(lock, wait, [&] { return link_->victim_closed; });
}

std::optional<Status> HostilePeer::wait_for_open_reply(std::chrono::milliseconds wait) {
  std::unique_lock lock(link_->mutex);
  link_->changed.wait_for(lock, wait, [&] { return link_->open_reply.has_value(); });
  return link_->open_reply;
}

}  // namespace vmb::testing
