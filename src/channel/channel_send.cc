// SPDX-License-Identifier: MIT
// Channel's outgoing side (decisions.md §3–§4): argument checks, the in-band copy and external
// data description at send time, the FIFO send queue with the pending-send-size protocol
// (wire-format.md §3.3 rule B) when the ring is full, transaction ids, synchronous requests,
// and retiring packets when the connection ends. The outgoing ring is used under mutex_ only.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "channel/callback_scope.h"
#include "channel/channel_internals.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/memory/mdl_chain.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb {
namespace {

wire::PacketLayout layout_of(const SendQueueEntry& entry, uint32_t inband, uint32_t header) {
  return entry.is_completion ? wire::layout_packet(0, inband) : wire::layout_packet(header, inband);
}

}  // namespace

void SyncRequestWaiter::finish(Status status, std::span<const std::byte> payload) {
  status_ = status;
  if (completion_.has_value()) {  // else the caller wants no completion data
    const size_t copied = std::min(payload.size(), completion_->size());
    if (copied != 0) std::memcpy(completion_->data(), payload.data(), copied);
    copied_ = static_cast<uint32_t>(copied);
    // The request ran on the peer; only the data did not fit (decisions.md §4).
    if (status.ok() && payload.size() > completion_->size()) {
      status_ = Status{STATUS_BUFFER_TOO_SMALL};
    }
  }
  done_.store(true, std::memory_order_release);  // last: a polling caller reads the rest after
}

Status Channel::check_send(const PacketObject& packet, std::span<const std::byte> inband,
                           const ExternalData& external, uint32_t flags) const {
  if ((flags & ~kSendDefinedFlags) != 0) return Status{STATUS_INVALID_PARAMETER};
  if (inband.size() > packet.inband_capacity_) return Status{STATUS_INVALID_PARAMETER};
  if (inband.data() == nullptr && !inband.empty()) return Status{STATUS_INVALID_PARAMETER};
  if (external.kind == ExternalData::Kind::kNone) return Status{};
  // External data: only a client can describe (its own guest) memory, and the sender must
  // hold the pages until the peer completes (decisions.md §2–§3).
  if (is_server() || (flags & kSendWaitForCompletion) == 0) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  if (external.kind == ExternalData::Kind::kPfns ? external.pfns == nullptr
                                                 : external.mdl == nullptr) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  return Status{};
}

Status Channel::prepare_external(PacketObject& packet, const ExternalData& external,
                                 uint32_t flags) {
  packet.external_header_length_ = 0;
  if (external.kind == ExternalData::Kind::kNone) return Status{};
  const std::shared_ptr<const GuestMemoryMapping> memory = bus_->guest_memory();
  if (!memory) return Status{STATUS_INVALID_PARAMETER};
  const uint64_t pages = memory->page_count();
  Status status;
  switch (external.kind) {
    case ExternalData::Kind::kMdlChain:
      status = describe_mdl_chain(external.mdl, 0, 0, MdlLengthMode::kWithinChain, pages,
                                  &scratch_ranges_);
      break;
    case ExternalData::Kind::kMdlRange:
      status =
          describe_mdl_chain(external.mdl, external.mdl_offset, external.mdl_length,
                             (flags & kSendForceMdlLength) != 0 ? MdlLengthMode::kForceMdlLength
                                                                : MdlLengthMode::kWithinChain,
                             pages, &scratch_ranges_);
      break;
    case ExternalData::Kind::kPfns:
      status = describe_pfns(external.pfns, external.pfn_count, pages, &scratch_ranges_);
      break;
    case ExternalData::Kind::kNone:
      break;
  }
  if (!status.ok()) return Status{STATUS_INVALID_PARAMETER};
  if (scratch_ranges_.total_bytes() > config_.maximum_external_bytes ||
      scratch_ranges_.size() > config_.maximum_external_chain) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  const Result<size_t> written = wire::encode_gpa_direct_header(
      scratch_ranges_.ranges(),
      std::span<std::byte>(packet.external_header(), packet.external_header_capacity_));
  if (!written) return Status{STATUS_INVALID_PARAMETER};
  packet.external_header_length_ = static_cast<uint32_t>(*written);
  return Status{};
}

Status Channel::send(PacketObject& packet, std::span<const std::byte> inband,
                     const ExternalData& external, uint32_t flags) {
  if (Status status = check_send(packet, inband, external, flags); !status.ok()) return status;
  bool corrupt = false;
  Status status;
  {
    const std::lock_guard lock(mutex_);
    if (packet.channel_ != this || packet.state_ != PacketObject::State::kIdle ||
        packet.completion_ == PacketObject::Completion::kNone) {
      return Status{STATUS_INVALID_PARAMETER};
    }
    if (!failure_.ok() || connection_ == Connection::kDisabled) {
      return Status{STATUS_DEVICE_REMOVED};
    }
    status = prepare_external(packet, external, flags);
    if (!status.ok()) return status;
    if (!inband.empty()) std::memcpy(packet.inband(), inband.data(), inband.size());
    packet.inband_length_ = static_cast<uint32_t>(inband.size());
    packet.wire_flags_ = (flags & kSendWaitForCompletion) != 0 ? wire::kFlagCompletionRequested : 0;
    status = submit_locked(packet, true, &corrupt);
  }
  if (corrupt) fail(Status{STATUS_DATA_ERROR}, "the peer corrupted the outgoing ring");
  return status;
}

