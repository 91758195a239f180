// SPDX-License-Identifier: MIT
// The in-process bus (see loopback_bus.h). Lock order: the bus mutex, then a link's mutex or a
// channel's mutex; a channel never calls into the bus while holding its own mutex, and a
// signal takes only the link mutex and the peer's pool. A channel pointer in a link is cleared
// (under the bus mutex) before that channel can be destroyed, so every call through one is to
// a live channel.
#include "vmbkit/channel/loopback_bus.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <optional>

#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/memory/mdl_chain.h"
#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb {

// One pairing of a server and a client, from the open request until both sides closed. Its
// ring pages return to guest memory when the last connection (or the bus) lets go of it.
struct LoopbackBus::Link {
  GuestMemory* memory = nullptr;
  std::byte* pages = nullptr;
  Channel* offer_server = nullptr;  // whose offer this link uses (stays set)
  Guid instance;                    // that offer's instance GUID
  std::vector<uint64_t> client_outgoing_pfns;
  std::vector<uint64_t> client_incoming_pfns;
  std::mutex mutex;           // guards everything below
  Channel* server = nullptr;  // attached sides; null once closed
  Channel* client = nullptr;
  struct Gpadl {
    GpaRanges ranges;
    bool read_only = false;
    std::optional<MdlChain> mapping;  // the server's, between map and unmap
  };
  std::map<uint32_t, Gpadl> gpadls;
  uint32_t next_gpadl = 1;                 // handles are never 0
  std::condition_variable gpadl_unmapped;  // delete_gpadl waits here
  ~Link() {
    if (pages != nullptr) (void)memory->free(pages);
  }
};

class LoopbackBus::Connection final : public ChannelConnection {
 public:
  Connection(std::shared_ptr<Link> link, bool server_side, RingMapping outgoing,
             RingMapping incoming, std::shared_ptr<const GuestMemoryMapping> guest)
      : instance_(link->instance),
        link_(std::move(link)),
        server_side_(server_side),
        outgoing_(std::move(outgoing)),
        incoming_(std::move(incoming)),
        guest_(std::move(guest)) {}

  ring::RingView outgoing_ring() const override { return view(outgoing_); }
  ring::RingView incoming_ring() const override { return view(incoming_); }
  const std::shared_ptr<const GuestMemoryMapping>& guest_memory() const override { return guest_; }
  Guid offer_instance() const override { return instance_; }
  void signal_peer() override {
    const std::lock_guard lock(link_->mutex);
    Channel* peer = server_side_ ? link_->client : link_->server;
    if (peer != nullptr) peer->deliver_signal();
  }

 private:
  static ring::RingView view(const RingMapping& mapping) {
    const RingMemory& memory = mapping.memory();
    return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
  }
  Guid instance_;
  std::shared_ptr<Link> link_;
  bool server_side_;
  RingMapping outgoing_;
  RingMapping incoming_;
  std::shared_ptr<const GuestMemoryMapping> guest_;
};

Result<std::unique_ptr<LoopbackBus>> LoopbackBus::create(const Options& options) {
  Result<std::unique_ptr<GuestMemory>> memory = GuestMemory::create(options.guest_pages);
  if (!memory) return memory.status();
  return std::unique_ptr<LoopbackBus>(new LoopbackBus(std::move(*memory), options));
}

LoopbackBus::LoopbackBus(std::unique_ptr<GuestMemory> memory, const Options& options)
    : memory_(std::move(memory)),
      dispatch_pool_(WorkerPool::Kind::kFixed, options.dispatch_threads, "vmbkit-dispatch"),
      passive_pool_(WorkerPool::Kind::kElastic, std::max(1u, options.passive_threads),
                    "vmbkit-passive") {}

LoopbackBus::~LoopbackBus() {
  const std::lock_guard lock(mutex_);
  if (!offers_.empty() || !waiting_clients_.empty()) {
    log_message(LogLevel::kError, "loopback bus closed with channels still enabled");
  }
  links_.clear();
}

size_t LoopbackBus::link_count() const {
  const std::lock_guard lock(mutex_);
  return links_.size();
}

bool LoopbackBus::matches(const Offer& offer, Channel& client) {
  const ChannelConfig config = client.config();
  return config.interface_type == offer.type &&
         (!config.interface_instance.has_value() || *config.interface_instance == offer.instance) &&
         config.sub_channel_index == offer.sub_channel_index;
}

