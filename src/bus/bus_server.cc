// SPDX-License-Identifier: MIT
// BusServer: the public calls (offers, open completion, dropping a guest, GPADL lookup) and
// ServerPartition, the effects of one guest's HostControlPlane: sending on its socket, mapping
// its memory, mapping a channel's rings when it opens, and queueing the handler's calls. The
// server thread is in bus_server_loop.cc.
#include "vmbkit/bus/bus_server.h"

#include <algorithm>
#include <utility>

#include "bus/bus_server_impl.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/memory/shared_region.h"

namespace vmb::bus {

// ---- BusServer ----

BusServer::BusServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BusServer::~BusServer() = default;

Result<std::unique_ptr<BusServer>> BusServer::listen(const std::string& path,
                                                     BusServerHandler& handler,
                                                     BusServerOptions options) {
  BusListenerOptions listener_options;
  listener_options.allowed_users = options.allowed_users;
  auto listener = BusListener::listen(path, listener_options);
  if (!listener.has_value()) return listener.status();
  auto impl = std::make_unique<Impl>(handler, std::move(options), std::move(listener.value()));
  if (Status status = impl->start(); !status.ok()) return status;
  return std::unique_ptr<BusServer>(new BusServer(std::move(impl)));
}

Result<Relid> BusServer::add_offer(const wire::OfferChannel& offer) {
  return impl_->add_offer(offer);
}
Status BusServer::remove_offer(Relid relid) { return impl_->remove_offer(relid); }
Status BusServer::complete_open(PartitionId partition, Relid relid, Status result) {
  return impl_->complete_open(partition, relid, result);
}
Status BusServer::disconnect_guest(PartitionId partition, std::string reason) {
  return impl_->disconnect_guest(partition, std::move(reason));
}
Result<GpaRanges> BusServer::gpadl_ranges(PartitionId partition, Relid relid,
                                          GpadlHandle handle) const {
  return impl_->gpadl_ranges(partition, relid, handle);
}
size_t BusServer::guest_count() const { return impl_->guest_count(); }
std::vector<PartitionId> BusServer::guests() const { return impl_->guests(); }
const std::string& BusServer::path() const { return impl_->path(); }

// ---- Offers and requests from the server's owner ----

Result<Relid> BusServer::Impl::add_offer(const wire::OfferChannel& offer) {
  std::lock_guard lock(mutex_);
  if (offer.sub_channel_index != 0) {
    const bool has_primary = std::any_of(offers_.begin(), offers_.end(), [&](const auto& entry) {
      const Offer& other = entry.second;
      return !other.removed && other.message.sub_channel_index == 0 &&
             other.message.if_type == offer.if_type &&
             other.message.if_instance == offer.if_instance;
    });
    if (!has_primary) return Status{STATUS_INVALID_PARAMETER};
  }
  // The lowest relid no guest holds (Linux expects small relids).
  uint32_t relid = 1;
  for (const auto& [used, entry] : offers_) {
    if (to_u32(used) != relid) break;
    ++relid;
  }
  if (relid == 0) return Status{STATUS_INSUFFICIENT_RESOURCES};
  Offer& added = offers_[Relid{relid}];
  added.message = offer;
  added.message.child_relid = relid;
  added.message.connection_id = relid;
  added.order = ++offers_added_;
  for (auto& [id, partition] : partitions_) {
    if (!partition->control.add_offer(added.message).ok()) {
      log_message(LogLevel::kWarning, "bus: offer %u not added for guest %llu", relid,
                  static_cast<unsigned long long>(id));
    }
  }
  finish_dropped_locked();
  wake();
  return Relid{relid};
}

Status BusServer::Impl::remove_offer(Relid relid) {
  std::lock_guard lock(mutex_);
  const auto found = offers_.find(relid);
  if (found == offers_.end() || found->second.removed) return Status{STATUS_INVALID_PARAMETER};
  found->second.removed = true;
  for (auto& [id, partition] : partitions_) {
    found->second.holders.insert(id);
    // Releases at once (relid_released erases the holder) if this guest never saw the offer.
    if (!partition->control.remove_offer(relid).ok()) found->second.holders.erase(id);
  }
  finish_dropped_locked();
  sweep_offers_locked();
  wake();
  return Status{};
}

void BusServer::Impl::relid_released_locked(Relid relid, PartitionId partition) {
  // Only the holder goes here: callers may be iterating offers_ (sweep_offers_locked erases).
  const auto found = offers_.find(relid);
  if (found != offers_.end()) found->second.holders.erase(partition);
}

void BusServer::Impl::sweep_offers_locked() {
  std::erase_if(offers_, [](const auto& entry) {
    return entry.second.removed && entry.second.holders.empty();
  });
}

const wire::OfferChannel* BusServer::Impl::offer_locked(Relid relid) const {
  const auto found = offers_.find(relid);
  return found == offers_.end() ? nullptr : &found->second.message;
}

Status BusServer::Impl::complete_open(PartitionId partition, Relid relid, Status result) {
  std::lock_guard lock(mutex_);
  const auto found = partitions_.find(partition);
  if (found == partitions_.end()) return Status{STATUS_INVALID_DEVICE_STATE};
  const Status status = found->second->control.complete_open(relid, result);
  finish_if_dropped_locked(*found->second, false, {});
  wake();
  return status;
}

Status BusServer::Impl::disconnect_guest(PartitionId partition, std::string reason) {
  std::lock_guard lock(mutex_);
  const auto found = partitions_.find(partition);
  if (found == partitions_.end()) return Status{STATUS_INVALID_PARAMETER};
  finish_if_dropped_locked(*found->second, true, std::move(reason));
  wake();
  return Status{};
}

Result<GpaRanges> BusServer::map_gpadl(PartitionId partition, Relid relid, GpadlHandle handle) {
  return impl_->map_gpadl(partition, relid, handle);
}
void BusServer::unmap_gpadl(PartitionId partition, Relid relid, GpadlHandle handle) {
  impl_->unmap_gpadl(partition, relid, handle);
}

Result<GpaRanges> BusServer::Impl::gpadl_ranges(PartitionId partition, Relid relid,
                                                GpadlHandle handle) const {
  std::lock_guard lock(mutex_);
  return gpadl_ranges_locked(partition, relid, handle);
}

Result<GpaRanges> BusServer::Impl::map_gpadl(PartitionId partition, Relid relid,
                                             GpadlHandle handle) {
  std::lock_guard lock(mutex_);
  auto ranges = gpadl_ranges_locked(partition, relid, handle);
  if (!ranges.has_value()) return ranges;
  const Status mapped = partitions_.at(partition)->control.map_gpadl(relid, handle);
  if (!mapped.ok()) return mapped;
  return ranges;
}

void BusServer::Impl::unmap_gpadl(PartitionId partition, Relid relid, GpadlHandle handle) {
  std::lock_guard lock(mutex_);
  const auto found = partitions_.find(partition);
  if (found == partitions_.end()) return;
  // May answer a held GPADL_TEARDOWN.
  found->second->control.unmap_gpadl(relid, handle);
  finish_if_dropped_locked(*found->second, false, {});
  wake();
}

Result<GpaRanges> BusServer::Impl::gpadl_ranges_locked(PartitionId partition, Relid relid,
                                                       GpadlHandle handle) const {
  const auto found = partitions_.find(partition);
  if (found == partitions_.end()) return Status{STATUS_INVALID_PARAMETER};
  const auto gpadl = found->second->gpadls.find(handle);
  if (gpadl == found->second->gpadls.end() || gpadl->second.relid != relid) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  // Checked when established; checking again costs little and keeps one path.
  return GpaRanges::from_words(gpadl->second.words, gpadl->second.range_count,
                               found->second->control.guest_page_count());
}

std::vector<PartitionId> BusServer::Impl::guests() const {
  std::lock_guard lock(mutex_);
  std::vector<PartitionId> ids;
  for (const auto& [id, partition] : partitions_) ids.push_back(id);
  return ids;
}

size_t BusServer::Impl::guest_count() const {
  std::lock_guard lock(mutex_);
  return partitions_.size();
}

// ---- ServerPartition: the effects of one guest's control plane (mutex_ held) ----

ServerPartition::ServerPartition(BusServer::Impl& owner, PartitionId partition_id,
                                 BusSocket connection, PeerCredentials credentials,
                                 const HostLimits& limits)
    : server(owner),
      id(partition_id),
      socket(std::move(connection)),
      peer(credentials),
      control(*this, limits) {}

void ServerPartition::send_to_guest(std::span<const uint8_t> message) {
  if (drop_requested) return;
  // Never wait for a guest (decisions.md §4: a host must never block on a guest). A guest
  // that leaves its socket full is not reading its control messages: drop it.
  const Status status = socket.send(message, {}, Deadline::immediate());
  if (status.ok()) return;
  drop_requested = true;
  if (status == Status{STATUS_TIMEOUT}) drop_reason = "guest does not read its control socket";
}

Result<uint64_t> ServerPartition::map_guest_memory(UniqueFd fd) {
  auto region = SharedRegion::adopt(std::move(fd));
  if (!region.has_value()) return region.status();
  auto mapping = GuestMemoryMapping::map(std::move(region.value()));
  if (!mapping.has_value()) return mapping.status();
  memory = std::move(mapping.value());
  return memory->page_count();
}

void ServerPartition::guest_memory_released() { memory.reset(); }

void ServerPartition::gpadl_established(Relid relid, GpadlHandle handle, const GpaRanges& ranges) {
  StoredGpadl& stored = gpadls[handle];
  stored.relid = relid;
  stored.range_count = static_cast<uint32_t>(ranges.size());
  stored.words.assign(ranges.words().begin(), ranges.words().end());
}

void ServerPartition::gpadl_torn_down(Relid /*relid*/, GpadlHandle handle) { gpadls.erase(handle); }

void ServerPartition::open_requested(const HostOpenRequest& request, UniqueFd guest_to_host_event,
                                     UniqueFd host_to_guest_event) {
  auto resources = std::make_shared<HostChannelResources>();
  resources->partition = id;
  resources->relid = request.relid;
  resources->open_id = request.open_id;
  resources->ring_gpadl = request.ring_gpadl;
  resources->target_vp = request.target_vp;
  resources->user_data = request.user_data;
  resources->guest_memory = memory;
  resources->signal_guest = std::move(host_to_guest_event);
  resources->guest_signals = std::move(guest_to_host_event);
  if (const wire::OfferChannel* offer = server.offer_locked(request.relid)) {
    resources->offer = *offer;
  }
  // Pages [0, k) are the guest→host ring, [k, n) the host→guest ring (wire-format.md §1.3);
  // HostControlPlane checked both have a control page and a data page.
  const auto pages = request.ring_pages;
  const size_t split = request.downstream_page_offset;
  auto incoming = RingMapping::map(memory->region(), pages.subspan(0, split));
  auto outgoing = incoming.has_value() ? RingMapping::map(memory->region(), pages.subspan(split))
                                       : Result<RingMapping>(incoming.status());
  BusServer::Impl& owner = server;
  const PartitionId partition = id;
  const Relid relid = request.relid;
  if (!incoming.has_value() || !outgoing.has_value()) {
    owner.queue([&owner, partition, relid] {
      (void)owner.complete_open(partition, relid, Status{STATUS_INSUFFICIENT_RESOURCES});
    });
    return;
  }
  resources->incoming_ring = std::move(incoming.value());
  resources->outgoing_ring = std::move(outgoing.value());
  owner.queue([&owner, partition, relid, resources] {
    const Status result = owner.handler().channel_opened(std::move(*resources));
    if (result != Status{STATUS_PENDING}) (void)owner.complete_open(partition, relid, result);
  });
}

void ServerPartition::channel_closed(Relid relid) {
  BusServer::Impl& owner = server;
  const PartitionId partition = id;
  owner.queue([&owner, partition, relid] { owner.handler().channel_closed(partition, relid); });
}

void ServerPartition::relid_released(Relid relid) { server.relid_released_locked(relid, id); }

void ServerPartition::disconnect(std::string_view reason) {
  drop_requested = true;
  drop_reason = std::string(reason);
}

}  // namespace vmb::bus
