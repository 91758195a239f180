// SPDX-License-Identifier: MIT
// HostControlPlane, part two: the per-channel messages of one guest — GPADL_HEADER / GPADL_BODY
// reassembly with every PFN checked against the guest's memory, GPADL_TEARDOWN (answered only
// once the host's server no longer maps the GPADL), OPENCHANNEL with its ring checks,
// CLOSECHANNEL and RELID_RELEASED. Messages that can cross a rescind in flight (OPENCHANNEL,
// GPADL_HEADER for a rescinded relid) are refused with a failure status; anything the guest
// cannot have meant is a violation that drops it. Connection-level handling is in
// host_control_plane.cc.
#include <cstring>
#include <utility>

#include "vmbkit/bus/fd_protocol.h"
#include "vmbkit/bus/host_control_plane.h"

namespace vmb::bus {
namespace {

std::string relid_text(uint32_t relid) { return "relid " + std::to_string(relid); }
std::string gpadl_text(uint32_t handle) { return "GPADL " + std::to_string(handle); }

}  // namespace

bool HostControlPlane::requires_offers_requested(std::string_view what) {
  if (state_ == HostConnectionState::kOffersRequested) return true;
  violation(std::string(what) + " before REQUESTOFFERS");
  return false;
}

void HostControlPlane::on_gpadl_header(const wire::UndecodedGpadlMessage& message) {
  if (!requires_offers_requested("GPADL_HEADER")) return;
  wire::GpadlFault fault = wire::GpadlFault::kNone;
  auto assembler = wire::GpadlReassembler::begin(message.view(), &fault);
  if (!assembler.has_value()) {
    violation("GPADL_HEADER refused: " + std::string(wire::to_string(fault)));
    return;
  }
  const Relid relid{assembler->child_relid()};
  const GpadlHandle handle{assembler->gpadl()};
  const Offer* offer = find_offer(relid);
  if (offer == nullptr || offer->state == HostOfferState::kNotSent) {
    violation("GPADL_HEADER for " + relid_text(to_u32(relid)) + " that was never offered");
    return;
  }
  if (gpadls_.contains(handle)) {
    violation("GPADL_HEADER reuses " + gpadl_text(to_u32(handle)));
    return;
  }
  if (pending_gpadls_ >= limits_.maximum_pending_gpadls) {
    violation("more than " + std::to_string(limits_.maximum_pending_gpadls) +
              " GPADLs being sent at once");
    return;
  }
  Gpadl& gpadl = gpadls_[handle];
  gpadl.relid = relid;
  gpadl.assembler.emplace(std::move(assembler.value()));
  ++pending_gpadls_;
  if (gpadl.assembler->complete()) finish_gpadl(handle, gpadl);
}

void HostControlPlane::on_gpadl_body(const wire::UndecodedGpadlMessage& message) {
  if (!requires_offers_requested("GPADL_BODY")) return;
  // The decoder guaranteed the 16-byte fixed part; the handle is at offset 12.
  wire::GpadlBodyMessage body{};
  std::memcpy(&body, message.bytes.data(), sizeof body);
  const GpadlHandle handle{body.gpadl};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || !found->second.assembler.has_value()) {
    violation("GPADL_BODY for " + gpadl_text(body.gpadl) + " that is not being sent");
    return;
  }
  Gpadl& gpadl = found->second;
  wire::GpadlFault fault = wire::GpadlFault::kNone;
  if (!gpadl.assembler->add_body(message.view(), &fault).ok()) {
    violation("GPADL_BODY refused: " + std::string(wire::to_string(fault)));
    return;
  }
  if (gpadl.assembler->complete()) finish_gpadl(handle, gpadl);
}

