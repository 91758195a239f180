// SPDX-License-Identifier: MIT
// GuestChannelBus: client channels matched to the host's offers and opened through a BusClient.
// Lock order: the bus mutex, then the BusClient's own lock (taken inside its calls), the signal
// pump's mutex, a link's mutex. BusClient calls its handler without its lock, so handlers may
// take the bus mutex. Blocking BusClient requests (open, close, GPADLs) are made without the
// bus mutex. A channel pointer in a link is cleared (under the link mutex) before the channel
// can be destroyed; the ring pages go back to guest memory only when the link dies, after the
// host confirmed the teardown.
#include "vmbkit/bus/guest_channel_bus.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"

namespace vmb::bus {

struct GuestChannelBus::Link {
  GuestMemory* memory = nullptr;
  Guid instance;
  GuestChannelResources resources;  // ring pages moved out to `pages`
  std::byte* pages = nullptr;       // freed when the link dies
  uint64_t watch = 0;
  std::set<uint32_t> gpadls;  // the driver's own GPADLs; guarded by the bus mutex
  std::mutex mutex;           // guards `client`
  Channel* client = nullptr;  // null once this side let go
  ~Link() {
    if (pages != nullptr) (void)memory->free(pages);
  }
};

class GuestChannelBus::Connection final : public ChannelConnection {
 public:
  Connection(std::shared_ptr<Link> link, RingMapping outgoing, RingMapping incoming,
             std::shared_ptr<const GuestMemoryMapping> memory)
      : link_(std::move(link)),
        outgoing_(std::move(outgoing)),
        incoming_(std::move(incoming)),
        memory_(std::move(memory)) {}

  ring::RingView outgoing_ring() const override { return view(outgoing_); }
  ring::RingView incoming_ring() const override { return view(incoming_); }
  const std::shared_ptr<const GuestMemoryMapping>& guest_memory() const override { return memory_; }
  Guid offer_instance() const override { return link_->instance; }
  void signal_peer() override {
    const std::lock_guard lock(link_->mutex);
    if (link_->client == nullptr) return;  // closed: the eventfd may be gone
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t written =
        ::write(link_->resources.signal_host.get(), &one, sizeof one);
  }

