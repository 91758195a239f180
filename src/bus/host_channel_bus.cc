// SPDX-License-Identifier: MIT
// HostChannelBus: server channels offered through a BusServer, each open one linked to the
// guest partition that opened it. Lock order: the bus mutex, then the signal pump's mutex, then
// a link's mutex; BusServer never calls its handler with its own lock held, so the bus may call
// into it with the bus mutex held. A channel pointer in a link is cleared (under the link
// mutex) before the channel can be destroyed, so every deliver_* call reaches a live channel.
#include "vmbkit/bus/host_channel_bus.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/memory/mdl_chain.h"

namespace vmb::bus {

struct HostChannelBus::Link {
  PartitionId partition{};
  Relid relid{};
  std::shared_ptr<const GuestMemoryMapping> memory;
  UniqueFd signal_guest;
  UniqueFd guest_signals;
  uint64_t watch = 0;
  const ChannelConnection* connection = nullptr;  // the server's end, compared only
  std::mutex mutex;                               // guards `server`
  Channel* server = nullptr;                      // null once this side let go
};

struct HostChannelBus::RingPins {
  std::mutex mutex;
  BusServer* server = nullptr;  // null once the bus is going
};

// The open's ring GPADL, mapped (BusServer::map_gpadl) for as long as the server's connection
// exists: the guest's GPADL_TEARDOWN of the rings, and so its reuse of the pages, waits for the
// server's close sequence to let go of the rings, not only for the guest's CLOSECHANNEL (a
// quick re-open could otherwise hand the old rings' pages to a new connection while the old
// one still writes to them).
class HostChannelBus::RingPin {
 public:
  RingPin(std::shared_ptr<RingPins> pins, PartitionId partition, Relid relid, GpadlHandle handle)
      : pins_(std::move(pins)), partition_(partition), relid_(relid), handle_(handle) {}
  RingPin(const RingPin&) = delete;
  RingPin& operator=(const RingPin&) = delete;
  ~RingPin() {
    const std::lock_guard lock(pins_->mutex);
    if (pins_->server != nullptr) pins_->server->unmap_gpadl(partition_, relid_, handle_);
  }

 private:
  std::shared_ptr<RingPins> pins_;
  PartitionId partition_;
  Relid relid_;
  GpadlHandle handle_;
};

struct HostChannelBus::Mapping {
  PartitionId partition{};  // the guest and relid the GPADL belongs to
  Relid relid{};
  MdlChain chain;
};

class HostChannelBus::Connection final : public ChannelConnection {
 public:
  Connection(std::shared_ptr<Link> link, std::unique_ptr<RingPin> pin, RingMapping outgoing,
             RingMapping incoming, Guid instance)
      : link_(std::move(link)),
        pin_(std::move(pin)),
        outgoing_(std::move(outgoing)),
        incoming_(std::move(incoming)),
        instance_(instance) {}

  ring::RingView outgoing_ring() const override { return view(outgoing_); }
  ring::RingView incoming_ring() const override { return view(incoming_); }
  const std::shared_ptr<const GuestMemoryMapping>& guest_memory() const override {
    return link_->memory;
  }
  Guid offer_instance() const override { return instance_; }
  void signal_peer() override {
    const std::lock_guard lock(link_->mutex);
    if (link_->server == nullptr) return;  // closed: the guest is no longer ours to signal
    const uint64_t one = 1;
    // A full counter (2^64 - 2 unread signals) still leaves the guest signalled.
    [[maybe_unused]] const ssize_t written = ::write(link_->signal_guest.get(), &one, sizeof one);
  }

