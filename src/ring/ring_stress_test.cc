// SPDX-License-Identifier: MIT
// Two-thread stress test: a producer and a consumer thread move millions of packets of random
// sizes through a small ring, each carrying its sequence number and a checksum. Both sides
// wait only for the other's "signal" (an event counter standing in for an eventfd), raised
// exactly when commit() / commit_read() say so, so a lost wakeup in rules A, B or C shows up
// as a bounded wait that times out. Run under TSan in CI with a smaller count.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "testing/ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/wire/packet_encoder.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define VMBKIT_STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define VMBKIT_STRESS_SANITIZED 1
#endif
#endif

namespace vmb::ring {
namespace {

#ifdef VMBKIT_STRESS_SANITIZED
constexpr uint64_t kPackets = 200'000;  // a few seconds under TSan / ASan
#else
constexpr uint64_t kPackets = 2'000'000;
#endif
constexpr auto kWaitLimit = std::chrono::seconds(60);
constexpr size_t kHeaderBytes = 16;  // u64 sequence, u32 body size, u32 checksum

// FNV-1a over the sequence number and body size: a packet delivered with a torn or stale
// header fails it.
uint32_t checksum(uint64_t sequence, uint32_t size) {
  uint32_t hash = 2166136261u;
  for (int shift = 0; shift < 64; shift += 8) {
    hash = (hash ^ static_cast<uint32_t>((sequence >> shift) & 0xFF)) * 16777619u;
  }
  for (int shift = 0; shift < 32; shift += 8) {
    hash = (hash ^ ((size >> shift) & 0xFF)) * 16777619u;
  }
  return hash;
}

// Every body byte of packet `sequence` holds this value (memset/memcmp keep Debug builds fast).
std::byte body_byte(uint64_t sequence) { return static_cast<std::byte>((sequence * 131) & 0xFF); }

// An event counter: signal() increments, a waiter waits for it to move past what it saw.
class Event {
 public:
  void signal() { count_.fetch_add(1, std::memory_order_release); }
  uint64_t snapshot() const { return count_.load(std::memory_order_acquire); }
  // Spins (yielding) until the count differs from `seen`; false after kWaitLimit.
  bool wait_past(uint64_t seen) const {
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    while (count_.load(std::memory_order_acquire) == seen) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

 private:
  std::atomic<uint64_t> count_{0};
};

struct Shared {
  Event to_consumer;
  Event to_producer;
  std::atomic<bool> failed{false};
};

void produce(const RingView& view, Shared* shared, uint32_t seed) {
  OutgoingRing ring(view);
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> body_size(0, 700);
  std::uniform_int_distribution<int> batch_size(1, 8);
  std::vector<std::byte> body(1024);
  std::byte header[kHeaderBytes];
  uint64_t sequence = 0;
  while (sequence < kPackets && !shared->failed.load(std::memory_order_relaxed)) {
    const int batch = batch_size(random);
    for (int b = 0; b < batch && sequence < kPackets; ++b, ++sequence) {
      const size_t size = body_size(random);
      std::memset(body.data(), static_cast<int>(body_byte(sequence)), size);
      const uint32_t size32 = static_cast<uint32_t>(size);
      const uint32_t sum = checksum(sequence, size32);
      std::memcpy(header, &sequence, 8);
      std::memcpy(header + 8, &size32, 4);
      std::memcpy(header + 12, &sum, 4);
      const std::span<const std::byte> pieces[] = {header, std::span(body).first(size)};
      const OutgoingPacket packet{
          wire::PacketType::kDataInBand, static_cast<uint16_t>(sequence & 1), sequence, {}, pieces};
      WriteResult result = ring.try_write(packet);
      if (result == WriteResult::kFull) {
        if (ring.commit()) shared->to_consumer.signal();
        const uint32_t need = wire::layout_packet(0, kHeaderBytes + size).ring_bytes();
        while (true) {
          const uint64_t seen = shared->to_producer.snapshot();
          const SpaceRequest request = ring.request_space(need);
          if (request == SpaceRequest::kAvailable) break;
          ASSERT_EQ(request, SpaceRequest::kWaitForSignal);
          if (!shared->to_producer.wait_past(seen)) {
            shared->failed = true;
            FAIL() << "producer never signalled (packet " << sequence << ")";
          }
        }
        result = ring.try_write(packet);
        ring.clear_space_request();
      }
      ASSERT_EQ(result, WriteResult::kWritten) << wire::to_string(ring.corrupt_reason());
    }
    if (ring.commit()) shared->to_consumer.signal();
  }
}

void consume(const RingView& view, Shared* shared, uint32_t seed) {
  IncomingRing ring(view);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> commit_every(1, 16);
  std::vector<std::byte> buffer(4096);
  std::vector<std::byte> expected_body(1024);
  wire::PacketView packet;
  uint64_t expected = 0;
  while (expected < kPackets && !shared->failed.load(std::memory_order_relaxed)) {
    const uint64_t seen = shared->to_consumer.snapshot();
    ring.mask_interrupts();  // rule C: no signals needed while we drain
    int until_commit = commit_every(random);
    ReadResult result;
    while ((result = ring.read(buffer, &packet)) == ReadResult::kPacket) {
      uint64_t sequence;
      uint32_t size;
      uint32_t sum;
      ASSERT_GE(packet.payload.size(), kHeaderBytes);
      std::memcpy(&sequence, packet.payload.data(), 8);
      std::memcpy(&size, packet.payload.data() + 8, 4);
      std::memcpy(&sum, packet.payload.data() + 12, 4);
      ASSERT_EQ(sequence, expected);
      ASSERT_EQ(packet.transaction_id, expected);
      ASSERT_EQ(packet.flags, expected & 1);
      ASSERT_EQ(packet.payload.size(), wire::align8(kHeaderBytes + size));
      ASSERT_EQ(checksum(sequence, size), sum) << "packet " << sequence;
      std::memset(expected_body.data(), static_cast<int>(body_byte(sequence)), size);
      ASSERT_EQ(std::memcmp(packet.payload.data() + kHeaderBytes, expected_body.data(), size), 0)
          << "packet " << sequence;
      ++expected;
      if (--until_commit == 0) {
        if (ring.commit_read()) shared->to_producer.signal();
        until_commit = commit_every(random);
      }
    }
    ASSERT_EQ(result, ReadResult::kEmpty) << wire::to_string(ring.corrupt_reason());
    if (ring.commit_read()) shared->to_producer.signal();
    if (expected == kPackets) break;
    if (!ring.unmask_and_check() && !shared->to_consumer.wait_past(seen)) {
      shared->failed = true;
      FAIL() << "consumer never signalled (after packet " << expected << ")";
    }
  }
}

class RingStress : public ::testing::TestWithParam<bool> {};

TEST_P(RingStress, TwoThreadsMoveMillionsOfChecksummedPackets) {
  testing::RingMemory memory(4096, GetParam(), wire::kFeaturePendingSendSize);
  Shared shared;
  std::thread consumer([&] { consume(memory.view(), &shared, 2); });
  produce(memory.view(), &shared, 1);
  if (::testing::Test::HasFatalFailure()) shared.failed = true;
  consumer.join();
  EXPECT_FALSE(shared.failed.load());
}

INSTANTIATE_TEST_SUITE_P(DataArea, RingStress, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "DoubleMapped" : "SplitCopy";
                         });

}  // namespace
}  // namespace vmb::ring
