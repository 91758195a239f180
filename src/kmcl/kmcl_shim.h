// SPDX-License-Identifier: MIT
// The private pieces of the KMCL shim: the DEVICE_OBJECT behind a bus handle, conversions
// between the C handles and the channel layer's objects (with the cheap validity checks every
// entry point makes), the ChannelDriver that forwards to a driver's C callbacks, and the
// boundary guards that keep exceptions out of the C API. Argument checks and translation only:
// behaviour lives in the channel layer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>

#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/channel_bus.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/kmcl.h"
#include "vmbkit/memory/guest_memory.h"

// A bus handle. Defined here, once, for every kind of bus the C API creates.
struct _DEVICE_OBJECT {
  static constexpr uint64_t kMagic = 0x5355424b4d424d56;  // "VMBMKBUS"
  uint64_t magic = kMagic;
  std::unique_ptr<vmb::ChannelBus> bus;
  // The guest memory client endpoints of this bus describe (VmbKitAllocateGuestBuffer): the
  // loopback bus's own, a guest bus's partition memory; null on a host bus, which has none.
  vmb::GuestMemory* guest_memory = nullptr;
  // The creator's reference plus one per channel: the bus lives until the last one is gone.
  std::atomic<uint32_t> references{1};
  std::atomic<bool> closed{false};
};

namespace vmb::kmcl {

// The bus behind a handle, or null if it is not a live, open bus.
DEVICE_OBJECT* bus_from(PDEVICE_OBJECT handle);
void release_bus(DEVICE_OBJECT* device);

// Null for a null or dead handle.
Channel* channel_from(VMBCHANNEL handle);
PacketObject* packet_from(VMBPACKET handle);
IncomingPacket* incoming_from(VMBPACKETCOMPLETION handle);

inline VMBCHANNEL handle_of(Channel& channel) { return reinterpret_cast<VMBCHANNEL>(&channel); }
inline VMBPACKET handle_of(PacketObject& packet) { return reinterpret_cast<VMBPACKET>(&packet); }
inline VMBPACKETCOMPLETION handle_of(IncomingPacket& packet) {
  return reinterpret_cast<VMBPACKETCOMPLETION>(&packet);
}

// Init functions report "wrong state" and "wrong role" as a bad first argument (kmcl-api.md
// §4.2); everything else passes through.
NTSTATUS init_status(Status status);

// Forwards the channel's callbacks to the driver's C functions. The callback pointers are set
// by Init functions while the channel is Disabled and only read after Enable.
class alignas(kCacheLine) KmclDriver final : public ChannelDriver {
 public:
  explicit KmclDriver(DEVICE_OBJECT* device) : device_(device) {}
  [[nodiscard]] DEVICE_OBJECT* device() const { return device_; }

  PFN_VMB_CHANNEL_PROCESS_PACKET process_packet_callback = nullptr;
  PFN_VMB_CHANNEL_PROCESSING_COMPLETE processing_complete_callback = nullptr;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS state_callbacks{};
  PFN_VMB_CHANNEL_PNP_FAILURE pnp_failure_callback = nullptr;
  PFN_VMB_CHANNEL_SAVE_PACKET save_packet_callback = nullptr;
  PFN_VMB_CHANNEL_RESTORE_PACKET restore_packet_callback = nullptr;
  // Pipe mode (kmcl-api.md §7.11; kmcl_pipe.cc): set by VmbChannelEnable from the channel's
  // configuration, read by every send and delivery after it.
  std::atomic<bool> pipe{false};

  void process_packet(Channel& channel, IncomingPacket& packet, std::span<std::byte> payload,
                      bool external_data) override;
  void processing_complete(Channel& channel, uint32_t packets) override;
  void packet_completed(PacketObject& packet, Status status, std::span<std::byte> payload) override;
  Status opened(Channel& channel) override;
  void closed(Channel& channel) override;
  void suspend(Channel& channel) override;
  void started(Channel& channel) override;
  void post_started(Channel& channel) override;
  void pnp_failure(Channel& channel, Status status) override;

 private:
  DEVICE_OBJECT* device_;
};

// ---- Pipe mode (kmcl_pipe.cc) ----
// Largest payload of one pipe packet, the pipe header excluded (wire-format.md §2.8).
inline constexpr uint32_t kMaximumPipePayload = 16384;
// True if the channel's configuration asks for pipe mode (IS_PIPE, or a server's OFFER_AS_PIPE).
bool configured_as_pipe(const Channel& channel);
// Sends `inband` as one pipe data packet: the 8-byte pipe header, then the bytes.
// STATUS_INVALID_PARAMETER for external data, a completion request or a payload above the
// pipe limit (pipes have no transactions and no external memory).
NTSTATUS send_pipe(PacketObject& packet, std::span<const std::byte> inband,
                   const ExternalData& external, uint32_t flags);
// Strips and checks the pipe header of an incoming packet. The data, or nullopt after failing
// the channel (the peer broke the pipe framing) and releasing the packet.
std::optional<std::span<std::byte>> receive_pipe(Channel& channel, IncomingPacket& packet,
                                                 std::span<std::byte> payload, bool external_data);

inline KmclDriver& driver_of(Channel& channel) {
  return static_cast<KmclDriver&>(channel.driver());
}

// Runs `body` (returning NTSTATUS) with every exception turned into a status.
template <typename Body>
NTSTATUS guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return STATUS_INSUFFICIENT_RESOURCES;
  } catch (...) {
    log_message(LogLevel::kError, "unexpected exception at the KMCL boundary");
    return STATUS_UNSUCCESSFUL;
  }
}

// The same for functions without a status: `fallback` is returned after an exception.
template <typename Value, typename Body>
Value guarded_value(Value fallback, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    log_message(LogLevel::kError, "exception at the KMCL boundary (out of memory?)");
    return fallback;
  }
}

template <typename Body>
void guarded_void(Body&& body) noexcept {
  try {
    body();
  } catch (...) {
    log_message(LogLevel::kError, "exception at the KMCL boundary (out of memory?)");
  }
}

}  // namespace vmb::kmcl
