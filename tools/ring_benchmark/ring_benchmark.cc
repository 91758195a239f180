// SPDX-License-Identifier: MIT
// vmbkit-ring-benchmark: Google Benchmark suite for the ring layer, through the public API on a
// double-mapped memfd ring. SingleThread: the cost of writing, committing, reading (copy-out
// and validation included) and committing one packet, per packet and with batched commits.
// TwoThread: a producer and a busy-polling consumer pinned to different CPUs move packets of
// 16 B - 4 KiB, committing in batches; reported as packets/s (items) and payload bytes/s.
// Not a test: nothing here passes or fails.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "benchmark_ring.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"

namespace {

using vmb::benchmarks::BenchmarkRing;
using vmb::ring::IncomingRing;
using vmb::ring::OutgoingRing;
using vmb::ring::ReadResult;
using vmb::ring::WriteResult;
using vmb::wire::PacketType;

constexpr uint32_t kDataPages = 64;  // 256 KiB of ring data, like a small netvsc ring
constexpr int kBatch = 32;           // packets per commit when batching

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<size_t>(cpu) % CPU_SETSIZE, &set);
  (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Write one packet, commit, read it back (copy-out + validation), commit.
void SingleThreadPerPacketCommit(benchmark::State& state) {
  BenchmarkRing memory(kDataPages, true, vmb::wire::kFeaturePendingSendSize);
  OutgoingRing outgoing(memory.view());
  IncomingRing incoming(memory.view());
  const std::vector<std::byte> payload(static_cast<size_t>(state.range(0)), std::byte{0x5A});
  std::vector<std::byte> buffer(8192);
  vmb::wire::PacketView view;
  uint64_t id = 0;
  for (auto _ : state) {
    if (outgoing.try_write(PacketType::kDataInBand, 0, ++id, payload) != WriteResult::kWritten) {
      state.SkipWithError("write failed");
      break;
    }
    benchmark::DoNotOptimize(outgoing.commit());
    if (incoming.read(buffer, &view) != ReadResult::kPacket) {
      state.SkipWithError("read failed");
      break;
    }
    benchmark::DoNotOptimize(view.payload.data());
    benchmark::DoNotOptimize(incoming.commit_read());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(SingleThreadPerPacketCommit)->RangeMultiplier(4)->Range(16, 4096);

// kBatch writes, one commit, kBatch reads, one commit; counted per packet.
void SingleThreadBatchedCommit(benchmark::State& state) {
  BenchmarkRing memory(kDataPages, true, vmb::wire::kFeaturePendingSendSize);
  OutgoingRing outgoing(memory.view());
  IncomingRing incoming(memory.view());
  const std::vector<std::byte> payload(static_cast<size_t>(state.range(0)), std::byte{0x5A});
  std::vector<std::byte> buffer(8192);
  vmb::wire::PacketView view;
  uint64_t id = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      if (outgoing.try_write(PacketType::kDataInBand, 0, ++id, payload) != WriteResult::kWritten) {
        state.SkipWithError("write failed");
        return;
      }
    }
    benchmark::DoNotOptimize(outgoing.commit());
    for (int i = 0; i < kBatch; ++i) {
      if (incoming.read(buffer, &view) != ReadResult::kPacket) {
        state.SkipWithError("read failed");
        return;
      }
      benchmark::DoNotOptimize(view.payload.data());
    }
    benchmark::DoNotOptimize(incoming.commit_read());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * kBatch * state.range(0));
}
BENCHMARK(SingleThreadBatchedCommit)->RangeMultiplier(4)->Range(16, 4096);

// Producer (this thread, CPU 0) and consumer (CPU 1), both busy-polling. The producer commits
// every kBatch packets or when the ring is full; the consumer drains and commits per drain
// (at most kBatch packets). One benchmark iteration = kPacketsPerIteration packets delivered.
void TwoThreadThroughput(benchmark::State& state) {
  constexpr uint64_t kPacketsPerIteration = 1 << 16;
  BenchmarkRing memory(kDataPages, true, vmb::wire::kFeaturePendingSendSize);
  const std::vector<std::byte> payload(static_cast<size_t>(state.range(0)), std::byte{0x5A});
  std::atomic<uint64_t> consumed{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::thread consumer([&] {
    pin_to_cpu(1);
    IncomingRing incoming(memory.view());
    std::vector<std::byte> buffer(8192);
    vmb::wire::PacketView view;
    uint64_t count = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      int got = 0;
      ReadResult result;
      while (got < kBatch && (result = incoming.read(buffer, &view)) == ReadResult::kPacket) {
        benchmark::DoNotOptimize(view.payload.data());
        ++got;
      }
      if (incoming.corrupt()) {
        failed = true;
        return;
      }
      if (got != 0) {
        (void)incoming.commit_read();
        count += static_cast<uint64_t>(got);
        consumed.store(count, std::memory_order_release);
      }
    }
  });
  pin_to_cpu(0);
  OutgoingRing outgoing(memory.view());
  uint64_t written = 0;
  for (auto _ : state) {
    const uint64_t target = written + kPacketsPerIteration;
    int pending = 0;
    while (written < target) {
      const WriteResult result = outgoing.try_write(PacketType::kDataInBand, 0, written, payload);
      if (result == WriteResult::kWritten) {
        ++written;
        if (++pending == kBatch) {
          (void)outgoing.commit();
          pending = 0;
        }
      } else if (result == WriteResult::kFull) {
        (void)outgoing.commit();
        pending = 0;
      } else {
        failed = true;
        break;
      }
    }
    (void)outgoing.commit();
    while (consumed.load(std::memory_order_acquire) < written && !failed.load()) {
    }
    if (failed.load()) break;
  }
  stop = true;
  consumer.join();
  if (failed.load()) state.SkipWithError("ring failed");
  const auto packets = state.iterations() * static_cast<int64_t>(kPacketsPerIteration);
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(packets * state.range(0));
}
BENCHMARK(TwoThreadThroughput)->RangeMultiplier(4)->Range(16, 4096)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