void HostControlPlane::finish_gpadl(GpadlHandle handle, Gpadl& gpadl) {
  --pending_gpadls_;
  wire::ReassembledGpadl reassembled = gpadl.assembler->take();
  gpadl.assembler.reset();
  const uint64_t words = reassembled.range_words.size();
  RangeFault fault = RangeFault::kNone;
  auto ranges = GpaRanges::from_words(std::move(reassembled.range_words), reassembled.range_count,
                                      guest_page_count_, &fault);
  if (!ranges.has_value()) {
    // Also covers every PFN outside this guest's memory (decisions.md §2).
    gpadls_.erase(handle);
    violation(gpadl_text(to_u32(handle)) + " refused: " + std::string(to_string(fault)));
    return;
  }
  const Relid relid = gpadl.relid;
  NTSTATUS refusal = STATUS_SUCCESS;
  if (find_offer(relid)->state == HostOfferState::kRescinded) {
    // The header crossed our RESCIND_CHANNELOFFER: not the guest's fault.
    refusal = STATUS_DEVICE_REMOVED;
  } else if (established_gpadls_ >= limits_.maximum_gpadls ||
             words > limits_.maximum_gpadl_words - gpadl_words_) {
    refusal = STATUS_INSUFFICIENT_RESOURCES;
  }
  wire::GpadlCreated created{};
  created.child_relid = to_u32(relid);
  created.gpadl = to_u32(handle);
  if (refusal != STATUS_SUCCESS) {
    gpadls_.erase(handle);
    created.creation_status = static_cast<uint32_t>(refusal);
    send(created);
    return;
  }
  ++established_gpadls_;
  gpadl_words_ += words;
  gpadl.ranges = std::move(ranges.value());
  effects_.gpadl_established(relid, handle, gpadl.ranges);
  send(created);
}

void HostControlPlane::on_gpadl_teardown(const wire::GpadlTeardown& teardown) {
  if (!requires_offers_requested("GPADL_TEARDOWN")) return;
  const GpadlHandle handle{teardown.gpadl};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.assembler.has_value()) {
    violation("GPADL_TEARDOWN of " + gpadl_text(teardown.gpadl) + " that is not established");
    return;
  }
  Gpadl& gpadl = found->second;
  if (to_u32(gpadl.relid) != teardown.child_relid) {
    violation("GPADL_TEARDOWN of " + gpadl_text(teardown.gpadl) + " names " +
              relid_text(teardown.child_relid) + ", not its own " +
              relid_text(to_u32(gpadl.relid)));
    return;
  }
  if (gpadl.in_use) {
    violation("GPADL_TEARDOWN of " + gpadl_text(teardown.gpadl) +
              ", the ring of a channel still open");
    return;
  }
  if (gpadl.teardown_requested) {
    violation("GPADL_TEARDOWN of " + gpadl_text(teardown.gpadl) + " twice");
    return;
  }
  if (gpadl.mapped) {
    // The server still uses the pages: GPADL_TORNDOWN follows its unmap.
    gpadl.teardown_requested = true;
    return;
  }
  finish_teardown(found);
}

void HostControlPlane::finish_teardown(std::map<GpadlHandle, Gpadl>::iterator found) {
  const GpadlHandle handle = found->first;
  const Relid relid = found->second.relid;
  --established_gpadls_;
  gpadl_words_ -= found->second.ranges.words().size();
  gpadls_.erase(found);
  effects_.gpadl_torn_down(relid, handle);
  wire::GpadlTorndown torndown{};
  torndown.gpadl = to_u32(handle);
  send(torndown);
}

Status HostControlPlane::map_gpadl(Relid relid, GpadlHandle handle) {
  if (state_ == HostConnectionState::kDisconnected) return Status{STATUS_DEVICE_REMOVED};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.assembler.has_value() ||
      found->second.relid != relid || found->second.teardown_requested || found->second.mapped) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  found->second.mapped = true;
  return Status{};
}

void HostControlPlane::unmap_gpadl(Relid relid, GpadlHandle handle) {
  if (state_ == HostConnectionState::kDisconnected) return;
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.relid != relid || !found->second.mapped) return;
  found->second.mapped = false;
  if (found->second.teardown_requested) finish_teardown(found);
}