Status LoopbackBus::offer(Channel& server) {
  const ChannelConfig config = server.config();
  const Guid type = config.interface_type.value_or(Guid{});
  const Guid instance = config.interface_instance.value_or(Guid{});
  const std::lock_guard lock(mutex_);
  for (const Offer& existing : offers_) {
    if (existing.type == type && existing.instance == instance &&
        existing.sub_channel_index == config.sub_channel_index) {
      return Status{STATUS_OBJECT_NAME_COLLISION};
    }
  }
  offers_.push_back(Offer{&server, type, instance, config.sub_channel_index, false});
  for (auto client = waiting_clients_.begin(); client != waiting_clients_.end(); ++client) {
    if (!matches(offers_.back(), **client)) continue;
    Channel* opening = *client;
    waiting_clients_.erase(client);
    open_locked(offers_.size() - 1, *opening);
    break;
  }
  return Status{};
}

Status LoopbackBus::connect(Channel& client) {
  const std::lock_guard lock(mutex_);
  for (size_t i = 0; i < offers_.size(); ++i) {
    if (!offers_[i].in_use && matches(offers_[i], client)) {
      open_locked(i, client);
      return Status{};
    }
  }
  waiting_clients_.push_back(&client);
  return Status{};
}

void LoopbackBus::open_locked(size_t index, Channel& client) {
  Offer& offer = offers_[index];
  const ChannelConfig config = client.config();
  const uint64_t outgoing_pages = 1 + uint64_t{config.outgoing_ring_pages};
  const uint64_t incoming_pages = 1 + uint64_t{config.incoming_ring_pages};
  Result<GuestBuffer> buffer = memory_->allocate_pages(outgoing_pages + incoming_pages);
  if (!buffer) {
    client.deliver_open_result(buffer.status(), nullptr);
    return;
  }
  auto link = std::make_shared<Link>();
  link->memory = memory_.get();
  link->pages = buffer->address;
  link->offer_server = offer.server;
  link->instance = offer.instance;
  for (uint64_t i = 0; i < outgoing_pages; ++i)
    link->client_outgoing_pfns.push_back(buffer->first_pfn + i);
  for (uint64_t i = 0; i < incoming_pages; ++i) {
    link->client_incoming_pfns.push_back(buffer->first_pfn + outgoing_pages + i);
  }
  // The guest initialises both control pages before OPENCHANNEL and advertises the
  // pending-send-size protocol on both, as Linux does (wire-format.md §1.1).
  ring::initialize_control_page(buffer->address, wire::kFeaturePendingSendSize);
  ring::initialize_control_page(buffer->address + outgoing_pages * wire::kPageSize,
                                wire::kFeaturePendingSendSize);
  const SharedRegion& region = memory_->mapping()->region();
  Result<RingMapping> server_outgoing = RingMapping::map(region, link->client_incoming_pfns);
  Result<RingMapping> server_incoming = RingMapping::map(region, link->client_outgoing_pfns);
  if (!server_outgoing || !server_incoming) {
    client.deliver_open_result(Status{STATUS_INSUFFICIENT_RESOURCES}, nullptr);
    return;
  }
  link->server = offer.server;
  link->client = &client;
  offer.in_use = true;
  links_.push_back(link);
  auto connection = std::make_unique<Connection>(link, true, std::move(*server_outgoing),
                                                 std::move(*server_incoming), memory_->mapping());
  offer.server->deliver_open_request(std::move(connection), [this, link](Status status) {
    // On the server's control task, after its opened() callback.
    Result<RingMapping> outgoing =
        RingMapping::map(memory_->mapping()->region(), link->client_outgoing_pfns);
    Result<RingMapping> incoming =
        RingMapping::map(memory_->mapping()->region(), link->client_incoming_pfns);
    if (status.ok() && (!outgoing || !incoming)) status = Status{STATUS_INSUFFICIENT_RESOURCES};
    const std::lock_guard lock(mutex_);
    Channel* client_channel;
    {
      const std::lock_guard link_lock(link->mutex);
      client_channel = link->client;
      if (!status.ok()) {
        link->server = nullptr;
        link->client = nullptr;
      }
    }
    if (!status.ok()) {
      links_.erase(std::remove(links_.begin(), links_.end(), link), links_.end());
      if (client_channel != nullptr) client_channel->deliver_open_result(status, nullptr);
      release_offer_locked(link->offer_server);
      return;
    }
    if (client_channel == nullptr) return;  // the client went away meanwhile
    client_channel->deliver_open_result(
        Status{}, std::make_unique<Connection>(link, false, std::move(*outgoing),
                                               std::move(*incoming), memory_->mapping()));
  });
}

