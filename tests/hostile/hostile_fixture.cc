// SPDX-License-Identifier: MIT
// HostileChannelFixture (see hostile_fixture.h): setting up the victim, its peer and the
// bystanders, and the checks every attack ends with.
#include "hostile_fixture.h"

#include "vmbkit/channel/log_sink.h"

#include <algorithm>
#include <mutex>
#include <thread>

namespace vmb::testing {

std::vector<std::byte> pattern_bytes(size_t n, uint8_t seed) {
  std::vector<std::byte> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>((i * 7 + seed) & 0xff);
  return bytes;
}

namespace {

// The library's log during one test: kept, not printed (every attack logs its failure).
struct LogCapture {
  std::mutex mutex;
  std::vector<std::string> messages;
  static void sink(void* context, LogLevel /*level*/, const char* message) {
    auto* capture = static_cast<LogCapture*>(context);
    const std::lock_guard lock(capture->mutex);
    capture->messages.emplace_back(message);
  }
};

LogCapture& log_capture() {
  static LogCapture capture;
  return capture;
}

}  // namespace

bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kPeerWait;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

RecordedFailure recorded_failure(Channel& channel) {
  RecordedFailure failure;
  char description[256] = {};
  // A VMBCHANNEL is the channel object's address (the KMCL shim's handle_of).
  const NTSTATUS status = VmbKitChannelGetFailureReason(
      reinterpret_cast<VMBCHANNEL>(&channel), &failure.status, description, sizeof description);
  EXPECT_EQ(status, STATUS_SUCCESS);
  failure.description = description;
  return failure;
}

std::string role_name(const ::testing::TestParamInfo<EndpointRole>& info) {
  return info.param == EndpointRole::kServer ? "VictimServer" : "VictimClient";
}

void HostileChannelFixture::set_up(EndpointRole role, HostileBus::Attack attack) {
  {
    const std::lock_guard lock(log_capture().mutex);
    log_capture().messages.clear();
  }
  set_log_sink(&LogCapture::sink, &log_capture(), LogLevel::kWarning);
  auto created = HostileBus::create(HostileBus::Options{2048, 2, 2});
  ASSERT_TRUE(created);
  bus = std::move(*created);
  auto driver = std::make_unique<VictimDriver>("victim");
  victim_driver = driver.get();
  victim = Channel::create(*bus, role, std::move(driver));
  if (role == EndpointRole::kServer) {
    ASSERT_TRUE(victim->set_offer(kVictimType, kVictimInstance).ok());
  } else {
    ASSERT_TRUE(victim->set_target(kVictimType, std::nullopt).ok());
    ASSERT_TRUE(victim->set_ring_page_counts(8, 8).ok());
  }
  bus->attack(*victim, std::move(attack));

  auto server_driver = std::make_unique<VictimDriver>("bystander-server");
  auto client_driver = std::make_unique<VictimDriver>("bystander-client");
  VictimDriver* server_events = server_driver.get();
  VictimDriver* client_events = client_driver.get();
  bystander_server = Channel::create(*bus, EndpointRole::kServer, std::move(server_driver));
  bystander_client = Channel::create(*bus, EndpointRole::kClient, std::move(client_driver));
  ASSERT_TRUE(bystander_server->set_offer(kBystanderType, kBystanderInstance).ok());
  ASSERT_TRUE(bystander_client->set_target(kBystanderType, std::nullopt).ok());
  ASSERT_TRUE(bystander_server->enable().ok());
  bystander_server->start();
  ASSERT_TRUE(bystander_client->enable().ok());
  ASSERT_TRUE(server_events->wait_for_event("post_started"));
  ASSERT_TRUE(client_events->wait_for_event("post_started"));

  Result<GuestBuffer> canary = bus->memory().allocate_pages(4);
  ASSERT_TRUE(canary);
  canary_ = *canary;
  std::memset(canary_.address, 0xa5, canary_.size);
}

void HostileChannelFixture::TearDown() {
  // A test that failed half-way may leave packets held: Disable would wait for them.
  if (victim_driver != nullptr && victim) {
    victim_driver->set_mode(VictimDriver::Mode::kEcho);
    for (IncomingPacket* packet : victim_driver->take_held()) victim->complete(*packet, {});
  }
  peer.reset();
  victim.reset();
  bystander_client.reset();
  bystander_server.reset();
  if (canary_.address != nullptr) {
    // Nothing the victim did wrote into guest memory outside its rings.
    const bool intact = std::all_of(canary_.address, canary_.address + canary_.size,
                                    [](std::byte b) { return b == std::byte{0xa5}; });
    EXPECT_TRUE(intact) << "guest memory outside the rings was written";
    EXPECT_TRUE(bus->memory().free(canary_.address).ok());
  }
  bus.reset();
  set_log_sink(nullptr, nullptr, LogLevel::kWarning);
}

size_t HostileChannelFixture::logged(const std::string& text) {
  const std::lock_guard lock(log_capture().mutex);
  size_t count = 0;
  for (const std::string& message : log_capture().messages) {
    count += message.find(text) != std::string::npos ? 1 : 0;
  }
  return count;
}

void HostileChannelFixture::open_victim() {
  ASSERT_TRUE(victim->enable().ok());
  if (victim->is_server()) victim->start();
  peer = bus->wait_for_peer(*victim, kPeerWait);
  ASSERT_NE(peer, nullptr);
  ASSERT_TRUE(victim_driver->wait_for_event("post_started"));
  if (victim->is_server()) {
    const std::optional<Status> reply = peer->wait_for_open_reply(kPeerWait);
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(*reply, STATUS_SUCCESS);
  }
}

void HostileChannelFixture::open_victim_expecting_refusal() {
  ASSERT_TRUE(victim->enable().ok());
  if (victim->is_server()) victim->start();
  peer = bus->wait_for_peer(*victim, kPeerWait);
  ASSERT_NE(peer, nullptr);
}

std::vector<uint64_t> HostileChannelFixture::send_outstanding(size_t count) {
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < count; ++i) {
    PacketObject* packet = victim->allocate_packet();
    EXPECT_NE(packet, nullptr);
    if (packet == nullptr) return ids;
    EXPECT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    const std::vector<std::byte> payload = pattern_bytes(24, static_cast<uint8_t>(i));
    EXPECT_EQ(victim->send(*packet, payload, {}, kSendWaitForCompletion), STATUS_SUCCESS);
  }
  for (size_t i = 0; i < count; ++i) {
    const std::optional<ReceivedPacket> packet = peer->receive(kPeerWait);
    EXPECT_TRUE(packet.has_value());
    if (!packet) return ids;
    EXPECT_TRUE(packet->completion_requested());
    ids.push_back(packet->transaction_id);
  }
  outstanding += count;
  return ids;
}

