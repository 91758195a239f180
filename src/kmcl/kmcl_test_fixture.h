// SPDX-License-Identifier: MIT
// KmclPair: a loopback bus with a server and a client channel set up only through the C API,
// with C callbacks that record into an Endpoint (found through VmbChannelGetPointer). Used by
// the shim's tests; header-only so it never enters the library.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "vmbkit/kmcl.h"

namespace vmb::kmcl_testing {

inline constexpr GUID kType = {
    0x8b6a5a2eu, 0x6f2cu, 0x4c1eu, {0x9f, 0x39, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}};
inline constexpr GUID kInstance = {
    0x0f1e2d3cu, 0x4b5au, 0x6978u, {0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0}};

// What one endpoint's callbacks saw. The process-packet behaviour is pluggable.
struct Endpoint {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;
  std::vector<std::vector<std::byte>> packets;
  std::vector<UINT32> packet_flags;
  std::vector<NTSTATUS> completions;
  std::vector<std::vector<std::byte>> completion_payloads;
  // Default: complete with the packet's own payload.
  std::function<void(VMBCHANNEL, VMBPACKETCOMPLETION, PVOID, UINT32, UINT32)> on_packet;

  void record(const std::string& event) {
    {
      const std::lock_guard lock(mutex);
      events.push_back(event);
    }
    changed.notify_all();
  }
  // Wakes wait(): for a hook that changed something a waiter's predicate reads.
  void notify() {
    { const std::lock_guard lock(mutex); }
    changed.notify_all();
  }
  bool wait(const std::function<bool()>& predicate) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(30), predicate);
  }
  bool wait_for_event(const std::string& event) {
    return wait([&] { return std::find(events.begin(), events.end(), event) != events.end(); });
  }
};

inline Endpoint& endpoint_of(VMBCHANNEL channel) {
  return *static_cast<Endpoint*>(VmbChannelGetPointer(channel));
}

inline VOID RecordPacket(VMBCHANNEL Channel, VMBPACKETCOMPLETION Packet, PVOID Buffer,
                         UINT32 BufferLength, UINT32 Flags) {
  Endpoint& endpoint = endpoint_of(Channel);
  {
    const std::lock_guard lock(endpoint.mutex);
    const auto* bytes = static_cast<const std::byte*>(Buffer);
    endpoint.packets.emplace_back(bytes, bytes + BufferLength);
    endpoint.packet_flags.push_back(Flags);
  }
  endpoint.changed.notify_all();
  if (endpoint.on_packet) {
    endpoint.on_packet(Channel, Packet, Buffer, BufferLength, Flags);
  } else {
    VmbChannelPacketComplete(Packet, Buffer, BufferLength);
  }
}

inline VOID RecordCompletion(VMBPACKET Packet, NTSTATUS Status, PVOID Buffer, UINT32 BufferLength) {
  Endpoint& endpoint = endpoint_of(VmbPacketGetChannel(Packet));
  {
    const std::lock_guard lock(endpoint.mutex);
    endpoint.completions.push_back(Status);
    const auto* bytes = static_cast<const std::byte*>(Buffer);
    endpoint.completion_payloads.emplace_back(bytes, bytes + BufferLength);
  }
  endpoint.changed.notify_all();
}

inline NTSTATUS RecordOpened(VMBCHANNEL Channel) {
  endpoint_of(Channel).record("opened");
  return STATUS_SUCCESS;
}
inline VOID RecordClosed(VMBCHANNEL Channel) { endpoint_of(Channel).record("closed"); }
inline VOID RecordSuspend(VMBCHANNEL Channel) { endpoint_of(Channel).record("suspend"); }
inline VOID RecordStarted(VMBCHANNEL Channel) { endpoint_of(Channel).record("started"); }
inline VOID RecordPostStarted(VMBCHANNEL Channel) { endpoint_of(Channel).record("post_started"); }
inline VOID RecordPnpFailure(VMBCHANNEL Channel, NTSTATUS Status) {
  endpoint_of(Channel).record("pnp_failure " + std::to_string(Status));
}

class KmclPair : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(VmbKitLoopbackBusCreate(&bus), STATUS_SUCCESS);
    ASSERT_EQ(VmbChannelAllocate(bus, TRUE, &server), STATUS_SUCCESS);
    ASSERT_EQ(VmbChannelAllocate(bus, FALSE, &client), STATUS_SUCCESS);
    configure(server, server_endpoint);
    configure(client, client_endpoint);
    ASSERT_EQ(VmbServerChannelInitSetTargetInterfaceId(server, kType, kInstance), STATUS_SUCCESS);
    ASSERT_EQ(VmbClientChannelInitSetTargetPnp(client, &kType, nullptr, RecordPnpFailure),
              STATUS_SUCCESS);
  }
  void TearDown() override {
    VmbChannelCleanup(client);
    VmbChannelCleanup(server);
    VmbKitBusClose(bus);
  }
  static void configure(VMBCHANNEL channel, Endpoint& endpoint) {
    VmbChannelSetPointer(channel, &endpoint);
    VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
    VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
    callbacks.EvtChannelOpened = RecordOpened;
    callbacks.EvtChannelClosed = RecordClosed;
    callbacks.EvtChannelSuspend = RecordSuspend;
    callbacks.EvtChannelStarted = RecordStarted;
    callbacks.EvtChannelPostStarted = RecordPostStarted;
    ASSERT_EQ(VmbChannelInitSetStateChangeCallbacks(channel, &callbacks), STATUS_SUCCESS);
    ASSERT_EQ(VmbChannelInitSetProcessPacketCallbacks(channel, RecordPacket, nullptr),
              STATUS_SUCCESS);
  }
  void open_both() {
    ASSERT_EQ(VmbChannelEnable(server), STATUS_SUCCESS);
    VmbChannelStart(server);
    ASSERT_EQ(VmbChannelEnable(client), STATUS_SUCCESS);
    ASSERT_TRUE(server_endpoint.wait_for_event("post_started"));
    ASSERT_TRUE(client_endpoint.wait_for_event("post_started"));
  }

  PDEVICE_OBJECT bus = nullptr;
  VMBCHANNEL server = nullptr;
  VMBCHANNEL client = nullptr;
  Endpoint server_endpoint;
  Endpoint client_endpoint;
};

}  // namespace vmb::kmcl_testing
