// SPDX-License-Identifier: MIT
// The host process killed (kill -9) while this process, a guest, opens a channel, while it
// creates GPADLs and while it tears one down: every wait of the guest ends (STATUS_DEVICE_REMOVED
// for what was outstanding), Disable returns, nothing hangs.
#include <atomic>
#include <future>

#include "process_kill_fixture.h"

namespace vmb::testing {
namespace {

class HostKill : public ProcessKill {
 protected:
  // A host process with a server channel in `mode`; `ready` gets a byte once it listens and
  // `event` one when its driver reaches the point the test kills it at.
  std::unique_ptr<ChildProcess> fork_host(ServerDriver::Mode mode, bool gate_open, Pipe& ready,
                                          Pipe& event) {
    return std::make_unique<ChildProcess>([&, mode, gate_open] {
      ready.close_read();
      event.close_read();
      start_host(mode, gate_open);
      if (HasFatalFailure()) return 1;
      ready.put(1);
      if (!gate_open) {
        if (!server_driver->wait_opened(1)) return 2;
      } else if (!server_driver->wait_held(3)) {
        return 3;
      }
      event.put(1);
      Pipe forever;
      (void)forever.get(kProcessDeadline);  // killed long before
      return 4;
    });
  }
  void host_killed_while_a_guest_opens(bool then_request);
};

// The host process dies while its server's opened() runs for this process's client.
// `then_request`: the client then makes a synchronous request.
void HostKill::host_killed_while_a_guest_opens(bool then_request) {
  Pipe ready;
  Pipe opening;
  auto host = fork_host(ServerDriver::Mode::kEcho, false, ready, opening);
  ASSERT_TRUE(host->started());
  ready.close_write();
  opening.close_write();
  ASSERT_TRUE(ready.get().has_value());
  auto guest = connect_guest(directory.socket_path());
  ASSERT_NE(guest, nullptr);
  auto driver = std::make_unique<VictimDriver>("client");
  VictimDriver* events = driver.get();
  auto client = Channel::create(*guest, EndpointRole::kClient, std::move(driver));
  ASSERT_TRUE(client->set_target(kVictimType, kVictimInstance).ok());
  ASSERT_TRUE(client->enable().ok());
  ASSERT_TRUE(opening.get().has_value());  // the host's opened() is running
  host->kill9();
  ASSERT_TRUE(host->wait_exit().has_value());
  // The open ends with a PnP failure naming the lost peer.
  EXPECT_TRUE(events->wait_for_event("pnp_failure:STATUS_DEVICE_REMOVED"));
  EXPECT_FALSE(client->is_open());
  if (then_request) {
    std::vector<std::byte> reply(16);
    auto result = std::async(std::launch::async, [&] {
      return client->send_synchronous(pattern_bytes(16), nullptr, kSendWaitForCompletion,
                                      std::span(reply), Deadline::after(3 * kPeerWait));
    });
    ASSERT_EQ(result.wait_for(kPeerWait), std::future_status::ready)
        << "the request waits for its deadline";
    EXPECT_EQ(result.get().status, STATUS_DEVICE_REMOVED);
  }
  auto disabled = std::async(std::launch::async, [&] { client->disable(); });
  EXPECT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready);
}

TEST_F(HostKill, HostKilledWhileAGuestOpens) { host_killed_while_a_guest_opens(false); }

// Once a bug (docs/reliability.md §5): after the host died during the open the client reported
// pnp_failure but stayed Enabled on the dead bus, and a request waited for its deadline (for
// ever without one). The lost bus now Disables every client on it, opening ones included
// (Channel::deliver_bus_lost): the request ends at once with STATUS_DEVICE_REMOVED
// (decisions.md §4).
TEST_F(HostKill, RequestAfterTheHostDiedDuringTheOpenEndsWithDeviceRemoved) {
  host_killed_while_a_guest_opens(true);
}

TEST_F(HostKill, HostKilledWhileAGuestTearsDown) {
  Pipe ready;
  Pipe holding;
  auto host = fork_host(ServerDriver::Mode::kHold, true, ready, holding);
  ASSERT_TRUE(host->started());
  ready.close_write();
  holding.close_write();
  ASSERT_TRUE(ready.get().has_value());
  auto guest = connect_guest(directory.socket_path());
  ASSERT_NE(guest, nullptr);
  VictimDriver* events = nullptr;
  auto client = open_client(*guest, &events);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    PacketObject* packet = client->allocate_packet();
    ASSERT_NE(packet, nullptr);
    ASSERT_TRUE(packet->set_completion(PacketObject::Completion::kDriver, nullptr));
    ASSERT_EQ(client->send(*packet, pattern_bytes(16), {}, kSendWaitForCompletion), STATUS_SUCCESS);
  }
  ASSERT_TRUE(holding.get().has_value());  // the host holds all three
  auto disabled = std::async(std::launch::async, [&] { client->disable(); });
  host->kill9();
  ASSERT_TRUE(host->wait_exit().has_value());
  ASSERT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready);
  EXPECT_TRUE(events->wait_for_status(STATUS_DEVICE_REMOVED, 3));
  EXPECT_EQ(events->completions(), 3u);
}

TEST_F(HostKill, HostKilledWhileAGuestCreatesGpadls) {
  Pipe ready;
  Pipe unused;
  auto host = fork_host(ServerDriver::Mode::kEcho, true, ready, unused);
  ASSERT_TRUE(host->started());
  ready.close_write();
  unused.close_write();
  ASSERT_TRUE(ready.get().has_value());
  auto guest = connect_guest(directory.socket_path());
  ASSERT_NE(guest, nullptr);
  VictimDriver* events = nullptr;
  auto client = open_client(*guest, &events);
  ASSERT_NE(client, nullptr);
  Result<GuestBuffer> buffer = guest->memory().allocate_pages(64);
  ASSERT_TRUE(buffer);
  std::atomic<uint64_t> created{0};
  // Creates and deletes 64-page GPADLs until one fails; returns that failure.
  auto loop = std::async(std::launch::async, [&]() -> Status {
    for (;;) {
      const Result<uint32_t> handle =
          client->create_gpadl(buffer->address, 64 * wire::kPageSize, false);
      if (!handle) return handle.status();
      client->delete_gpadl(*handle);
      created.fetch_add(1, std::memory_order_relaxed);
    }
  });
  ASSERT_TRUE(eventually([&] { return created.load(std::memory_order_relaxed) >= 3; }));
  host->kill9();
  ASSERT_TRUE(host->wait_exit().has_value());
  // The GPADL in flight ends (its request times out at the latest) with a failure status.
  ASSERT_EQ(loop.wait_for(kProcessDeadline + kPeerWait), std::future_status::ready);
  const Status failed = loop.get();
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(events->wait_for_event("closed"));
  auto disabled = std::async(std::launch::async, [&] { client->disable(); });
  EXPECT_EQ(disabled.wait_for(kPeerWait), std::future_status::ready);
  EXPECT_TRUE(guest->memory().free(buffer->address).ok());
}

}  // namespace
}  // namespace vmb::testing
