// SPDX-License-Identifier: MIT
// BusServer's thread: one epoll loop over the listening socket, a wake-up eventfd and every
// guest's socket. It accepts guests (after the listener's credential check), feeds each
// guest's datagrams to its HostControlPlane, drops guests that broke the protocol or went
// away, and runs the queued handler calls without the lock. Also the start and the shutdown.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "bus/bus_server_impl.h"
#include "vmbkit/channel/log_sink.h"

namespace vmb::bus {
namespace {

constexpr uint64_t kListenerKey = ~uint64_t{0};
constexpr uint64_t kWakeKey = ~uint64_t{0} - 1;
// Datagrams taken from one guest per turn, so a chatty guest cannot starve the others.
constexpr int kDatagramsPerTurn = 32;

bool watch(int epoll, int fd, uint64_t key) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = key;
  return ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0;
}

}  // namespace

BusServer::Impl::Impl(BusServerHandler& handler, BusServerOptions options, BusListener listener)
    : handler_(handler), options_(std::move(options)), listener_(std::move(listener)) {}

Status BusServer::Impl::start() {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_ || !wake_ || !watch(epoll_.get(), listener_.fd(), kListenerKey) ||
      !watch(epoll_.get(), wake_.get(), kWakeKey)) {
    return Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  thread_ = std::thread([this] { run(); });
  return Status{};
}

BusServer::Impl::~Impl() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_relaxed);  // the eventfd write/read orders it
    wake();
    thread_.join();
  }
  {
    std::lock_guard lock(mutex_);
    while (!partitions_.empty()) {
      finish_if_dropped_locked(*partitions_.begin()->second, true, {});
    }
  }
  // The server thread is gone: the handler's last calls run here.
  run_queued_calls();
  std::lock_guard lock(mutex_);
  dropped_.clear();
}

void BusServer::Impl::queue(std::function<void()> call) { calls_.push_back(std::move(call)); }

void BusServer::Impl::wake() {
  const uint64_t one = 1;
  // A full counter (never, at 2^64 - 2) would only mean a wake-up is pending anyway.
  [[maybe_unused]] const ssize_t written = ::write(wake_.get(), &one, sizeof one);
}

void BusServer::Impl::run_queued_calls() {
  for (;;) {
    std::vector<std::function<void()>> calls;
    std::vector<std::unique_ptr<ServerPartition>> dropped;
    {
      std::lock_guard lock(mutex_);
      calls.swap(calls_);
      dropped.swap(dropped_);
    }
    // Partitions die here, without the lock: their memory mapping goes with them (the
    // handler holds its own references for channels it still has).
    dropped.clear();
    if (calls.empty()) return;
    for (auto& call : calls) call();
  }
}

void BusServer::Impl::run() {
  std::array<epoll_event, 32> events{};
  while (!stopping_.load(std::memory_order_relaxed)) {
    const int ready = ::epoll_wait(epoll_.get(), events.data(), events.size(), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      log_message(LogLevel::kError, "bus: epoll_wait failed (errno %d); server stops", errno);
      return;
    }
    for (int i = 0; i < ready; ++i) {
      const uint64_t key = events[static_cast<size_t>(i)].data.u64;
      if (key == kWakeKey) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t read = ::read(wake_.get(), &count, sizeof count);
      } else if (key == kListenerKey) {
        accept_guests();
      } else {
        serve_guest(PartitionId{key});
      }
      run_queued_calls();
    }
  }
}