 private:
  static ring::RingView view(const RingMapping& mapping) {
    const RingMemory& memory = mapping.memory();
    return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
  }
  std::shared_ptr<Link> link_;
  std::unique_ptr<RingPin> pin_;  // released after the ring mappings below
  RingMapping outgoing_;
  RingMapping incoming_;
  Guid instance_;
};

HostChannelBus::HostChannelBus(const Options& options)
    : dispatch_pool_(WorkerPool::Kind::kFixed, options.dispatch_threads, "vmbkit-dispatch"),
      passive_pool_(WorkerPool::Kind::kElastic, std::max(1u, options.passive_threads),
                    "vmbkit-passive") {}

Result<std::unique_ptr<HostChannelBus>> HostChannelBus::listen(const std::string& path,
                                                               const Options& options) {
  std::unique_ptr<HostChannelBus> bus(new HostChannelBus(options));
  auto pump = SignalPump::create();
  if (!pump.has_value()) return pump.status();
  bus->pump_ = std::move(pump.value());
  auto server = BusServer::listen(path, *bus, options.server);
  if (!server.has_value()) return server.status();
  bus->server_ = std::move(server.value());
  bus->ring_pins_ = std::make_shared<RingPins>();
  bus->ring_pins_->server = bus->server_.get();
  return bus;
}

HostChannelBus::~HostChannelBus() {
  if (ring_pins_) {
    const std::lock_guard lock(ring_pins_->mutex);
    ring_pins_->server = nullptr;  // connections left over pin nothing any more
  }
  {
    const std::lock_guard lock(mutex_);
    if (!offers_.empty()) log_message(LogLevel::kError, "host bus closed with channels enabled");
    for (Offer& offer : offers_) {
      detach_locked(offer);
      unmap_all_locked(offer);
    }
  }
  server_.reset();  // drops every guest; handler calls find nothing left to close
  pump_.reset();
}

HostChannelBus::Offer* HostChannelBus::find_locked(Channel& server) {
  const auto found = std::find_if(offers_.begin(), offers_.end(),
                                  [&](const Offer& offer) { return offer.server == &server; });
  return found == offers_.end() ? nullptr : &*found;
}

Status HostChannelBus::offer(Channel& server) {
  const ChannelConfig config = server.config();
  wire::OfferChannel message{};
  message.if_type = config.interface_type.value_or(Guid{});
  message.if_instance = config.interface_instance.value_or(Guid{});
  message.sub_channel_index = config.sub_channel_index;
  message.chn_flags = wire::kOfferFlagServerSupportsGpadls;
  message.mmio_megabytes = config.mmio_megabytes;
  message.mmio_megabytes_optional = config.mmio_megabytes_optional;
  if (config.pipe_mode) {
    message.chn_flags |= wire::kOfferFlagNamedPipeMode;
    message.user_def[0] = static_cast<uint8_t>(wire::kPipeModeMessage);
  }
  const std::lock_guard lock(mutex_);
  for (const Offer& existing : offers_) {
    if (existing.message.if_type == message.if_type &&
        existing.message.if_instance == message.if_instance &&
        existing.message.sub_channel_index == message.sub_channel_index) {
      return Status{STATUS_OBJECT_NAME_COLLISION};
    }
  }
  // A sub-channel without its primary: STATUS_INVALID_PARAMETER.
  auto relid = server_->add_offer(message);
  if (!relid.has_value()) return relid.status();
  offers_.push_back(Offer{&server, message, *relid, nullptr, {}});
  return Status{};
}

void HostChannelBus::rescind(Channel& server) {
  const std::lock_guard lock(mutex_);
  Offer* offer = find_locked(server);
  if (offer == nullptr) return;
  detach_locked(*offer);
  // The channel is going away: what it still has mapped goes with it (and a guest waiting to
  // tear such a GPADL down gets its answer).
  unmap_all_locked(*offer);
  (void)server_->remove_offer(offer->relid);  // closes the guest's channel, then rescinds
  offers_.erase(offers_.begin() + (offer - offers_.data()));
}

void HostChannelBus::detach_locked(Offer& offer) {
  if (!offer.link) return;
  pump_->unwatch(offer.link->watch);
  {
    const std::lock_guard link_lock(offer.link->mutex);
    offer.link->server = nullptr;
  }
  offer.link.reset();
}

void HostChannelBus::unmap_all_locked(Offer& offer) {
  for (auto& [handle, mapping] : std::exchange(offer.mappings, {})) {
    const PartitionId partition = mapping->partition;
    const Relid relid = mapping->relid;
    mapping.reset();  // the chain first: TORNDOWN only once nothing maps the pages
    server_->unmap_gpadl(partition, relid, GpadlHandle{handle});
  }
}

void HostChannelBus::close_connection(Channel& channel, const ChannelConnection* connection) {
  const std::lock_guard lock(mutex_);
  Offer* offer = find_locked(channel);
  if (offer == nullptr || !offer->link) return;  // the guest closed first, or never opened
  // The guest closed `connection` (channel_closed detached it) and has opened the offer again
  // before the channel's close sequence ran: the newer link is not this close's to end.
  if (connection != nullptr && offer->link->connection != connection) return;
  detach_locked(*offer);
  // The host side ended a channel the guest still has open. VMBus has no host-side close: the
  // offer is rescinded (the guest sees the device removed) and made again under a new relid,
  // so a guest can open it afresh.
  (void)server_->remove_offer(offer->relid);
  auto relid = server_->add_offer(offer->message);
  if (relid.has_value()) {
    offer->relid = *relid;
  } else {
    log_message(LogLevel::kError, "host bus: could not offer a channel again");
    offers_.erase(offers_.begin() + (offer - offers_.data()));
  }
}

Status HostChannelBus::channel_opened(HostChannelResources resources) {
  const std::lock_guard lock(mutex_);
  const auto found = std::find_if(offers_.begin(), offers_.end(), [&](const Offer& offer) {
    return offer.relid == resources.relid;
  });
  // One server endpoint serves one guest: a second guest is refused until the first closes.
  if (found == offers_.end() || found->link) return Status{STATUS_INVALID_DEVICE_STATE};
  auto link = std::make_shared<Link>();
  link->partition = resources.partition;
  link->relid = resources.relid;
  link->memory = resources.guest_memory;
  link->signal_guest = std::move(resources.signal_guest);
  link->guest_signals = std::move(resources.guest_signals);
  link->server = found->server;
  link->watch = pump_->watch(link->guest_signals.get(), [raw = link.get()] {
    const std::lock_guard link_lock(raw->mutex);
    if (raw->server != nullptr) raw->server->deliver_signal();
  });
  if (link->watch == 0) return Status{STATUS_INSUFFICIENT_RESOURCES};
  // The rings stay pinned until the connection is destroyed (RingPin).
  auto pinned = server_->map_gpadl(resources.partition, resources.relid, resources.ring_gpadl);
  if (!pinned.has_value()) {
    pump_->unwatch(link->watch);
    return pinned.status();
  }
  auto pin = std::make_unique<RingPin>(ring_pins_, resources.partition, resources.relid,
                                       resources.ring_gpadl);
  found->link = link;
  auto connection =
      std::make_unique<Connection>(link, std::move(pin), std::move(resources.outgoing_ring),
                                   std::move(resources.incoming_ring), found->message.if_instance);
  link->connection = connection.get();
  const PartitionId partition = resources.partition;
  const Relid relid = resources.relid;
  // Under the bus mutex: the channel cannot be rescinded and destroyed meanwhile.
  found->server->deliver_open_request(std::move(connection),
                                      [this, link, partition, relid](Status status) {
                                        // On the server channel's control task, after its opened()
                                        // callback.
                                        if (!status.ok()) {
                                          const std::lock_guard reply_lock(mutex_);
                                          for (Offer& offer : offers_) {
                                            if (offer.link == link) detach_locked(offer);
                                          }
                                        }
                                        // STATUS_INVALID_DEVICE_STATE here means the guest closed
                                        // meanwhile; channel_closed has told (or will tell) the
                                        // channel.
                                        (void)server_->complete_open(partition, relid, status);
                                      });
  return Status{STATUS_PENDING};
}

void HostChannelBus::channel_closed(PartitionId partition, Relid relid) {
  const std::lock_guard lock(mutex_);
  for (Offer& offer : offers_) {
    if (!offer.link || offer.link->partition != partition || offer.link->relid != relid) continue;
    Channel* server = offer.server;
    detach_locked(offer);
    server->deliver_peer_closed();  // under the bus mutex: the channel is alive
    return;
  }
}

Status HostChannelBus::connect(Channel& /*client*/) { return Status{STATUS_NOT_SUPPORTED}; }
void HostChannelBus::disconnect(Channel& /*client*/) {}

Result<uint32_t> HostChannelBus::create_gpadl(Channel& /*client*/, GpaRanges /*ranges*/,
                                              bool /*read_only*/) {
  return Status{STATUS_INVALID_DEVICE_STATE};  // a host has no client endpoints
}
void HostChannelBus::delete_gpadl(Channel& /*client*/, uint32_t /*handle*/) {}

Result<PMDL> HostChannelBus::map_gpadl(Channel& server, uint32_t handle, bool read_only) {
  const std::lock_guard lock(mutex_);
  Offer* offer = find_locked(server);
  if (offer == nullptr || !offer->link) return Status{STATUS_INVALID_DEVICE_STATE};
  const Link& link = *offer->link;
  // Mapped now, or still mapped from an earlier guest of this channel.
  if (offer->mappings.contains(handle)) return Status{STATUS_INVALID_PARAMETER};
  // The wire carries no read-only flag for a GPADL (GPADL_HEADER has none), so write access
  // is never refused here. From here until unmap_gpadl the guest's teardown is held.
  auto ranges = server_->map_gpadl(link.partition, link.relid, GpadlHandle{handle});
  if (!ranges.has_value()) return ranges.status();
  auto chain = MdlChain::from_ranges(link.memory, *ranges, read_only);
  if (!chain.has_value()) {
    server_->unmap_gpadl(link.partition, link.relid, GpadlHandle{handle});
    return chain.status();
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->partition = link.partition;
  mapping->relid = link.relid;
  mapping->chain = std::move(chain.value());
  const PMDL first = mapping->chain.first();
  offer->mappings.emplace(handle, std::move(mapping));
  return first;
}

void HostChannelBus::unmap_gpadl(Channel& server, uint32_t handle) {
  const std::lock_guard lock(mutex_);
  Offer* offer = find_locked(server);
  if (offer == nullptr) return;
  const auto found = offer->mappings.find(handle);
  if (found == offer->mappings.end()) return;
  const PartitionId partition = found->second->partition;
  const Relid relid = found->second->relid;
  offer->mappings.erase(found);  // the chain first: TORNDOWN only once nothing maps the pages
  server_->unmap_gpadl(partition, relid, GpadlHandle{handle});
}

}  // namespace vmb::bus
