// SPDX-License-Identifier: MIT
// GuestControlPlane, part one: the host's messages — version negotiation with fallback, offers,
// rescinds, the answers to GPADL and open requests, UNLOAD_RESPONSE — and the cleanup shared by
// violations and connection loss. The guest's own requests are in
// guest_control_plane_requests.cc.
#include "vmbkit/bus/guest_control_plane.h"

#include <utility>

namespace vmb::bus {

using wire::ChannelMessageType;

namespace {

std::string relid_text(uint32_t relid) { return "relid " + std::to_string(relid); }

}  // namespace

GuestControlPlane::GuestControlPlane(GuestControlPlaneEffects& effects) : effects_(effects) {}

GuestControlPlane::~GuestControlPlane() = default;

GuestControlPlane::Offer* GuestControlPlane::find_offer(Relid relid) {
  const auto found = offers_.find(relid);
  return found == offers_.end() ? nullptr : &found->second;
}

const GuestChannelState* GuestControlPlane::channel_state(Relid relid) const {
  const auto found = offers_.find(relid);
  return found == offers_.end() ? nullptr : &found->second.state;
}

const wire::OfferChannel* GuestControlPlane::offer(Relid relid) const {
  const auto found = offers_.find(relid);
  return found == offers_.end() ? nullptr : &found->second.message;
}

void GuestControlPlane::receive(std::span<const uint8_t> message, AttachedFds fds) {
  if (state_ == GuestConnectionState::kClosed || state_ == GuestConnectionState::kIdle) return;
  const auto decoded = wire::decode_channel_message(message);
  if (!decoded.has_value()) {
    violation("undecodable message: " + std::string(wire::to_string(decoded.rejection())));
    return;
  }
  const ChannelMessageType type = wire::message_type(decoded.value());
  if (!fds.empty()) {
    violation(std::string(wire::to_string(type)) + " from the host carries descriptors");
    return;
  }
  if (state_ == GuestConnectionState::kContacting && type != ChannelMessageType::kVersionResponse) {
    violation(std::string(wire::to_string(type)) + " before VERSION_RESPONSE");
    return;
  }
  if (state_ == GuestConnectionState::kUnloading && type != ChannelMessageType::kUnloadResponse) {
    return;  // whatever the host sent before it saw our UNLOAD no longer matters
  }
  const wire::ChannelMessage& body = decoded.value();
  switch (type) {
    case ChannelMessageType::kVersionResponse:
      on_version_response(std::get<wire::VersionResponse>(body));
      return;
    case ChannelMessageType::kOfferChannel:
      on_offer(std::get<wire::OfferChannel>(body));
      return;
    case ChannelMessageType::kAllOffersDelivered:
      if (state_ != GuestConnectionState::kOffersPending) {
        violation("ALLOFFERS_DELIVERED twice");
        return;
      }
      state_ = GuestConnectionState::kReady;
      effects_.all_offers_delivered();
      return;
    case ChannelMessageType::kRescindChannelOffer:
      on_rescind(std::get<wire::RescindChannelOffer>(body));
      return;
    case ChannelMessageType::kOpenChannelResult:
      on_open_result(std::get<wire::OpenChannelResult>(body));
      return;
    case ChannelMessageType::kGpadlCreated:
      on_gpadl_created(std::get<wire::GpadlCreated>(body));
      return;
    case ChannelMessageType::kGpadlTorndown:
      on_gpadl_torndown(std::get<wire::GpadlTorndown>(body));
      return;
    case ChannelMessageType::kUnloadResponse:
      if (state_ != GuestConnectionState::kUnloading) {
        violation("UNLOAD_RESPONSE without UNLOAD");
        return;
      }
      complete_pending(true);
      state_ = GuestConnectionState::kClosed;
      effects_.unloaded();
      return;
    default:
      // Guest-to-host messages, and answers to requests vmbkit never makes (MODIFYCHANNEL,
      // TL_CONNECT_REQUEST).
      violation(std::string(wire::to_string(type)) + " is not a message a host sends unasked");
      return;
  }
}

void GuestControlPlane::send_contact() {
  wire::InitiateContact contact{};
  contact.version_requested = static_cast<uint32_t>(version_);
  contact.set_message_target(2, 0);  // SINT 2 as on Hyper-V; meaningless over a socket
  const int fds[] = {memory_fd_};
  send(contact, fds);
}

void GuestControlPlane::on_version_response(const wire::VersionResponse& response) {
  if (state_ != GuestConnectionState::kContacting) {
    violation("VERSION_RESPONSE outside version negotiation");
    return;
  }
  if (response.version_supported == 0) {
    const auto next = wire::next_protocol_version_to_try(version_);
    if (!next.has_value()) {
      state_ = GuestConnectionState::kClosed;
      effects_.connect_failed(Status{STATUS_REVISION_MISMATCH});
      return;
    }
    version_ = *next;
    send_contact();
    return;
  }
  if (response.connection_state != static_cast<uint8_t>(wire::ConnectionState::kSuccessful)) {
    state_ = GuestConnectionState::kClosed;
    effects_.connect_failed(Status{STATUS_CONNECTION_REFUSED});
    return;
  }
  state_ = GuestConnectionState::kOffersPending;
  effects_.connected(version_);
  send(wire::RequestOffers{});
}

void GuestControlPlane::on_offer(const wire::OfferChannel& offer) {
  const Relid relid{offer.child_relid};
  if (offer.child_relid == 0 || offers_.contains(relid)) {
    violation("OFFERCHANNEL with " + relid_text(offer.child_relid) + ", zero or in use");
    return;
  }
  if (offers_.size() >= kMaximumOffers) {
    violation("more than " + std::to_string(kMaximumOffers) + " offers");
    return;
  }
  offers_[relid].message = offer;
  effects_.offer_received(offer);
}

void GuestControlPlane::on_rescind(const wire::RescindChannelOffer& rescind) {
  const Relid relid{rescind.child_relid};
  Offer* offer = find_offer(relid);
  if (offer == nullptr || offer->state == GuestChannelState::kRescinded) {
    violation("RESCIND_CHANNELOFFER for " + relid_text(rescind.child_relid) +
              ", unknown or rescinded already");
    return;
  }
  const bool was_opening = offer->state == GuestChannelState::kOpening;
  offer->state = GuestChannelState::kRescinded;
  // The host closed an opening channel without answering, or will refuse our OPENCHANNEL if
  // it crossed the rescind; either way the open is over now and a late result is ignored.
  if (was_opening) effects_.open_completed(relid, Status{STATUS_DEVICE_REMOVED});
  effects_.offer_rescinded(relid);
}

void GuestControlPlane::on_open_result(const wire::OpenChannelResult& result) {
  const Relid relid{result.child_relid};
  Offer* offer = find_offer(relid);
  if (offer != nullptr && offer->state == GuestChannelState::kRescinded) return;  // see above
  if (offer == nullptr || offer->state != GuestChannelState::kOpening) {
    violation("OPENCHANNEL_RESULT for " + relid_text(result.child_relid) + " not opening");
    return;
  }
  if (result.status == 0) {
    offer->state = GuestChannelState::kOpen;
    effects_.open_completed(relid, Status{});
  } else {
    offer->state = GuestChannelState::kClosed;
    effects_.open_completed(relid, Status{STATUS_UNSUCCESSFUL});
  }
}

void GuestControlPlane::on_gpadl_created(const wire::GpadlCreated& created) {
  const GpadlHandle handle{created.gpadl};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.state != GpadlState::kCreating ||
      to_u32(found->second.relid) != created.child_relid) {
    violation("GPADL_CREATED for GPADL " + std::to_string(created.gpadl) + " of " +
              relid_text(created.child_relid) + " that is not being created");
    return;
  }
  const Relid relid = found->second.relid;
  if (created.creation_status == 0) {
    found->second.state = GpadlState::kEstablished;
    effects_.gpadl_created(relid, handle, Status{});
  } else {
    gpadls_.erase(found);
    effects_.gpadl_created(relid, handle, Status{STATUS_UNSUCCESSFUL});
  }
}

