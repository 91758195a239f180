// SPDX-License-Identifier: MIT
// GuestControlPlane: the client (guest) side of the VMBus channel-management protocol
// (wire-format.md §5.5), the mirror of HostControlPlane and, like it, a state machine without
// I/O. It connects with version fallback (5.3 down to 5.0), requests and tracks offers, creates
// and tears down GPADLs, opens and closes channels, follows rescinds and unloads. Requests
// return at once; answers arrive as effects (gpadl_created, open_completed, ...), so the owner
// decides how long to wait. The host is untrusted too (decisions.md §7): any message that does
// not fit the guest's state drops the connection. Not here: sockets, threads, waiting, memory.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "vmbkit/bus/attached_fds.h"
#include "vmbkit/bus/bus_ids.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/channel_messages.h"
#include "vmbkit/wire/protocol_version.h"

namespace vmb::bus {

// The effects of GuestControlPlane. Called synchronously from inside its methods; an effect
// must not call back into the same GuestControlPlane.
class GuestControlPlaneEffects {
 public:
  virtual ~GuestControlPlaneEffects() = default;
  // Send one message (at most 240 bytes) with these descriptors (borrowed: still owned by the
  // caller of the request that sent them) to the host.
  virtual void send_to_host(std::span<const uint8_t> message, std::span<const int> fds) = 0;
  // The host accepted `version`; REQUESTOFFERS is on its way.
  virtual void connected(wire::ProtocolVersion version) = 0;
  // No version was accepted (STATUS_REVISION_MISMATCH), the host refused the connection
  // (STATUS_CONNECTION_REFUSED) or it ended during negotiation (STATUS_DEVICE_REMOVED). The
  // connection is over.
  virtual void connect_failed(Status status) = 0;
  virtual void offer_received(const wire::OfferChannel& offer) = 0;
  virtual void all_offers_delivered() = 0;
  // The host withdrew `relid`: close the channel if open, tear down its GPADLs if wanted, then
  // call release_relid. A pending open has already completed with STATUS_DEVICE_REMOVED.
  virtual void offer_rescinded(Relid relid) = 0;
  // Answer to create_gpadl: success, the host's failure (STATUS_UNSUCCESSFUL) or
  // STATUS_DEVICE_REMOVED when the connection ended first.
  virtual void gpadl_created(Relid relid, GpadlHandle handle, Status status) = 0;
  // Answer to teardown_gpadl (also when the connection ended first): the memory is free.
  virtual void gpadl_torn_down(Relid relid, GpadlHandle handle) = 0;
  // Answer to open_channel: success, the host's failure (STATUS_UNSUCCESSFUL), or
  // STATUS_DEVICE_REMOVED (rescinded, or the connection ended first).
  virtual void open_completed(Relid relid, Status status) = 0;
  // UNLOAD_RESPONSE arrived.
  virtual void unloaded() = 0;
  // The host broke the protocol: close the connection. Called once, after the pending requests
  // completed with STATUS_DEVICE_REMOVED; `reason` is kept in disconnect_reason().
  virtual void disconnect(std::string_view reason) = 0;
};

enum class GuestConnectionState : uint8_t {
  kIdle,           // start() not called yet
  kContacting,     // INITIATE_CONTACT sent, waiting for VERSION_RESPONSE
  kOffersPending,  // REQUESTOFFERS sent, ALLOFFERS_DELIVERED not yet seen
  kReady,          // all initial offers known; later offers are hot adds
  kUnloading,      // UNLOAD sent
  kClosed,         // unloaded, connect failed, dropped or connection lost
};

enum class GuestChannelState : uint8_t {
  kClosed,     // offered, not open
  kOpening,    // OPENCHANNEL sent
  kOpen,       // OPENCHANNEL_RESULT success received
  kRescinded,  // the host withdrew it; waiting for release_relid
};

// One connection's control plane. Not thread-safe: the owner serialises every call.
class GuestControlPlane {
 public:
  static constexpr uint32_t kFirstGpadlHandle = 0xE1E10;  // as Linux counts
  static constexpr size_t kMaximumOffers = 4096;          // more from the host drops it

  explicit GuestControlPlane(GuestControlPlaneEffects& effects);
  GuestControlPlane(const GuestControlPlane&) = delete;
  GuestControlPlane& operator=(const GuestControlPlane&) = delete;
  ~GuestControlPlane();