void BusServer::Impl::accept_guests() {
  for (int accepted_now = 0; accepted_now < 16; ++accepted_now) {
    Accepted accepted = listener_.accept();
    if (accepted.outcome == AcceptOutcome::kWouldBlock) return;
    if (accepted.outcome == AcceptOutcome::kFailed) {
      log_message(LogLevel::kError, "bus: the listening socket failed");
      return;
    }
    if (accepted.outcome == AcceptOutcome::kRefused) {
      log_message(LogLevel::kWarning, "bus: refused a connection from uid %u (pid %d)",
                  static_cast<unsigned>(accepted.credentials.uid),
                  static_cast<int>(accepted.credentials.pid));
      continue;
    }
    std::lock_guard lock(mutex_);
    if (partitions_.size() >= options_.maximum_guests) {
      log_message(LogLevel::kWarning, "bus: refused a guest: %zu guests connected already",
                  partitions_.size());
      continue;  // the socket closes here
    }
    const PartitionId id{next_partition_++};
    auto partition = std::make_unique<ServerPartition>(*this, id, std::move(accepted.socket),
                                                       accepted.credentials, options_.limits);
    if (!watch(epoll_.get(), partition->socket.fd(), static_cast<uint64_t>(id))) {
      log_message(LogLevel::kError, "bus: cannot watch a guest's socket");
      continue;
    }
    // Offers in the order they were made, so primaries precede their sub-channels.
    std::vector<const Offer*> in_order;
    for (const auto& [relid, offer] : offers_) {
      if (!offer.removed) in_order.push_back(&offer);
    }
    std::sort(in_order.begin(), in_order.end(),
              [](const Offer* left, const Offer* right) { return left->order < right->order; });
    for (const Offer* offer : in_order) (void)partition->control.add_offer(offer->message);
    const PeerCredentials peer = partition->peer;
    partitions_.emplace(id, std::move(partition));
    queue([this, id, peer] { handler_.guest_connected(id, peer); });
  }
}

void BusServer::Impl::serve_guest(PartitionId id) {
  std::array<uint8_t, wire::kMaximumChannelMessageSize> buffer{};
  std::lock_guard lock(mutex_);
  for (int turn = 0; turn < kDatagramsPerTurn; ++turn) {
    const auto found = partitions_.find(id);
    if (found == partitions_.end()) return;  // dropped meanwhile
    ServerPartition& partition = *found->second;
    Received received = partition.socket.receive(buffer);
    switch (received.outcome) {
      case ReceiveOutcome::kWouldBlock:
        return;
      case ReceiveOutcome::kClosed:
        finish_if_dropped_locked(partition, true, {});
        return;
      case ReceiveOutcome::kMalformed:
        finish_if_dropped_locked(partition, true, "malformed datagram: " + received.why);
        return;
      case ReceiveOutcome::kMessage:
        partition.control.receive(std::span(buffer.data(), received.size), std::move(received.fds));
        finish_if_dropped_locked(partition, false, {});
        sweep_offers_locked();
        break;
    }
  }
}

void BusServer::Impl::finish_dropped_locked() {
  std::vector<ServerPartition*> to_drop;
  for (auto& [id, partition] : partitions_) {
    if (partition->drop_requested) to_drop.push_back(partition.get());
  }
  for (ServerPartition* partition : to_drop) finish_if_dropped_locked(*partition, false, {});
}

void BusServer::Impl::finish_if_dropped_locked(ServerPartition& partition, bool lost,
                                               std::string reason) {
  if (!lost && !partition.drop_requested) return;
  // Closes every channel and releases every relid and the memory (effects queue the handler's
  // channel_closed calls).
  partition.control.connection_lost();
  if (reason.empty()) reason = partition.drop_reason;
  if (reason.empty()) reason = partition.control.disconnect_reason();
  if (!reason.empty()) {
    log_message(LogLevel::kWarning, "bus: guest %llu (pid %d) dropped: %s",
                static_cast<unsigned long long>(partition.id), static_cast<int>(partition.peer.pid),
                reason.c_str());
  }
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, partition.socket.fd(), nullptr);
  partition.socket.shutdown();
  const PartitionId id = partition.id;
  queue([this, id, reason] { handler_.guest_disconnected(id, reason); });
  const auto found = partitions_.find(id);
  dropped_.push_back(std::move(found->second));
  partitions_.erase(found);
  sweep_offers_locked();
}

}  // namespace vmb::bus
