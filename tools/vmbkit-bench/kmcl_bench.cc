// SPDX-License-Identifier: MIT
// The channel benchmarks (kmcl_bench.h). AsyncSender keeps a pool of packets busy on one
// client channel: each completion routine re-sends its own packet until the run stops, so the
// number in flight stays constant without any thread of ours on the data path.
#include "kmcl_bench.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kmcl_pair.h"
#include "vmbkit/kmcl.h"

namespace vmb::bench {
namespace {

constexpr auto kWaitTimeout = std::chrono::seconds(10);

Sample failed(std::string why) {
  Sample sample;
  sample.ok = false;
  sample.error = std::move(why);
  return sample;
}

struct BusOwner {
  PDEVICE_OBJECT bus = nullptr;
  BusOwner() { static_cast<void>(VmbKitLoopbackBusCreate(&bus)); }
  BusOwner(const BusOwner&) = delete;
  BusOwner& operator=(const BusOwner&) = delete;
  ~BusOwner() { VmbKitBusClose(bus); }
};

// Disables its pairs when it goes. Declared after the senders of a measurement, so it goes
// first: a run that failed with packets in flight gets their completion routines run (with
// STATUS_DEVICE_REMOVED) while the senders still exist.
struct DisableFirst {
  std::vector<KmclPair*> pairs;
  DisableFirst() = default;
  DisableFirst(const DisableFirst&) = delete;
  DisableFirst& operator=(const DisableFirst&) = delete;
  ~DisableFirst() {
    for (KmclPair* pair : pairs) pair->disable();
  }
};

class AsyncSender {
 public:
  struct Config {
    uint32_t payload = 64;        // in-band bytes
    uint32_t external_bytes = 0;  // > 0: a slice of guest memory per packet
    uint32_t depth = 32;          // packets kept busy
    bool wait_for_completion = true;
  };

  AsyncSender(PDEVICE_OBJECT bus, VMBCHANNEL channel, const Config& config)
      : bus_(bus),
        config_(config),
        payload_(config.payload, std::byte{0x5A}),
        slots_(config.depth) {
    if (config.external_bytes > 0 &&
        VmbKitAllocateGuestBuffer(bus, config.external_bytes * config.depth, &buffer_, &mdl_) !=
            STATUS_SUCCESS) {
      return;
    }
    for (uint32_t i = 0; i < config.depth; ++i) {
      slots_[i] = {this, VmbPacketAllocate(channel), i};
      if (slots_[i].packet == nullptr) return;
      VmbPacketSetCompletionRoutine(slots_[i].packet, &AsyncSender::on_complete);
      VmbPacketSetPointer(slots_[i].packet, &slots_[i]);
    }
    usable_ = true;
  }
  AsyncSender(const AsyncSender&) = delete;
  AsyncSender& operator=(const AsyncSender&) = delete;
  ~AsyncSender() {
    for (const Slot& slot : slots_) {
      if (slot.packet != nullptr) VmbPacketFree(slot.packet);
    }
    if (buffer_ != nullptr && outstanding_.load(std::memory_order_acquire) == 0) {
      VmbKitFreeGuestBuffer(bus_, buffer_, mdl_);
    }
  }

  [[nodiscard]] bool usable() const { return usable_; }
  bool start() {
    running_.store(true, std::memory_order_relaxed);
    for (Slot& slot : slots_) {
      outstanding_.fetch_add(1, std::memory_order_relaxed);
      if (!send(slot)) return false;
    }
    return true;
  }
  void stop() { running_.store(false, std::memory_order_relaxed); }
  bool wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    return idle_.wait_for(lock, kWaitTimeout,
                          [this] { return outstanding_.load(std::memory_order_acquire) == 0; });
  }
  [[nodiscard]] uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    AsyncSender* owner = nullptr;
    VMBPACKET packet = nullptr;
    uint32_t index = 0;
  };

  // Sends `slot`'s packet; on failure gives the slot up (outstanding drops).
  bool send(Slot& slot) {
    const UINT32 flags =
        config_.wait_for_completion ? VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION : 0u;
    const NTSTATUS status =
        config_.external_bytes > 0
            ? VmbPacketSendWithExternalMdl(slot.packet, payload_.data(), config_.payload, mdl_,
                                           slot.index * config_.external_bytes,
                                           config_.external_bytes, flags)
            : VmbPacketSend(slot.packet, payload_.data(), config_.payload, nullptr, flags);
    if (status == STATUS_SUCCESS) {
      sent_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    failed_.store(true, std::memory_order_relaxed);
    release();
    return false;
  }
  void release() {
    // acq_rel: wait_idle()'s acquire load then sees every count this routine made.
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      idle_.notify_all();
    }
  }
  static void on_complete(VMBPACKET packet, NTSTATUS status, PVOID, UINT32) {
    auto* slot = static_cast<Slot*>(VmbPacketGetPointer(packet));
    AsyncSender& sender = *slot->owner;
    if (status != STATUS_SUCCESS) sender.failed_.store(true, std::memory_order_relaxed);
    sender.completed_.fetch_add(1, std::memory_order_relaxed);
    if (status == STATUS_SUCCESS && sender.running_.load(std::memory_order_relaxed)) {
      static_cast<void>(sender.send(*slot));
      return;
    }
    sender.release();
  }