void HostControlPlane::on_open_channel(const wire::OpenChannel& open, AttachedFds& fds) {
  if (!requires_offers_requested("OPENCHANNEL")) return;
  const Relid relid{open.child_relid};
  Offer* offer = find_offer(relid);
  if (offer == nullptr || offer->state == HostOfferState::kNotSent) {
    violation("OPENCHANNEL for " + relid_text(open.child_relid) + " that was never offered");
    return;
  }
  if (offer->state == HostOfferState::kRescinded) {
    // Crossed our rescind: refuse; the eventfds close with `fds`.
    send_open_result(relid, open.openid, static_cast<uint32_t>(STATUS_DEVICE_REMOVED));
    return;
  }
  if (offer->state != HostOfferState::kOffered) {
    violation("OPENCHANNEL for " + relid_text(open.child_relid) + ", which is already open");
    return;
  }
  const GpadlHandle handle{open.ringbuffer_gpadlhandle};
  const auto found = gpadls_.find(handle);
  if (found == gpadls_.end() || found->second.assembler.has_value() ||
      found->second.relid != relid || found->second.in_use || found->second.teardown_requested) {
    violation("OPENCHANNEL names " + gpadl_text(open.ringbuffer_gpadlhandle) +
              ", not an unused established GPADL of " + relid_text(open.child_relid));
    return;
  }
  Gpadl& gpadl = found->second;
  // Both rings in one page-aligned range (OpenVMM's rule for rings), each at least a control
  // page and one data page (QEMU's k > 1, n > k + 1; wire-format.md §1.3).
  const auto ranges = gpadl.ranges.ranges();
  const bool one_aligned_range = ranges.size() == 1 && ranges[0].byte_offset == 0 &&
                                 uint64_t{ranges[0].byte_count} == ranges[0].pfns.size() * 4096;
  const uint64_t pages = one_aligned_range ? ranges[0].pfns.size() : 0;
  const uint64_t split = open.downstream_ringbuffer_pageoffset;
  if (!one_aligned_range || split < 2 || split + 2 > pages) {
    violation("OPENCHANNEL ring " + gpadl_text(open.ringbuffer_gpadlhandle) +
              " is not one page-aligned range of two rings split at page " + std::to_string(split));
    return;
  }
  offer->state = HostOfferState::kOpening;
  offer->ring_gpadl = handle;
  offer->open_id = open.openid;
  gpadl.in_use = true;
  HostOpenRequest request;
  request.relid = relid;
  request.open_id = open.openid;
  request.ring_gpadl = handle;
  request.ring_pages = ranges[0].pfns;
  request.downstream_page_offset = open.downstream_ringbuffer_pageoffset;
  request.target_vp = open.target_vp;
  request.connection_id = offer->message.connection_id;
  request.user_data = open.user_data;
  effects_.open_requested(request, fds.take(kGuestToHostEventFdIndex),
                          fds.take(kHostToGuestEventFdIndex));
}

void HostControlPlane::on_close_channel(const wire::CloseChannel& close) {
  if (!requires_offers_requested("CLOSECHANNEL")) return;
  const Relid relid{close.child_relid};
  Offer* offer = find_offer(relid);
  if (offer == nullptr || offer->state == HostOfferState::kNotSent) {
    violation("CLOSECHANNEL for " + relid_text(close.child_relid) + " that was never offered");
    return;
  }
  // Closed already (a failed open crossed the close) or rescinded (the host closed it): no-op.
  if (offer->state == HostOfferState::kOpening || offer->state == HostOfferState::kOpen) {
    close_channel(relid, *offer);
  }
}

void HostControlPlane::on_relid_released(const wire::RelidReleased& released) {
  if (!requires_offers_requested("RELID_RELEASED")) return;
  const Relid relid{released.child_relid};
  const Offer* offer = find_offer(relid);
  if (offer == nullptr || offer->state != HostOfferState::kRescinded) {
    violation("RELID_RELEASED for " + relid_text(released.child_relid) + " that was not rescinded");
    return;
  }
  drop_gpadls_of(relid);
  offers_.erase(relid);
  effects_.relid_released(relid);
}

void HostControlPlane::send_open_result(Relid relid, uint32_t open_id, uint32_t status) {
  wire::OpenChannelResult result{};
  result.child_relid = to_u32(relid);
  result.openid = open_id;
  result.status = status;
  send(result);
}

void HostControlPlane::close_channel(Relid relid, Offer& offer) {
  offer.state = HostOfferState::kOffered;
  gpadls_.at(offer.ring_gpadl).in_use = false;
  effects_.channel_closed(relid);
}

void HostControlPlane::drop_gpadls_of(Relid relid) {
  for (auto it = gpadls_.begin(); it != gpadls_.end();) {
    if (it->second.relid != relid) {
      ++it;
      continue;
    }
    const GpadlHandle handle = it->first;
    const bool established = !it->second.assembler.has_value();
    if (established) {
      --established_gpadls_;
      gpadl_words_ -= it->second.ranges.words().size();
    } else {
      --pending_gpadls_;
    }
    it = gpadls_.erase(it);
    if (established) effects_.gpadl_torn_down(relid, handle);
  }
}

}  // namespace vmb::bus
