// SPDX-License-Identifier: MIT
// HostileBus (see hostile_bus.h). Lock order: the bus mutex, then a link's lifecycle mutex,
// then its mutex, then a channel's own locks. A victim's channel pointer is cleared under the
// link's locks (close_connection) before the channel can be destroyed.
#include "testing/hostile_bus.h"

#include "vmbkit/channel/channel.h"
#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::testing {
namespace {

// The instance GUID the hostile host offers to client victims.
constexpr Guid kHostileInstance = *Guid::parse("0badc0de-0bad-4bad-8bad-0badc0de0bad");

ring::RingView view_of(const RingMapping& mapping) {
  const RingMemory& memory = mapping.memory();
  return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
}

}  // namespace

// The pages of one open's two rings; back to guest memory when the last holder lets go.
struct HostileBus::RingPages {
  GuestMemory* memory = nullptr;
  std::byte* address = nullptr;
  std::vector<uint64_t> to_victim;  // PFNs: control page, then data pages
  std::vector<uint64_t> from_victim;
  ~RingPages() {
    if (address != nullptr) (void)memory->free(address);
  }
};

class HostileBus::Connection final : public ChannelConnection {
 public:
  Connection(std::shared_ptr<HostileLink> link, std::shared_ptr<RingPages> pages,
             RingMapping outgoing, RingMapping incoming,
             std::shared_ptr<const GuestMemoryMapping> guest, Guid instance)
      : link_(std::move(link)),
        pages_(std::move(pages)),
        outgoing_(std::move(outgoing)),
        incoming_(std::move(incoming)),
        guest_(std::move(guest)),
        instance_(instance) {}
  ring::RingView outgoing_ring() const override { return view_of(outgoing_); }
  ring::RingView incoming_ring() const override { return view_of(incoming_); }
  const std::shared_ptr<const GuestMemoryMapping>& guest_memory() const override { return guest_; }
  Guid offer_instance() const override { return instance_; }
  void signal_peer() override {
    // Called with the victim's mutex held: take only the link mutex, call nothing back.
    const std::lock_guard lock(link_->mutex);
    ++link_->signals_from_victim;
    link_->changed.notify_all();
  }

 private:
  std::shared_ptr<HostileLink> link_;
  std::shared_ptr<RingPages> pages_;
  RingMapping outgoing_;
  RingMapping incoming_;
  std::shared_ptr<const GuestMemoryMapping> guest_;
  Guid instance_;
};

Result<std::unique_ptr<HostileBus>> HostileBus::create(const Options& options) {
  Result<std::unique_ptr<LoopbackBus>> inner = LoopbackBus::create(
      LoopbackBus::Options{options.guest_pages, options.dispatch_threads, options.passive_threads});
  if (!inner) return inner.status();
  return std::unique_ptr<HostileBus>(new HostileBus(std::move(*inner)));
}

HostileBus::~HostileBus() {
  const std::lock_guard lock(mutex_);
  victims_.clear();  // ring pages go back to guest memory before the inner bus goes
}

void HostileBus::attack(Channel& victim, Attack attack) {
  const std::lock_guard lock(mutex_);
  Victim& entry = victims_[&victim];
  entry.attack = std::move(attack);
}

void HostileBus::attack(Channel& victim) { attack(victim, Attack{}); }

HostileBus::Victim* HostileBus::find_locked(Channel& channel) {
  const auto found = victims_.find(&channel);
  return found == victims_.end() ? nullptr : &found->second;
}

std::shared_ptr<HostilePeer> HostileBus::wait_for_peer(Channel& victim,
                                                       std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, wait, [&] {
    const Victim* entry = find_locked(victim);
    return entry != nullptr && entry->peer != nullptr;
  });
  const Victim* entry = find_locked(victim);
  return entry != nullptr ? entry->peer : nullptr;
}

Status HostileBus::open_locked(Channel& channel, Victim& victim) {
  const bool server = channel.is_server();
  const ChannelConfig config = channel.config();
  const uint64_t to_pages =
      1 + uint64_t{server ? victim.attack.to_victim_pages : config.incoming_ring_pages};
  const uint64_t from_pages =
      1 + uint64_t{server ? victim.attack.from_victim_pages : config.outgoing_ring_pages};
  Result<GuestBuffer> buffer = inner_->memory().allocate_pages(to_pages + from_pages);
  if (!buffer) return buffer.status();
  auto pages = std::make_shared<RingPages>();
  pages->memory = &inner_->memory();
  pages->address = buffer->address;
  for (uint64_t i = 0; i < to_pages; ++i) pages->to_victim.push_back(buffer->first_pfn + i);
  for (uint64_t i = 0; i < from_pages; ++i) {
    pages->from_victim.push_back(buffer->first_pfn + to_pages + i);
  }
  // As a guest does before OPENCHANNEL (wire-format.md §5.5).
  ring::initialize_control_page(buffer->address, wire::kFeaturePendingSendSize);
  ring::initialize_control_page(buffer->address + to_pages * wire::kPageSize,
                                wire::kFeaturePendingSendSize);
  const std::shared_ptr<const GuestMemoryMapping> guest = inner_->memory().mapping();
  Result<RingMapping> peer_to = RingMapping::map(guest->region(), pages->to_victim);
  Result<RingMapping> peer_from = RingMapping::map(guest->region(), pages->from_victim);
  Result<RingMapping> victim_outgoing = RingMapping::map(guest->region(), pages->from_victim);
  Result<RingMapping> victim_incoming = RingMapping::map(guest->region(), pages->to_victim);
  if (!peer_to || !peer_from || !victim_outgoing || !victim_incoming) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  if (victim.attack.before_open) {
    RawRing to(view_of(*peer_to));
    RawRing from(view_of(*peer_from));
    victim.attack.before_open(to, from);
  }
  auto link = std::make_shared<HostileLink>();
  link->victim = &channel;
  victim.peer =
      std::make_shared<HostilePeer>(server ? EndpointRole::kServer : EndpointRole::kClient, link,
                                    std::move(*peer_to), std::move(*peer_from), guest);
  victim.pages = pages;
  victim.gpadls.clear();
  const Guid instance = server ? config.interface_instance.value_or(Guid{}) : kHostileInstance;
  auto connection = std::make_unique<Connection>(link, pages, std::move(*victim_outgoing),
                                                 std::move(*victim_incoming), guest, instance);
  if (server) {
    channel.deliver_open_request(std::move(connection), [link](Status status) {
      // On the victim's control task, after its opened() callback.
      const std::lock_guard lifecycle(link->lifecycle);
      const std::lock_guard lock(link->mutex);
      link->open_reply = status;
      if (!status.ok()) {
        link->victim = nullptr;  // refused: the victim keeps no connection
        link->victim_closed = true;
      }
      link->changed.notify_all();
    });
  } else {
    channel.deliver_open_result(Status{}, std::move(connection));
  }
  changed_.notify_all();
  return Status{};
}