void LoopbackBus::close_connection(Channel& channel, const ChannelConnection* /*connection*/) {
  // An offer stays in use until both sides let go, so no newer link of `channel` can exist
  // while the old one is closing: the link is found by channel alone.
  const std::lock_guard lock(mutex_);
  for (auto it = links_.begin(); it != links_.end(); ++it) {
    const std::shared_ptr<Link>& link = *it;
    Channel* peer;
    bool both_closed;
    {
      const std::lock_guard link_lock(link->mutex);
      if (link->server == &channel) {
        link->server = nullptr;
        peer = link->client;
      } else if (link->client == &channel) {
        link->client = nullptr;
        peer = link->server;
      } else {
        continue;
      }
      both_closed = link->server == nullptr && link->client == nullptr;
      link->gpadl_unmapped.notify_all();  // a delete waiting for a departed server may go on
    }
    // Under the bus mutex: the peer cannot finish its own close (and be destroyed) meanwhile.
    if (peer != nullptr) peer->deliver_peer_closed();
    if (both_closed) {
      Channel* offer_server = link->offer_server;
      links_.erase(it);
      release_offer_locked(offer_server);
    }
    return;
  }
}

void LoopbackBus::release_offer_locked(Channel* server) {
  for (size_t i = 0; i < offers_.size(); ++i) {
    if (offers_[i].server != server) continue;
    offers_[i].in_use = false;
    // A client that waits for this offer (it was busy when the client enabled) opens it now.
    for (auto client = waiting_clients_.begin(); client != waiting_clients_.end(); ++client) {
      if (!matches(offers_[i], **client)) continue;
      Channel* opening = *client;
      waiting_clients_.erase(client);
      open_locked(i, *opening);
      break;
    }
    return;
  }
}

std::shared_ptr<LoopbackBus::Link> LoopbackBus::find_link(Channel& channel, bool server_side) {
  const std::lock_guard lock(mutex_);
  for (const std::shared_ptr<Link>& link : links_) {
    const std::lock_guard link_lock(link->mutex);
    if ((server_side ? link->server : link->client) == &channel) return link;
  }
  return nullptr;
}

Result<uint32_t> LoopbackBus::create_gpadl(Channel& client, GpaRanges ranges, bool read_only) {
  const std::shared_ptr<Link> link = find_link(client, false);
  if (!link) return Status{STATUS_INVALID_DEVICE_STATE};
  const std::lock_guard lock(link->mutex);
  if (link->server == nullptr) return Status{STATUS_INVALID_DEVICE_STATE};
  const uint32_t handle = link->next_gpadl++;
  if (link->next_gpadl == 0) link->next_gpadl = 1;
  Link::Gpadl& gpadl = link->gpadls[handle];
  gpadl.ranges = std::move(ranges);
  gpadl.read_only = read_only;
  return handle;  // in one process the server side has it at once (GPADL_CREATED)
}

void LoopbackBus::delete_gpadl(Channel& client, uint32_t handle) {
  const std::shared_ptr<Link> link = find_link(client, false);
  if (!link) return;
  std::unique_lock lock(link->mutex);
  const auto found = link->gpadls.find(handle);
  if (found == link->gpadls.end()) return;
  // KMCL: teardown waits while the server has the GPADL mapped (or until the server is gone).
  link->gpadl_unmapped.wait(
      lock, [&] { return !found->second.mapping.has_value() || link->server == nullptr; });
  link->gpadls.erase(found);
}

Result<PMDL> LoopbackBus::map_gpadl(Channel& server, uint32_t handle, bool read_only) {
  const std::shared_ptr<Link> link = find_link(server, true);
  if (!link) return Status{STATUS_INVALID_DEVICE_STATE};
  const std::lock_guard lock(link->mutex);
  const auto found = link->gpadls.find(handle);
  if (found == link->gpadls.end() || found->second.mapping.has_value()) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  if (!read_only && found->second.read_only) return Status{STATUS_ACCESS_DENIED};
  Result<MdlChain> chain =
      MdlChain::from_ranges(memory_->mapping(), found->second.ranges, read_only);
  if (!chain) return chain.status();
  found->second.mapping = std::move(*chain);
  return found->second.mapping->first();
}

void LoopbackBus::unmap_gpadl(Channel& server, uint32_t handle) {
  const std::shared_ptr<Link> link = find_link(server, true);
  if (!link) return;
  const std::lock_guard lock(link->mutex);
  const auto found = link->gpadls.find(handle);
  if (found == link->gpadls.end()) return;
  found->second.mapping.reset();
  link->gpadl_unmapped.notify_all();
}

void LoopbackBus::rescind(Channel& server) {
  close_connection(server, nullptr);  // normally done already by the channel's close sequence
  const std::lock_guard lock(mutex_);
  offers_.erase(std::remove_if(offers_.begin(), offers_.end(),
                               [&](const Offer& offer) { return offer.server == &server; }),
                offers_.end());
}

void LoopbackBus::disconnect(Channel& client) {
  close_connection(client, nullptr);  // also detaches a client whose open is still in progress
  const std::lock_guard lock(mutex_);
  waiting_clients_.erase(std::remove(waiting_clients_.begin(), waiting_clients_.end(), &client),
                         waiting_clients_.end());
}

}  // namespace vmb
