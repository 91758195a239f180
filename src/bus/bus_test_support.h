// SPDX-License-Identifier: MIT
// Helpers for tests of the bus between processes (unit tests in src/bus and the multi-process
// tests in tests/integration): a private temporary socket directory, a BusServerHandler that
// keeps what it is given and lets tests wait for events with a deadline, and ring traffic
// helpers that push numbered packets through a channel's rings with eventfd signals. Test-only,
// header-only.
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vmbkit/bus/bus_server.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"

namespace vmb::bus::testing {

inline constexpr std::chrono::seconds kTestDeadline{20};

// A fresh directory under /tmp with a not-yet-existing private subdirectory for the socket.
class SocketDirectory {
 public:
  SocketDirectory() {
    char pattern[] = "/tmp/vmbkit-bus-XXXXXX";
    if (::mkdtemp(pattern) != nullptr) root_ = pattern;
  }
  ~SocketDirectory() {
    std::error_code ignored;
    if (!root_.empty()) std::filesystem::remove_all(root_, ignored);
  }
  SocketDirectory(const SocketDirectory&) = delete;
  SocketDirectory& operator=(const SocketDirectory&) = delete;
  [[nodiscard]] std::string socket_path() const { return root_ + "/private/bus.sock"; }

 private:
  std::string root_;
};

inline ring::RingView view_of(const RingMapping& mapping) {
  const RingMemory& memory = mapping.memory();
  return ring::RingView{memory.control, memory.data, memory.data_size, memory.data_doubled};
}

inline void signal(int eventfd) {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(eventfd, &one, sizeof one);
}

// Waits until `eventfd` is signalled (and consumes the signals) or the deadline; false then.
inline bool wait_signal(int eventfd, std::chrono::milliseconds timeout) {
  pollfd waiting{eventfd, POLLIN, 0};
  if (::poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0) return false;
  uint64_t count = 0;
  return ::read(eventfd, &count, sizeof count) == sizeof count;
}

// Writes one in-band packet carrying `value`, commits and signals as rule A says.
inline bool send_value(ring::OutgoingRing& ring, int signal_fd, uint64_t value) {
  std::array<std::byte, 8> payload{};
  std::memcpy(payload.data(), &value, sizeof value);
  if (ring.try_write(wire::PacketType::kDataInBand, 0, value, payload) !=
      ring::WriteResult::kWritten) {
    return false;
  }
  if (ring.commit()) signal(signal_fd);
  return true;
}

// Reads one packet, waiting for signals (with rule C's unmask-and-recheck) up to `timeout`.
inline std::optional<uint64_t> receive_value(ring::IncomingRing& ring, int signalled_fd,
                                             std::chrono::milliseconds timeout) {
  std::array<std::byte, 256> buffer{};
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    wire::PacketView packet;
    const ring::ReadResult result = ring.read(buffer, &packet);
    if (result == ring::ReadResult::kCorrupt) return std::nullopt;
    if (result == ring::ReadResult::kPacket) {
      (void)ring.commit_read();
      uint64_t value = 0;
      if (packet.payload.size() < sizeof value) return std::nullopt;
      std::memcpy(&value, packet.payload.data(), sizeof value);
      return value;
    }
    if (ring.unmask_and_check()) continue;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_signal(signalled_fd, left)) return std::nullopt;
  }
}

// A BusServerHandler that accepts every open (or answers with `open_result`), keeps the
// resources and lets tests wait for events.
class RecordingServerHandler : public BusServerHandler {
 public:
  Status open_result;

  Status channel_opened(HostChannelResources resources) override {
    std::lock_guard lock(mutex_);
    const auto key = std::make_pair(resources.partition, resources.relid);
    ++opens_;
    if (open_result.ok()) channels_[key] = std::move(resources);
    changed_.notify_all();
    return open_result;
  }
  void channel_closed(PartitionId partition, Relid relid) override {
    std::lock_guard lock(mutex_);
    channels_.erase(std::make_pair(partition, relid));
    ++closes_;
    changed_.notify_all();
  }
  void guest_connected(PartitionId partition, const PeerCredentials& /*peer*/) override {
    std::lock_guard lock(mutex_);
    connected_.push_back(partition);
    changed_.notify_all();
  }
  void guest_disconnected(PartitionId partition, std::string_view reason) override {
    std::lock_guard lock(mutex_);
    disconnected_.emplace_back(partition, std::string(reason));
    changed_.notify_all();
  }

  // Waits until `done` (evaluated with the handler's lock held) or kTestDeadline.
  bool wait(const std::function<bool(RecordingServerHandler&)>& done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kTestDeadline, [&] { return done(*this); });
  }
  // Takes the resources of an open channel (nullopt if there is none).
  std::optional<HostChannelResources> take_channel(PartitionId partition, Relid relid) {
    std::lock_guard lock(mutex_);
    const auto found = channels_.find(std::make_pair(partition, relid));
    if (found == channels_.end()) return std::nullopt;
    HostChannelResources resources = std::move(found->second);
    channels_.erase(found);
    return resources;
  }

  // Read under wait() only (the lock is held there).
  size_t opens_ = 0;
  size_t closes_ = 0;
  std::vector<PartitionId> connected_;
  std::vector<std::pair<PartitionId, std::string>> disconnected_;
  std::map<std::pair<PartitionId, Relid>, HostChannelResources> channels_;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

inline wire::OfferChannel test_offer(const char* instance, uint16_t sub_channel_index = 0) {
  wire::OfferChannel offer{};
  offer.if_type = *Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e");
  offer.if_instance = *Guid::parse(instance);
  offer.sub_channel_index = sub_channel_index;
  return offer;
}

}  // namespace vmb::bus::testing
