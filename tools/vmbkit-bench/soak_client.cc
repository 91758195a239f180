// SPDX-License-Identifier: MIT
// SoakClient and SoakClientDriver (see soak_client.h).
#include "soak_client.h"

#include <vector>

#include "soak_payload.h"
#include "vmbkit/mdl.h"

namespace vmb::soak {
namespace {

constexpr uint32_t kMaximumInFlight = 32;
// Every wait of the soak is bounded by this; running into it counts as a stall.
constexpr std::chrono::seconds kBound{30};

}  // namespace

void SoakClientDriver::packet_completed(PacketObject& packet, Status status,
                                        std::span<std::byte> payload) {
  const auto sequence = reinterpret_cast<uintptr_t>(packet.pointer());
  const bool ok = status.ok();
  const bool matches = ok && reply_matches(channel_, sequence, payload);
  packet.channel().free_packet(packet);
  const std::lock_guard lock(mutex_);
  --in_flight_;
  if (!ok) {
    ++errors_;
  } else {
    ++replies_;
    if (!matches) ++bad_replies_;
  }
  changed_.notify_all();
}

void SoakClientDriver::post_started(Channel& /*channel*/) {
  const std::lock_guard lock(mutex_);
  running_ = true;
  changed_.notify_all();
}

void SoakClientDriver::closed(Channel& /*channel*/) {
  const std::lock_guard lock(mutex_);
  running_ = false;
  changed_.notify_all();
}

bool SoakClientDriver::wait_running(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return running_; });
}

bool SoakClientDriver::wait_in_flight_below(uint32_t limit, std::chrono::milliseconds bound) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, bound, [&] { return in_flight_ < limit; });
}

void SoakClientDriver::collect(ClientTally* tally) {
  const std::lock_guard lock(mutex_);
  tally->replies += replies_;
  tally->bad_replies += bad_replies_;
  tally->errors += errors_;
}

void SoakClient::run(std::chrono::steady_clock::time_point until) {
  uint64_t sequence = 0;
  bool stop = false;
  while (!stop && std::chrono::steady_clock::now() < until) {
    bool barrier = false;
    stop = !send(sequence++, &barrier);
  }
  // The barrier: keep the sequence going until a synchronous request went through.
  for (bool barrier = false; !stop && !barrier;) stop = !send(sequence++, &barrier);
  if (!driver_.wait_in_flight_below(1, kBound)) ++tally_.stalls;
}

bool SoakClient::send(uint64_t sequence, bool* was_barrier) {
  const Shape shape = shape_of(id_, sequence);
  std::vector<std::byte> inband(shape.inband_bytes);
  fill_inband(id_, sequence, shape, inband);
  if (damage_every_ != 0 && sequence % damage_every_ == damage_every_ - 1) {
    inband.back() ^= std::byte{0x01};
  }
  *was_barrier = shape.kind == Kind::kSyncRequest || shape.kind == Kind::kExternal;
  switch (shape.kind) {
    case Kind::kAsyncRequest:
    case Kind::kOneWay: {
      const bool async = shape.kind == Kind::kAsyncRequest;
      if (async && !driver_.wait_in_flight_below(kMaximumInFlight, kBound)) {
        ++tally_.stalls;
        return false;
      }
      PacketObject* packet = channel_.allocate_packet();
      if (packet == nullptr) {
        ++tally_.errors;
        return false;
      }
      if (async) {
        (void)packet->set_completion(PacketObject::Completion::kDriver, nullptr);
        packet->set_pointer(reinterpret_cast<void*>(static_cast<uintptr_t>(sequence)));
        driver_.started_request();
      }
      const Status status = channel_.send(*packet, inband, {}, async ? kSendWaitForCompletion : 0);
      if (!status.ok()) {
        if (async) driver_.refused_request();
        channel_.free_packet(*packet);
        ++tally_.errors;
        return false;
      }
      break;
    }
    case Kind::kSyncRequest:
      if (!request(sequence, inband, nullptr)) return false;
      break;
    case Kind::kExternal: {
      Result<GuestBuffer> buffer = memory_.allocate(shape.external_bytes);
      if (!buffer) {
        ++tally_.errors;
        return false;
      }
      fill_external(id_, sequence, std::span(buffer->address, shape.external_bytes));
      PMDL mdl = IoAllocateMdl(buffer->address, shape.external_bytes, FALSE, FALSE, nullptr);
      bool ok = mdl != nullptr;
      if (ok) {
        MmBuildMdlForNonPagedPool(mdl);
        ok = request(sequence, inband, mdl);
        IoFreeMdl(mdl);
      } else {
        ++tally_.errors;
      }
      (void)memory_.free(buffer->address);
      if (!ok) return false;
      break;
    }
  }
  ++tally_.sent;
  tally_.sent_bytes += uint64_t{shape.inband_bytes} + shape.external_bytes;
  return true;
}

bool SoakClient::request(uint64_t sequence, std::span<const std::byte> inband,
                         const MDL* external) {
  Reply reply{};
  const SyncRequestResult result = channel_.send_synchronous(
      inband, external, kSendWaitForCompletion, std::as_writable_bytes(std::span(&reply, 1)),
      Deadline::after(kBound));
  if (!result.status.ok()) {
    if (result.status == STATUS_CANCELLED) ++tally_.stalls;
    ++tally_.errors;
    return false;
  }
  ++tally_.replies;
  if (result.completion_bytes != sizeof reply ||
      !reply_matches(id_, sequence, std::as_bytes(std::span(&reply, 1)))) {
    ++tally_.bad_replies;
  }
  return true;
}

ClientTally SoakClient::tally() {
  ClientTally tally = tally_;
  driver_.collect(&tally);
  return tally;
}

}  // namespace vmb::soak
