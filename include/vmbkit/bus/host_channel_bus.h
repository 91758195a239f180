// SPDX-License-Identifier: MIT
// HostChannelBus: the ChannelBus (vmbkit/channel/channel_bus.h) of a host process — what
// VmbKitBusListen creates. Server channels enabled on it are offered through a BusServer to every
// guest process that connects; the first guest to open an offer gets the channel (one server
// endpoint serves one guest at a time, as on the loopback bus), the others are refused until it
// closes. The channel's rings are mapped from that guest's memory, its signals are eventfds watched
// by a SignalPump. A guest that closes, breaks the protocol or dies closes the channel (peer
// closed: outstanding transactions end with STATUS_DEVICE_REMOVED) and the offer is open to the
// next guest. A server channel with a sub-channel index (set_sub_channel_index) is offered as that
// sub-channel of its type and instance; its primary (index 0) must be enabled first and disabled
// last. A server that closes while the guest still has the channel open (a failure) rescinds the
// offer and offers it again under a new relid. Not here: client endpoints (a host process has none;
// connect() is STATUS_NOT_SUPPORTED), the guest side (guest_channel_bus.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vmbkit/bus/bus_server.h"
#include "vmbkit/bus/signal_pump.h"
#include "vmbkit/channel/channel_bus.h"
#include "vmbkit/channel/worker_pool.h"

namespace vmb::bus {

class HostChannelBus final : public ChannelBus, private BusServerHandler {
 public:
  struct Options {
    uint32_t dispatch_threads = 0;  // 0 = one per core
    uint32_t passive_threads = 2;   // initial; the pool grows while work waits
    BusServerOptions server;
  };

  // Listens at `path` (statuses as BusServer::listen).
  static Result<std::unique_ptr<HostChannelBus>> listen(const std::string& path,
                                                        const Options& options);
  // Every channel on the bus must be destroyed first. Drops every guest.
  ~HostChannelBus() override;
  HostChannelBus(const HostChannelBus&) = delete;
  HostChannelBus& operator=(const HostChannelBus&) = delete;

  [[nodiscard]] BusServer& server() { return *server_; }

  WorkerPool& dispatch_pool() override { return dispatch_pool_; }
  WorkerPool& passive_pool() override { return passive_pool_; }
  Status offer(Channel& server) override;
  void rescind(Channel& server) override;
  Status connect(Channel& client) override;
  void disconnect(Channel& client) override;
  std::shared_ptr<const GuestMemoryMapping> guest_memory() override { return nullptr; }
  Result<uint32_t> create_gpadl(Channel& client, GpaRanges ranges, bool read_only) override;
  void delete_gpadl(Channel& client, uint32_t handle) override;
  Result<PMDL> map_gpadl(Channel& server, uint32_t handle, bool read_only) override;
  void unmap_gpadl(Channel& server, uint32_t handle) override;
  void close_connection(Channel& channel, const ChannelConnection* connection) override;

 private:
  struct Link;
  class Connection;
  // The BusServer as the server channels' connections see it: cleared (under its mutex) before
  // the server goes, since a connection may outlive the bus.
  struct RingPins;
  class RingPin;
  // A GPADL the server mapped (map_gpadl .. unmap_gpadl). It outlives the link it came from:
  // the server's mapping stays valid after the guest closed or died, until the server unmaps
  // it (the chain keeps the guest's memory mapped); only then does the guest get its
  // GPADL_TORNDOWN.
  struct Mapping;
  struct Offer {
    Channel* server = nullptr;
    wire::OfferChannel message{};
    Relid relid{};
    std::shared_ptr<Link> link;  // while a guest has it opening or open
    // By handle, across links: a handle still mapped from an earlier guest cannot be mapped
    // again until the server unmapped it, so unmap_gpadl is never ambiguous.
    std::map<uint32_t, std::shared_ptr<Mapping>> mappings;
  };

  explicit HostChannelBus(const Options& options);
  // BusServerHandler (the server's thread).
  Status channel_opened(HostChannelResources resources) override;
  void channel_closed(PartitionId partition, Relid relid) override;

  Offer* find_locked(Channel& server);
  // Ends the link of `offer` on this side: no more signals in either direction. The server's
  // GPADL mappings stay until it unmaps them.
  void detach_locked(Offer& offer);
  // Ends every mapping of `offer` (the server channel is going away).
  void unmap_all_locked(Offer& offer);

  WorkerPool dispatch_pool_;
  WorkerPool passive_pool_;
  std::unique_ptr<SignalPump> pump_;
  std::unique_ptr<BusServer> server_;
  std::shared_ptr<RingPins> ring_pins_;
  std::mutex mutex_;  // offers_; held while calling into BusServer and Channel::deliver_*
  std::vector<Offer> offers_;
};

}  // namespace vmb::bus
