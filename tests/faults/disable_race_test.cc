// SPDX-License-Identifier: MIT
// Disable racing traffic (kmcl-api.md §4.1, decisions.md §3): a client disabled while two
// threads send and completion routines run; a server disabled while its process-packet
// callbacks run; a server disabled while its driver completes held packets from another
// thread. Each accepted send ends exactly once (SUCCESS or STATUS_DEVICE_REMOVED), a refused
// send says STATUS_DEVICE_REMOVED, no callback runs after Disable returned, Disable neither
// hangs nor records a failure, and the pair opens again and carries traffic.
#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "loopback_pair.h"

namespace vmb::testing {
namespace {

constexpr int kRounds = 8;

class DisableRace : public LoopbackPairTest {
 protected:
  // Counts callbacks of `driver` that run after `returned` was set; returns each packet to
  // its channel's pool.
  static void watch(VictimDriver& driver, std::atomic<bool>& returned, std::atomic<int>& late) {
    driver.on_completed = [&returned, &late](PacketObject& packet, Status) {
      if (returned.load(std::memory_order_acquire)) late.fetch_add(1, std::memory_order_relaxed);
      packet.channel().free_packet(packet);
    };
  }
  int run_client_disable_rounds();
  size_t run_server_disable_rounds();
};

// The client is disabled while two threads send and completion routines run. Returns the
// failures the client recorded over the rounds.
int DisableRace::run_client_disable_rounds() {
  int failures = 0;
  std::atomic<bool> returned{false};
  std::atomic<int> late{0};
  watch(*client_events, returned, late);
  size_t accepted_total = 0;
  for (int round = 0; round < kRounds; ++round) {
    open_both(static_cast<size_t>(round) + 1);
    if (HasFatalFailure()) return failures;
    returned.store(false, std::memory_order_release);
    std::atomic<int> accepted{0};
    std::atomic<int> refused{0};
    const size_t accepted_before = accepted_total;
    std::vector<std::thread> senders;
    for (int t = 0; t < 2; ++t) {
      senders.emplace_back([&] {
        for (int i = 0; i < 100'000; ++i) {
          // At most ~128 packets in flight per sender; Disable retires them all, so this
          // cannot wait for ever.
          while (static_cast<size_t>(accepted.load(std::memory_order_relaxed)) >
                 client_events->completions() - accepted_before + 256) {
            std::this_thread::yield();
          }
          PacketObject* packet = client->allocate_packet();
          if (packet == nullptr) return;
          EXPECT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
          const Status status =
              client->send(*packet, pattern_bytes(40), {}, kSendWaitForCompletion);
          if (status != STATUS_SUCCESS) {
            EXPECT_EQ(status, STATUS_DEVICE_REMOVED);
            refused.fetch_add(1, std::memory_order_relaxed);
            return;
          }
          accepted.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    EXPECT_TRUE(client_events->wait_for_completions(accepted_total + 50));
    auto disabled = std::async(std::launch::async, [&] { client->disable(); });
    EXPECT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready) << "round " << round;
    returned.store(true, std::memory_order_release);
    for (std::thread& sender : senders) sender.join();
    accepted_total += static_cast<size_t>(accepted.load());
    // Each accepted send ended exactly once, before Disable returned.
    EXPECT_EQ(client_events->completions(), accepted_total) << "round " << round;
    EXPECT_EQ(late.load(), 0) << "completion routines ran after Disable returned";
    EXPECT_EQ(refused.load(), 2);
    std::string reason;
    if (client->failure(&reason) != STATUS_SUCCESS) ++failures;
    EXPECT_EQ(server->failure(&reason), STATUS_SUCCESS) << reason;
    EXPECT_TRUE(server_events->wait_for_event("closed", static_cast<size_t>(round) + 1));
    server->disable();
  }
  EXPECT_EQ(client_events->count(STATUS_SUCCESS) + client_events->count(STATUS_DEVICE_REMOVED),
            accepted_total);
  open_both(kRounds + 1);
  if (!HasFatalFailure()) expect_round_trip();
  return failures;
}

// Regression test (fixed in 93072cc): a dispatch run that had read a completion matched it
// after the close reset the transaction table, and recorded a peer violation ("completion for
// unknown transaction id") during an ordinary Disable.
TEST_F(DisableRace, ClientDisabledWhileSendsAndRoutinesRun) {
  EXPECT_EQ(run_client_disable_rounds(), 0);
}

// The server is disabled while its process-packet callbacks run. Returns the callbacks that
// ran after Disable returned.
size_t DisableRace::run_server_disable_rounds() {
  size_t late = 0;
  for (int round = 0; round < kRounds; ++round) {
    open_both(static_cast<size_t>(round) + 1);
    if (HasFatalFailure()) return late;
    const size_t before = server_events->received_count();
    StoppableThread sender([&](const std::atomic<bool>& stop) {
      for (size_t sent = 0; !stop.load(std::memory_order_relaxed);) {
        if (sent > server_events->received_count() - before + 256) {
          std::this_thread::yield();  // bounded backlog; `stop` ends this wait
          continue;
        }
        PacketObject* packet = client->allocate_packet();
        if (packet == nullptr) return;
        if (client->send(*packet, pattern_bytes(40), {}, 0) != STATUS_SUCCESS) return;
        ++sent;
      }
    });
    EXPECT_TRUE(server_events->wait_for_received(before + 100));
    auto disabled = std::async(std::launch::async, [&] { server->disable(); });
    EXPECT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready) << "round " << round;
    const size_t at_return = server_events->received_count();
    // The client sees its peer close; the sender stops on its first refused send.
    EXPECT_TRUE(client_events->wait_for_event("closed", static_cast<size_t>(round) + 1));
    sender.stop();
    late += server_events->received_count() - at_return;
    std::string reason;
    EXPECT_EQ(client->failure(&reason), STATUS_SUCCESS) << reason;
    EXPECT_EQ(server->failure(&reason), STATUS_SUCCESS) << reason;
    client->disable();
  }
  open_both(kRounds + 1);
  if (!HasFatalFailure()) expect_round_trip();
  return late;
}

// Regression test (the same race, fixed in 93072cc): a packet read before the suspend was
// delivered after it, so process-packet ran after closed() and after Disable returned.
TEST_F(DisableRace, ServerDisabledWhileProcessPacketRuns) {
  EXPECT_EQ(run_server_disable_rounds(), 0u) << "process-packet ran after Disable returned";
}

TEST_F(DisableRace, ServerDisabledWhileItsDriverCompletesHeldPackets) {
  server_events->set_mode(VictimDriver::Mode::kHold);
  for (int round = 0; round < kRounds; ++round) {
    ASSERT_NO_FATAL_FAILURE(open_both(static_cast<size_t>(round) + 1));
    // Requests that want completions, held by the server's driver and completed by a thread
    // of its own while Disable waits for exactly those completions.
    const size_t before = server_events->received_count();
    for (int i = 0; i < 40; ++i) {
      PacketObject* packet = client->allocate_packet();
      ASSERT_NE(packet, nullptr);
      ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
      ASSERT_EQ(client->send(*packet, pattern_bytes(40), {}, kSendWaitForCompletion),
                STATUS_SUCCESS);
    }
    ASSERT_TRUE(server_events->wait_for_received(before + 20)) << "round " << round;
    StoppableThread completer([&](const std::atomic<bool>& stop) {
      while (!stop.load(std::memory_order_relaxed)) {
        for (IncomingPacket* packet : server_events->take_held()) {
          server->complete(*packet, pattern_bytes(16));
        }
        std::this_thread::yield();
      }
    });
    auto disabled = std::async(std::launch::async, [&] { server->disable(); });
    const bool done = disabled.wait_for(kPeerWait) == std::future_status::ready;
    completer.stop();
    ASSERT_TRUE(done) << "round " << round;
    EXPECT_TRUE(server_events->take_held().empty());
    // Every request ended once: completed by the server, or removed when it closed.
    ASSERT_TRUE(client_events->wait_for_completions(40 * (static_cast<size_t>(round) + 1)));
    EXPECT_EQ(client_events->completions(), 40 * (static_cast<size_t>(round) + 1));
    std::string reason;
    EXPECT_EQ(client->failure(&reason), STATUS_SUCCESS) << reason;
    EXPECT_EQ(server->failure(&reason), STATUS_SUCCESS) << reason;
    ASSERT_TRUE(client_events->wait_for_event("closed", static_cast<size_t>(round) + 1));
    client->disable();
  }
  server_events->set_mode(VictimDriver::Mode::kEcho);
  ASSERT_NO_FATAL_FAILURE(open_both(kRounds + 1));
  expect_round_trip();
}

}  // namespace
}  // namespace vmb::testing