void HostileChannelFixture::expect_failed_with(const std::string& reason) {
  // A failed open channel closes its connection: that is the peer's cue.
  ASSERT_TRUE(peer->wait_for_victim_close(kPeerWait)) << "the victim did not fail";
  const RecordedFailure failure = recorded_failure(*victim);
  EXPECT_EQ(failure.status, STATUS_DATA_ERROR);
  EXPECT_NE(failure.description.find(reason), std::string::npos)
      << "recorded: \"" << failure.description << "\", expected to contain \"" << reason << "\"";
  // Logged once (decisions.md §7), by the victim only.
  EXPECT_EQ(logged("channel failed: "), 1u);
  EXPECT_EQ(logged("channel failed: " + failure.description), 1u);
}

void HostileChannelFixture::expect_outstanding_removed() {
  EXPECT_TRUE(victim_driver->wait_for_status(STATUS_DEVICE_REMOVED, outstanding));
  EXPECT_EQ(victim_driver->count(STATUS_DEVICE_REMOVED), outstanding);
  EXPECT_EQ(victim_driver->count(STATUS_SUCCESS), succeeded);
  EXPECT_EQ(victim_driver->completions(), outstanding + succeeded);
  PacketObject* packet = victim->allocate_packet();
  ASSERT_NE(packet, nullptr);
  const std::vector<std::byte> payload = pattern_bytes(16);
  EXPECT_EQ(victim->send(*packet, payload, {}, 0), STATUS_DEVICE_REMOVED);
  victim->free_packet(*packet);
}

void HostileChannelFixture::expect_bystanders_work() {
  const std::vector<std::byte> request = pattern_bytes(40, 11);
  std::vector<std::byte> reply(40);
  const SyncRequestResult result =
      bystander_client->send_synchronous(request, nullptr, kSendWaitForCompletion,
                                         std::span<std::byte>(reply), Deadline::after(kPeerWait));
  EXPECT_EQ(result.status, STATUS_SUCCESS);
  EXPECT_EQ(result.completion_bytes, 40u);
  EXPECT_EQ(reply, request);
  std::string reason;
  EXPECT_EQ(bystander_client->failure(&reason), STATUS_SUCCESS) << reason;
  EXPECT_EQ(bystander_server->failure(&reason), STATUS_SUCCESS) << reason;
}

void HostileChannelFixture::expect_victim_still_works() {
  const std::vector<std::byte> request = pattern_bytes(32, 5);
  constexpr uint64_t kId = 0x5eed;
  ASSERT_EQ(peer->send_inband(request, kId, true), STATUS_SUCCESS);
  std::vector<std::byte> reply;
  ASSERT_TRUE(receive_completion(kId, &reply));
  EXPECT_EQ(reply, request);
  const RecordedFailure failure = recorded_failure(*victim);
  EXPECT_EQ(failure.status, STATUS_SUCCESS) << failure.description;
}

bool HostileChannelFixture::receive_completion(uint64_t id, std::vector<std::byte>* payload) {
  for (int i = 0; i < 100'000; ++i) {
    std::optional<ReceivedPacket> packet = peer->receive(kPeerWait);
    if (!packet) return false;
    if (packet->type == wire::PacketType::kCompletion && packet->transaction_id == id) {
      if (payload != nullptr) *payload = std::move(packet->payload);
      return true;
    }
  }
  return false;
}

}  // namespace vmb::testing
