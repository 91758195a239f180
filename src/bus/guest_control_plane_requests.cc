// SPDX-License-Identifier: MIT
// GuestControlPlane, part two: the guest's own requests — start (INITIATE_CONTACT), GPADL
// creation and teardown, OPENCHANNEL, CLOSECHANNEL, RELID_RELEASED and UNLOAD. Each checks the
// local state (a caller error is STATUS_INVALID_DEVICE_STATE or STATUS_INVALID_PARAMETER and
// sends nothing), sends, and records what answer to expect. The host's messages are handled in
// guest_control_plane.cc.
#include <array>

#include "vmbkit/bus/guest_control_plane.h"
#include "vmbkit/wire/gpadl_messages.h"

namespace vmb::bus {

namespace {

bool offers_known(GuestConnectionState state) {
  return state == GuestConnectionState::kOffersPending || state == GuestConnectionState::kReady;
}

}  // namespace

Status GuestControlPlane::start(int memory_fd) {
  if (state_ != GuestConnectionState::kIdle) return Status{STATUS_INVALID_DEVICE_STATE};
  if (memory_fd < 0) return Status{STATUS_INVALID_PARAMETER};
  memory_fd_ = memory_fd;
  version_ = wire::kNewestSupportedProtocolVersion;
  state_ = GuestConnectionState::kContacting;
  send_contact();
  return Status{};
}

Result<GpadlHandle> GuestControlPlane::create_gpadl(Relid relid, const GpaRanges& ranges) {
  const Offer* offer = find_offer(relid);
  if (!offers_known(state_) || offer == nullptr || offer->state == GuestChannelState::kRescinded) {
    return Status{STATUS_INVALID_DEVICE_STATE};
  }
  // The next handle not in use (the counter wraps after 2^32 GPADLs).
  while (gpadls_.contains(GpadlHandle{next_gpadl_handle_})) ++next_gpadl_handle_;
  const GpadlHandle handle{next_gpadl_handle_++};
  auto messages = wire::encode_gpadl(to_u32(relid), to_u32(handle), ranges.ranges());
  if (!messages.has_value()) return messages.status();
  gpadls_[handle] = Gpadl{relid, GpadlState::kCreating};
  for (const wire::GpadlMessage& message : *messages) effects_.send_to_host(message.span(), {});
  return handle;
}

bool GuestControlPlane::gpadl_used_as_ring(GpadlHandle handle) const {
  for (const auto& [relid, offer] : offers_) {
    if ((offer.state == GuestChannelState::kOpening || offer.state == GuestChannelState::kOpen) &&
        offer.ring == handle) {
      return true;
    }
  }
  return false;
}

Status GuestControlPlane::teardown_gpadl(Relid relid, GpadlHandle handle) {
  if (!offers_known(state_)) return Status{STATUS_INVALID_DEVICE_STATE};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.relid != relid ||
      found->second.state != GpadlState::kEstablished) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  if (gpadl_used_as_ring(handle)) return Status{STATUS_INVALID_DEVICE_STATE};
  found->second.state = GpadlState::kTearingDown;
  wire::GpadlTeardown teardown{};
  teardown.child_relid = to_u32(relid);
  teardown.gpadl = to_u32(handle);
  send(teardown);
  return Status{};
}

Status GuestControlPlane::open_channel(Relid relid, GpadlHandle ring,
                                       uint32_t downstream_page_offset,
                                       const wire::UserDefinedData& user_data,
                                       int guest_to_host_event, int host_to_guest_event) {
  if (guest_to_host_event < 0 || host_to_guest_event < 0) return Status{STATUS_INVALID_PARAMETER};
  Offer* offer = find_offer(relid);
  const auto gpadl = gpadls_.find(ring);
  if (!offers_known(state_) || offer == nullptr || offer->state != GuestChannelState::kClosed ||
      gpadl == gpadls_.end() || gpadl->second.relid != relid ||
      gpadl->second.state != GpadlState::kEstablished || gpadl_used_as_ring(ring)) {
    return Status{STATUS_INVALID_DEVICE_STATE};
  }
  wire::OpenChannel open{};
  open.child_relid = to_u32(relid);
  open.openid = to_u32(relid);  // as Linux does
  open.ringbuffer_gpadlhandle = to_u32(ring);
  open.target_vp = 0;
  open.downstream_ringbuffer_pageoffset = downstream_page_offset;
  open.user_data = user_data;
  offer->state = GuestChannelState::kOpening;
  offer->ring = ring;
  // fd_protocol.h: [0] guest→host, [1] host→guest.
  const std::array<int, 2> fds = {guest_to_host_event, host_to_guest_event};
  send(open, fds);
  return Status{};
}

Status GuestControlPlane::close_channel(Relid relid) {
  Offer* offer = find_offer(relid);
  if (!offers_known(state_) || offer == nullptr) return Status{STATUS_INVALID_DEVICE_STATE};
  if (offer->state == GuestChannelState::kRescinded) return Status{};  // the host closed it
  if (offer->state != GuestChannelState::kOpen) return Status{STATUS_INVALID_DEVICE_STATE};
  offer->state = GuestChannelState::kClosed;
  wire::CloseChannel close{};
  close.child_relid = to_u32(relid);
  send(close);
  return Status{};
}

Status GuestControlPlane::release_relid(Relid relid) {
  const Offer* offer = find_offer(relid);
  if (!offers_known(state_) || offer == nullptr || offer->state != GuestChannelState::kRescinded) {
    return Status{STATUS_INVALID_DEVICE_STATE};
  }
  for (const auto& [handle, gpadl] : gpadls_) {
    // An unanswered request would get its answer after the relid is gone.
    if (gpadl.relid == relid && gpadl.state != GpadlState::kEstablished) {
      return Status{STATUS_INVALID_DEVICE_STATE};
    }
  }
  // The host drops the relid's remaining GPADLs with it (HostControlPlane does).
  std::erase_if(gpadls_, [relid](const auto& entry) { return entry.second.relid == relid; });
  offers_.erase(relid);
  wire::RelidReleased released{};
  released.child_relid = to_u32(relid);
  send(released);
  return Status{};
}

Status GuestControlPlane::unload() {
  if (!offers_known(state_)) return Status{STATUS_INVALID_DEVICE_STATE};
  state_ = GuestConnectionState::kUnloading;
  send(wire::Unload{});
  return Status{};
}

}  // namespace vmb::bus
