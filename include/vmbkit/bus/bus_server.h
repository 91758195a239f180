// SPDX-License-Identifier: MIT
// BusServer: the host side of a bus between processes. It listens on a BusListener socket,
// runs one thread that serves every connected guest (epoll), and gives each guest — one
// partition — its own HostControlPlane, its own mapping of the guest's memory and its own
// channels. Offers made on the server reach every guest, now or when it connects. When a guest
// opens an offer, the server maps the two rings from the guest's memory and hands them, with
// the channel's eventfds, to a BusServerHandler; when the channel closes for any reason (the
// guest closed it, the offer was withdrawn, the guest broke the protocol or vanished) the
// handler hears it. A guest that breaks the protocol is dropped; the others are not affected.
// Not here: channels, packets or signalling (the handler's business), the guest side
// (bus_client.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vmbkit/bus/bus_ids.h"
#include "vmbkit/bus/bus_socket.h"
#include "vmbkit/bus/host_control_plane.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory_mapping.h"
#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/channel_offer_messages.h"

namespace vmb::bus {

// One connected guest; never reused while the server lives (a guest that reconnects is a new
// partition).
enum class PartitionId : uint64_t {};

// Everything the host side of one opened channel needs. Owned by the handler from
// channel_opened until it is done with the channel; the rings stay mapped while it holds them,
// even after the guest died.
struct HostChannelResources {
  PartitionId partition{};
  Relid relid{};
  wire::OfferChannel offer{};  // as sent to the guest
  uint32_t open_id = 0;
  GpadlHandle ring_gpadl{};  // the GPADL the two rings are in
  uint32_t target_vp = 0;
  wire::UserDefinedData user_data{};
  std::shared_ptr<const GuestMemoryMapping> guest_memory;
  RingMapping outgoing_ring;  // host→guest: the host is the producer
  RingMapping incoming_ring;  // guest→host: the host is the consumer
  UniqueFd signal_guest;      // write 1 to signal the guest (fd_protocol.h [1])
  UniqueFd guest_signals;     // readable when the guest signalled (fd_protocol.h [0])
};

// What the server's owner does with guests and channels. Every call comes from the server's
// thread (or from the destructor's thread while the server shuts down), one at a time, never
// with a server lock held: a handler may call back into the BusServer.
class BusServerHandler {
 public:
  virtual ~BusServerHandler() = default;
  // A guest opened an offer. Return the open's outcome, or STATUS_PENDING and call
  // BusServer::complete_open later. Must not block for long: every guest waits meanwhile.
  virtual Status channel_opened(HostChannelResources resources) = 0;
  // The channel `relid` of `partition` is closed (also when an open is cancelled before it
  // completed). Release its resources; outstanding work ends with STATUS_DEVICE_REMOVED.
  virtual void channel_closed(PartitionId partition, Relid relid) = 0;
  virtual void guest_connected(PartitionId /*partition*/, const PeerCredentials& /*peer*/) {}
  // `reason` is empty for an orderly close or loss of the connection.
  virtual void guest_disconnected(PartitionId /*partition*/, std::string_view /*reason*/) {}
};

struct BusServerOptions {
  std::vector<uid_t> allowed_users;  // empty: our own effective uid only
  HostLimits limits;                 // per guest
  size_t maximum_guests = 64;        // more connections are refused at once
};

class BusServer {
 public:
  // Listens at `path` (bus_listener.h) and starts the server thread. `handler` must outlive
  // the server. Statuses as BusListener::listen, STATUS_INSUFFICIENT_RESOURCES.
  static Result<std::unique_ptr<BusServer>> listen(const std::string& path,
                                                   BusServerHandler& handler,
                                                   BusServerOptions options = {});
  // Stops the thread, drops every guest (channel_closed for each open channel, then
  // guest_disconnected) and removes the socket.
  ~BusServer();
  BusServer(const BusServer&) = delete;
  BusServer& operator=(const BusServer&) = delete;

  // Offers a channel to every guest. `offer` gives if_type, if_instance, sub_channel_index,
  // chn_flags, mmio_megabytes and user_def; the server sets child_relid and connection_id. A
  // sub-channel needs its primary offered. STATUS_INVALID_PARAMETER otherwise,
  // STATUS_INSUFFICIENT_RESOURCES when no relid is free.
  Result<Relid> add_offer(const wire::OfferChannel& offer);
  // Withdraws an offer from every guest (rescind; open channels close first). Its relid is
  // reused only after every guest released it. STATUS_INVALID_PARAMETER for an unknown relid.
  Status remove_offer(Relid relid);
  // Answers a channel_opened that returned STATUS_PENDING. STATUS_INVALID_DEVICE_STATE when
  // the channel is no longer opening (closed, rescinded, or the guest left).
  Status complete_open(PartitionId partition, Relid relid, Status result);
  // Drops a guest as if it had broken the protocol (its channels close).
  // STATUS_INVALID_PARAMETER for a partition not connected.
  Status disconnect_guest(PartitionId partition, std::string reason);
  // The pages of an established GPADL of `partition`'s channel `relid` (VmbChannelMapGpadl),
  // every PFN inside that guest's memory. STATUS_INVALID_PARAMETER if there is no such GPADL.
  [[nodiscard]] Result<GpaRanges> gpadl_ranges(PartitionId partition, Relid relid,
                                               GpadlHandle handle) const;
  // gpadl_ranges, and the GPADL counts as mapped by the host until unmap_gpadl: a teardown
  // the guest asks for meanwhile is answered (GPADL_TORNDOWN) only after the unmap.
  // STATUS_INVALID_PARAMETER also when it is mapped already or being torn down.
  [[nodiscard]] Result<GpaRanges> map_gpadl(PartitionId partition, Relid relid, GpadlHandle handle);
  // Ends a map_gpadl; ignored when the guest, the relid or the GPADL is gone.
  void unmap_gpadl(PartitionId partition, Relid relid, GpadlHandle handle);

  [[nodiscard]] size_t guest_count() const;
  // The partitions connected now.
  [[nodiscard]] std::vector<PartitionId> guests() const;
  [[nodiscard]] const std::string& path() const;

  class Impl;

 private:
  explicit BusServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmb::bus
