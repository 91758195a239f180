// SPDX-License-Identifier: MIT
// BusClient::Impl, part one: the reader thread that feeds the host's datagrams to the
// GuestControlPlane and reports the host's loss, the control plane's effects (answers recorded
// for waiting calls, handler calls queued), the bounded wait every request uses, and the
// release of rescinded relids. The requests themselves are in bus_client.cc.
#include <array>
#include <utility>

#include "bus/bus_client_impl.h"
#include "vmbkit/channel/log_sink.h"

namespace vmb::bus {

BusClient::Impl::Impl(BusSocket connection, BusClientHandler* events,
                      const BusClientOptions& client_options)
    : socket(std::move(connection)), handler(events), options(client_options) {}

BusClient::Impl::~Impl() {
  {
    std::lock_guard lock(mutex);
    closing = true;
    drop_locked();
  }
  if (reader_.joinable()) reader_.join();
}

Status BusClient::Impl::start(int memory_fd, const Deadline& deadline) {
  reader_ = std::thread([this] { read_loop(); });
  std::unique_lock lock(mutex);
  if (Status status = control.start(memory_fd); !status.ok()) return status;
  const Status waited = wait(
      lock, deadline, [this] { return connect_result.has_value(); }, true);
  if (!waited.ok()) return waited;
  return *connect_result;
}

void BusClient::Impl::read_loop() {
  std::array<uint8_t, wire::kMaximumChannelMessageSize> buffer{};
  bool done = false;
  while (!done) {
    socket.wait_readable(Deadline::infinite());  // woken by data, by the host's loss or drop
    std::vector<std::function<void()>> calls;
    {
      std::lock_guard lock(mutex);
      for (int turn = 0; turn < 64 && !done; ++turn) {
        Received received = socket.receive(buffer);
        if (received.outcome == ReceiveOutcome::kWouldBlock) break;
        if (received.outcome == ReceiveOutcome::kMessage) {
          control.receive(std::span(buffer.data(), received.size), std::move(received.fds));
          release_unheld_locked();
          continue;
        }
        if (received.outcome == ReceiveOutcome::kMalformed) {
          log_message(LogLevel::kWarning, "bus: dropping the host: malformed datagram: %s",
                      received.why.c_str());
        }
        // The host is gone (or we dropped it): every pending request ends.
        control.connection_lost();
        lost = true;
        done = true;
        if (handler != nullptr && !closing) {
          calls_.push_back([this] { handler->connection_lost(); });
        }
      }
      calls.swap(calls_);
      changed.notify_all();
    }
    for (auto& call : calls) call();
  }
}

Status BusClient::Impl::wait(std::unique_lock<std::mutex>& lock, const Deadline& deadline,
                             const std::function<bool()>& done, bool drop_on_timeout) {
  for (;;) {
    if (done()) return Status{};
    if (lost) return Status{STATUS_DEVICE_REMOVED};
    if (deadline.is_infinite()) {
      changed.wait(lock);
      continue;
    }
    if (deadline.expired() ||
        (!deadline.is_immediate() &&
         changed.wait_until(lock, deadline.time_point()) == std::cv_status::timeout)) {
      if (done()) return Status{};
      if (lost) return Status{STATUS_DEVICE_REMOVED};
      if (drop_on_timeout) {
        log_message(LogLevel::kWarning, "bus: the host did not answer in time; dropping it");
        drop_locked();
      }
      return Status{STATUS_TIMEOUT};
    }
  }
}

void BusClient::Impl::drop_locked() { socket.shutdown(); }

void BusClient::Impl::release_unheld_locked() {
  for (auto it = rescinded.begin(); it != rescinded.end();) {
    const auto count = held.find(*it);
    const bool unheld = (count == held.end() || count->second == 0) && !open_channels.contains(*it);
    if (unheld && control.release_relid(*it).ok()) {
      held.erase(*it);
      it = rescinded.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- GuestControlPlaneEffects (mutex held) ----

void BusClient::Impl::send_to_host(std::span<const uint8_t> message, std::span<const int> fds) {
  const Status status = socket.send(message, fds, Deadline::after(options.send_timeout));
  if (!status.ok()) {
    // The host does not read, or is gone: the reader reports the loss once it sees the close.
    if (status == Status{STATUS_TIMEOUT}) {
      log_message(LogLevel::kWarning, "bus: the host does not read its control socket");
    }
    drop_locked();
  }
}

void BusClient::Impl::connected(wire::ProtocolVersion /*version*/) {}

void BusClient::Impl::connect_failed(Status status) {
  connect_result = status;
  drop_locked();
}

void BusClient::Impl::offer_received(const wire::OfferChannel& offer) {
  offers.push_back(offer);
  if (handler != nullptr && !closing) {
    calls_.push_back([this, offer] { handler->offer_received(offer); });
  }
}

void BusClient::Impl::all_offers_delivered() { connect_result = Status{}; }

void BusClient::Impl::offer_rescinded(Relid relid) {
  std::erase_if(offers, [relid](const wire::OfferChannel& offer) {
    return offer.child_relid == to_u32(relid);
  });
  rescinded.insert(relid);
  if (handler != nullptr && !closing) {
    calls_.push_back([this, relid] { handler->offer_rescinded(relid); });
  }
}

void BusClient::Impl::gpadl_created(Relid /*relid*/, GpadlHandle handle, Status status) {
  gpadl_results[handle] = status;
}

void BusClient::Impl::gpadl_torn_down(Relid /*relid*/, GpadlHandle handle) {
  torn_down.insert(handle);
}

void BusClient::Impl::open_completed(Relid relid, Status status) { open_results[relid] = status; }

void BusClient::Impl::unloaded() { unload_done = true; }

void BusClient::Impl::disconnect(std::string_view reason) {
  log_message(LogLevel::kWarning, "bus: dropping the host: %.*s", static_cast<int>(reason.size()),
              reason.data());
  drop_locked();
}

}  // namespace vmb::bus