  PDEVICE_OBJECT bus_;
  Config config_;
  std::vector<std::byte> payload_;
  std::vector<Slot> slots_;
  void* buffer_ = nullptr;
  PMDL mdl_ = nullptr;
  bool usable_ = false;
  std::atomic<bool> running_{false};
  std::atomic<bool> failed_{false};
  std::atomic<uint32_t> outstanding_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> completed_{0};
  std::mutex mutex_;
  std::condition_variable idle_;
};

// Starts every sender, lets them run for `run_time`, stops them and waits until idle.
Sample run_senders(const std::vector<AsyncSender*>& senders,
                   std::chrono::duration<double> run_time) {
  Sample sample;
  const auto start = std::chrono::steady_clock::now();
  for (AsyncSender* sender : senders) {
    if (!sender->start()) return failed("a send failed");
  }
  // The measured interval: the senders run on the library's threads meanwhile.
  std::this_thread::sleep_for(run_time);
  for (AsyncSender* sender : senders) sender->stop();
  for (AsyncSender* sender : senders) {
    if (!sender->wait_idle()) return failed("packets still in flight after 10 s");
    if (sender->failed()) return failed("a send or a completion failed");
    sample.operations += sender->completed();
  }
  sample.seconds = seconds_since(start);
  return sample;
}

}  // namespace

Sample measure_kmcl_round_trip(uint32_t payload, std::chrono::duration<double> run_time,
                               bool polling) {
  BusOwner bus;
  KmclPairOptions options;
  options.polling = polling;
  options.action = ServerAction::kEcho;
  options.reply_bytes = (payload + 7) & ~7u;
  std::string error;
  auto pair = KmclPair::open(bus.bus, options, &error);
  if (!pair) return failed(error);
  std::vector<std::byte> request(payload, std::byte{0x5A});
  std::vector<std::byte> reply(options.reply_bytes);
  VMBCHANNEL const client = pair->client();
  Sample sample;
  const auto start = std::chrono::steady_clock::now();
  while (sample.ok) {
    for (int i = 0; i < 64; ++i) {
      UINT32 size = static_cast<UINT32>(reply.size());
      const NTSTATUS status = VmbChannelSendSynchronousRequest(
          client, request.data(), payload, nullptr, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION,
          reply.data(), &size, nullptr);
      if (status != STATUS_SUCCESS || size != reply.size()) {
        return failed(std::string("VmbChannelSendSynchronousRequest: ") + VmbKitStatusName(status));
      }
      ++sample.operations;
    }
    sample.seconds = seconds_since(start);
    sample.end_batch(sample.seconds, 64);
    if (sample.seconds >= run_time.count()) break;
  }
  sample.bytes = sample.operations * payload;
  return sample;
}

Sample measure_kmcl_one_way(uint32_t payload, std::chrono::duration<double> run_time) {
  BusOwner bus;
  KmclPairOptions options;
  options.ring_pages = 64;
  std::string error;
  auto pair = KmclPair::open(bus.bus, options, &error);
  if (!pair) return failed(error);
  AsyncSender sender(bus.bus, pair->client(), {payload, 0, 64, false});
  DisableFirst guard;
  guard.pairs.push_back(pair.get());
  if (!sender.usable()) return failed("packet allocation failed");
  const auto start = std::chrono::steady_clock::now();
  Sample sample = run_senders({&sender}, run_time);
  if (!sample.ok) return sample;
  // "Completed" means "in the ring" here: the time that counts ends at the server.
  if (!pair->wait_received(sender.sent(), kWaitTimeout)) {
    return failed("the server did not receive every packet within 10 s");
  }
  sample.seconds = seconds_since(start);
  sample.operations = pair->received_packets();
  sample.bytes = pair->received_bytes();
  return sample;
}

Sample measure_kmcl_external(uint32_t bytes, uint32_t depth,
                             std::chrono::duration<double> run_time) {
  BusOwner bus;
  KmclPairOptions options;
  options.action = ServerAction::kReadExternal;
  options.maximum_external = bytes;
  std::string error;
  auto pair = KmclPair::open(bus.bus, options, &error);
  if (!pair) return failed(error);
  AsyncSender sender(bus.bus, pair->client(), {24, bytes, depth, true});
  DisableFirst guard;
  guard.pairs.push_back(pair.get());
  if (!sender.usable()) return failed("guest buffer or packet allocation failed");
  Sample sample = run_senders({&sender}, run_time);
  if (!sample.ok) return sample;
  sample.bytes = pair->received_bytes();
  if (sample.bytes != sample.operations * bytes) return failed("external data came out short");
  return sample;
}

Sample measure_kmcl_channels(uint32_t channels, uint32_t depth,
                             std::chrono::duration<double> run_time) {
  BusOwner bus;
  std::vector<std::unique_ptr<KmclPair>> pairs;
  std::vector<std::unique_ptr<AsyncSender>> senders;
  std::vector<AsyncSender*> running;
  DisableFirst guard;
  for (uint32_t i = 0; i < channels; ++i) {
    KmclPairOptions options;
    options.instance = static_cast<uint8_t>(i);
    std::string error;
    auto pair = KmclPair::open(bus.bus, options, &error);
    if (!pair) return failed(error);
    senders.push_back(std::make_unique<AsyncSender>(bus.bus, pair->client(),
                                                    AsyncSender::Config{64, 0, depth, true}));
    if (!senders.back()->usable()) return failed("packet allocation failed");
    running.push_back(senders.back().get());
    guard.pairs.push_back(pair.get());
    pairs.push_back(std::move(pair));
  }
  Sample sample = run_senders(running, run_time);
  sample.bytes = sample.operations * 64;
  return sample;
}

}  // namespace vmb::bench