Status Channel::submit_locked(PacketObject& packet, bool allow_queue, bool* corrupt) {
  const wire::PacketLayout layout =
      layout_of(packet, packet.inband_length_, packet.external_header_length_);
  if (!layout.valid) return Status{STATUS_INVALID_PARAMETER};
  if (open_ && layout.ring_bytes() > open_->outgoing.max_ring_bytes()) {
    return Status{STATUS_INVALID_PARAMETER};  // could never fit this connection's ring
  }
  packet.is_completion = false;
  if (open_ && send_head_ == nullptr) {
    if (write_entry_locked(packet, corrupt)) {
      commit_locked();
      return Status{};
    }
    if (*corrupt) return Status{STATUS_DEVICE_REMOVED};
  }
  // The ring is full (or not open yet, or others wait): queue in order, unless forbidden.
  if (!allow_queue) return Status{STATUS_BUFFER_OVERFLOW};
  packet.state_ = PacketObject::State::kQueued;
  enqueue_locked(packet);
  if (open_ && send_head_ == &packet) flush_locked(corrupt);  // arm rule B for the head
  return Status{};
}

void Channel::enqueue_locked(SendQueueEntry& entry) {
  entry.next = nullptr;
  if (send_tail_ != nullptr) {
    send_tail_->next = &entry;
  } else {
    send_head_ = &entry;
  }
  send_tail_ = &entry;
}

bool Channel::unlink_locked(SendQueueEntry& entry) {
  SendQueueEntry* previous = nullptr;
  for (SendQueueEntry* at = send_head_; at != nullptr; previous = at, at = at->next) {
    if (at != &entry) continue;
    (previous != nullptr ? previous->next : send_head_) = at->next;
    if (send_tail_ == at) send_tail_ = previous;
    at->next = nullptr;
    if (send_head_ == nullptr && open_) open_->outgoing.clear_space_request();
    return true;
  }
  return false;
}

bool Channel::write_entry_locked(SendQueueEntry& entry, bool* corrupt) {
  if (entry.is_completion) {
    auto& record = static_cast<IncomingPacket&>(entry);
    if (!write_completion_locked(
            record.transaction_id_,
            std::span<const std::byte>(record.bytes_.data(), record.completion_length_), corrupt)) {
      return false;
    }
    release_record_locked(record);
    return true;
  }
  auto& packet = static_cast<PacketObject&>(entry);
  uint64_t id = 0;
  if ((packet.wire_flags_ & wire::kFlagCompletionRequested) != 0) {
    const Result<TransactionId> allocated = transactions_.allocate(&packet);
    if (!allocated) return false;  // a million transactions outstanding: wait for some
    id = allocated->value;
  }
  ring::WriteResult result;
  if (packet.external_header_length_ == 0) {
    // In-band only: the ring's inline path (one payload, no extended header). The span is
    // built in the call: a named one lived in memory and was copied out with a 16-byte load
    // from two 8-byte stores, a store-forwarding stall on every request.
    result = open_->outgoing.try_write(
        wire::PacketType::kDataInBand, packet.wire_flags_, id,
        std::span<const std::byte>(packet.inband(), packet.inband_length_));
  } else {
    const std::span<const std::byte> piece(packet.inband(), packet.inband_length_);
    ring::OutgoingPacket out;
    out.type = wire::PacketType::kDataUsingGpaDirect;
    out.flags = packet.wire_flags_;
    out.transaction_id = id;
    out.extended_header =
        std::span<const std::byte>(packet.external_header(), packet.external_header_length_);
    out.payload = std::span<const std::span<const std::byte>>(&piece, 1);
    result = open_->outgoing.try_write(out);
  }
  if (result != ring::WriteResult::kWritten && id != 0) {
    transactions_.release(TransactionId{id});
  }
  switch (result) {
    case ring::WriteResult::kWritten:
      tx_packets_.add(1);
      tx_bytes_.add(packet.inband_length_);
      packet.transaction_id_ = id;
      if (id != 0) {
        packet.state_ = PacketObject::State::kInRing;
      } else {
        finish_packet_locked(packet, Status{});  // no completion wanted: done once written
      }
      return true;
    case ring::WriteResult::kInvalidPacket:
      // Checked at send time, so only a channel whose ring shrank can get here.
      finish_packet_locked(packet, Status{STATUS_INVALID_PARAMETER});
      return true;
    case ring::WriteResult::kCorrupt:
      *corrupt = true;
      return false;
    case ring::WriteResult::kFull:
      return false;
  }
  return false;
}