void HostileBus::detach_locked(Victim& victim) {
  if (!victim.peer) return;
  const std::shared_ptr<HostileLink>& link = victim.peer->link();
  const std::lock_guard lifecycle(link->lifecycle);
  const std::lock_guard lock(link->mutex);
  link->victim = nullptr;
  link->victim_closed = true;
  link->changed.notify_all();
}

Status HostileBus::offer(Channel& server) {
  const std::lock_guard lock(mutex_);
  Victim* victim = find_locked(server);
  if (victim == nullptr) return inner_->offer(server);
  return open_locked(server, *victim);
}

Status HostileBus::connect(Channel& client) {
  const std::lock_guard lock(mutex_);
  Victim* victim = find_locked(client);
  if (victim == nullptr) return inner_->connect(client);
  return open_locked(client, *victim);
}

void HostileBus::close_connection(Channel& channel, const ChannelConnection* connection) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(channel); victim != nullptr) {
      detach_locked(*victim);
      return;
    }
  }
  inner_->close_connection(channel, connection);
}

void HostileBus::rescind(Channel& server) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(server); victim != nullptr) {
      detach_locked(*victim);
      return;
    }
  }
  inner_->rescind(server);
}

void HostileBus::disconnect(Channel& client) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(client); victim != nullptr) {
      detach_locked(*victim);
      return;
    }
  }
  inner_->disconnect(client);
}

Result<uint32_t> HostileBus::create_gpadl(Channel& client, GpaRanges ranges, bool read_only) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(client); victim != nullptr) {
      if (!victim->peer || victim->peer->victim_closed()) {
        return Status{STATUS_INVALID_DEVICE_STATE};
      }
      const uint32_t handle = victim->next_gpadl++;
      victim->gpadls[handle] = Gpadl{std::move(ranges), read_only, std::nullopt};
      return handle;
    }
  }
  return inner_->create_gpadl(client, std::move(ranges), read_only);
}

void HostileBus::delete_gpadl(Channel& client, uint32_t handle) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(client); victim != nullptr) {
      victim->gpadls.erase(handle);  // the hostile host never holds a mapping up
      return;
    }
  }
  inner_->delete_gpadl(client, handle);
}

uint32_t HostileBus::add_gpadl(Channel& server_victim, GpaRanges ranges, bool read_only) {
  const std::lock_guard lock(mutex_);
  Victim& victim = victims_[&server_victim];
  const uint32_t handle = victim.next_gpadl++;
  victim.gpadls[handle] = Gpadl{std::move(ranges), read_only, std::nullopt};
  return handle;
}

std::optional<std::vector<uint64_t>> HostileBus::gpadl_words(Channel& client_victim,
                                                             uint32_t handle) {
  const std::lock_guard lock(mutex_);
  Victim* victim = find_locked(client_victim);
  if (victim == nullptr) return std::nullopt;
  const auto found = victim->gpadls.find(handle);
  if (found == victim->gpadls.end()) return std::nullopt;
  const std::span<const uint64_t> words = found->second.ranges.words();
  return std::vector<uint64_t>(words.begin(), words.end());
}

Result<PMDL> HostileBus::map_gpadl(Channel& server, uint32_t handle, bool read_only) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(server); victim != nullptr) {
      if (!victim->peer || victim->peer->victim_closed()) {
        return Status{STATUS_INVALID_DEVICE_STATE};
      }
      const auto found = victim->gpadls.find(handle);
      if (found == victim->gpadls.end() || found->second.mapping.has_value()) {
        return Status{STATUS_INVALID_PARAMETER};
      }
      if (!read_only && found->second.read_only) return Status{STATUS_ACCESS_DENIED};
      // The same check a host makes: every PFN inside the guest's memory.
      Result<MdlChain> chain =
          MdlChain::from_ranges(inner_->guest_memory(), found->second.ranges, read_only);
      if (!chain) return chain.status();
      found->second.mapping = std::move(*chain);
      return found->second.mapping->first();
    }
  }
  return inner_->map_gpadl(server, handle, read_only);
}

void HostileBus::unmap_gpadl(Channel& server, uint32_t handle) {
  {
    const std::lock_guard lock(mutex_);
    if (Victim* victim = find_locked(server); victim != nullptr) {
      const auto found = victim->gpadls.find(handle);
      if (found != victim->gpadls.end()) found->second.mapping.reset();
      return;
    }
  }
  inner_->unmap_gpadl(server, handle);
}

}  // namespace vmb::testing
