// SPDX-License-Identifier: MIT
// The bare-ring benchmark (ring_bench.h): vmbkit's rings over a memfd mapped with the public
// memory API, and MinimalRing, driven by the same producer/consumer pattern.
#include "ring_bench.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "minimal_ring.h"
#include "ring_cost.h"
#include "ring_memory.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/packet_format.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::bench {
namespace {

constexpr int kDoorbellWaitMilliseconds = 100;  // a backstop; every wake-up is signalled
constexpr uint32_t kWritesPerClockCheck = 1024;
// Event mode: how long a side that found nothing to do keeps polling before it sleeps. Short
// gaps in a stream then cost no signal; an idle side still sleeps within microseconds.
constexpr std::chrono::microseconds kPollBeforeSleep{50};

// Polls `ready` until it returns true or kPollBeforeSleep has passed.
template <typename Ready>
bool poll_briefly(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kPollBeforeSleep;
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
  }
}

constexpr uint32_t align8(uint32_t value) { return (value + 7u) & ~7u; }

// A non-blocking eventfd: the wake-up a channel uses in place of a VMBus interrupt.
class Doorbell {
 public:
  Doorbell() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;
  ~Doorbell() {
    if (fd_ >= 0) static_cast<void>(::close(fd_));
  }
  [[nodiscard]] bool ok() const { return fd_ >= 0; }
  void ring() const {
    const uint64_t one = 1;
    static_cast<void>(::write(fd_, &one, sizeof one));
  }
  // Sleeps until rung (or the backstop passes) and resets the count.
  void wait() const {
    pollfd descriptor{fd_, POLLIN, 0};
    static_cast<void>(::poll(&descriptor, 1, kDoorbellWaitMilliseconds));
    uint64_t count;
    static_cast<void>(::read(fd_, &count, sizeof count));
  }

 private:
  int fd_;
};

// What the two threads share besides the ring.
struct RunState {
  std::atomic<int64_t> start_ticks{0};
  std::atomic<uint64_t> produced{0};
  std::atomic<bool> producer_done{false};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::string error;
  uint64_t consumed = 0;
  uint64_t signals = 0;  // producer's and consumer's, added after both joined
  double seconds = 0;

  void fail(const std::string& why) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (error.empty()) error = why;
    failed.store(true, std::memory_order_relaxed);
  }
  void mark_start(std::chrono::steady_clock::time_point start) {
    // Release: the consumer reads the start time after it has seen producer_done.
    start_ticks.store(start.time_since_epoch().count(), std::memory_order_release);
  }
  void mark_end() {
    const std::chrono::steady_clock::time_point start{
        std::chrono::steady_clock::duration(start_ticks.load(std::memory_order_acquire))};
    seconds = seconds_since(start);
  }
  void finish_producing(uint64_t count) {
    produced.store(count, std::memory_order_relaxed);
    // Release: a consumer that sees producer_done also sees `produced` and every commit.
    producer_done.store(true, std::memory_order_release);
  }
  // True once the consumer has everything the producer wrote (or the run failed).
  bool consumer_finished(uint64_t consumed_so_far) const {
    if (failed.load(std::memory_order_relaxed)) return true;
    return producer_done.load(std::memory_order_acquire) &&
           consumed_so_far == produced.load(std::memory_order_relaxed);
  }
};

struct VmbkitShared {
  const ring::RingView& view;
  const RingBenchOptions& options;
  RunState& state;
  Doorbell data_bell;   // producer -> consumer
  Doorbell space_bell;  // consumer -> producer
};