bool Channel::write_completion_locked(uint64_t transaction_id, std::span<const std::byte> payload,
                                      bool* corrupt) {
  const ring::WriteResult result =
      open_->outgoing.try_write(wire::PacketType::kCompletion, 0, transaction_id, payload);
  if (result == ring::WriteResult::kWritten) {
    tx_packets_.add(1);
    tx_bytes_.add(payload.size());
    tx_completions_.add(1);
    return true;
  }
  if (result == ring::WriteResult::kCorrupt) *corrupt = true;
  return false;
}

void Channel::commit_locked() {
  if (open_ && open_->outgoing.commit()) {
    tx_signals_.add(1);
    open_->connection->signal_peer();
  }
}

void Channel::flush_locked(bool* corrupt) {
  if (!open_) return;
  while (send_head_ != nullptr) {
    SendQueueEntry* entry = send_head_;
    SendQueueEntry* next = entry->next;
    uint32_t inband = 0;
    uint32_t header = 0;
    if (entry->is_completion) {
      inband = static_cast<IncomingPacket*>(entry)->completion_length_;
    } else {
      inband = static_cast<PacketObject*>(entry)->inband_length_;
      header = static_cast<PacketObject*>(entry)->external_header_length_;
    }
    const uint32_t ring_bytes = layout_of(*entry, inband, header).ring_bytes();
    bool written =
        ring_bytes <= open_->outgoing.max_ring_bytes() && write_entry_locked(*entry, corrupt);
    if (!written && !*corrupt && ring_bytes > open_->outgoing.max_ring_bytes()) {
      // Queued before the open, larger than this connection's ring: it can never be sent.
      if (entry->is_completion) {
        release_record_locked(*static_cast<IncomingPacket*>(entry));
      } else {
        finish_packet_locked(*static_cast<PacketObject*>(entry), Status{STATUS_INVALID_PARAMETER});
      }
      written = true;
    }
    if (written) {
      send_head_ = next;
      if (send_head_ == nullptr) send_tail_ = nullptr;
      continue;
    }
    if (*corrupt) break;
    // Rule B: ask the consumer to signal once enough space is free; it may be free already.
    // Publish what was written first: the consumer measures free space against the published
    // write index, and a request that counted bytes we publish later could exceed what the
    // ring can ever free (then the signal would never come).
    commit_locked();
    const ring::SpaceRequest request = open_->outgoing.request_space(ring_bytes);
    if (request == ring::SpaceRequest::kAvailable) continue;
    if (request == ring::SpaceRequest::kCorrupt) *corrupt = true;
    break;
  }
  if (send_head_ == nullptr) open_->outgoing.clear_space_request();
  commit_locked();
}

void Channel::flush_send_queue() {
  bool corrupt = false;
  {
    const std::lock_guard lock(mutex_);
    if (send_head_ == nullptr) return;
    flush_locked(&corrupt);
  }
  if (corrupt) fail(Status{STATUS_DATA_ERROR}, "the peer corrupted the outgoing ring");
}

void Channel::finish_waiter_locked(PacketObject& packet, Status status,
                                   std::span<const std::byte> payload) {
  SyncRequestWaiter* const waiter = packet.waiter_;
  packet.waiter_ = nullptr;
  packet.transaction_id_ = 0;
  packet.state_ = PacketObject::State::kIdle;
  free_packet_locked(packet);
  waiter->finish(status, payload);  // last: the requester may return as soon as it sees this
  changed_.notify_all();
}

void Channel::finish_packet_locked(PacketObject& packet, Status status) {
  switch (packet.polled_.load(std::memory_order_relaxed)) {
    case PacketObject::Polled::kPolling:
      // Its requester finishes the waiter (it may be doing so now): ask it to stop. Its
      // transaction id is left for release_polled_locked() or the caller's reset.
      packet.polled_abort_status_ = status.code();
      packet.polled_abort_.store(true, std::memory_order_relaxed);
      return;
    case PacketObject::Polled::kMatched:
      return;  // finished by its requester; release_polled_locked() returns it to the pool
    case PacketObject::Polled::kNo:
      break;
  }
  packet.transaction_id_ = 0;
  if (packet.waiter_ != nullptr) {
    finish_waiter_locked(packet, status, {});
    wake_sleeper();  // its requester may sleep in sleep_draining
    return;
  }
  packet.state_ = PacketObject::State::kFinished;
  packet.finished_status_ = status.code();
  packet.next = nullptr;
  if (finished_tail_ != nullptr) {
    finished_tail_->next = &packet;
  } else {
    finished_head_ = &packet;
  }
  finished_tail_ = &packet;
  ++routines_pending_;
  dispatch_task_->schedule();  // routines never run inside the send call (decisions.md §3)
}

void Channel::retire_all_sends(Status status) {
  while (send_head_ != nullptr) {
    SendQueueEntry* entry = send_head_;
    send_head_ = entry->next;
    entry->next = nullptr;
    if (entry->is_completion) {
      release_record_locked(*static_cast<IncomingPacket*>(entry));
    } else {
      finish_packet_locked(*static_cast<PacketObject*>(entry), status);
    }
  }
  send_tail_ = nullptr;
  transactions_.reset(
      [&](void* owner) { finish_packet_locked(*static_cast<PacketObject*>(owner), status); });
}

}  // namespace vmb
