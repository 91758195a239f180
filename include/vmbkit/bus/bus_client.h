// SPDX-License-Identifier: MIT
// BusClient: the guest side of a bus between processes. It creates the guest's memory (one
// partition: its own memory, its own channels), connects to a BusServer's socket, negotiates
// the version, learns the offers and keeps following them (hot adds, rescinds) on a reader
// thread. Opening a channel allocates both rings in guest memory, describes them to the host
// as a GPADL, passes one eventfd per direction with OPENCHANNEL and waits for the result.
// Every call that waits takes a deadline; a host that does not answer in time is presumed dead
// and the connection is dropped, so nothing waits on it again. When the host vanishes every
// wait ends with STATUS_DEVICE_REMOVED. Not here: channels, packets or signalling (the
// caller's business with the rings and eventfds it gets), the host side (bus_server.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vmbkit/bus/bus_ids.h"
#include "vmbkit/channel/deadline.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory.h"
#include "vmbkit/memory/ring_mapping.h"
#include "vmbkit/memory/unique_fd.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/channel_offer_messages.h"

namespace vmb::bus {

// What a guest holds for one open channel. Give it back to BusClient::close_channel.
struct GuestChannelResources {
  Relid relid{};
  GpadlHandle ring_gpadl{};
  GuestBuffer ring_pages;     // both rings, in guest memory (outgoing ring first)
  RingMapping outgoing_ring;  // guest→host: the guest is the producer
  RingMapping incoming_ring;  // host→guest: the guest is the consumer
  UniqueFd signal_host;       // write 1 to signal the host (fd_protocol.h [0])
  UniqueFd host_signals;      // readable when the host signalled (fd_protocol.h [1])
};

// Events from the bus. Called on the client's reader thread, one at a time, without a client
// lock held (a handler may call into the BusClient, but must not wait on the reader thread).
class BusClientHandler {
 public:
  virtual ~BusClientHandler() = default;
  virtual void offer_received(const wire::OfferChannel& /*offer*/) {}
  // The host withdrew an offer. If the channel is open, close it (close_channel); the relid is
  // released once nothing of it is held.
  virtual void offer_rescinded(Relid /*relid*/) {}
  // The host is gone (or was dropped): every channel is dead.
  virtual void connection_lost() {}
};

struct BusClientOptions {
  uint64_t memory_pages = GuestMemory::kDefaultPageCount;
  // Bound on sending one control message when the host does not read.
  std::chrono::milliseconds send_timeout{10'000};
};

class BusClient {
 public:
  // Creates guest memory, connects to `path` and waits until every initial offer is known.
  // `handler` (optional) must outlive the client. STATUS_CONNECTION_REFUSED (nobody listens,
  // or the host refused us), STATUS_ACCESS_DENIED, STATUS_REVISION_MISMATCH (no common
  // version), STATUS_TIMEOUT, STATUS_DEVICE_REMOVED (the host went away meanwhile),
  // STATUS_INSUFFICIENT_RESOURCES.
  static Result<std::unique_ptr<BusClient>> connect(const std::string& path,
                                                    BusClientHandler* handler,
                                                    const BusClientOptions& options,
                                                    const Deadline& deadline);
  // Drops the connection (the host closes our channels) and stops the reader thread.
  ~BusClient();
  BusClient(const BusClient&) = delete;
  BusClient& operator=(const BusClient&) = delete;

  [[nodiscard]] GuestMemory& memory() { return *memory_; }
  [[nodiscard]] bool connected() const;
  // Offers currently known and not rescinded, in arrival order.
  [[nodiscard]] std::vector<wire::OfferChannel> offers() const;
  // The first offer (known now or arriving before `deadline`) that `match` accepts.
  // STATUS_TIMEOUT, STATUS_DEVICE_REMOVED.
  Result<wire::OfferChannel> wait_for_offer(
      const std::function<bool(const wire::OfferChannel&)>& match, const Deadline& deadline);

  // Opens `relid` with rings of `outgoing_pages` and `incoming_pages` pages each (control page
  // included, >= 2 each). STATUS_UNSUCCESSFUL if the host refused, STATUS_DEVICE_REMOVED if the
  // offer was rescinded or the host is gone, STATUS_TIMEOUT (connection dropped),
  // STATUS_INVALID_PARAMETER, STATUS_INSUFFICIENT_RESOURCES (guest memory full),
  // STATUS_INVALID_DEVICE_STATE if already open.
  Result<GuestChannelResources> open_channel(Relid relid, uint32_t outgoing_pages,
                                             uint32_t incoming_pages,
                                             const wire::UserDefinedData& user_data,
                                             const Deadline& deadline);
  // Closes a channel from open_channel: CLOSECHANNEL, GPADL teardown (waiting for the host to
  // confirm before the ring pages are freed), then RELID_RELEASED if it was rescinded. With the
  // host gone it only frees. STATUS_TIMEOUT (connection dropped; pages freed anyway).
  Status close_channel(GuestChannelResources& channel, const Deadline& deadline);

  // A GPADL over guest memory for channel `relid` (VmbChannelCreateGpadlFrom*), and its
  // teardown. Statuses as open_channel.
  Result<GpadlHandle> create_gpadl(Relid relid, const GpaRanges& ranges, const Deadline& deadline);
  Status teardown_gpadl(Relid relid, GpadlHandle handle, const Deadline& deadline);

  // UNLOAD and wait for UNLOAD_RESPONSE; the connection is over afterwards.
  Status unload(const Deadline& deadline);

  class Impl;

 private:
  BusClient(std::unique_ptr<GuestMemory> memory, std::unique_ptr<Impl> impl);
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmb::bus
