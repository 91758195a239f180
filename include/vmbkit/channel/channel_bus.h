// SPDX-License-Identifier: MIT
// The seam between a channel and the bus that carries its control plane (offers, opening,
// closing): ChannelBus is what a channel asks of its bus, ChannelConnection is what a bus hands
// a channel when it opens: the two rings, the guest memory they and any external data live
// in, and the way to signal the peer. The in-process LoopbackBus (loopback_bus.h) implements
// both; a bus between processes (the bus layer) implements them over the VMBus channel
// messages. Not here: any ring access or channel state.
#pragma once

#include <cstdint>
#include <memory>

#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory_mapping.h"
#include "vmbkit/nt_types.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/guid.h"

namespace vmb {

class Channel;
class WorkerPool;

// One endpoint's view of an open channel. Owned by the channel from open to close; the bus
// keeps the memory behind the views mapped until every connection of the pair is destroyed.
class ChannelConnection {
 public:
  virtual ~ChannelConnection() = default;
  // The ring this endpoint writes and the ring it reads (control page initialised).
  [[nodiscard]] virtual ring::RingView outgoing_ring() const = 0;
  [[nodiscard]] virtual ring::RingView incoming_ring() const = 0;
  // The client's guest memory as mapped in this process: a client describes external data in
  // it, a server maps received external data and GPADLs from it.
  [[nodiscard]] virtual const std::shared_ptr<const GuestMemoryMapping>& guest_memory() const = 0;
  // The instance GUID of the offer this connection opened.
  [[nodiscard]] virtual Guid offer_instance() const = 0;
  // Interrupts the peer (wire-format.md §3.3: only when rule A or B says so). Any thread,
  // never blocks; after the peer closed it does nothing.
  virtual void signal_peer() = 0;
};

// What a channel needs from its bus. Every method may be called from any thread that may
// block; none calls back into the channel synchronously except where stated.
class ChannelBus {
 public:
  virtual ~ChannelBus() = default;

  // Where channels run their dispatch work (must not block) and their state callbacks and
  // PASSIVE deliveries (may block).
  virtual WorkerPool& dispatch_pool() = 0;
  virtual WorkerPool& passive_pool() = 0;

  // Server Enable: publish the channel's offer (its config's interface type and instance).
  // STATUS_OBJECT_NAME_COLLISION if the bus has an offer with both GUIDs already. A waiting
  // client that targets it is then opened: the server receives Channel::deliver_open_request.
  virtual Status offer(Channel& server) = 0;
  // Server Disable: withdraw the offer (after the channel closed any open connection).
  virtual void rescind(Channel& server) = 0;

  // Client Enable: open the targeted offer now or as soon as it appears (the client then
  // receives Channel::deliver_open_result).
  virtual Status connect(Channel& client) = 0;
  // Client Disable: stop waiting for an offer (after the channel closed any open connection).
  virtual void disconnect(Channel& client) = 0;

  // The guest memory this process's client endpoints describe external data in (null if the
  // bus has none).
  [[nodiscard]] virtual std::shared_ptr<const GuestMemoryMapping> guest_memory() = 0;

  // GPADLs of an open connection (kmcl-api.md §4.7). Client: describe `ranges` of its guest
  // memory to the server and return the handle once the server side has it; STATUS_
  // INVALID_DEVICE_STATE when the client has no open connection.
  virtual Result<uint32_t> create_gpadl(Channel& client, GpaRanges ranges, bool read_only) = 0;
  // Client: tear a GPADL down; blocks while the server has it mapped. Unknown handles: ignored.
  virtual void delete_gpadl(Channel& client, uint32_t handle) = 0;
  // Server: an MDL chain over the GPADL's pages in its mapping of guest memory, owned by the bus
  // until unmap_gpadl. STATUS_INVALID_PARAMETER unknown handle or already mapped,
  // STATUS_ACCESS_DENIED write access to a read-only GPADL, STATUS_INVALID_DEVICE_STATE no
  // open connection.
  virtual Result<PMDL> map_gpadl(Channel& server, uint32_t handle, bool read_only) = 0;
  // Server: ends a mapping; unknown or unmapped handles are ignored.
  virtual void unmap_gpadl(Channel& server, uint32_t handle) = 0;

  // Either endpoint: its side of the open connection ends (Disable, a failed open, a channel
  // failure). The peer receives Channel::deliver_peer_closed. Idempotent. `connection` is the
  // one the channel is closing, or null for whatever it has (an open in progress included); a
  // bus whose peer already ended that connection leaves alone a newer one the peer has opened
  // meanwhile (the channel only learns of the old one's end later, from its event queue).
  virtual void close_connection(Channel& channel, const ChannelConnection* connection) = 0;
};

}  // namespace vmb