void vmbkit_producer(VmbkitShared& shared, std::chrono::duration<double> run_time) {
  const RingBenchOptions& options = shared.options;
  const bool event = options.wait == RingWait::kEvent;
  ring::OutgoingRing outgoing(shared.view);
  std::vector<std::byte> payload(options.payload, std::byte{0x5A});
  const std::span<const std::byte> piece(payload);
  const uint32_t ring_bytes = wire::kDescriptorSize + align8(options.payload) + wire::kTrailerSize;
  uint64_t sequence = 0;
  uint64_t signals = 0;
  uint32_t pending = 0;
  bool space_requested = false;
  auto commit = [&] {
    if (pending == 0) return;
    pending = 0;
    if (outgoing.commit()) {
      ++signals;
      if (event) shared.data_bell.ring();
    }
  };
  const auto start = std::chrono::steady_clock::now();
  shared.state.mark_start(start);
  for (uint32_t step = 1; !shared.state.failed.load(std::memory_order_relaxed); ++step) {
    if (step % kWritesPerClockCheck == 0 && seconds_since(start) >= run_time.count()) break;
    std::memcpy(payload.data(), &sequence, sizeof sequence);
    const ring::WriteResult result = outgoing.try_write(wire::PacketType::kDataInBand, 0, 0, piece);
    if (result == ring::WriteResult::kWritten) {
      ++sequence;
      if (space_requested) outgoing.clear_space_request();
      space_requested = false;
      if (++pending == options.batch) commit();
      continue;
    }
    if (result != ring::WriteResult::kFull) {
      shared.state.fail("the outgoing ring refused a packet");
      break;
    }
    commit();
    if (!event) {
      cpu_relax();  // poll: retry shortly
      continue;
    }
    // Ask for a quarter of the ring, not one packet: the consumer then signals once per
    // quarter ring drained instead of once per commit (hysteresis; the protocol allows any
    // threshold up to the ring's size).
    switch (outgoing.request_space(std::max(ring_bytes, outgoing.data_size() / 4))) {
      case ring::SpaceRequest::kAvailable:
        space_requested = true;
        break;
      case ring::SpaceRequest::kWaitForSignal:
        space_requested = true;
        shared.space_bell.wait();
        break;
      case ring::SpaceRequest::kCorrupt:
        shared.state.fail("the outgoing ring failed");
        break;
    }
  }
  commit();
  if (space_requested) outgoing.clear_space_request();
  shared.state.finish_producing(sequence);
  if (event) shared.data_bell.ring();  // the end of the run: not a protocol signal, not counted
  shared.state.signals += signals;     // joined before anyone reads it
}

void vmbkit_consumer(VmbkitShared& shared, uint64_t* consumer_signals) {
  const RingBenchOptions& options = shared.options;
  const bool event = options.wait == RingWait::kEvent;
  ring::IncomingRing incoming(shared.view);
  std::vector<std::byte> buffer(wire::kDescriptorSize + align8(options.payload) + 64);
  wire::PacketView packet;
  uint64_t expected = 0;
  incoming.mask_interrupts();  // draining (poll mode: always)
  while (true) {
    uint32_t got = 0;
    while (got < options.batch && incoming.read(buffer, &packet) == ring::ReadResult::kPacket) {
      uint64_t sequence;
      if (packet.payload.size() < options.payload) {
        shared.state.fail("a packet came out shorter than it went in");
        return;
      }
      std::memcpy(&sequence, packet.payload.data(), sizeof sequence);
      if (sequence != expected) {
        shared.state.fail("packets lost, repeated or reordered");
        return;
      }
      ++expected;
      ++got;
    }
    if (incoming.corrupt()) {
      shared.state.fail(std::string("incoming ring corrupt: ") +
                        std::string(wire::to_string(incoming.corrupt_reason())));
      return;
    }
    if (got > 0) {
      if (incoming.commit_read()) {
        ++*consumer_signals;
        if (event) shared.space_bell.ring();
      }
      continue;
    }
    if (shared.state.consumer_finished(expected)) break;
    if (!event) cpu_relax();
    if (event && !poll_briefly([&] { return incoming.has_data(); })) {
      // Rule C: unmask, then re-check, so a packet published in between is not missed.
      if (!incoming.unmask_and_check()) shared.data_bell.wait();
      incoming.mask_interrupts();
    }
  }
  shared.state.consumed = expected;
  shared.state.mark_end();
}

