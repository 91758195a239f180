// SPDX-License-Identifier: MIT
// The baseline transports (baseline_bench.h). Each round-trip baseline is a client step ("send
// one request, wait for its echo") and a server step ("wait for one request, echo it"), driven
// by the same timed loop; the last request carries a stop mark so the server thread ends.
#include "baseline_bench.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <vector>

namespace vmb::bench {
namespace {

constexpr uint64_t kStopMark = uint64_t{1} << 63;
constexpr int kStepsPerClockCheck = 64;

bool write_all(int fd, const std::byte* data, size_t size) {
  while (size > 0) {
    const ssize_t done = ::write(fd, data, size);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    data += done;
    size -= static_cast<size_t>(done);
  }
  return true;
}

bool read_all(int fd, std::byte* data, size_t size) {
  while (size > 0) {
    const ssize_t done = ::read(fd, data, size);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    data += done;
    size -= static_cast<size_t>(done);
  }
  return true;
}

// Two descriptors closed on destruction.
struct FdPair {
  int fds[2] = {-1, -1};
  FdPair() = default;
  FdPair(const FdPair&) = delete;
  FdPair& operator=(const FdPair&) = delete;
  ~FdPair() {
    for (const int fd : fds) {
      if (fd >= 0) static_cast<void>(::close(fd));
    }
  }
  void close_one(int index) {
    static_cast<void>(::close(fds[index]));
    fds[index] = -1;
  }
};

// Runs client steps for `run_time` (checking the clock every few steps), then one step with
// `stop` set; the server thread serves until it sees the stop mark. A failed step fails the
// sample. The two run on different CPUs.
Sample drive_round_trips(std::chrono::duration<double> run_time,
                         const std::function<bool(bool stop)>& client_step,
                         const std::function<bool()>& server_step /* false: stop seen */) {
  Sample sample;
  run_on_two_cpus(
      [&] {
        const auto start = std::chrono::steady_clock::now();
        while (sample.ok) {
          const uint64_t before = sample.operations;
          for (int i = 0; i < kStepsPerClockCheck && sample.ok; ++i) {
            sample.ok = client_step(false);
            sample.operations += sample.ok ? 1 : 0;
          }
          sample.seconds = seconds_since(start);
          sample.end_batch(sample.seconds, sample.operations - before);
          if (sample.seconds >= run_time.count()) break;
        }
        if (!client_step(true)) sample.ok = false;
        if (!sample.ok) sample.error = "a round trip failed";
      },
      [&] {
        while (server_step()) {
        }
      });
  return sample;
}

// Shared memory both ways; each side publishes a sequence number after copying the payload.
struct alignas(64) SequenceSlot {
  std::atomic<uint64_t> sequence{0};
};

// `bytes` bytes on cache lines of their own: nothing else written shares a line with them.
class LineBuffer {
 public:
  explicit LineBuffer(size_t bytes, std::byte fill = std::byte{0})
      : lines_((bytes + sizeof(Line) - 1) / sizeof(Line)) {
    if (!lines_.empty())
      std::memset(static_cast<void*>(lines_.data()), std::to_integer<int>(fill), bytes);
  }
  [[nodiscard]] std::byte* data() { return lines_.empty() ? nullptr : lines_.front().bytes; }