 private:
  static ring::RingView view(const RingMapping& mapping) {
    const RingMemory& memory = mapping.memory();
    return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
  }
  std::shared_ptr<Link> link_;
  RingMapping outgoing_;
  RingMapping incoming_;
  std::shared_ptr<const GuestMemoryMapping> memory_;
};

// Runs open jobs one after the other on the passive pool (they block on the host).
class GuestChannelBus::Opener final : public SerialTask {
 public:
  explicit Opener(WorkerPool& pool) : SerialTask(pool) {}
  ~Opener() override { close(); }
  void push(std::function<void()> job) {
    {
      const std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    schedule();
  }

 protected:
  void run() override {
    for (;;) {
      std::function<void()> job;
      {
        const std::lock_guard lock(mutex_);
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

 private:
  std::mutex mutex_;
  std::deque<std::function<void()>> jobs_;
};

GuestChannelBus::GuestChannelBus(const Options& options)
    : options_(options),
      dispatch_pool_(WorkerPool::Kind::kFixed, options.dispatch_threads, "vmbkit-dispatch"),
      passive_pool_(WorkerPool::Kind::kElastic, std::max(1u, options.passive_threads),
                    "vmbkit-passive") {}

Result<std::unique_ptr<GuestChannelBus>> GuestChannelBus::connect(const std::string& path,
                                                                  const Options& options) {
  std::unique_ptr<GuestChannelBus> bus(new GuestChannelBus(options));
  auto pump = SignalPump::create();
  if (!pump.has_value()) return pump.status();
  bus->pump_ = std::move(pump.value());
  bus->opener_ = std::make_unique<Opener>(bus->passive_pool_);
  auto client = BusClient::connect(path, bus.get(), options.client, bus->request_deadline());
  if (!client.has_value()) return client.status();
  bus->client_ = std::move(client.value());
  return bus;
}

GuestChannelBus::~GuestChannelBus() {
  opener_.reset();  // waits for an open in progress
  {
    const std::lock_guard lock(mutex_);
    if (!endpoints_.empty()) log_message(LogLevel::kError, "guest bus closed with channels");
  }
  client_.reset();  // the host closes whatever is left
  pump_.reset();
}

Deadline GuestChannelBus::request_deadline() const {
  return Deadline::after(options_.request_timeout);
}

std::shared_ptr<const GuestMemoryMapping> GuestChannelBus::guest_memory() {
  return client_->memory().mapping();
}

GuestChannelBus::Endpoint* GuestChannelBus::find_locked(Channel& client) {
  const auto found = std::find_if(endpoints_.begin(), endpoints_.end(),
                                  [&](const Endpoint& each) { return each.client == &client; });
  return found == endpoints_.end() ? nullptr : &*found;
}

GuestChannelBus::Endpoint* GuestChannelBus::find_locked(Channel* client, uint64_t generation) {
  // By address only: the channel behind a stale job may be gone.
  const auto found = std::find_if(endpoints_.begin(), endpoints_.end(), [&](const Endpoint& each) {
    return each.client == client && each.generation == generation;
  });
  return found == endpoints_.end() ? nullptr : &*found;
}

Status GuestChannelBus::offer(Channel& /*server*/) { return Status{STATUS_NOT_SUPPORTED}; }
void GuestChannelBus::rescind(Channel& /*server*/) {}

Status GuestChannelBus::connect(Channel& client) {
  const std::lock_guard lock(mutex_);
  if (lost_) return Status{STATUS_DEVICE_REMOVED};  // no offer will ever come
  if (find_locked(client) != nullptr) return Status{STATUS_INVALID_DEVICE_STATE};
  endpoints_.push_back(Endpoint{&client, next_generation_++, nullptr, false});
  try_open_locked(endpoints_.back());
  return Status{};
}

void GuestChannelBus::try_open_locked(Endpoint& endpoint) {
  if (lost_ || endpoint.opening || endpoint.link) return;
  const ChannelConfig config = endpoint.client->config();
  for (const wire::OfferChannel& offer : client_->offers()) {
    if (!config.interface_type.has_value() || offer.if_type != *config.interface_type ||
        (config.interface_instance.has_value() &&
         offer.if_instance != *config.interface_instance) ||
        offer.sub_channel_index != config.sub_channel_index) {
      continue;
    }
    const bool taken = std::any_of(endpoints_.begin(), endpoints_.end(), [&](const Endpoint& e) {
      return e.link && to_u32(e.link->resources.relid) == offer.child_relid;
    });
    if (taken) continue;
    endpoint.opening = true;
    opener_->push([this, client = endpoint.client, generation = endpoint.generation, offer] {
      open(client, generation, offer);
    });
    return;
  }
}

void GuestChannelBus::open(Channel* client, uint64_t generation, wire::OfferChannel offer) {
  uint32_t outgoing_pages = 0;
  uint32_t incoming_pages = 0;
  {
    const std::lock_guard lock(mutex_);
    Endpoint* endpoint = find_locked(client, generation);
    if (endpoint == nullptr) return;  // disabled meanwhile
    const ChannelConfig config = client->config();
    outgoing_pages = 1 + config.outgoing_ring_pages;
    incoming_pages = 1 + config.incoming_ring_pages;
  }
  const Relid relid{offer.child_relid};
  auto resources =
      client_->open_channel(relid, outgoing_pages, incoming_pages, {}, request_deadline());
  auto link = std::make_shared<Link>();
  link->memory = &client_->memory();
  link->instance = offer.if_instance;
  std::unique_ptr<Connection> connection;
  if (resources.has_value()) {
    link->resources = std::move(resources.value());
    link->pages = std::exchange(link->resources.ring_pages.address, nullptr);
    connection = std::make_unique<Connection>(link, std::move(link->resources.outgoing_ring),
                                              std::move(link->resources.incoming_ring),
                                              client_->memory().mapping());
  }
  std::unique_lock lock(mutex_);
  Endpoint* endpoint = find_locked(client, generation);
  if (endpoint == nullptr) {
    lock.unlock();
    if (connection) finish_close(link);  // disabled while opening: undo
    return;
  }
  endpoint->opening = false;
  if (connection && lost_) {
    // Opened just as the connection went (the channel has been told the bus is lost): undo.
    client->deliver_open_result(Status{STATUS_DEVICE_REMOVED}, nullptr);
    lock.unlock();
    finish_close(link);
    return;
  }
  if (!connection) {
    const auto offers = client_->offers();
    const bool still_offered = std::any_of(offers.begin(), offers.end(), [&](const auto& each) {
      return each.child_relid == offer.child_relid;
    });
    if (!still_offered) {
      // The host rescinded the offer while we opened it (its refusal follows the rescind on the
      // socket, so the offer is gone by now): not the driver's failure; wait for the next one.
      try_open_locked(*endpoint);
      return;
    }
    client->deliver_open_result(resources.status(), nullptr);
    return;
  }
  link->client = client;
  link->watch = pump_->watch(link->resources.host_signals.get(), [raw = link.get()] {
    const std::lock_guard link_lock(raw->mutex);
    if (raw->client != nullptr) raw->client->deliver_signal();
  });
  endpoint->link = link;
  client->deliver_open_result(Status{}, std::move(connection));
}

std::shared_ptr<GuestChannelBus::Link> GuestChannelBus::detach_locked(Endpoint& endpoint) {
  std::shared_ptr<Link> link = std::move(endpoint.link);
  if (!link) return nullptr;
  pump_->unwatch(link->watch);
  const std::lock_guard link_lock(link->mutex);
  link->client = nullptr;
  return link;
}

void GuestChannelBus::finish_close(const std::shared_ptr<Link>& link) {
  // CLOSECHANNEL and the ring GPADL's teardown (waited for), then the driver's own GPADLs;
  // a rescinded relid is released once the last is gone.
  (void)client_->close_channel(link->resources, request_deadline());
  std::set<uint32_t> gpadls;
  {
    const std::lock_guard lock(mutex_);
    gpadls.swap(link->gpadls);
  }
  for (const uint32_t handle : gpadls) {
    (void)client_->teardown_gpadl(link->resources.relid, GpadlHandle{handle}, request_deadline());
  }
}

void GuestChannelBus::close_connection(Channel& channel, const ChannelConnection* /*connection*/) {
  // A client's endpoint opens again only after the channel re-enabled (after this close), so
  // the endpoint's link is the one closing.
  std::shared_ptr<Link> link;
  {
    const std::lock_guard lock(mutex_);
    Endpoint* endpoint = find_locked(channel);
    if (endpoint == nullptr) return;
    link = detach_locked(*endpoint);
  }
  if (link) finish_close(link);
}

void GuestChannelBus::disconnect(Channel& client) {
  close_connection(client, nullptr);
  const std::lock_guard lock(mutex_);
  std::erase_if(endpoints_, [&](const Endpoint& endpoint) { return endpoint.client == &client; });
}

void GuestChannelBus::offer_received(const wire::OfferChannel& /*offer*/) {
  const std::lock_guard lock(mutex_);
  for (Endpoint& endpoint : endpoints_) try_open_locked(endpoint);
}

void GuestChannelBus::offer_rescinded(Relid relid) {
  const std::lock_guard lock(mutex_);
  for (Endpoint& endpoint : endpoints_) {
    // The channel closes (its close sequence calls close_connection, which releases the relid).
    if (endpoint.link && endpoint.link->resources.relid == relid) {
      endpoint.client->deliver_peer_closed();
    }
  }
}

void GuestChannelBus::connection_lost() {
  const std::lock_guard lock(mutex_);
  lost_ = true;
  for (Endpoint& endpoint : endpoints_) {
    if (endpoint.opening) {
      // The open in flight fails (pnp_failure) now; its job, under a stale generation, only
      // undoes what it did.
      endpoint.opening = false;
      endpoint.generation = next_generation_++;
      endpoint.client->deliver_open_result(Status{STATUS_DEVICE_REMOVED}, nullptr);
    }
    // Open channels close; waiting or opening ones are Disabled.
    endpoint.client->deliver_bus_lost();
  }
}

Result<uint32_t> GuestChannelBus::create_gpadl(Channel& client, GpaRanges ranges,
                                               bool /*read_only*/) {
  std::shared_ptr<Link> link;
  {
    const std::lock_guard lock(mutex_);
    Endpoint* endpoint = find_locked(client);
    if (endpoint == nullptr || !endpoint->link) return Status{STATUS_INVALID_DEVICE_STATE};
    link = endpoint->link;
  }
  // The wire has no read-only GPADLs; the flag is accepted and not enforced across processes.
  auto handle = client_->create_gpadl(link->resources.relid, ranges, request_deadline());
  if (!handle.has_value()) return handle.status();
  {
    const std::lock_guard lock(mutex_);
    Endpoint* endpoint = find_locked(client);
    if (endpoint != nullptr && endpoint->link == link) {
      link->gpadls.insert(to_u32(*handle));
      return to_u32(*handle);
    }
  }
  // The channel closed while the GPADL was being created: nobody will delete it.
  (void)client_->teardown_gpadl(link->resources.relid, *handle, request_deadline());
  return Status{STATUS_DEVICE_REMOVED};
}

void GuestChannelBus::delete_gpadl(Channel& client, uint32_t handle) {
  std::shared_ptr<Link> link;
  {
    const std::lock_guard lock(mutex_);
    Endpoint* endpoint = find_locked(client);
    if (endpoint == nullptr || !endpoint->link || endpoint->link->gpadls.erase(handle) == 0) {
      return;  // unknown handle (or the channel closed and tore it down already)
    }
    link = endpoint->link;
  }
  (void)client_->teardown_gpadl(link->resources.relid, GpadlHandle{handle}, request_deadline());
}

Result<PMDL> GuestChannelBus::map_gpadl(Channel& /*server*/, uint32_t /*handle*/,
                                        bool /*read_only*/) {
  return Status{STATUS_INVALID_DEVICE_STATE};  // a guest has no server endpoints
}
void GuestChannelBus::unmap_gpadl(Channel& /*server*/, uint32_t /*handle*/) {}

}  // namespace vmb::bus
