// SPDX-License-Identifier: MIT
// vmbkit-ring-count: a fixed amount of ring work for instruction counting. It writes and reads
// N packets of 64 payload bytes through one ring, committing after every packet on both sides
// (or every B packets), validation included, and prints a checksum so nothing is optimised
// away. Per-packet cost = (Ir(N2) - Ir(N1)) / (N2 - N1), measured with
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null vmbkit-ring-count N [B]
// for two N, which cancels start-up and mapping costs.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "benchmark_ring.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: vmbkit-ring-count PACKETS [BATCH]\n");
    return 2;
  }
  const uint64_t packets = std::strtoull(argv[1], nullptr, 10);
  const uint64_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  if (batch == 0 || batch > 256) return 2;
  vmb::benchmarks::BenchmarkRing memory(64, true, vmb::wire::kFeaturePendingSendSize);
  vmb::ring::OutgoingRing outgoing(memory.view());
  vmb::ring::IncomingRing incoming(memory.view());
  std::vector<std::byte> payload(64, std::byte{0x5A});
  std::vector<std::byte> buffer(4096);
  vmb::wire::PacketView view;
  uint64_t checksum = 0;
  uint64_t signals = 0;
  if (batch == 1) {
    // The per-packet case on its own, so the loop around the four ring calls stays minimal.
    for (uint64_t id = 0; id < packets; ++id) {
      if (outgoing.try_write(vmb::wire::PacketType::kDataInBand, 0, id, payload) !=
          vmb::ring::WriteResult::kWritten) {
        return 1;
      }
      signals += outgoing.commit();
      if (incoming.read(buffer, &view) != vmb::ring::ReadResult::kPacket) return 1;
      checksum += view.transaction_id;
      signals += incoming.commit_read();
    }
  } else {
    for (uint64_t done = 0; done < packets; done += batch) {
      for (uint64_t i = 0; i < batch; ++i) {
        if (outgoing.try_write(vmb::wire::PacketType::kDataInBand, 0, done + i, payload) !=
            vmb::ring::WriteResult::kWritten) {
          return 1;
        }
      }
      signals += outgoing.commit();
      for (uint64_t i = 0; i < batch; ++i) {
        if (incoming.read(buffer, &view) != vmb::ring::ReadResult::kPacket) return 1;
        checksum += view.transaction_id;
      }
      signals += incoming.commit_read();
    }
  }
  std::printf("packets %llu batch %llu checksum %llu signals %llu\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(batch),
              static_cast<unsigned long long>(checksum), static_cast<unsigned long long>(signals));
  return 0;
}