 private:
  struct alignas(64) Line {
    std::byte bytes[64];
  };
  std::vector<Line> lines_;
};

// The floor: each buffer and each side's own counter on lines of its own, so the only cache
// lines that move between the CPUs are the ones the exchange needs (no false sharing).
struct SharedPayloads {
  explicit SharedPayloads(uint32_t payload)
      : request(payload), response(payload), client(payload, std::byte{0x5A}), server(payload) {}
  SequenceSlot request_slot;
  SequenceSlot response_slot;
  LineBuffer request, response;          // the "shared" buffers
  LineBuffer client, server;             // each side's private copy
  alignas(64) uint64_t next = 0;         // the client's
  alignas(64) uint64_t last_served = 0;  // the server's
};

Sample spin_round_trips(uint32_t payload, std::chrono::duration<double> run_time) {
  SharedPayloads shared(payload);
  auto client = [&](bool stop) {
    const uint64_t sequence = ++shared.next | (stop ? kStopMark : 0);
    std::memcpy(shared.request.data(), shared.client.data(), payload);
    // Release: the server's acquire load of the sequence must see the payload copied above.
    shared.request_slot.sequence.store(sequence, std::memory_order_release);
    // Acquire: pairs with the server's release, so the echo copied below is complete.
    while (shared.response_slot.sequence.load(std::memory_order_acquire) != sequence) {
    }
    std::memcpy(shared.client.data(), shared.response.data(), payload);
    return true;
  };
  auto server = [&] {
    uint64_t sequence;
    // Acquire: pairs with the client's release store; the request bytes are then complete.
    while ((sequence = shared.request_slot.sequence.load(std::memory_order_acquire)) ==
           shared.last_served) {
    }
    shared.last_served = sequence;
    std::memcpy(shared.server.data(), shared.request.data(), payload);
    std::memcpy(shared.response.data(), shared.server.data(), payload);
    // Release: the client must see the echo before it sees the sequence.
    shared.response_slot.sequence.store(sequence, std::memory_order_release);
    return (sequence & kStopMark) == 0;
  };
  return drive_round_trips(run_time, client, server);
}

Sample eventfd_round_trips(uint32_t payload, std::chrono::duration<double> run_time) {
  SharedPayloads shared(payload);
  FdPair doorbells;  // [0] client -> server, [1] server -> client
  doorbells.fds[0] = ::eventfd(0, EFD_CLOEXEC);
  doorbells.fds[1] = ::eventfd(0, EFD_CLOEXEC);
  if (doorbells.fds[0] < 0 || doorbells.fds[1] < 0) return {.ok = false, .error = "eventfd"};
  auto ring = [](int fd) {
    const uint64_t one = 1;
    return ::write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one);
  };
  auto wait = [](int fd) {
    uint64_t count = 0;
    return ::read(fd, &count, sizeof count) == static_cast<ssize_t>(sizeof count);
  };
  auto client = [&](bool stop) {
    const uint64_t sequence = ++shared.next | (stop ? kStopMark : 0);
    std::memcpy(shared.request.data(), shared.client.data(), payload);
    // Release/acquire around the eventfd: the syscall orders memory in practice, but the C++
    // model needs the pair for the payload copies to be race-free.
    shared.request_slot.sequence.store(sequence, std::memory_order_release);
    if (!ring(doorbells.fds[0]) || !wait(doorbells.fds[1])) return false;
    if (shared.response_slot.sequence.load(std::memory_order_acquire) != sequence) return false;
    std::memcpy(shared.client.data(), shared.response.data(), payload);
    return true;
  };
  auto server = [&] {
    if (!wait(doorbells.fds[0])) return false;
    const uint64_t sequence = shared.request_slot.sequence.load(std::memory_order_acquire);
    std::memcpy(shared.server.data(), shared.request.data(), payload);
    std::memcpy(shared.response.data(), shared.server.data(), payload);
    shared.response_slot.sequence.store(sequence, std::memory_order_release);
    return ring(doorbells.fds[1]) && (sequence & kStopMark) == 0;
  };
  Sample sample = drive_round_trips(run_time, client, server);
  sample.signals = 2 * sample.operations;
  return sample;
}

// Pipes and sockets: the first payload byte is 1 in the stop request, 0 otherwise.
Sample stream_round_trips(Baseline baseline, uint32_t payload,
                          std::chrono::duration<double> run_time) {
  FdPair to_server;
  FdPair to_client;
  int client_out, client_in, server_in, server_out;
  if (baseline == Baseline::kSocketpair) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, to_server.fds) != 0) {
      return {.ok = false, .error = "socketpair"};
    }
    client_out = client_in = to_server.fds[0];
    server_in = server_out = to_server.fds[1];
  } else {
    if (::pipe2(to_server.fds, O_CLOEXEC) != 0 || ::pipe2(to_client.fds, O_CLOEXEC) != 0) {
      return {.ok = false, .error = "pipe"};
    }
    client_out = to_server.fds[1];
    server_in = to_server.fds[0];
    server_out = to_client.fds[1];
    client_in = to_client.fds[0];
  }
  std::vector<std::byte> client_buffer(payload, std::byte{0});
  std::vector<std::byte> server_buffer(payload);
  auto client = [&](bool stop) {
    client_buffer[0] = stop ? std::byte{1} : std::byte{0};
    return write_all(client_out, client_buffer.data(), payload) &&
           read_all(client_in, client_buffer.data(), payload);
  };
  auto server = [&] {
    return read_all(server_in, server_buffer.data(), payload) &&
           write_all(server_out, server_buffer.data(), payload) && server_buffer[0] == std::byte{0};
  };
  return drive_round_trips(run_time, client, server);
}

}  // namespace

