// SPDX-License-Identifier: MIT
// LoopbackBus: a bus inside one process that pairs a server channel offered by interface type
// and instance with a client channel that targets it. It owns the guest memory of its clients
// (a memfd, as between processes) and the worker pools its channels run on. Opening a pair
// allocates both rings in guest memory as one run of pages (the client's outgoing ring first,
// wire-format.md §1.3), initialises their control pages, maps them separately for each side,
// and runs the open handshake through the channels' control tasks: server opened(), then
// client opened() (or pnp_failure). Signals are direct calls that schedule the peer's dispatch
// task; no eventfd is needed inside one process. Not here: VMBus channel messages or sockets
// (the bus layer).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "vmbkit/channel/channel_bus.h"
#include "vmbkit/channel/worker_pool.h"
#include "vmbkit/memory/guest_memory.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/guid.h"

namespace vmb {

class LoopbackBus final : public ChannelBus {
 public:
  struct Options {
    uint64_t guest_pages = GuestMemory::kDefaultPageCount;
    uint32_t dispatch_threads = 0;  // 0 = one per core
    uint32_t passive_threads = 2;   // initial; the pool grows while work waits
  };

  static Result<std::unique_ptr<LoopbackBus>> create(const Options& options);
  static Result<std::unique_ptr<LoopbackBus>> create() { return create(Options{}); }
  // Every channel on the bus must be destroyed first.
  ~LoopbackBus() override;
  LoopbackBus(const LoopbackBus&) = delete;
  LoopbackBus& operator=(const LoopbackBus&) = delete;

  [[nodiscard]] GuestMemory& memory() { return *memory_; }

  WorkerPool& dispatch_pool() override { return dispatch_pool_; }
  WorkerPool& passive_pool() override { return passive_pool_; }
  Status offer(Channel& server) override;
  void rescind(Channel& server) override;
  Status connect(Channel& client) override;
  void disconnect(Channel& client) override;
  std::shared_ptr<const GuestMemoryMapping> guest_memory() override { return memory_->mapping(); }
  void close_connection(Channel& channel, const ChannelConnection* connection) override;
  Result<uint32_t> create_gpadl(Channel& client, GpaRanges ranges, bool read_only) override;
  void delete_gpadl(Channel& client, uint32_t handle) override;
  Result<PMDL> map_gpadl(Channel& server, uint32_t handle, bool read_only) override;
  void unmap_gpadl(Channel& server, uint32_t handle) override;

  // Open pairs (opening, open or half closed); for tests.
  [[nodiscard]] size_t link_count() const;

 private:
  struct Link;
  class Connection;
  struct Offer {
    Channel* server;
    Guid type;
    Guid instance;
    uint16_t sub_channel_index;
    bool in_use;
  };

  LoopbackBus(std::unique_ptr<GuestMemory> memory, const Options& options);
  // Pairs `server` (offer at `index`) with `client` and starts the handshake. mutex_ held.
  void open_locked(size_t index, Channel& client);
  static bool matches(const Offer& offer, Channel& client);
  // The link `channel` is attached to on the given side, or null.
  std::shared_ptr<Link> find_link(Channel& channel, bool server_side);
  // The offer of `server` is free again; a waiting client may open it. mutex_ held.
  void release_offer_locked(Channel* server);

  std::unique_ptr<GuestMemory> memory_;
  WorkerPool dispatch_pool_;
  WorkerPool passive_pool_;
  mutable std::mutex mutex_;
  std::vector<Offer> offers_;
  std::vector<Channel*> waiting_clients_;
  std::vector<std::shared_ptr<Link>> links_;
};

}  // namespace vmb
