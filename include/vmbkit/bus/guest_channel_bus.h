// SPDX-License-Identifier: MIT
// GuestChannelBus: the ChannelBus (vmbkit/channel/channel_bus.h) of a guest process — what
// VmbKitBusConnect creates. It is one partition: its own guest memory (external data and GPADLs of
// its client channels live there) and its own channels. A client channel enabled on it opens the
// first offer that matches its target (type, instance if given, sub-channel index), now or when one
// arrives; opening (GPADL + OPENCHANNEL, which wait for the host) runs on the passive pool, never
// in Enable. Rescinds reach the channel as "peer closed" (outstanding transactions end with
// STATUS_DEVICE_REMOVED); the loss of the host as "bus lost", which also Disables a client still
// waiting for an offer or opening (its sends end with STATUS_DEVICE_REMOVED), and later Enables
// fail with STATUS_DEVICE_REMOVED. Closing tears the ring GPADL down and releases a rescinded
// relid. Not here: server endpoints (offer() is STATUS_NOT_SUPPORTED), the host side
// (host_channel_bus.h).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vmbkit/bus/bus_client.h"
#include "vmbkit/bus/signal_pump.h"
#include "vmbkit/channel/channel_bus.h"
#include "vmbkit/channel/worker_pool.h"

namespace vmb::bus {

class GuestChannelBus final : public ChannelBus, private BusClientHandler {
 public:
  struct Options {
    uint32_t dispatch_threads = 0;  // 0 = one per core
    uint32_t passive_threads = 2;
    BusClientOptions client;
    // Bound on each control request to the host (open, GPADL, close) and on connecting. A
    // host that misses it is presumed dead and the connection dropped.
    std::chrono::milliseconds request_timeout{30'000};
  };

  // Connects to the host at `path` (statuses as BusClient::connect).
  static Result<std::unique_ptr<GuestChannelBus>> connect(const std::string& path,
                                                          const Options& options);
  // Every channel on the bus must be destroyed first.
  ~GuestChannelBus() override;
  GuestChannelBus(const GuestChannelBus&) = delete;
  GuestChannelBus& operator=(const GuestChannelBus&) = delete;

  [[nodiscard]] GuestMemory& memory() { return client_->memory(); }
  [[nodiscard]] BusClient& client() { return *client_; }

  WorkerPool& dispatch_pool() override { return dispatch_pool_; }
  WorkerPool& passive_pool() override { return passive_pool_; }
  Status offer(Channel& server) override;
  void rescind(Channel& server) override;
  Status connect(Channel& client) override;
  void disconnect(Channel& client) override;
  std::shared_ptr<const GuestMemoryMapping> guest_memory() override;
  Result<uint32_t> create_gpadl(Channel& client, GpaRanges ranges, bool read_only) override;
  void delete_gpadl(Channel& client, uint32_t handle) override;
  Result<PMDL> map_gpadl(Channel& server, uint32_t handle, bool read_only) override;
  void unmap_gpadl(Channel& server, uint32_t handle) override;
  void close_connection(Channel& channel, const ChannelConnection* connection) override;

 private:
  struct Link;
  class Connection;
  class Opener;
  struct Endpoint {
    Channel* client = nullptr;
    uint64_t generation = 0;     // one per connect(): a job never acts for a later Enable
    std::shared_ptr<Link> link;  // from the open until close
    bool opening = false;        // an open job is queued or running
  };

  explicit GuestChannelBus(const Options& options);
  // BusClientHandler (the client's reader thread).
  void offer_received(const wire::OfferChannel& offer) override;
  void offer_rescinded(Relid relid) override;
  void connection_lost() override;

  // Starts opening the first free matching offer for `endpoint`, if any. mutex_ held.
  void try_open_locked(Endpoint& endpoint);
  // The open job (passive pool): the blocking part of opening.
  void open(Channel* client, uint64_t generation, wire::OfferChannel offer);
  Endpoint* find_locked(Channel& client);
  Endpoint* find_locked(Channel* client, uint64_t generation);
  // Detaches the endpoint's link; returns it for closing outside the lock.
  std::shared_ptr<Link> detach_locked(Endpoint& endpoint);
  void finish_close(const std::shared_ptr<Link>& link);
  [[nodiscard]] Deadline request_deadline() const;

  const Options options_;
  WorkerPool dispatch_pool_;
  WorkerPool passive_pool_;
  std::unique_ptr<SignalPump> pump_;
  std::unique_ptr<BusClient> client_;
  std::unique_ptr<Opener> opener_;
  std::mutex mutex_;  // endpoints_; held while calling Channel::deliver_*
  std::vector<Endpoint> endpoints_;
  uint64_t next_generation_ = 1;
  bool lost_ = false;  // the connection to the host is gone: nothing opens any more
};

}  // namespace vmb::bus