std::string baseline_name(Baseline baseline) {
  switch (baseline) {
    case Baseline::kSpin:
      return "spin";
    case Baseline::kEventfd:
      return "eventfd";
    case Baseline::kPipe:
      return "pipe";
    case Baseline::kSocketpair:
      return "socketpair";
  }
  return "?";
}

Sample measure_baseline_round_trip(Baseline baseline, uint32_t payload,
                                   std::chrono::duration<double> run_time) {
  if (payload == 0) return {.ok = false, .error = "payload must be at least 1 byte"};
  Sample sample;
  switch (baseline) {
    case Baseline::kSpin:
      sample = spin_round_trips(payload, run_time);
      break;
    case Baseline::kEventfd:
      sample = eventfd_round_trips(payload, run_time);
      break;
    case Baseline::kPipe:
    case Baseline::kSocketpair:
      sample = stream_round_trips(baseline, payload, run_time);
      break;
  }
  sample.bytes = sample.operations * payload;
  return sample;
}

Sample measure_baseline_one_way(Baseline baseline, uint32_t payload,
                                std::chrono::duration<double> run_time) {
  if (payload == 0) return {.ok = false, .error = "payload must be at least 1 byte"};
  FdPair fds;  // [0] the reader's end, [1] the writer's
  const int made = baseline == Baseline::kSocketpair
                       ? ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.fds)
                       : ::pipe2(fds.fds, O_CLOEXEC);
  if (made != 0 || (baseline != Baseline::kPipe && baseline != Baseline::kSocketpair)) {
    return {.ok = false, .error = "one-way baselines are pipe and socketpair"};
  }
  std::atomic<int64_t> start_ticks{0};
  Sample sample;
  uint64_t received = 0;
  run_on_two_cpus(
      [&] {
        const std::vector<std::byte> message(payload, std::byte{0x5A});
        const auto start = std::chrono::steady_clock::now();
        // Release: the reader computes the elapsed time from this after its end of file.
        start_ticks.store(start.time_since_epoch().count(), std::memory_order_release);
        bool writing = true;
        while (writing) {
          for (int i = 0; i < kStepsPerClockCheck && writing; ++i) {
            writing = write_all(fds.fds[1], message.data(), payload);
          }
          writing = writing && seconds_since(start) < run_time.count();
        }
        fds.close_one(1);  // the reader sees end of file once everything is read
      },
      [&] {
        std::vector<std::byte> buffer(256 * 1024);
        ssize_t got;
        while ((got = ::read(fds.fds[0], buffer.data(), buffer.size())) != 0) {
          if (got < 0 && errno != EINTR) break;
          if (got > 0) received += static_cast<uint64_t>(got);
        }
        const auto end = std::chrono::steady_clock::now();
        const std::chrono::steady_clock::time_point start{
            std::chrono::steady_clock::duration(start_ticks.load(std::memory_order_acquire))};
        sample.seconds = std::chrono::duration<double>(end - start).count();
      });
  sample.operations = received / payload;
  sample.bytes = received;
  return sample;
}

}  // namespace vmb::bench
