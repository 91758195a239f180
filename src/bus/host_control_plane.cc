// SPDX-License-Identifier: MIT
// HostControlPlane, part one: decoding and dispatch of the guest's messages, the connection
// (INITIATE_CONTACT, REQUESTOFFERS, UNLOAD, MODIFYCHANNEL, TL_CONNECT_REQUEST), offers and
// rescinds, and the cleanup shared by unload, violations and connection loss. The per-channel
// messages (GPADLs, open, close, relid release) are in host_control_plane_channels.cc.
#include "vmbkit/bus/host_control_plane.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "vmbkit/bus/fd_protocol.h"

namespace vmb::bus {

using wire::ChannelMessageType;

HostControlPlane::HostControlPlane(HostControlPlaneEffects& effects, HostLimits limits)
    : effects_(effects), limits_(limits) {}

HostControlPlane::~HostControlPlane() = default;

HostControlPlane::Offer* HostControlPlane::find_offer(Relid relid) {
  const auto found = offers_.find(relid);
  return found == offers_.end() ? nullptr : &found->second;
}

const HostOfferState* HostControlPlane::offer_state(Relid relid) const {
  const auto found = offers_.find(relid);
  return found == offers_.end() ? nullptr : &found->second.state;
}

void HostControlPlane::receive(std::span<const uint8_t> message, AttachedFds fds) {
  if (state_ == HostConnectionState::kDisconnected) return;
  // The decoder copies the bytes first and reads msgtype once (wire-format.md §7 item 9).
  const auto decoded = wire::decode_channel_message(message);
  if (!decoded.has_value()) {
    violation("undecodable message: " + std::string(wire::to_string(decoded.rejection())));
    return;
  }
  const ChannelMessageType type = wire::message_type(decoded.value());
  if (fds.size() != required_fd_count(type)) {
    violation(std::string(wire::to_string(type)) + " with " + std::to_string(fds.size()) +
              " descriptors instead of " + std::to_string(required_fd_count(type)));
    return;
  }
  on_message(decoded.value(), fds);
}

void HostControlPlane::on_message(const wire::ChannelMessage& message, AttachedFds& fds) {
  const ChannelMessageType type = wire::message_type(message);
  if (const auto* contact = std::get_if<wire::InitiateContact>(&message)) {
    on_initiate_contact(*contact, fds);
    return;
  }
  if (const auto* contact = std::get_if<wire::InitiateContactWithClientId>(&message)) {
    // Below 6.0 the client id means nothing.
    on_initiate_contact(contact->contact, fds);
    return;
  }
  if (state_ == HostConnectionState::kAwaitingContact) {
    violation(std::string(wire::to_string(type)) + " before INITIATE_CONTACT was accepted");
    return;
  }
  switch (type) {
    case ChannelMessageType::kRequestOffers:
      on_request_offers();
      return;
    case ChannelMessageType::kUnload:
      on_unload();
      return;
    case ChannelMessageType::kGpadlHeader:
      on_gpadl_header(std::get<wire::UndecodedGpadlMessage>(message));
      return;
    case ChannelMessageType::kGpadlBody:
      on_gpadl_body(std::get<wire::UndecodedGpadlMessage>(message));
      return;
    case ChannelMessageType::kGpadlTeardown:
      on_gpadl_teardown(std::get<wire::GpadlTeardown>(message));
      return;
    case ChannelMessageType::kOpenChannel:
      on_open_channel(std::get<wire::OpenChannel>(message), fds);
      return;
    case ChannelMessageType::kCloseChannel:
      on_close_channel(std::get<wire::CloseChannel>(message));
      return;
    case ChannelMessageType::kRelidReleased:
      on_relid_released(std::get<wire::RelidReleased>(message));
      return;
    case ChannelMessageType::kModifyChannel:
      on_modify_channel(std::get<wire::ModifyChannel>(message));
      return;
    case ChannelMessageType::kTlConnectRequest:
      if (const auto* request = std::get_if<wire::TlConnectRequest>(&message)) {
        on_tl_connect_request(*request);
      } else {
        on_tl_connect_request(std::get<wire::TlConnectRequestWithSiloId>(message).request);
      }
      return;
    default:
      // OFFERCHANNEL, VERSION_RESPONSE, GPADL_CREATED, ...: only a host sends these.
      violation(std::string(wire::to_string(type)) + " is a host-to-guest message");
      return;
  }
}

void HostControlPlane::on_initiate_contact(const wire::InitiateContact& contact, AttachedFds& fds) {
  if (state_ != HostConnectionState::kAwaitingContact) {
    violation("INITIATE_CONTACT on a connection that is already established");
    return;
  }
  const auto requested = static_cast<wire::ProtocolVersion>(contact.version_requested);
  if (wire::negotiate_protocol_version(requested) == wire::VersionDecision::kReject) {
    // version_supported = 0: the guest retries with a lower version. Its memfd is closed
    // with `fds`; the retry brings it again (fd_protocol.h).
    send(wire::version_response_for(requested, kMessageConnectionId));
    return;
  }
  auto pages = effects_.map_guest_memory(fds.take(kGuestMemoryFdIndex));
  if (!pages.has_value() || *pages == 0) {
    wire::VersionResponse failed{};
    failed.version_supported = 1;
    failed.connection_state = static_cast<uint8_t>(wire::ConnectionState::kFailedUnknown);
    send(failed);
    violation("guest memory descriptor unusable: " + std::string(to_string(pages.status())));
    return;
  }
  memory_mapped_ = true;
  guest_page_count_ = *pages;
  version_ = requested;
  state_ = HostConnectionState::kContacted;
  send(wire::version_response_for(requested, kMessageConnectionId));
}

void HostControlPlane::on_request_offers() {
  if (state_ != HostConnectionState::kContacted) {
    violation("REQUESTOFFERS sent twice");
    return;
  }
  state_ = HostConnectionState::kOffersRequested;
  // Offers go out in the order they were added. A sub-channel is only added after its
  // primary, so primaries precede their sub-channels (guests expect that, §5.5 step 7).
  std::vector<Offer*> in_order;
  in_order.reserve(offers_.size());
  for (auto& [relid, offer] : offers_) in_order.push_back(&offer);
  std::sort(in_order.begin(), in_order.end(), [](const Offer* left, const Offer* right) {
    return left->added_order < right->added_order;
  });
  for (Offer* offer : in_order) send_offer(*offer);
  send(wire::AllOffersDelivered{});
}

void HostControlPlane::send_offer(Offer& offer) {
  offer.state = HostOfferState::kOffered;
  send(offer.message);
}

void HostControlPlane::on_unload() {
  release_everything();
  // The guest forgets everything; if it contacts the host again it is offered everything anew.
  for (auto& [relid, offer] : offers_) offer.state = HostOfferState::kNotSent;
  state_ = HostConnectionState::kAwaitingContact;
  send(wire::UnloadResponse{});
}

void HostControlPlane::on_modify_channel(const wire::ModifyChannel& modify) {
  const Offer* offer = find_offer(Relid{modify.child_relid});
  if (offer == nullptr || offer->state == HostOfferState::kNotSent) {
    violation("MODIFYCHANNEL for relid " + std::to_string(modify.child_relid) +
              " that was never offered");
    return;
  }
  // There are no virtual processors to move interrupts between: accept and change nothing.
  // Only protocol 5.3 answers (wire-format.md §5.3).
  if (version_ == wire::ProtocolVersion::kWin10V5_3) {
    wire::ModifyChannelResponse response{};
    response.child_relid = modify.child_relid;
    response.status = offer->state == HostOfferState::kOpen
                          ? 0
                          : static_cast<uint32_t>(STATUS_INVALID_DEVICE_STATE);
    send(response);
  }
}

void HostControlPlane::on_tl_connect_request(const wire::TlConnectRequest& request) {
  // vmbkit has no hv_sock provider: every request is refused, as a host without the service.
  wire::TlConnectResult result{};
  result.endpoint_id = request.guest_endpoint_id;
  result.service_id = request.host_service_id;
  result.status = static_cast<int32_t>(STATUS_CONNECTION_REFUSED);
  send(result);
}

Status HostControlPlane::add_offer(const wire::OfferChannel& offer) {
  if (state_ == HostConnectionState::kDisconnected) return Status{STATUS_DEVICE_REMOVED};
  const Relid relid{offer.child_relid};
  if (offer.child_relid == 0 || offers_.contains(relid)) return Status{STATUS_INVALID_PARAMETER};
  if (offer.sub_channel_index != 0) {
    bool primary_found = false;
    for (const auto& [other_relid, other] : offers_) {
      primary_found = primary_found || (other.message.sub_channel_index == 0 &&
                                        other.state != HostOfferState::kRescinded &&
                                        other.message.if_type == offer.if_type &&
                                        other.message.if_instance == offer.if_instance);
    }
    if (!primary_found) return Status{STATUS_INVALID_PARAMETER};
  }
  Offer& added = offers_[relid];
  added.message = offer;
  added.added_order = ++offers_added_;
  if (state_ == HostConnectionState::kOffersRequested) send_offer(added);
  return Status{};
}

Status HostControlPlane::remove_offer(Relid relid) {
  if (state_ == HostConnectionState::kDisconnected) return Status{STATUS_DEVICE_REMOVED};
  Offer* offer = find_offer(relid);
  if (offer == nullptr) return Status{STATUS_INVALID_PARAMETER};
  switch (offer->state) {
    case HostOfferState::kNotSent:
      offers_.erase(relid);
      effects_.relid_released(relid);
      return Status{};
    case HostOfferState::kRescinded:
      return Status{STATUS_INVALID_DEVICE_STATE};
    case HostOfferState::kOpening:
    case HostOfferState::kOpen:
      close_channel(relid, *offer);
      break;
    case HostOfferState::kOffered:
      break;
  }
  // GPADLs of the relid stay until the guest tears them down or releases the relid.
  offer->state = HostOfferState::kRescinded;
  wire::RescindChannelOffer rescind{};
  rescind.child_relid = to_u32(relid);
  send(rescind);
  return Status{};
}

Status HostControlPlane::complete_open(Relid relid, Status result) {
  Offer* offer = find_offer(relid);
  if (state_ == HostConnectionState::kDisconnected || offer == nullptr ||
      offer->state != HostOfferState::kOpening) {
    return Status{STATUS_INVALID_DEVICE_STATE};
  }
  if (result.ok()) {
    offer->state = HostOfferState::kOpen;
  } else {
    offer->state = HostOfferState::kOffered;
    gpadls_.at(offer->ring_gpadl).in_use = false;
  }
  send_open_result(relid, offer->open_id, static_cast<uint32_t>(result.code()));
  return Status{};
}

void HostControlPlane::connection_lost() {
  if (state_ == HostConnectionState::kDisconnected) return;
  release_everything();
  state_ = HostConnectionState::kDisconnected;
}

void HostControlPlane::release_everything() {
  for (auto& [relid, offer] : offers_) {
    if (offer.state == HostOfferState::kOpening || offer.state == HostOfferState::kOpen) {
      close_channel(relid, offer);
    }
  }
  for (auto& [handle, gpadl] : gpadls_) {
    if (!gpadl.assembler.has_value()) effects_.gpadl_torn_down(gpadl.relid, handle);
  }
  gpadls_.clear();
  pending_gpadls_ = 0;
  established_gpadls_ = 0;
  gpadl_words_ = 0;
  for (auto it = offers_.begin(); it != offers_.end();) {
    if (it->second.state == HostOfferState::kRescinded) {
      const Relid relid = it->first;
      it = offers_.erase(it);
      effects_.relid_released(relid);
    } else {
      ++it;
    }
  }
  if (memory_mapped_) {
    memory_mapped_ = false;
    guest_page_count_ = 0;
    effects_.guest_memory_released();
  }
}

void HostControlPlane::violation(std::string reason) {
  if (state_ == HostConnectionState::kDisconnected) return;
  release_everything();
  state_ = HostConnectionState::kDisconnected;
  disconnect_reason_ = std::move(reason);
  effects_.disconnect(disconnect_reason_);
}

}  // namespace vmb::bus
