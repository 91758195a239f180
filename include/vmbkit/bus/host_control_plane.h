// SPDX-License-Identifier: MIT
// HostControlPlane: the server (host) side of the VMBus channel-management protocol for one
// guest partition (wire-format.md §5.5), as a state machine without I/O. Input: the raw bytes of
// each control message the guest sent (untrusted), the descriptors beside it, and local events
// (an offer added or removed, an open completed, the connection lost). Output: calls on a
// HostControlPlaneEffects (messages to send, GPADLs established, opens requested, channels
// closed, relids released, the guest dropped). Tests drive it with a recording fake. Not here:
// sockets, threads, mapping memory or building channel endpoints (the bus server does that in
// its effects), or relid allocation across guests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vmbkit/bus/attached_fds.h"
#include "vmbkit/bus/bus_ids.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/channel_messages.h"
#include "vmbkit/wire/gpadl_messages.h"
#include "vmbkit/wire/protocol_version.h"

namespace vmb::bus {

// What the host's side of a channel needs to build its endpoint when the guest opens it.
struct HostOpenRequest {
  Relid relid{};
  uint32_t open_id = 0;
  GpadlHandle ring_gpadl{};
  // Every page of the ring GPADL, in order; each inside the guest's memory. Pages
  // [0, downstream_page_offset) are the guest→host ring (control page first), the rest the
  // host→guest ring (wire-format.md §1.3). Valid during the effect call only.
  std::span<const uint64_t> ring_pages;
  uint32_t downstream_page_offset = 0;
  uint32_t target_vp = 0;
  uint32_t connection_id = 0;  // the offer's connection_id
  wire::UserDefinedData user_data{};
};

// The effects of HostControlPlane. Called synchronously from inside its methods, on the thread
// that called them; an effect must not call back into the same HostControlPlane.
class HostControlPlaneEffects {
 public:
  virtual ~HostControlPlaneEffects() = default;
  // Send one control message (at most 240 bytes, no descriptors) to the guest.
  virtual void send_to_guest(std::span<const uint8_t> message) = 0;
  // Map the memfd the guest sent with the INITIATE_CONTACT being accepted. Returns the
  // guest's page count; a failure (a descriptor the host cannot use) drops the guest.
  virtual Result<uint64_t> map_guest_memory(UniqueFd memory) = 0;
  // The guest's memory is no longer needed (unload, disconnect, connection lost).
  virtual void guest_memory_released() = 0;
  // A GPADL is complete and every PFN in `ranges` lies inside the guest's memory.
  virtual void gpadl_established(Relid relid, GpadlHandle handle, const GpaRanges& ranges) = 0;
  // A GPADL is gone (torn down by the guest, or dropped with its relid or the connection).
  virtual void gpadl_torn_down(Relid relid, GpadlHandle handle) = 0;
  // The guest asked to open a channel; answer later with HostControlPlane::complete_open.
  virtual void open_requested(const HostOpenRequest& request, UniqueFd guest_to_host_event,
                              UniqueFd host_to_guest_event) = 0;
  // An opening or open channel is closed on the host side (guest's CLOSECHANNEL, rescind,
  // unload, disconnect or connection lost). Outstanding work fails with STATUS_DEVICE_REMOVED.
  virtual void channel_closed(Relid relid) = 0;
  // This guest no longer uses `relid` (RELID_RELEASED, or an offer it never saw was removed,
  // or the connection ended): the bus may reuse it once no guest holds it.
  virtual void relid_released(Relid relid) = 0;
  // The guest broke the protocol: close its connection. Called once, after every cleanup
  // effect above; `reason` is also kept in disconnect_reason().
  virtual void disconnect(std::string_view reason) = 0;
};

// Resource limits per guest; a guest that exceeds one is refused or dropped as documented.
struct HostLimits {
  uint32_t maximum_gpadls = 1024;          // established; more → GPADL_CREATED failure
  uint32_t maximum_pending_gpadls = 64;    // being reassembled; more → dropped
  uint64_t maximum_gpadl_words = 1 << 20;  // range words over all GPADLs; more → failure
};

enum class HostConnectionState : uint8_t {
  kAwaitingContact,  // no INITIATE_CONTACT accepted yet (or after UNLOAD)
  kContacted,        // version agreed, guest memory mapped; REQUESTOFFERS not seen yet
  kOffersRequested,  // offers delivered; hot-added offers go out at once
  kDisconnected,     // dropped or connection lost; every input is ignored
};

enum class HostOfferState : uint8_t {
  kNotSent,    // the guest has not been told of it
  kOffered,    // OFFERCHANNEL sent; closed
  kOpening,    // OPENCHANNEL accepted, waiting for complete_open
  kOpen,       // OPENCHANNEL_RESULT success sent
  kRescinded,  // RESCIND_CHANNELOFFER sent, waiting for RELID_RELEASED
};

// One guest partition's control plane. Not thread-safe: the owner serialises every call.
class HostControlPlane {
 public:
  HostControlPlane(HostControlPlaneEffects& effects, HostLimits limits = {});
  HostControlPlane(const HostControlPlane&) = delete;
  HostControlPlane& operator=(const HostControlPlane&) = delete;
  ~HostControlPlane();

  // One datagram from the guest: the message bytes and the descriptors that came with it
  // (closed here unless handed on). Anything wrong with it drops the guest.
  void receive(std::span<const uint8_t> message, AttachedFds fds);

  // Offers a channel to this guest. `offer.child_relid` is set by the caller (non-zero, not
  // held by this guest in any state, including rescinded-but-unreleased). A sub-channel
  // (sub_channel_index > 0) needs its primary (same if_type and if_instance, index 0) offered
  // and not rescinded. The offer goes out now if the guest already asked for offers.
  // STATUS_INVALID_PARAMETER otherwise; STATUS_DEVICE_REMOVED once disconnected.
  Status add_offer(const wire::OfferChannel& offer);