Sample vmbkit_ring_sample(const RingBenchOptions& options, std::chrono::duration<double> run_time) {
  std::string error;
  const auto memory = BenchRingMemory::create(options.ring_kib / 4, &error);
  if (!memory) return {.ok = false, .error = error};
  const ring::RingView view = memory->view();

  RunState state;
  VmbkitShared shared{view, options, state, {}, {}};
  if (!shared.data_bell.ok() || !shared.space_bell.ok()) return {.ok = false, .error = "eventfd"};
  uint64_t consumer_signals = 0;
  run_on_two_cpus([&] { vmbkit_producer(shared, run_time); },
                  [&] { vmbkit_consumer(shared, &consumer_signals); });
  Sample sample;
  sample.seconds = state.seconds;
  sample.operations = state.consumed;
  sample.bytes = state.consumed * options.payload;
  sample.signals = state.signals + consumer_signals;
  sample.ok = !state.failed.load(std::memory_order_relaxed);
  sample.error = state.error;
  return sample;
}

Sample minimal_ring_sample(const RingBenchOptions& options,
                           std::chrono::duration<double> run_time) {
  auto ring = std::make_unique<MinimalRing>(options.ring_kib * 1024);
  RunState state;
  run_on_two_cpus(
      [&] {
        std::vector<std::byte> payload(options.payload, std::byte{0x5A});
        uint64_t sequence = 0;
        uint32_t pending = 0;
        const auto start = std::chrono::steady_clock::now();
        state.mark_start(start);
        for (uint32_t step = 1; !state.failed.load(std::memory_order_relaxed); ++step) {
          if (step % kWritesPerClockCheck == 0 && seconds_since(start) >= run_time.count()) break;
          std::memcpy(payload.data(), &sequence, sizeof sequence);
          const bool written = ring->try_write(payload.data(), options.payload);
          if (written) {
            ++sequence;
            if (++pending < options.batch) continue;
          }
          ring->commit();  // a full batch, or a full ring
          pending = 0;
          if (!written) cpu_relax();
        }
        ring->commit();
        state.finish_producing(sequence);
      },
      [&] {
        std::vector<std::byte> buffer(align8(options.payload) + 64);
        uint64_t expected = 0;
        while (true) {
          uint32_t got = 0;
          while (got < options.batch && ring->read(buffer.data()) >= 0) {
            uint64_t sequence;
            std::memcpy(&sequence, buffer.data(), sizeof sequence);
            if (sequence != expected) {
              state.fail("packets lost, repeated or reordered");
              return;
            }
            ++expected;
            ++got;
          }
          if (got > 0) {
            ring->commit_read();
          } else if (state.consumer_finished(expected)) {
            break;
          } else {
            cpu_relax();
          }
        }
        state.consumed = expected;
        state.mark_end();
      });
  Sample sample;
  sample.seconds = state.seconds;
  sample.operations = state.consumed;
  sample.bytes = state.consumed * options.payload;
  sample.ok = !state.failed.load(std::memory_order_relaxed);
  sample.error = state.error;
  return sample;
}

}  // namespace

std::string check_ring_options(const RingBenchOptions& options) {
  if (options.payload < 8 || options.payload > 65536) return "--payload must be 8..65536";
  if (options.ring_kib < 4 || options.ring_kib % 4 != 0 || options.ring_kib > 1024 * 1024) {
    return "--ring-kib must be a multiple of 4 in 4..1048576";
  }
  if (options.batch < 1 || options.batch > 4096) return "--batch must be 1..4096";
  // The largest packet must fit an empty ring with room to spare (8 bytes stay free).
  const uint32_t packet = wire::kDescriptorSize + align8(options.payload) + wire::kTrailerSize;
  if (uint64_t{packet} * 2 > uint64_t{options.ring_kib} * 1024) {
    return "--ring-kib must hold at least two packets of --payload bytes";
  }
  if (options.threads != 1 && options.threads != 2) return "--threads must be 1 or 2";
  if (options.threads == 1 && options.wait == RingWait::kEvent) {
    return "one thread never waits: --wait event needs --threads 2";
  }
  if (options.kind == RingKind::kMinimal && options.wait == RingWait::kEvent) {
    return "the minimal ring has no signalling protocol: poll only";
  }
  return {};
}