  // Sends INITIATE_CONTACT for the newest version with `memory_fd` (borrowed; re-sent with
  // every retry, fd_protocol.h). STATUS_INVALID_DEVICE_STATE unless kIdle.
  Status start(int memory_fd);

  // One datagram from the host. Anything wrong with it drops the connection.
  void receive(std::span<const uint8_t> message, AttachedFds fds);

  // Sends `ranges` as GPADL `*handle` (chosen here) of `relid`; gpadl_created answers.
  // STATUS_INVALID_DEVICE_STATE unless offers are known and `relid` is offered and not
  // rescinded; STATUS_INVALID_PARAMETER for ranges that do not fit one GPADL.
  Result<GpadlHandle> create_gpadl(Relid relid, const GpaRanges& ranges);
  // Sends GPADL_TEARDOWN; gpadl_torn_down answers. STATUS_INVALID_PARAMETER for a handle that
  // is not an established GPADL of `relid`, STATUS_INVALID_DEVICE_STATE while it is the ring
  // of an opening or open channel.
  Status teardown_gpadl(Relid relid, GpadlHandle handle);
  // Sends OPENCHANNEL with the two eventfds (borrowed); open_completed answers.
  // STATUS_INVALID_DEVICE_STATE unless `relid` is closed and `ring` an established GPADL of it.
  Status open_channel(Relid relid, GpadlHandle ring, uint32_t downstream_page_offset,
                      const wire::UserDefinedData& user_data, int guest_to_host_event,
                      int host_to_guest_event);
  // Sends CLOSECHANNEL for an open channel; no answer comes. A rescinded channel is only marked
  // closed. STATUS_INVALID_DEVICE_STATE if not open.
  Status close_channel(Relid relid);
  // Sends RELID_RELEASED for a rescinded relid and forgets it and its GPADLs.
  // STATUS_INVALID_DEVICE_STATE if not rescinded, still open, or a GPADL request of it is
  // unanswered.
  Status release_relid(Relid relid);
  // Sends UNLOAD; unloaded answers. Open channels are forgotten (the host closes them).
  Status unload();
  // The connection is gone: pending requests complete with STATUS_DEVICE_REMOVED. Idempotent.
  void connection_lost();

  [[nodiscard]] GuestConnectionState state() const { return state_; }
  [[nodiscard]] wire::ProtocolVersion version() const { return version_; }
  [[nodiscard]] const std::string& disconnect_reason() const { return disconnect_reason_; }
  // The channel state of a known offer, or nullptr.
  [[nodiscard]] const GuestChannelState* channel_state(Relid relid) const;
  // A known offer (as received), or nullptr.
  [[nodiscard]] const wire::OfferChannel* offer(Relid relid) const;

 private:
  enum class GpadlState : uint8_t { kCreating, kEstablished, kTearingDown };
  struct Offer {
    wire::OfferChannel message{};
    GuestChannelState state = GuestChannelState::kClosed;
    GpadlHandle ring{};  // while kOpening / kOpen
  };
  struct Gpadl {
    Relid relid{};
    GpadlState state = GpadlState::kCreating;
  };

  void on_version_response(const wire::VersionResponse& response);
  void on_offer(const wire::OfferChannel& offer);
  void on_rescind(const wire::RescindChannelOffer& rescind);
  void on_open_result(const wire::OpenChannelResult& result);
  void on_gpadl_created(const wire::GpadlCreated& created);
  void on_gpadl_torndown(const wire::GpadlTorndown& torndown);
  void send_contact();
  void complete_pending(bool forget_channels);
  void violation(std::string reason);
  template <typename T>
  void send(const T& message, std::span<const int> fds = {}) {
    const auto bytes = wire::encode(message);
    effects_.send_to_host(bytes, fds);
  }
  Offer* find_offer(Relid relid);
  bool gpadl_used_as_ring(GpadlHandle handle) const;

  GuestControlPlaneEffects& effects_;
  GuestConnectionState state_ = GuestConnectionState::kIdle;
  wire::ProtocolVersion version_ = wire::kNewestSupportedProtocolVersion;
  int memory_fd_ = -1;
  std::map<Relid, Offer> offers_;
  std::map<GpadlHandle, Gpadl> gpadls_;
  uint32_t next_gpadl_handle_ = kFirstGpadlHandle;
  std::string disconnect_reason_;
};

}  // namespace vmb::bus
