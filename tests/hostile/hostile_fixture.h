// SPDX-License-Identifier: MIT
// HostileChannelFixture / HostileChannelTest: the frame every named attack runs in. One victim
// channel (server or client, the test parameter) is opened to a HostilePeer on a HostileBus; a
// bystander pair of ordinary channels shares the bus, its worker pools and its guest memory; a
// canary buffer in that guest memory must keep its pattern. After an attack a test asserts, with
// bounded waits: the victim failed with the expected recorded reason (read through the C API's
// VmbKitChannelGetFailureReason), its outstanding transactions ended with
// STATUS_DEVICE_REMOVED, further sends are refused, and the bystanders still carry traffic.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "testing/hostile_bus.h"
#include "testing/hostile_peer.h"
#include "testing/victim_driver.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/kmcl.h"

namespace vmb::testing {

inline constexpr std::chrono::milliseconds kPeerWait{20'000};
inline constexpr Guid kVictimType = *Guid::parse("a77ac4ed-0000-4000-8000-00000000a77a");
inline constexpr Guid kVictimInstance = *Guid::parse("a77ac4ed-0000-4000-8000-0000000000a1");
inline constexpr Guid kBystanderType = *Guid::parse("b157a4de-0000-4000-8000-00000000b157");
inline constexpr Guid kBystanderInstance = *Guid::parse("b157a4de-0000-4000-8000-0000000000b1");

// Bytes 0..n-1 of a recognisable pattern.
std::vector<std::byte> pattern_bytes(size_t n, uint8_t seed = 0);

// A packet image of `bytes` bytes (default len8 * 8) with the given descriptor and zeros after.
class RawPacket {
 public:
  RawPacket(uint16_t type, uint16_t offset8, uint16_t len8, uint16_t flags = 0,
            uint64_t transaction_id = 0, size_t bytes = 0)
      : bytes_(bytes != 0 ? bytes : size_t{len8} * 8) {
    const wire::PacketDescriptor descriptor{type, offset8, len8, flags, transaction_id};
    std::memcpy(bytes_.data(), &descriptor, std::min(bytes_.size(), sizeof descriptor));
  }
  template <typename T>
  RawPacket& put(size_t at, T value) {
    std::memcpy(bytes_.data() + at, &value, sizeof value);
    return *this;
  }
  [[nodiscard]] std::span<const std::byte> bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// Spins (yielding) until `condition` holds, at most kPeerWait. For conditions on shared memory
// that no notification announces; never a substitute for waiting on an event.
bool eventually(const std::function<bool()>& condition);

// True in a ThreadSanitizer build: attacks that race the victim's plain reads of ring bytes
// are data races by design there (the victim copies the bytes once; the race is the attack).
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// A helper thread that runs body(stop) and, however the test leaves the scope (a failed
// ASSERT included), is told to stop and joined: a test never returns with a live thread.
class StoppableThread {
 public:
  explicit StoppableThread(std::function<void(const std::atomic<bool>& stop)> body)
      : thread_([this, body = std::move(body)] { body(stop_); }) {}
  ~StoppableThread() { stop(); }
  StoppableThread(const StoppableThread&) = delete;
  StoppableThread& operator=(const StoppableThread&) = delete;
  void stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The failure reason as the C API reports it: {status, description}.
struct RecordedFailure {
  NTSTATUS status = STATUS_SUCCESS;
  std::string description;
};
RecordedFailure recorded_failure(Channel& channel);

// "VictimServer" / "VictimClient" for test names.
std::string role_name(const ::testing::TestParamInfo<EndpointRole>& info);

class HostileChannelFixture : public ::testing::Test {
 protected:
  void TearDown() override;

  // Builds the bus, the bystanders and the (Disabled) victim; `attack` says how it opens.
  void set_up(EndpointRole role, HostileBus::Attack attack);
  // Enables (and starts) the victim and waits for it to run; sets `peer`.
  void open_victim();
  // Enables the victim when a test expects the open itself to fail; sets `peer`.
  void open_victim_expecting_refusal();
  [[nodiscard]] bool victim_is_server() const { return victim->is_server(); }

  // The victim sends `count` requests that want completions; the peer reads them and leaves
  // them outstanding. Returns their transaction ids.
  std::vector<uint64_t> send_outstanding(size_t count);
  // Waits until the victim failed; then checks status STATUS_DATA_ERROR and that the
  // description contains `reason`.
  void expect_failed_with(const std::string& reason);
  // Every outstanding transaction of send_outstanding() ended with STATUS_DEVICE_REMOVED, the
  // `succeeded` ones with STATUS_SUCCESS, and no other; a new send is refused with
  // STATUS_DEVICE_REMOVED.
  void expect_outstanding_removed();
  // The bystander pair completes a synchronous round trip.
  void expect_bystanders_work();
  // The victim has not failed and still answers the peer: the peer sends a request, the
  // victim (echo) completes it, and the peer reads the completion.
  void expect_victim_still_works();
  // Everything a failed-channel test checks after its attack.
  void expect_contained(const std::string& reason) {
    expect_failed_with(reason);
    expect_outstanding_removed();
    expect_bystanders_work();
  }
  // Messages the library logged during this test that contain `text`.
  size_t logged(const std::string& text);
  // Reads packets from the victim until one is a completion for `id`.
  bool receive_completion(uint64_t id, std::vector<std::byte>* payload = nullptr);

  std::unique_ptr<HostileBus> bus;
  std::unique_ptr<Channel> victim;
  VictimDriver* victim_driver = nullptr;
  std::shared_ptr<HostilePeer> peer;
  std::unique_ptr<Channel> bystander_server;
  std::unique_ptr<Channel> bystander_client;
  size_t outstanding = 0;  // victim transactions the peer left open
  size_t succeeded = 0;    // victim transactions the peer completed (STATUS_SUCCESS)

 private:
  GuestBuffer canary_{};
};

// The usual frame: the test parameter is the victim's role.
class HostileChannelTest : public HostileChannelFixture,
                           public ::testing::WithParamInterface<EndpointRole> {
 protected:
  void SetUp() override { set_up(GetParam(), {}); }
};

}  // namespace vmb::testing
