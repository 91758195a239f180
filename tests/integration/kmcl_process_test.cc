// SPDX-License-Identifier: MIT
// The KMCL C API between processes: VmbKitBusListen in a host process, VmbKitBusConnect in a
// forked guest process, and the same channel calls a driver makes on a loopback bus. Covers the
// entry points' argument checks, what a host bus refuses, synchronous requests with in-band and
// external data across the boundary, a killed host (STATUS_DEVICE_REMOVED for the waiting
// request) and a killed guest (the server's channel closes and serves the next guest).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus_test_support.h"
#include "child_process.h"
#include "vmbkit/kmcl.h"
#include "vmbkit/mdl.h"

namespace vmb::integration {
namespace {

constexpr GUID kType = {
    0x1f0e2d3c, 0x4b5a, 0x6978, {0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0}};
constexpr GUID kInstance = {
    0x1f0e2d3c, 0x4b5a, 0x6978, {0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0x01}};

// Child exit codes, so a failure says which step failed.
enum GuestExit : int {
  kGuestOk = 0,
  kGuestConnect = 10,
  kGuestSetup = 11,
  kGuestOpen = 12,
  kGuestRequest = 13,
  kGuestReply = 14,
  kGuestBuffer = 15,
  kGuestExternal = 16,
  kGuestHandshake = 17,
};

// The server's behaviour, chosen per test. Callbacks run on library threads.
struct ServerState {
  std::atomic<bool> hold_requests{false};  // keep packets uncompleted (a stuck server)
  std::atomic<uint32_t> received{0};
  std::atomic<uint32_t> closed{0};
  std::atomic<uint32_t> opened{0};
  Pipe* received_pipe = nullptr;  // told once, at the first packet, if set
  std::mutex mutex;               // held
  std::vector<VMBPACKETCOMPLETION> held;

