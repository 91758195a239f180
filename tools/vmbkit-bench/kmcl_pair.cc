// SPDX-License-Identifier: MIT
// KmclPair (kmcl_pair.h): channel setup and the server's answers.
#include "kmcl_pair.h"

#include <cstring>

#include "vmbkit/mdl.h"

namespace vmb::bench {
namespace {

// vmbkit-bench's own interface type; pairs differ in the instance's last byte.
constexpr GUID kBenchType = {
    0x3f1d2b7c, 0x55e0, 0x4a8e, {0xb1, 0x6c, 0x0d, 0x47, 0x9e, 0x21, 0xa3, 0x5b}};

GUID instance_of(uint8_t index) {
  GUID instance = {0x8b2e6f10, 0x3c4d, 0x4e9a, {0x91, 0x7f, 0x5a, 0x2c, 0x6d, 0x0e, 0x4b, 0x00}};
  instance.Data4[7] = index;
  return instance;
}

KmclPair* pair_of(VMBCHANNEL channel) {
  return static_cast<KmclPair*>(VmbChannelGetPointer(channel));
}

}  // namespace

std::unique_ptr<KmclPair> KmclPair::open(PDEVICE_OBJECT bus, const KmclPairOptions& options,
                                         std::string* error) {
  std::unique_ptr<KmclPair> pair(new KmclPair(options));
  pair->reply_.resize(options.reply_bytes);
  if (options.action == ServerAction::kReadExternal) pair->copy_.resize(options.maximum_external);
  const GUID instance = instance_of(options.instance);
  NTSTATUS status = STATUS_SUCCESS;
  const char* failed = nullptr;
  auto step = [&](NTSTATUS result, const char* call) {
    if (failed == nullptr && result != STATUS_SUCCESS) {
      status = result;
      failed = call;
    }
  };
  step(VmbChannelAllocate(bus, TRUE, &pair->server_), "VmbChannelAllocate(server)");
  if (failed == nullptr) {
    VmbChannelSetPointer(pair->server_, pair.get());
    step(VmbServerChannelInitSetTargetInterfaceId(pair->server_, kBenchType, instance),
         "VmbServerChannelInitSetTargetInterfaceId");
    step(VmbChannelInitSetMaximumPacketSize(pair->server_, options.maximum_packet),
         "VmbChannelInitSetMaximumPacketSize(server)");
    step(VmbChannelInitSetProcessPacketCallbacks(pair->server_, &KmclPair::server_packet, nullptr),
         "VmbChannelInitSetProcessPacketCallbacks(server)");
    step(VmbKitChannelInitSetPolling(pair->server_, options.polling ? TRUE : FALSE),
         "VmbKitChannelInitSetPolling(server)");
    step(VmbChannelEnable(pair->server_), "VmbChannelEnable(server)");
  }
  if (failed == nullptr) {
    VmbChannelStart(pair->server_);
    step(VmbChannelAllocate(bus, FALSE, &pair->client_), "VmbChannelAllocate(client)");
  }
  if (failed == nullptr) {
    VmbChannelSetPointer(pair->client_, pair.get());
    VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
    VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
    callbacks.EvtChannelPostStarted = &KmclPair::client_started;
    step(VmbClientChannelInitSetTargetPnp(pair->client_, &kBenchType, &instance, nullptr),
         "VmbClientChannelInitSetTargetPnp");
    step(VmbClientChannelInitSetRingBufferPageCount(pair->client_, options.ring_pages,
                                                    options.ring_pages),
         "VmbClientChannelInitSetRingBufferPageCount");
    step(VmbChannelInitSetMaximumPacketSize(pair->client_, options.maximum_packet),
         "VmbChannelInitSetMaximumPacketSize(client)");
    step(VmbChannelInitSetMaximumExternalData(pair->client_, options.maximum_external, 1),
         "VmbChannelInitSetMaximumExternalData");
    step(VmbChannelInitSetProcessPacketCallbacks(pair->client_, &KmclPair::client_packet, nullptr),
         "VmbChannelInitSetProcessPacketCallbacks(client)");
    step(VmbChannelInitSetStateChangeCallbacks(pair->client_, &callbacks),
         "VmbChannelInitSetStateChangeCallbacks");
    step(VmbKitChannelInitSetPolling(pair->client_, options.polling ? TRUE : FALSE),
         "VmbKitChannelInitSetPolling(client)");
    step(VmbChannelEnable(pair->client_), "VmbChannelEnable(client)");
  }
  if (failed != nullptr) {
    *error = std::string(failed) + ": " + VmbKitStatusName(status);
    return nullptr;
  }
  std::unique_lock<std::mutex> lock(pair->mutex_);
  if (!pair->changed_.wait_for(lock, std::chrono::seconds(10), [&] { return pair->started_; })) {
    *error = "the benchmark channel did not open within 10 s";
    lock.unlock();
    return nullptr;
  }
  return pair;
}

KmclPair::~KmclPair() {
  // The client first: closing it lets the server's channel settle without a rescind.
  if (client_ != nullptr) VmbChannelCleanup(client_);
  if (server_ != nullptr) VmbChannelCleanup(server_);
}

void KmclPair::disable() {
  if (client_ != nullptr) VmbChannelDisable(client_);
  if (server_ != nullptr) VmbChannelDisable(server_);
}

bool KmclPair::wait_received(uint64_t packets, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_at_.store(packets, std::memory_order_relaxed);
  return changed_.wait_for(lock, timeout, [&] { return received_packets() >= packets; });
}

void KmclPair::server_packet(VMBCHANNEL channel, VMBPACKETCOMPLETION packet, PVOID buffer,
                             UINT32 length, UINT32 flags) {
  KmclPair* pair = pair_of(channel);
  uint64_t bytes = length;
  if (pair->options_.action == ServerAction::kReadExternal &&
      (flags & VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA) != 0) {
    PMDL mdl = nullptr;
    bytes = 0;
    if (VmbChannelPacketGetExternalData(packet, VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY,
                                        &mdl) == STATUS_SUCCESS) {
      for (PMDL piece = mdl; piece != nullptr; piece = piece->Next) {
        const void* data = MmGetSystemAddressForMdlSafe(
            piece, static_cast<ULONG>(NormalPagePriority) | MdlMappingNoWrite);
        const ULONG count = MmGetMdlByteCount(piece);
        if (data == nullptr || bytes + count > pair->copy_.size()) break;
        std::memcpy(pair->copy_.data() + bytes, data, count);  // the data really moves
        bytes += count;
      }
    }
  }
  static_cast<void>(buffer);
  // Counted before the completion goes out, so a sender that has its completion also finds
  // the packet counted. One writer at a time (the server channel's callbacks are serial), so
  // a load and a store: no locked instruction in the measured path.
  pair->received_bytes_.store(pair->received_bytes_.load(std::memory_order_relaxed) + bytes,
                              std::memory_order_relaxed);
  // Release: a waiter that sees the count also sees the bytes counted before it.
  const uint64_t received = pair->received_packets_.load(std::memory_order_relaxed) + 1;
  pair->received_packets_.store(received, std::memory_order_release);
  if (pair->options_.action == ServerAction::kEcho) {
    VmbChannelPacketComplete(packet, pair->reply_.data(), static_cast<UINT32>(pair->reply_.size()));
  } else {
    VmbChannelPacketComplete(packet, nullptr, 0);
  }
  if (received >= pair->wake_at_.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> lock(pair->mutex_);
    pair->changed_.notify_all();
  }
}

// The server sends nothing of its own; complete anything that arrives.
void KmclPair::client_packet(VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
  VmbChannelPacketComplete(packet, nullptr, 0);
}

void KmclPair::client_started(VMBCHANNEL channel) {
  KmclPair* pair = pair_of(channel);
  {
    std::lock_guard<std::mutex> lock(pair->mutex_);
    pair->started_ = true;
  }
  pair->changed_.notify_all();
}

}  // namespace vmb::bench
