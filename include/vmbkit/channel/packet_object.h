// SPDX-License-Identifier: MIT
// PacketObject: the sender's object for one outgoing packet and the transaction it starts
// (KMCL's VMBPACKET, kmcl-api.md §7.2). It holds everything a send needs, reserved when the
// object is made: room for the largest in-band payload and for the GPA-direct header of the
// largest external data the channel allows, so a queued send never allocates. The object is
// either taken from the channel's pool or placed in caller memory (VmbPacketInitialize), so it
// is trivially destructible and owns no heap memory. Between a successful send and its
// completion routine the packet belongs to the channel. Not here: sending (channel.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "vmbkit/ntstatus.h"

namespace vmb {

class Channel;
class SyncRequestWaiter;

// A link in a channel's send queue: an outgoing packet, or the completion of an incoming one
// that waits for ring space.
struct SendQueueEntry {
  SendQueueEntry* next = nullptr;
  bool is_completion = false;
};

class PacketObject : public SendQueueEntry {
 public:
  // What happens when the packet's transaction ends.
  enum class Completion : uint8_t {
    kFreeAutomatically,  // VmbPacketAllocate's default: the packet returns to the pool
    kNone,               // no routine (VmbPacketInitialize's start): the packet cannot be sent
    kDriver,             // ChannelDriver::packet_completed is called
  };
  // A driver routine stored opaquely for the C shim (any function pointer type round-trips).
  using GenericRoutine = void (*)();

  static constexpr size_t kAlignment = 8;

  PacketObject(const PacketObject&) = delete;
  PacketObject& operator=(const PacketObject&) = delete;

  // False for memory that is not a live packet object (a cheap guard against bad handles).
  [[nodiscard]] bool valid() const { return magic_ == kMagic; }
  [[nodiscard]] Channel& channel() const { return *channel_; }
  [[nodiscard]] void* pointer() const { return pointer_; }
  void set_pointer(void* pointer) { pointer_ = pointer; }
  [[nodiscard]] bool from_pool() const { return from_pool_; }
  // True from a successful send until the completion routine has been called.
  [[nodiscard]] bool in_flight() const { return state_ != State::kIdle; }

  // Installs the completion behaviour. Returns false (nothing changes) while in flight.
  bool set_completion(Completion completion, GenericRoutine routine);
  [[nodiscard]] Completion completion() const { return completion_; }
  [[nodiscard]] GenericRoutine driver_routine() const { return routine_; }

  // Bytes of storage after the object for the given capacities.
  static size_t storage_bytes(uint32_t inband_capacity, uint32_t external_header_capacity);

 private:
  friend class Channel;
  enum class State : uint8_t {
    kIdle,      // owned by the driver
    kQueued,    // waiting in the send queue for ring space (or for the channel to open)
    kInRing,    // written; waiting for the peer's completion
    kFinished,  // transaction over; waiting for its completion routine to run
  };
  // A synchronous request's packet while its requester polls for the completion with the
  // drain (Channel::send_synchronous): the requester finishes it itself, without mutex_.
  enum class Polled : uint8_t {
    kNo,       // finished by whoever matches or retires it, under mutex_
    kPolling,  // its requester finishes it; a close or failure sets polled_abort_ instead
    kMatched,  // its requester finished it; back to the pool at the next allocation
  };
  static constexpr uint64_t kMagic = 0x4f54504b42424d56;  // "VMBBKPTO"

  PacketObject(Channel& channel, bool from_pool, uint32_t inband_capacity,
               uint32_t external_header_capacity);

  // The in-band copy, then the encoded GPA-direct header (8-byte aligned).
  [[nodiscard]] std::byte* inband() { return reinterpret_cast<std::byte*>(this + 1); }
  [[nodiscard]] std::byte* external_header() { return inband() + inband_room_; }
  void invalidate() { magic_ = 0; }

  uint64_t magic_ = kMagic;
  Channel* channel_;
  void* pointer_ = nullptr;
  GenericRoutine routine_ = nullptr;
  SyncRequestWaiter* waiter_ = nullptr;  // set for the internal packet of a synchronous request
  uint64_t transaction_id_ = 0;          // 0 unless a completion was requested
  uint32_t inband_capacity_;             // largest in-band payload
  uint32_t inband_room_;                 // inband_capacity_ rounded up to 8
  uint32_t external_header_capacity_;
  uint32_t inband_length_ = 0;
  uint32_t external_header_length_ = 0;
  NTSTATUS finished_status_ = STATUS_SUCCESS;
  NTSTATUS polled_abort_status_ = STATUS_SUCCESS;  // under mutex_: why polled_abort_ was set
  // The two fields a polling requester reads or writes without mutex_ (see Polled).
  std::atomic<Polled> polled_{Polled::kNo};
  std::atomic<bool> polled_abort_{false};
  uint16_t wire_flags_ = 0;
  Completion completion_;
  State state_ = State::kIdle;
  bool from_pool_;
};
static_assert(alignof(PacketObject) <= PacketObject::kAlignment);
static_assert(sizeof(PacketObject) % PacketObject::kAlignment == 0);
static_assert(std::is_trivially_destructible_v<PacketObject>);

}  // namespace vmb
