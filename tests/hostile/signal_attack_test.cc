// SPDX-License-Identifier: MIT
// Attacks through signals (wire-format.md §3.3): storms of interrupts during traffic, after
// the victim failed and while it closes; and the other direction: the victim must signal the
// peer only when rule A (empty to non-empty, interrupts unmasked) or rule B (the peer's
// pending-send-size crossed) says so, whatever the peer does.
#include <atomic>
#include <thread>
#include <vector>

#include "hostile_fixture.h"

namespace vmb::testing {
namespace {

using SignalAttack = HostileChannelTest;

// Runs `threads` threads that signal the victim until stopped (at most `limit` each).
class SignalStorm {
 public:
  SignalStorm(HostilePeer& peer, int threads, uint64_t limit) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, &peer, limit] {
        for (uint64_t n = 0; n < limit && !stop_.load(std::memory_order_relaxed); ++n) {
          peer.signal_victim();
          sent_.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
  }
  ~SignalStorm() { stop(); }
  SignalStorm(const SignalStorm&) = delete;
  SignalStorm& operator=(const SignalStorm&) = delete;
  uint64_t stop() {
    stop_.store(true, std::memory_order_relaxed);
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    return sent_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::vector<std::thread> threads_;
};

TEST_P(SignalAttack, StormDuringTraffic) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  SignalStorm storm(*peer, 2, 1'000'000);
  for (int i = 0; i < 300; ++i) {
    const std::vector<std::byte> request = pattern_bytes(40, static_cast<uint8_t>(i));
    const uint64_t id = 100 + static_cast<uint64_t>(i);
    ASSERT_EQ(peer->send_inband(request, id, true), STATUS_SUCCESS);
    std::vector<std::byte> reply;
    ASSERT_TRUE(receive_completion(id, &reply)) << "request " << i;
    ASSERT_EQ(reply, request);
  }
  EXPECT_GT(storm.stop(), 0u);
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  EXPECT_EQ(victim_driver->received().size(), 300u);  // each delivered exactly once
  expect_bystanders_work();
}

TEST_P(SignalAttack, StormAfterFailure) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  ASSERT_EQ(peer->complete(0xbad, {}), STATUS_SUCCESS);
  expect_contained("completion for unknown transaction id 0xbad");
  // The victim closed its side: the peer's signals no longer reach it.
  SignalStorm storm(*peer, 2, 200'000);
  const std::vector<std::byte> data = pattern_bytes(24);
  EXPECT_EQ(peer->send_inband(data, 0, false), STATUS_SUCCESS);
  storm.stop();
  EXPECT_TRUE(victim_driver->received().empty());
  expect_bystanders_work();
}

TEST_P(SignalAttack, StormWhileTheVictimCloses) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(3);
  {
    SignalStorm storm(*peer, 2, 5'000'000);
    // A stream the victim keeps draining while it is disabled underneath the storm.
    for (int i = 0; i < 50; ++i) {
      (void)peer->send_inband(pattern_bytes(32), 0, false);
    }
    victim->disable();
    EXPECT_TRUE(victim->is_disabled());
    storm.stop();
  }
  EXPECT_TRUE(peer->victim_closed());
  // Disable, not a failure: the outstanding requests end as removed all the same.
  EXPECT_TRUE(victim_driver->wait_for_status(STATUS_DEVICE_REMOVED, outstanding));
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
  expect_bystanders_work();
}

TEST_P(SignalAttack, VictimSignalsOnlyWhenTheRingTurnsNonEmpty) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  const uint64_t before = peer->signals_from_victim();
  // The peer reads nothing: the first packet makes the ring non-empty, the rest do not.
  for (int i = 0; i < 40; ++i) {
    PacketObject* packet = victim->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_EQ(victim->send(*packet, pattern_bytes(64), {}, 0), STATUS_SUCCESS);
  }
  EXPECT_EQ(peer->signals_from_victim(), before + 1);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(peer->receive(kPeerWait).has_value());
  EXPECT_FALSE(peer->receive(std::chrono::milliseconds(0)).has_value());  // publish the reads
  PacketObject* packet = victim->allocate_packet();
  ASSERT_NE(packet, nullptr);
  ASSERT_EQ(victim->send(*packet, pattern_bytes(64), {}, 0), STATUS_SUCCESS);
  EXPECT_EQ(peer->signals_from_victim(), before + 2);
}

TEST_P(SignalAttack, VictimSignalsOnceWhenPendingSendSizeIsCrossed) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  // Fill most of the ring without signalling; packets want no completion, so the victim
  // writes nothing back and every signal it sends is a rule-B signal.
  const std::vector<std::byte> data = pattern_bytes(1000);
  wire::PacketSpec spec;
  spec.payload = data;
  int queued = 0;
  while (peer->send_quietly(spec) == STATUS_SUCCESS) ++queued;
  ASSERT_GT(queued, 10);
  const uint64_t before = peer->signals_from_victim();
  // The peer waits for room for one more packet plus a bit: crossed exactly once.
  peer->to_victim().store(wire::kPendingSendSizeOffset, 4096);
  peer->signal_victim();
  ASSERT_TRUE(victim_driver->wait_for_received(static_cast<size_t>(queued)));
  ASSERT_TRUE(peer->wait_for_signal(before, kPeerWait));
  // Once more to be sure the drain finished: the victim answers a request.
  peer->to_victim().store(wire::kPendingSendSizeOffset, 0);
  expect_victim_still_works();
  // One rule-B signal, one rule-A signal for the completion of that request.
  EXPECT_EQ(peer->signals_from_victim(), before + 2);
}

INSTANTIATE_TEST_SUITE_P(Roles, SignalAttack,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);

}  // namespace
}  // namespace vmb::testing