  // Withdraws an offer: an open channel is closed (channel_closed), then RESCIND_CHANNELOFFER
  // goes out and the relid is held until RELID_RELEASED. An offer never sent is dropped at once
  // (relid_released). STATUS_INVALID_PARAMETER for an unknown relid, STATUS_INVALID_DEVICE_STATE
  // if already rescinded, STATUS_DEVICE_REMOVED once disconnected.
  Status remove_offer(Relid relid);

  // Answers an open_requested: sends OPENCHANNEL_RESULT with `result`'s code (0 = success).
  // STATUS_INVALID_DEVICE_STATE if the channel is no longer opening (closed or rescinded in the
  // meantime: the caller discards what it built).
  Status complete_open(Relid relid, Status result);

  // The host's server maps (VmbChannelMapGpadl) an established GPADL of `relid`, or lets go of
  // it. While it is mapped, the guest's GPADL_TEARDOWN is held: GPADL_TORNDOWN (and
  // gpadl_torn_down) follow the unmap, so the guest reuses the pages only after the server let
  // go (kmcl-api.md §4.7: DeleteGpadl blocks while the server has the GPADL mapped).
  // map_gpadl: STATUS_INVALID_PARAMETER for a GPADL that is not established, of another relid,
  // being torn down or mapped already; STATUS_DEVICE_REMOVED once disconnected. unmap_gpadl
  // ignores a GPADL that is not mapped (gone with its relid, an unload or the connection).
  Status map_gpadl(Relid relid, GpadlHandle handle);
  void unmap_gpadl(Relid relid, GpadlHandle handle);

  // The connection to the guest is gone: every channel closes, every GPADL and relid is
  // released. Idempotent.
  void connection_lost();

  [[nodiscard]] HostConnectionState state() const { return state_; }
  // The agreed version; meaningful from kContacted on.
  [[nodiscard]] wire::ProtocolVersion version() const { return version_; }
  [[nodiscard]] uint64_t guest_page_count() const { return guest_page_count_; }
  // Why the guest was dropped; empty while it was not.
  [[nodiscard]] const std::string& disconnect_reason() const { return disconnect_reason_; }
  // The state of an offer this guest holds, or nullptr.
  [[nodiscard]] const HostOfferState* offer_state(Relid relid) const;
  [[nodiscard]] size_t gpadl_count() const { return gpadls_.size(); }

 private:
  struct Offer {
    wire::OfferChannel message{};
    HostOfferState state = HostOfferState::kNotSent;
    GpadlHandle ring_gpadl{};  // while kOpening / kOpen
    uint32_t open_id = 0;      // while kOpening: echoed in OPENCHANNEL_RESULT
    uint64_t added_order = 0;  // offers go out in the order they were added
  };
  struct Gpadl {
    Relid relid{};
    std::optional<wire::GpadlReassembler> assembler;  // while being reassembled
    GpaRanges ranges;                                 // once complete
    bool in_use = false;                              // the ring of an opening or open channel
    bool mapped = false;              // by the host's server (map_gpadl .. unmap_gpadl)
    bool teardown_requested = false;  // GPADL_TEARDOWN held until the unmap
  };

  // Connection-level messages (host_control_plane.cc).
  void on_message(const wire::ChannelMessage& message, AttachedFds& fds);
  void on_initiate_contact(const wire::InitiateContact& contact, AttachedFds& fds);
  void on_request_offers();
  void on_unload();
  void on_modify_channel(const wire::ModifyChannel& modify);
  void on_tl_connect_request(const wire::TlConnectRequest& request);
  void send_offer(Offer& offer);
  // Channel-level messages (host_control_plane_channels.cc).
  void on_gpadl_header(const wire::UndecodedGpadlMessage& message);
  void on_gpadl_body(const wire::UndecodedGpadlMessage& message);
  void finish_gpadl(GpadlHandle handle, Gpadl& gpadl);
  void on_gpadl_teardown(const wire::GpadlTeardown& teardown);
  // Forgets an established GPADL, reports it torn down and sends GPADL_TORNDOWN.
  void finish_teardown(std::map<GpadlHandle, Gpadl>::iterator found);
  void on_open_channel(const wire::OpenChannel& open, AttachedFds& fds);
  void on_close_channel(const wire::CloseChannel& close);
  void on_relid_released(const wire::RelidReleased& released);
  void send_open_result(Relid relid, uint32_t open_id, uint32_t status);
  void close_channel(Relid relid, Offer& offer);
  void drop_gpadls_of(Relid relid);
  // Closes every channel, drops every GPADL, releases rescinded relids and the memory.
  void release_everything();
  void violation(std::string reason);
  template <typename T>
  void send(const T& message) {
    const auto bytes = wire::encode(message);
    effects_.send_to_guest(bytes);
  }
  Offer* find_offer(Relid relid);
  bool requires_offers_requested(std::string_view what);

  HostControlPlaneEffects& effects_;
  HostLimits limits_;
  HostConnectionState state_ = HostConnectionState::kAwaitingContact;
  wire::ProtocolVersion version_{};
  uint64_t guest_page_count_ = 0;
  bool memory_mapped_ = false;
  std::map<Relid, Offer> offers_;
  uint64_t offers_added_ = 0;
  std::map<GpadlHandle, Gpadl> gpadls_;
  uint32_t pending_gpadls_ = 0;
  uint32_t established_gpadls_ = 0;
  uint64_t gpadl_words_ = 0;  // range words of the established GPADLs
  std::string disconnect_reason_;
};

}  // namespace vmb::bus
