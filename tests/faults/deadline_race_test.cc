// SPDX-License-Identifier: MIT
// Deadlines racing completions (decisions.md §4, §6): synchronous requests whose deadlines
// expire around the moment the peer's completion arrives, with the completion sent from the
// peer's dispatch context or from another thread at arbitrary moments. Every request ends
// SUCCESS (with its own reply) or STATUS_CANCELLED, a completion that loses the race is
// dropped silently (no channel failure), and the channel keeps working. Outcomes of a single
// request depend on timing; the assertions do not.
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "loopback_pair.h"

namespace vmb::testing {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kRequests = 600;  // sanitizers run several times slower
#else
constexpr int kRequests = 3000;
#endif

struct Tally {
  int succeeded = 0;
  int cancelled = 0;
  int other = 0;
  int wrong_reply = 0;
};

// Runs kRequests synchronous requests with random short deadlines (every tenth generous, so
// some always succeed) and checks each reply against its request.
Tally run_requests(Channel& client, uint32_t seed) {
  std::mt19937 random(seed);
  Tally tally;
  for (int i = 0; i < kRequests; ++i) {
    std::vector<std::byte> request(64);
    const uint64_t tag = (uint64_t{seed} << 32) | static_cast<uint32_t>(i);
    std::memcpy(request.data(), &tag, sizeof tag);
    std::vector<std::byte> reply(64);
    const auto wait = i % 10 == 0 ? std::chrono::microseconds(kPeerWait)
                                  : std::chrono::microseconds(random() % 400);
    const SyncRequestResult result =
        client.send_synchronous(request, nullptr, kSendWaitForCompletion,
                                std::span<std::byte>(reply), Deadline::after(wait));
    if (result.status == STATUS_SUCCESS) {
      ++tally.succeeded;
      if (reply != request) ++tally.wrong_reply;
    } else if (result.status == STATUS_CANCELLED) {
      ++tally.cancelled;
    } else {
      ++tally.other;
    }
  }
  return tally;
}

class DeadlineRace : public LoopbackPairTest {};

// These ping-pong tests stalled within seconds on the channel core's lost wake-up (fixed in
// bf64300; lost_wakeup_test.cc is its focused regression test).
TEST_F(DeadlineRace, DeadlinesRaceCompletionsFromTheDispatchContext) {
  ASSERT_NO_FATAL_FAILURE(open_both());
  const Tally tally = run_requests(*client, 1);
  EXPECT_EQ(tally.other, 0);
  EXPECT_EQ(tally.wrong_reply, 0);
  EXPECT_GE(tally.succeeded, kRequests / 10);
  EXPECT_EQ(tally.succeeded + tally.cancelled, kRequests);
  std::string reason;
  EXPECT_EQ(client->failure(&reason), STATUS_SUCCESS) << reason;
  EXPECT_EQ(server->failure(&reason), STATUS_SUCCESS) << reason;
  // Every request reached the server (none was queued: the ring never filled).
  EXPECT_TRUE(server_events->wait_for_received(kRequests));
  expect_round_trip();
}

TEST_F(DeadlineRace, DeadlinesRaceCompletionsFromAnotherThread) {
  server_events->set_mode(VictimDriver::Mode::kHold);
  ASSERT_NO_FATAL_FAILURE(open_both());
  StoppableThread completer([&](const std::atomic<bool>& stop) {
    std::mt19937 random(7);
    while (!stop.load(std::memory_order_relaxed)) {
      for (IncomingPacket* packet : server_events->take_held()) {
        for (auto spin = random() % 50; spin != 0; --spin) std::this_thread::yield();
        server->complete(*packet, packet->payload());
      }
    }
    for (IncomingPacket* packet : server_events->take_held()) {
      server->complete(*packet, packet->payload());
    }
  });
  const Tally first = run_requests(*client, 2);
  const Tally second = run_requests(*client, 3);
  // Echo from here on (no packet is held any more), then complete what is still held: a
  // held packet counts against the server's transaction quota.
  server_events->set_mode(VictimDriver::Mode::kEcho);
  completer.stop();
  for (const Tally& tally : {first, second}) {
    EXPECT_EQ(tally.other, 0);
    EXPECT_EQ(tally.wrong_reply, 0);
    EXPECT_EQ(tally.succeeded + tally.cancelled, kRequests);
  }
  std::string reason;
  EXPECT_EQ(client->failure(&reason), STATUS_SUCCESS) << reason;
  EXPECT_EQ(server->failure(&reason), STATUS_SUCCESS) << reason;
  expect_round_trip();
}

TEST_F(DeadlineRace, AsynchronousSendsAndSynchronousDeadlinesInterleave) {
  ASSERT_NO_FATAL_FAILURE(open_both());
  // A second thread keeps asynchronous requests in flight while deadlines expire.
  std::atomic<int> accepted{0};
  StoppableThread sender([&](const std::atomic<bool>& stop) {
    while (!stop.load(std::memory_order_relaxed)) {
      PacketObject* packet = client->allocate_packet();
      if (packet == nullptr) break;
      if (!packet->set_completion(PacketObject::Completion::kDriver, nullptr)) break;
      if (client->send(*packet, pattern_bytes(48), {}, kSendWaitForCompletion) != STATUS_SUCCESS) {
        break;
      }
      accepted.fetch_add(1, std::memory_order_relaxed);
      // Bound the packets in flight (each is a pooled object until its routine ran).
      while (static_cast<int>(client_events->completions()) + 64 <
                 accepted.load(std::memory_order_relaxed) &&
             !stop.load(std::memory_order_relaxed)) {
        std::this_thread::yield();
      }
    }
  });
  const Tally tally = run_requests(*client, 4);
  sender.stop();
  EXPECT_EQ(tally.other, 0);
  EXPECT_EQ(tally.wrong_reply, 0);
  EXPECT_EQ(tally.succeeded + tally.cancelled, kRequests);
  ASSERT_TRUE(client_events->wait_for_completions(static_cast<size_t>(accepted.load())));
  EXPECT_EQ(client_events->count(STATUS_SUCCESS), static_cast<size_t>(accepted.load()));
  std::string reason;
  EXPECT_EQ(client->failure(&reason), STATUS_SUCCESS) << reason;
  expect_round_trip();
}

}  // namespace
}  // namespace vmb::testing
