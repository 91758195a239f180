// SPDX-License-Identifier: MIT
// VictimDriver: the ChannelDriver of a channel under attack or under fault injection. It
// records state callbacks, incoming payloads and the outcome of every outgoing transaction,
// completes incoming packets in one of three ways (echo the payload, complete empty, or hold
// them for the test), and lets a test wait, bounded, for what it expects. Header-only and
// test-only (hostile and fault tests); not part of the library.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "vmbkit/channel/channel.h"

namespace vmb::testing {

class VictimDriver final : public ChannelDriver {
 public:
  enum class Mode { kEcho, kCompleteEmpty, kHold };
  // Every wait in attack and fault tests is bounded by this.
  static constexpr std::chrono::seconds kWaitLimit{20};

  explicit VictimDriver(std::string name, Mode mode = Mode::kEcho)
      : name_(std::move(name)), mode_(mode) {}

  // Runs (on the dispatch context) for each outgoing transaction that ended, after recording.
  std::function<void(PacketObject&, Status)> on_completed;

  void process_packet(Channel& channel, IncomingPacket& packet, std::span<std::byte> payload,
                      bool /*external_data*/) override {
    Mode mode;
    {
      const std::lock_guard lock(mutex_);
      received_.emplace_back(payload.begin(), payload.end());
      mode = mode_;
      if (mode == Mode::kHold) held_.push_back(&packet);
    }
    changed_.notify_all();
    if (mode == Mode::kEcho) channel.complete(packet, payload);
    if (mode == Mode::kCompleteEmpty) channel.complete(packet, {});
  }
  void packet_completed(PacketObject& packet, Status status,
                        std::span<std::byte> payload) override {
    {
      const std::lock_guard lock(mutex_);
      ++statuses_[status.code()];
      completions_.emplace_back(status.code(),
                                std::vector<std::byte>(payload.begin(), payload.end()));
    }
    changed_.notify_all();
    if (on_completed) on_completed(packet, status);
  }
  Status opened(Channel&) override { return record("opened"), Status{}; }
  void closed(Channel&) override { record("closed"); }
  void suspend(Channel&) override { record("suspend"); }
  void started(Channel&) override { record("started"); }
  void post_started(Channel&) override { record("post_started"); }
  void pnp_failure(Channel&, Status status) override {
    record("pnp_failure:" + std::string(to_string(status)));
  }

  void set_mode(Mode mode) {
    const std::lock_guard lock(mutex_);
    mode_ = mode;
  }
  // Takes the packets held so far (Mode::kHold); the caller completes them.
  std::vector<IncomingPacket*> take_held() {
    const std::lock_guard lock(mutex_);
    return std::exchange(held_, {});
  }

  bool wait(const std::function<bool()>& predicate) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitLimit, predicate);
  }
  bool wait_for_event(const std::string& event, size_t times = 1) {
    return wait([&] { return count_locked(name_ + ":" + event) >= times; });
  }
  // Waits for an event that starts with `prefix` ("pnp_failure" matches any status).
  bool wait_for_event_prefix(const std::string& prefix) {
    return wait([&] {
      for (const std::string& each : events_) {
        if (each.rfind(name_ + ":" + prefix, 0) == 0) return true;
      }
      return false;
    });
  }
  bool wait_for_received(size_t count) {
    return wait([&] { return received_.size() >= count; });
  }
  bool wait_for_completions(size_t count) {
    return wait([&] { return completions_.size() >= count; });
  }
  bool wait_for_status(NTSTATUS status, size_t count) {
    return wait([&] {
      if (count == 0) return true;
      const auto found = statuses_.find(status);
      return found != statuses_.end() && found->second >= count;
    });
  }
  // Transactions that ended with `status` so far.
  size_t count(NTSTATUS status) {
    const std::lock_guard lock(mutex_);
    const auto found = statuses_.find(status);
    return found == statuses_.end() ? 0 : found->second;
  }
  size_t completions() {
    const std::lock_guard lock(mutex_);
    return completions_.size();
  }
  std::vector<std::pair<NTSTATUS, std::vector<std::byte>>> completion_log() {
    const std::lock_guard lock(mutex_);
    return completions_;
  }
  size_t received_count() {
    const std::lock_guard lock(mutex_);
    return received_.size();
  }
  std::vector<std::vector<std::byte>> received() {
    const std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> events() {
    const std::lock_guard lock(mutex_);
    return events_;
  }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  void record(const std::string& what) {
    {
      const std::lock_guard lock(mutex_);
      events_.push_back(name_ + ":" + what);
    }
    changed_.notify_all();
  }
  size_t count_locked(const std::string& event) const {
    size_t count = 0;
    for (const std::string& each : events_) count += each == event ? 1 : 0;
    return count;
  }

  const std::string name_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Mode mode_;
  std::vector<std::string> events_;
  std::vector<std::vector<std::byte>> received_;
  std::vector<IncomingPacket*> held_;
  std::map<NTSTATUS, size_t> statuses_;
  std::vector<std::pair<NTSTATUS, std::vector<std::byte>>> completions_;
};

}  // namespace vmb::testing