void GuestControlPlane::on_gpadl_torndown(const wire::GpadlTorndown& torndown) {
  const GpadlHandle handle{torndown.gpadl};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.state != GpadlState::kTearingDown) {
    violation("GPADL_TORNDOWN for GPADL " + std::to_string(torndown.gpadl) +
              " that is not being torn down");
    return;
  }
  const Relid relid = found->second.relid;
  gpadls_.erase(found);
  effects_.gpadl_torn_down(relid, handle);
}

void GuestControlPlane::complete_pending(bool forget_channels) {
  const Status removed{STATUS_DEVICE_REMOVED};
  if (state_ == GuestConnectionState::kContacting) effects_.connect_failed(removed);
  for (auto& [relid, offer] : offers_) {
    if (offer.state == GuestChannelState::kOpening) {
      offer.state = GuestChannelState::kClosed;
      effects_.open_completed(relid, removed);
    }
  }
  // Copy out first: the effects may not call back, but erasing while iterating is clearer.
  std::map<GpadlHandle, Gpadl> gpadls = std::exchange(gpadls_, {});
  for (const auto& [handle, gpadl] : gpadls) {
    if (gpadl.state == GpadlState::kCreating) effects_.gpadl_created(gpadl.relid, handle, removed);
    if (gpadl.state == GpadlState::kTearingDown) effects_.gpadl_torn_down(gpadl.relid, handle);
  }
  if (forget_channels) offers_.clear();
}

void GuestControlPlane::connection_lost() {
  if (state_ == GuestConnectionState::kClosed) return;
  complete_pending(false);
  state_ = GuestConnectionState::kClosed;
}

void GuestControlPlane::violation(std::string reason) {
  if (state_ == GuestConnectionState::kClosed) return;
  complete_pending(false);
  state_ = GuestConnectionState::kClosed;
  disconnect_reason_ = std::move(reason);
  effects_.disconnect(disconnect_reason_);
}

}  // namespace vmb::bus
