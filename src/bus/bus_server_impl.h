// SPDX-License-Identifier: MIT
// BusServer's private parts: the Impl (listener, epoll thread, offers, partitions, the queue of
// handler calls) and Partition, one guest's connection with its HostControlPlane, whose effects
// it implements. Locking: one mutex guards everything here; HostControlPlane and its effects
// run with it held; handler calls are queued under it and run on the server thread without it.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "vmbkit/bus/bus_listener.h"
#include "vmbkit/bus/bus_server.h"
#include "vmbkit/bus/host_control_plane.h"

namespace vmb::bus {

// One guest connection. Lives in Impl::partitions_ while connected; destroyed on the server
// thread (or in the destructor) after it was dropped.
class ServerPartition final : public HostControlPlaneEffects {
 public:
  ServerPartition(BusServer::Impl& server, PartitionId id, BusSocket socket, PeerCredentials peer,
                  const HostLimits& limits);

  void send_to_guest(std::span<const uint8_t> message) override;
  Result<uint64_t> map_guest_memory(UniqueFd memory) override;
  void guest_memory_released() override;
  void gpadl_established(Relid relid, GpadlHandle handle, const GpaRanges& ranges) override;
  void gpadl_torn_down(Relid relid, GpadlHandle handle) override;
  void open_requested(const HostOpenRequest& request, UniqueFd guest_to_host_event,
                      UniqueFd host_to_guest_event) override;
  void channel_closed(Relid relid) override;
  void relid_released(Relid relid) override;
  void disconnect(std::string_view reason) override;

  BusServer::Impl& server;
  const PartitionId id;
  BusSocket socket;
  const PeerCredentials peer;
  HostControlPlane control;
  std::shared_ptr<const GuestMemoryMapping> memory;
  struct StoredGpadl {
    Relid relid{};
    uint32_t range_count = 0;
    std::vector<uint64_t> words;  // already checked against the guest's memory
  };
  std::map<GpadlHandle, StoredGpadl> gpadls;  // established GPADLs, for gpadl_ranges()
  bool drop_requested = false;  // set by effects; acted on after the control call returns
  std::string drop_reason;
};

class BusServer::Impl {
 public:
  Impl(BusServerHandler& handler, BusServerOptions options, BusListener listener);
  ~Impl();

  Status start();
  Result<Relid> add_offer(const wire::OfferChannel& offer);
  Status remove_offer(Relid relid);
  Status complete_open(PartitionId partition, Relid relid, Status result);
  Status disconnect_guest(PartitionId partition, std::string reason);
  Result<GpaRanges> gpadl_ranges(PartitionId partition, Relid relid, GpadlHandle handle) const;
  Result<GpaRanges> map_gpadl(PartitionId partition, Relid relid, GpadlHandle handle);
  void unmap_gpadl(PartitionId partition, Relid relid, GpadlHandle handle);
  size_t guest_count() const;
  std::vector<PartitionId> guests() const;
  const std::string& path() const { return listener_.path(); }

  // gpadl_ranges with mutex_ held.
  Result<GpaRanges> gpadl_ranges_locked(PartitionId partition, Relid relid,
                                        GpadlHandle handle) const;
  // Called by ServerPartition's effects (mutex_ held).
  void queue(std::function<void()> call);
  void relid_released_locked(Relid relid, PartitionId partition);
  // Forgets removed offers every guest has released (their relids become free).
  void sweep_offers_locked();
  const wire::OfferChannel* offer_locked(Relid relid) const;
  BusServerHandler& handler() { return handler_; }

 private:
  struct Offer {
    wire::OfferChannel message{};
    uint64_t order = 0;
    bool removed = false;
    std::set<PartitionId> holders;  // partitions that have not released a removed offer
  };

  // The server thread (bus_server_loop.cc).
  void run();
  void accept_guests();
  void serve_guest(PartitionId id);
  // Drops `partition` if its effects asked for it or `lost` (connection gone or malformed).
  void finish_if_dropped_locked(ServerPartition& partition, bool lost, std::string reason);
  // finish_if_dropped_locked for every partition whose effects asked to be dropped.
  void finish_dropped_locked();
  void run_queued_calls();
  void wake();

  BusServerHandler& handler_;
  const BusServerOptions options_;
  BusListener listener_;
  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: queued calls or stop
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  // everything below
  std::map<PartitionId, std::unique_ptr<ServerPartition>> partitions_;
  std::vector<std::unique_ptr<ServerPartition>> dropped_;  // destroyed on the server thread
  uint64_t next_partition_ = 1;
  std::map<Relid, Offer> offers_;
  uint64_t offers_added_ = 0;
  std::vector<std::function<void()>> calls_;  // handler calls, in order
};

}  // namespace vmb::bus
