// SPDX-License-Identifier: MIT
// RecordingDriver: a ChannelDriver for the channel layer's tests. It records every callback in
// order ("server:opened", ...), optionally completes incoming packets with an echo of their
// payload, collects completion-routine outcomes and processing-complete counts, and lets a test
// wait (bounded) for a condition on what was recorded. Test-only; header-only so it never enters
// the library.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "vmbkit/channel/channel.h"

namespace vmb::testing {

class RecordingDriver : public ChannelDriver {
 public:
  explicit RecordingDriver(std::string name) : name_(std::move(name)) {}

  struct Completed {
    PacketObject* packet;
    NTSTATUS status;
    std::vector<std::byte> payload;
  };

  // Options a test sets before the channel opens.
  bool echo = true;      // complete each packet with its own payload
  Status opened_status;  // returned from opened()
  std::function<void(Channel&, IncomingPacket&, std::span<std::byte>)> on_packet;
  std::function<void(Channel&)> on_post_started;
  std::function<void(Channel&)> on_closed;  // after the event is recorded

  void process_packet(Channel& channel, IncomingPacket& packet, std::span<std::byte> payload,
                      bool external) override {
    {
      const std::lock_guard lock(mutex_);
      received_.emplace_back(payload.begin(), payload.end());
      external_flags_.push_back(external);
      events_.push_back(name_ + ":packet");
    }
    changed_.notify_all();
    if (on_packet) {
      on_packet(channel, packet, payload);
    } else if (echo) {
      channel.complete(packet, payload);
    }
  }
  void processing_complete(Channel&, uint32_t packets) override {
    {
      const std::lock_guard lock(mutex_);
      batches_.push_back(packets);
    }
    changed_.notify_all();
  }
  void packet_completed(PacketObject& packet, Status status,
                        std::span<std::byte> payload) override {
    {
      const std::lock_guard lock(mutex_);
      completed_.push_back(Completed{&packet, status.code(),
                                     std::vector<std::byte>(payload.begin(), payload.end())});
    }
    changed_.notify_all();
  }
  Status opened(Channel&) override { return record("opened"), opened_status; }
  void closed(Channel& channel) override {
    record("closed");
    if (on_closed) on_closed(channel);
  }
  void suspend(Channel&) override { record("suspend"); }
  void started(Channel&) override { record("started"); }
  void post_started(Channel& channel) override {
    record("post_started");
    if (on_post_started) on_post_started(channel);
  }
  void pnp_failure(Channel&, Status status) override {
    record("pnp_failure:" + std::string(to_string(status)));
  }

  // Waits up to 30 s for `predicate` (evaluated under the lock) to hold.
  bool wait(const std::function<bool()>& predicate) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), predicate);
  }
  bool wait_for_event(const std::string& event, size_t times = 1) {
    return wait([&] { return count_locked(name_ + ":" + event) >= times; });
  }
  bool wait_for_packets(size_t count) {
    return wait([&] { return received_.size() >= count; });
  }
  bool wait_for_completions(size_t count) {
    return wait([&] { return completed_.size() >= count; });
  }
  std::vector<std::string> events() {
    const std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<std::vector<std::byte>> received() {
    const std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<Completed> completed() {
    const std::lock_guard lock(mutex_);
    return completed_;
  }
  // The packet counts processing_complete reported, in order.
  std::vector<uint32_t> batches() {
    const std::lock_guard lock(mutex_);
    return batches_;
  }
  bool wait_for_batched(uint64_t packets) {
    return wait([&] {
      uint64_t sum = 0;
      for (const uint32_t each : batches_) sum += each;
      return sum >= packets;
    });
  }
  std::vector<bool> external_flags() {
    const std::lock_guard lock(mutex_);
    return external_flags_;
  }

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

  std::string name_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
  std::vector<std::vector<std::byte>> received_;
  std::vector<bool> external_flags_;
  std::vector<Completed> completed_;
  std::vector<uint32_t> batches_;
};

}  // namespace vmb::testing
