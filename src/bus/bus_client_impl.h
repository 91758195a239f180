// SPDX-License-Identifier: MIT
// BusClient's private part: the Impl that owns the socket, the reader thread and the
// GuestControlPlane, implements its effects by recording answers for the waiting calls, and
// keeps the bookkeeping that decides when a rescinded relid can be released. One mutex guards
// everything; the control plane and its effects run with it held; handler calls are queued and
// run on the reader thread without it.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "vmbkit/bus/bus_client.h"
#include "vmbkit/bus/bus_socket.h"
#include "vmbkit/bus/guest_control_plane.h"

namespace vmb::bus {

class BusClient::Impl final : public GuestControlPlaneEffects {
 public:
  Impl(BusSocket socket, BusClientHandler* handler, const BusClientOptions& options);
  ~Impl() override;

  // Starts the reader and negotiates; waits for every initial offer.
  Status start(int memory_fd, const Deadline& deadline);

  // GuestControlPlaneEffects (mutex_ held).
  void send_to_host(std::span<const uint8_t> message, std::span<const int> fds) override;
  void connected(wire::ProtocolVersion version) override;
  void connect_failed(Status status) override;
  void offer_received(const wire::OfferChannel& offer) override;
  void all_offers_delivered() override;
  void offer_rescinded(Relid relid) override;
  void gpadl_created(Relid relid, GpadlHandle handle, Status status) override;
  void gpadl_torn_down(Relid relid, GpadlHandle handle) override;
  void open_completed(Relid relid, Status status) override;
  void unloaded() override;
  void disconnect(std::string_view reason) override;

  // Waits (lock held, released while waiting) until `done()` or the connection is lost
  // (STATUS_DEVICE_REMOVED) or `deadline` (STATUS_TIMEOUT; with `drop_on_timeout` the
  // connection is dropped first, since the host failed to answer).
  Status wait(std::unique_lock<std::mutex>& lock, const Deadline& deadline,
              const std::function<bool()>& done, bool drop_on_timeout);
  // Sends RELID_RELEASED for rescinded relids of which nothing is held any more.
  void release_unheld_locked();
  // Shuts the socket down; the reader thread then reports the loss.
  void drop_locked();

  std::mutex mutex;
  std::condition_variable changed;
  BusSocket socket;
  BusClientHandler* const handler;
  const BusClientOptions options;
  GuestControlPlane control{*this};
  bool lost = false;
  bool closing = false;  // the client is being destroyed: no more handler calls
  std::optional<Status> connect_result;
  bool unload_done = false;
  std::vector<wire::OfferChannel> offers;  // known, not rescinded, in arrival order
  std::map<GpadlHandle, std::optional<Status>> gpadl_results;
  std::set<GpadlHandle> torn_down;
  std::map<Relid, std::optional<Status>> open_results;
  std::set<Relid> rescinded;      // waiting for release_unheld_locked
  std::map<Relid, int> held;      // GPADLs (ring GPADLs included) the caller still holds
  std::set<Relid> open_channels;  // opened through open_channel and not closed

 private:
  void read_loop();
  std::vector<std::function<void()>> calls_;  // handler calls, run by the reader
  std::thread reader_;
};

}  // namespace vmb::bus