Sample measure_ring(const RingBenchOptions& options, std::chrono::duration<double> run_time) {
  if (const std::string problem = check_ring_options(options); !problem.empty()) {
    return {.ok = false, .error = problem};
  }
  if (options.threads == 1) return measure_ring_cost(options, run_time);
  return options.kind == RingKind::kVmbkit ? vmbkit_ring_sample(options, run_time)
                                           : minimal_ring_sample(options, run_time);
}

Sample measure_ring_round_trip(uint32_t payload, std::chrono::duration<double> run_time) {
  if (payload < 1 || payload > 65536) return {.ok = false, .error = "payload must be 1..65536"};
  // One packet in flight each way; room for two, in whole pages.
  const uint32_t packet_bytes = wire::kDescriptorSize + align8(payload) + wire::kTrailerSize;
  const uint32_t pages = (packet_bytes * 2 + 4095) / 4096;
  std::string error;
  const auto requests = BenchRingMemory::create(pages, &error);
  const auto replies = requests ? BenchRingMemory::create(pages, &error) : nullptr;
  if (!requests || !replies) return {.ok = false, .error = error};
  Sample sample;
  std::atomic<bool> failed{false};
  constexpr uint64_t kStop = 0;  // transaction id 0 ends the server's loop
  run_on_two_cpus(
      [&] {
        ring::OutgoingRing outgoing(requests->view());
        ring::IncomingRing incoming(replies->view());
        incoming.mask_interrupts();  // polled: the server never needs to signal
        std::vector<std::byte> request(payload, std::byte{0x5A});
        std::vector<std::byte> reply(payload);
        std::vector<std::byte> buffer(packet_bytes);
        wire::PacketView view;
        const auto start = std::chrono::steady_clock::now();
        for (uint64_t id = 1;; ++id) {
          // A stop request as the last one: the server answers it too.
          const bool stop = sample.seconds >= run_time.count() || failed.load();
          const uint64_t sent_id = stop ? kStop : id;
          if (outgoing.try_write(wire::PacketType::kDataInBand, wire::kFlagCompletionRequested,
                                 sent_id, request) != ring::WriteResult::kWritten) {
            failed = true;
            break;
          }
          (void)outgoing.commit();  // the server keeps its ring masked: no signal is due
          ring::ReadResult result;
          while ((result = incoming.read(buffer, &view)) == ring::ReadResult::kEmpty) {
            if (failed.load(std::memory_order_relaxed)) break;  // the server gave up: no reply
            cpu_relax();
          }
          if (result != ring::ReadResult::kPacket || view.transaction_id != sent_id ||
              view.type != wire::PacketType::kCompletion || view.payload.size() < payload) {
            failed = true;
            break;
          }
          std::memcpy(reply.data(), view.payload.data(), payload);
          (void)incoming.commit_read();  // the server never waits for space: one in flight
          if (stop) break;
          ++sample.operations;
          if (id % 64 == 0) {
            sample.seconds = seconds_since(start);
            sample.end_batch(sample.seconds, 64);
          }
        }
        sample.seconds = seconds_since(start);
      },
      [&] {
        ring::IncomingRing incoming(requests->view());
        ring::OutgoingRing outgoing(replies->view());
        incoming.mask_interrupts();
        std::vector<std::byte> buffer(packet_bytes);
        std::vector<std::byte> reply(payload);
        wire::PacketView view;
        for (;;) {
          ring::ReadResult result;
          while ((result = incoming.read(buffer, &view)) == ring::ReadResult::kEmpty) {
            if (failed.load(std::memory_order_relaxed)) return;
            cpu_relax();
          }
          if (result != ring::ReadResult::kPacket || view.payload.size() < payload) {
            failed = true;
            return;
          }
          std::memcpy(reply.data(), view.payload.data(), payload);  // the echo
          (void)incoming.commit_read();
          if (outgoing.try_write(wire::PacketType::kCompletion, 0, view.transaction_id, reply) !=
              ring::WriteResult::kWritten) {
            failed = true;
            return;
          }
          (void)outgoing.commit();
          if (view.transaction_id == kStop) return;
        }
      });
  if (failed.load()) return {.ok = false, .error = "a bare-ring round trip failed"};
  sample.bytes = sample.operations * payload;
  return sample;
}

}  // namespace vmb::bench
