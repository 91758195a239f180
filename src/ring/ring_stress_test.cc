// SPDX-License-Identifier: MIT
// Two-thread stress test: a producer and a consumer thread move millions of packets of random
// sizes through a small ring, each carrying its sequence number and a checksum. Both sides
// wait only for the other's "signal" (an event counter standing in for an eventfd), raised
// exactly when commit() / commit_read() say so, so a lost wakeup in rules A, B or C shows up
// as a bounded wait that times out. Run under TSan in CI with a smaller count.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <tuple>
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
constexpr uint64_t kPackets = 150'000;  // a few seconds under TSan / ASan
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
  // Packet kinds by sequence % 3: 0 in-band gathered from two pieces (general write path),
  // 1 in-band from one contiguous piece (inline fast path), 2 GPA direct with one range whose
  // PFN is the sequence number (extended-header paths on both sides).
  std::vector<std::byte> whole(kHeaderBytes + 1024);
  const std::span<std::byte> header = std::span(whole).first(kHeaderBytes);
  const std::span<std::byte> body = std::span(whole).subspan(kHeaderBytes);
  std::array<std::byte, 24> gpa_header;
  uint64_t sequence = 0;
  while (sequence < kPackets && !shared->failed.load(std::memory_order_relaxed)) {
    const int batch = batch_size(random);
    for (int b = 0; b < batch && sequence < kPackets; ++b, ++sequence) {
      const size_t size = body_size(random);
      std::memset(body.data(), static_cast<int>(body_byte(sequence)), size);
      const uint32_t size32 = static_cast<uint32_t>(size);
      const uint32_t sum = checksum(sequence, size32);
      std::memcpy(header.data(), &sequence, 8);
      std::memcpy(header.data() + 8, &size32, 4);
      std::memcpy(header.data() + 12, &sum, 4);
      const auto flags = static_cast<uint16_t>(sequence & 1);
      const std::span<const std::byte> pieces[] = {header, body.first(size)};
      const uint64_t pfn = sequence;
      const wire::GpaRangeSpec range{size32 + 1, 0, {&pfn, 1}};
      const int kind = static_cast<int>(sequence % 3);
      std::span<const std::byte> extended;
      if (kind == 2) {
        extended =
            std::span(gpa_header).first(*wire::encode_gpa_direct_header({&range, 1}, gpa_header));
      }
      auto write_once = [&] {
        if (kind == 1) {
          return ring.try_write(wire::PacketType::kDataInBand, flags, sequence,
                                std::span(whole).first(kHeaderBytes + size));
        }
        const auto type =
            kind == 2 ? wire::PacketType::kDataUsingGpaDirect : wire::PacketType::kDataInBand;
        return ring.try_write(OutgoingPacket{type, flags, sequence, extended, pieces});
      };
      WriteResult result = write_once();
      if (result == WriteResult::kFull) {
        if (ring.commit()) shared->to_consumer.signal();
        const uint32_t need =
            wire::layout_packet(extended.size(), kHeaderBytes + size).ring_bytes();
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
        result = write_once();
        ring.clear_space_request();
      }
      ASSERT_EQ(result, WriteResult::kWritten) << wire::to_string(ring.corrupt_reason());
    }
    if (ring.commit()) shared->to_consumer.signal();
  }
}

// `combined`: goes idle with commit_and_unmask() (one barrier) instead of commit_read() and
// unmask_and_check().
void consume(const RingView& view, Shared* shared, uint32_t seed, bool combined) {
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
      if (expected % 3 == 2) {
        ASSERT_EQ(packet.type, wire::PacketType::kDataUsingGpaDirect);
        ASSERT_EQ(packet.gpa_ranges.size(), 1u);
        const wire::GpaRange range = *packet.gpa_ranges.begin();
        ASSERT_EQ(range.byte_count, size + 1);
        ASSERT_EQ(range.pfns.size(), wire::pfn_count(0, size + 1));
        ASSERT_EQ(range.pfns[0], expected);
      } else {
        ASSERT_EQ(packet.type, wire::PacketType::kDataInBand);
      }
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
    bool more;
    if (combined) {
      const IncomingRing::Idle idle = ring.commit_and_unmask();
      if (idle.signal) shared->to_producer.signal();
      more = idle.more;
    } else {
      if (ring.commit_read()) shared->to_producer.signal();
      more = expected != kPackets && ring.unmask_and_check();
    }
    if (expected == kPackets) break;
    if (!more && !shared->to_consumer.wait_past(seen)) {
      shared->failed = true;
      FAIL() << "consumer never signalled (after packet " << expected << ")";
    }
  }
}

// (double-mapped data area, consumer goes idle with commit_and_unmask())
class RingStress : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(RingStress, TwoThreadsMoveMillionsOfChecksummedPackets) {
  // Not a structured binding: clang before 16 cannot capture one in the lambda below.
  const bool doubled = std::get<0>(GetParam());
  const bool combined = std::get<1>(GetParam());
  testing::RingMemory memory(4096, doubled, wire::kFeaturePendingSendSize);
  Shared shared;
  std::thread consumer([&] { consume(memory.view(), &shared, 2, combined); });
  produce(memory.view(), &shared, 1);
  if (::testing::Test::HasFatalFailure()) shared.failed = true;
  consumer.join();
  EXPECT_FALSE(shared.failed.load());
}

INSTANTIATE_TEST_SUITE_P(DataArea, RingStress,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<bool, bool>>& param_info) {
                           return std::string(std::get<0>(param_info.param) ? "DoubleMapped"
                                                                            : "SplitCopy") +
                                  (std::get<1>(param_info.param) ? "CombinedIdle" : "");
                         });

}  // namespace
}  // namespace vmb::ring