  // Completes every held packet (from any thread).
  void release_held() {
    std::vector<VMBPACKETCOMPLETION> packets;
    {
      const std::lock_guard lock(mutex);
      packets.swap(held);
    }
    for (VMBPACKETCOMPLETION packet : packets) VmbChannelPacketComplete(packet, nullptr, 0);
  }
};

// Echo: in-band requests come back byte for byte; a request with external data gets the
// 64-bit sum of the bytes read from the guest's memory.
VOID ServerProcessPacket(VMBCHANNEL channel, VMBPACKETCOMPLETION packet, PVOID buffer,
                         UINT32 length, UINT32 flags) {
  auto* state = static_cast<ServerState*>(VmbChannelGetPointer(channel));
  const bool first = state->received.fetch_add(1) == 0;
  if (state->hold_requests.load()) {
    const std::lock_guard lock(state->mutex);
    state->held.push_back(packet);
  }
  if (first && state->received_pipe != nullptr) state->received_pipe->put(1);
  if (state->hold_requests.load()) return;
  if ((flags & VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA) == 0) {
    VmbChannelPacketComplete(packet, buffer, length);
    return;
  }
  PMDL mdl = nullptr;
  uint64_t sum = 0;
  if (VmbChannelPacketGetExternalData(packet, VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY,
                                      &mdl) == STATUS_SUCCESS) {
    for (PMDL piece = mdl; piece != nullptr; piece = piece->Next) {
      const auto* bytes = static_cast<const uint8_t*>(MmGetSystemAddressForMdlSafe(
          piece, static_cast<ULONG>(NormalPagePriority) | MdlMappingNoWrite));
      for (ULONG i = 0; bytes != nullptr && i < MmGetMdlByteCount(piece); ++i) sum += bytes[i];
    }
  }
  VmbChannelPacketComplete(packet, &sum, sizeof sum);
}
NTSTATUS ServerOpened(VMBCHANNEL channel) {
  static_cast<ServerState*>(VmbChannelGetPointer(channel))->opened.fetch_add(1);
  return STATUS_SUCCESS;
}
VOID ServerClosed(VMBCHANNEL channel) {
  static_cast<ServerState*>(VmbChannelGetPointer(channel))->closed.fetch_add(1);
}

// A server channel offered on `bus`, or null.
VMBCHANNEL offer_server(PDEVICE_OBJECT bus, ServerState* state) {
  VMBCHANNEL channel = nullptr;
  if (VmbChannelAllocate(bus, TRUE, &channel) != STATUS_SUCCESS) return nullptr;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  callbacks.EvtChannelOpened = ServerOpened;
  callbacks.EvtChannelClosed = ServerClosed;
  VmbChannelSetPointer(channel, state);
  if (VmbServerChannelInitSetTargetInterfaceId(channel, kType, kInstance) != STATUS_SUCCESS ||
      VmbChannelInitSetStateChangeCallbacks(channel, &callbacks) != STATUS_SUCCESS ||
      VmbChannelInitSetProcessPacketCallbacks(channel, ServerProcessPacket, nullptr) !=
          STATUS_SUCCESS ||
      VmbChannelEnable(channel) != STATUS_SUCCESS) {
    VmbChannelCleanup(channel);
    return nullptr;
  }
  VmbChannelStart(channel);
  return channel;
}

void stop_server(VMBCHANNEL channel, ServerState* state) {
  state->release_held();
  VmbChannelDisable(channel);
  VmbChannelCleanup(channel);
}

VOID ClientProcessPacket(VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
  VmbChannelPacketComplete(packet, nullptr, 0);
}
std::atomic<bool> client_running{false};
VOID ClientPostStarted(VMBCHANNEL) { client_running.store(true); }

// A client channel on `bus` that targets the test device and runs, or null (after `deadline`).
VMBCHANNEL open_client(PDEVICE_OBJECT bus) {
  client_running.store(false);
  VMBCHANNEL channel = nullptr;
  if (VmbChannelAllocate(bus, FALSE, &channel) != STATUS_SUCCESS) return nullptr;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  callbacks.EvtChannelPostStarted = ClientPostStarted;
  if (VmbClientChannelInitSetTargetPnp(channel, &kType, &kInstance, nullptr) != STATUS_SUCCESS ||
      VmbChannelInitSetStateChangeCallbacks(channel, &callbacks) != STATUS_SUCCESS ||
      VmbChannelInitSetProcessPacketCallbacks(channel, ClientProcessPacket, nullptr) !=
          STATUS_SUCCESS ||
      VmbChannelEnable(channel) != STATUS_SUCCESS) {
    VmbChannelCleanup(channel);
    return nullptr;
  }
  const auto deadline = std::chrono::steady_clock::now() + kProcessDeadline;
  while (!client_running.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!client_running.load()) {
    VmbChannelDisable(channel);
    VmbChannelCleanup(channel);
    return nullptr;
  }
  return channel;
}

LARGE_INTEGER relative(std::chrono::milliseconds timeout) {
  LARGE_INTEGER value;
  value.QuadPart = -static_cast<LONGLONG>(timeout.count()) * 10'000;
  return value;
}

// The guest of the echo tests: `requests` in-band round trips, then external data at an odd
// offset and length. Waits for `host_ready` before connecting.
int echo_guest(const std::string& socket_path, Pipe& host_ready, int requests) {
  host_ready.close_write();
  if (!host_ready.get()) return kGuestHandshake;
  PDEVICE_OBJECT bus = nullptr;
  if (VmbKitBusConnect(socket_path.c_str(), &bus) != STATUS_SUCCESS) return kGuestConnect;
  VMBCHANNEL channel = open_client(bus);
  if (channel == nullptr) return kGuestOpen;
  int result = kGuestOk;
  for (int i = 0; i < requests && result == kGuestOk; ++i) {
    uint64_t request[4] = {static_cast<uint64_t>(i), 0x1122334455667788u, ~uint64_t{0}, 42};
    uint64_t reply[4] = {};
    UINT32 reply_size = sizeof reply;
    LARGE_INTEGER timeout = relative(kProcessDeadline);
    if (VmbChannelSendSynchronousRequest(channel, request, sizeof request, nullptr,
                                         VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, reply,
                                         &reply_size, &timeout) != STATUS_SUCCESS) {
      result = kGuestRequest;
    } else if (reply_size != sizeof reply || std::memcmp(request, reply, sizeof reply) != 0) {
      result = kGuestReply;
    }
  }
  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  constexpr UINT32 kBytes = 5 * 4096 + 333;
  if (result == kGuestOk &&
      VmbKitAllocateGuestBuffer(bus, kBytes, &buffer, &mdl) != STATUS_SUCCESS) {
    result = kGuestBuffer;
  }
  if (result == kGuestOk) {
    auto* bytes = static_cast<uint8_t*>(buffer);
    for (UINT32 i = 0; i < kBytes; ++i) bytes[i] = static_cast<uint8_t>(i * 13 + 5);
    // A sub-MDL from byte 77, of all but the last 11 bytes: what the server sums.
    PMDL part = IoAllocateMdl(bytes + 77, kBytes - 77 - 11, FALSE, FALSE, nullptr);
    uint64_t expected = 0;
    for (UINT32 i = 77; i < kBytes - 11; ++i) expected += bytes[i];
    if (part == nullptr) return kGuestBuffer;
    MmBuildMdlForNonPagedPool(part);
    uint64_t request = 0xE;
    uint64_t sum = 0;
    UINT32 sum_size = sizeof sum;
    LARGE_INTEGER timeout = relative(kProcessDeadline);
    const NTSTATUS status = VmbChannelSendSynchronousRequest(
        channel, &request, sizeof request, part, VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION,
        &sum, &sum_size, &timeout);
    if (status != STATUS_SUCCESS || sum_size != sizeof sum || sum != expected) {
      result = kGuestExternal;
    }
    IoFreeMdl(part);
    VmbKitFreeGuestBuffer(bus, buffer, mdl);
  }
  VmbChannelDisable(channel);
  VmbChannelCleanup(channel);
  VmbKitBusClose(bus);
  return result;
}

class KmclProcessTest : public ::testing::Test {
 protected:
  bus::testing::SocketDirectory directory_;
};

TEST_F(KmclProcessTest, EntryPointsCheckTheirArguments) {
  PDEVICE_OBJECT bus = nullptr;
  EXPECT_EQ(VmbKitBusListen(nullptr, &bus), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbKitBusListen("", &bus), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbKitBusListen(directory_.socket_path().c_str(), nullptr), STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbKitBusConnect(nullptr, &bus), STATUS_INVALID_PARAMETER_1);
  EXPECT_EQ(VmbKitBusConnect(directory_.socket_path().c_str(), nullptr),
            STATUS_INVALID_PARAMETER_2);
  EXPECT_EQ(VmbKitBusListen("no-directory-part.sock", &bus), STATUS_INVALID_PARAMETER);
  // Nobody listens yet.
  EXPECT_EQ(VmbKitBusConnect(directory_.socket_path().c_str(), &bus), STATUS_CONNECTION_REFUSED);
  EXPECT_EQ(bus, nullptr);
}

TEST_F(KmclProcessTest, AHostBusHasNoGuestMemoryAndNoClientChannels) {
  PDEVICE_OBJECT bus = nullptr;
  ASSERT_EQ(VmbKitBusListen(directory_.socket_path().c_str(), &bus), STATUS_SUCCESS);
  PDEVICE_OBJECT second = nullptr;
  EXPECT_EQ(VmbKitBusListen(directory_.socket_path().c_str(), &second),
            STATUS_OBJECT_NAME_COLLISION);
  PVOID buffer = nullptr;
  PMDL mdl = nullptr;
  EXPECT_EQ(VmbKitAllocateGuestBuffer(bus, 4096, &buffer, &mdl), STATUS_INVALID_DEVICE_REQUEST);
  EXPECT_EQ(buffer, nullptr);
  VMBCHANNEL client = nullptr;
  ASSERT_EQ(VmbChannelAllocate(bus, FALSE, &client), STATUS_SUCCESS);
  ASSERT_EQ(VmbClientChannelInitSetTargetPnp(client, &kType, &kInstance, nullptr), STATUS_SUCCESS);
  EXPECT_NE(VmbChannelEnable(client), STATUS_SUCCESS);
  VmbChannelCleanup(client);
  VmbKitBusClose(bus);
}

TEST_F(KmclProcessTest, RequestsWithInBandAndExternalDataCrossTheBoundary) {
  Pipe host_ready;
  ChildProcess guest([&] { return echo_guest(directory_.socket_path(), host_ready, 200); });
  ASSERT_TRUE(guest.started());
  host_ready.close_read();
  PDEVICE_OBJECT bus = nullptr;
  ASSERT_EQ(VmbKitBusListen(directory_.socket_path().c_str(), &bus), STATUS_SUCCESS);
  ServerState state;
  VMBCHANNEL server = offer_server(bus, &state);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(host_ready.put(1));
  EXPECT_EQ(guest.exit_code(), kGuestOk);
  EXPECT_EQ(state.received.load(), 201u);
  stop_server(server, &state);
  EXPECT_EQ(state.opened.load(), 1u);
  EXPECT_EQ(state.closed.load(), 1u);
  VmbKitBusClose(bus);
}

TEST_F(KmclProcessTest, AKilledGuestClosesTheServerChannelWhichServesTheNextGuest) {
  Pipe host_ready;
  Pipe first_ready;
  Pipe received;
  // The first guest sends one request the server holds, then waits to be killed.
  ChildProcess first([&] {
    first_ready.close_read();
    host_ready.close_write();
    if (!host_ready.get()) return int{kGuestHandshake};
    PDEVICE_OBJECT bus = nullptr;
    if (VmbKitBusConnect(directory_.socket_path().c_str(), &bus) != STATUS_SUCCESS) {
      return int{kGuestConnect};
    }
    VMBCHANNEL channel = open_client(bus);
    if (channel == nullptr) return int{kGuestOpen};
    uint64_t request = 1;
    uint64_t reply = 0;
    UINT32 reply_size = sizeof reply;
    LARGE_INTEGER timeout = relative(kProcessDeadline);
    first_ready.put(1);
    VmbChannelSendSynchronousRequest(channel, &request, sizeof request, nullptr,
                                     VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, &reply,
                                     &reply_size, &timeout);
    return int{kGuestRequest};  // never reached before the kill
  });
  Pipe second_host_ready;
  ChildProcess second([&] { return echo_guest(directory_.socket_path(), second_host_ready, 20); });
  ASSERT_TRUE(first.started() && second.started());
  host_ready.close_read();
  first_ready.close_write();
  second_host_ready.close_read();

  PDEVICE_OBJECT bus = nullptr;
  ASSERT_EQ(VmbKitBusListen(directory_.socket_path().c_str(), &bus), STATUS_SUCCESS);
  ServerState state;
  state.hold_requests = true;
  state.received_pipe = &received;
  VMBCHANNEL server = offer_server(bus, &state);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(host_ready.put(1));
  ASSERT_TRUE(first_ready.get());
  ASSERT_TRUE(received.get());  // the server holds the first guest's request
  first.kill9();
  ASSERT_TRUE(first.wait_exit().has_value());
  // The channel closes on the server side once the server completed what it held (completing a
  // packet of a dead guest is safe); the offer is then open to the next guest.
  state.hold_requests = false;
  state.release_held();
  const auto deadline = std::chrono::steady_clock::now() + kProcessDeadline;
  while (state.closed.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(state.closed.load(), 1u);
  ASSERT_TRUE(second_host_ready.put(1));
  EXPECT_EQ(second.exit_code(), kGuestOk);
  stop_server(server, &state);
  EXPECT_EQ(state.opened.load(), 2u);
  VmbKitBusClose(bus);
}

TEST_F(KmclProcessTest, AKilledHostEndsTheGuestsWaitingRequestWithDeviceRemoved) {
  Pipe guest_ready;
  Pipe received;
  // The host is the child: it offers a server that holds every request, until killed.
  ChildProcess host([&] {
    guest_ready.close_write();
    received.close_read();
    PDEVICE_OBJECT bus = nullptr;
    if (VmbKitBusListen(directory_.socket_path().c_str(), &bus) != STATUS_SUCCESS) return 20;
    static ServerState state;
    state.hold_requests = true;
    state.received_pipe = &received;
    if (offer_server(bus, &state) == nullptr) return 21;
    guest_ready.get(std::chrono::milliseconds(60'000));  // until killed, in practice
    return 22;
  });
  ASSERT_TRUE(host.started());
  guest_ready.close_read();
  received.close_write();
  // Connect once the host listens (it has no readiness pipe of its own: retry for a while).
  PDEVICE_OBJECT bus = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + kProcessDeadline;
  NTSTATUS connected = STATUS_UNSUCCESSFUL;
  while ((connected = VmbKitBusConnect(directory_.socket_path().c_str(), &bus)) ==
             STATUS_CONNECTION_REFUSED &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(connected, STATUS_SUCCESS);
  VMBCHANNEL channel = open_client(bus);
  ASSERT_NE(channel, nullptr);
  std::atomic<NTSTATUS> result{STATUS_PENDING};
  std::thread requester([&] {
    uint64_t request = 7;
    uint64_t reply = 0;
    UINT32 reply_size = sizeof reply;
    LARGE_INTEGER timeout = relative(std::chrono::milliseconds(60'000));
    result = VmbChannelSendSynchronousRequest(channel, &request, sizeof request, nullptr,
                                              VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, &reply,
                                              &reply_size, &timeout);
  });
  ASSERT_TRUE(received.get());  // the host holds the request
  host.kill9();
  requester.join();
  EXPECT_EQ(result.load(), STATUS_DEVICE_REMOVED);
  // Later sends fail at once rather than wait.
  uint64_t request = 8;
  UINT32 reply_size = 0;
  LARGE_INTEGER timeout = relative(std::chrono::milliseconds(60'000));
  EXPECT_EQ(VmbChannelSendSynchronousRequest(channel, &request, sizeof request, nullptr,
                                             VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, nullptr,
                                             &reply_size, &timeout),
            STATUS_DEVICE_REMOVED);
  VmbChannelDisable(channel);
  VmbChannelCleanup(channel);
  VmbKitBusClose(bus);
}

}  // namespace
}  // namespace vmb::integration
