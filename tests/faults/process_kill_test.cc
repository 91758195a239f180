// SPDX-License-Identifier: MIT
// Guest processes killed (kill -9) at each phase of a channel between processes; the
// multi-process tests of tests/integration cover a kill in the middle of a transfer: while the
// open is in flight, while the server has the guest's GPADL mapped, while the guest creates
// and deletes multi-message GPADLs, while the guest tears its channel down. The host must keep
// memory it mapped readable until it lets go, record no failure, and serve the next guest. Every
// wait is bounded.
#include "process_kill_fixture.h"

namespace vmb::testing {

// A guest maps a 4-page GPADL to the server, which maps it; the guest is killed with the
// mapping held. `use_mapping_after_death`: the server then reads the mapped pages before it
// unmaps them (the mapping is the server's until unmap_gpadl, channel_bus.h).
void ProcessKill::gpadl_mapped_when_the_guest_dies(bool use_mapping_after_death) {
  ASSERT_NO_FATAL_FAILURE(fork_next_guest());
  Pipe mapped;  // guest → host: the server answered, so the GPADL is mapped
  GatedChild doomed([&] {
    mapped.close_read();
    auto guest = connect_guest(directory.socket_path());
    if (!guest) return 2;
    VictimDriver* events = nullptr;
    auto client = open_client(*guest, &events);
    if (!client) return 3;
    Result<GuestBuffer> buffer = guest->memory().allocate_pages(4);
    if (!buffer) return 4;
    const std::vector<std::byte> pattern = pattern_bytes(4 * wire::kPageSize, 0x3c);
    std::memcpy(buffer->address, pattern.data(), pattern.size());
    const Result<uint32_t> handle =
        client->create_gpadl(buffer->address, 4 * wire::kPageSize, true);
    if (!handle) return 5;
    std::array<std::byte, 8> request{};
    std::memcpy(request.data(), &*handle, sizeof *handle);
    const SyncRequestResult result = client->send_synchronous(
        request, nullptr, kSendWaitForCompletion, std::nullopt, Deadline::after(kPeerWait));
    if (!result.status.ok()) return 6;
    mapped.put(1);
    Pipe forever;
    (void)forever.get(kProcessDeadline);  // killed long before
    return 7;
  });
  ASSERT_TRUE(doomed.started());
  mapped.close_write();
  ASSERT_NO_FATAL_FAILURE(start_host(ServerDriver::Mode::kMapGpadl));
  doomed.release();
  ASSERT_TRUE(mapped.get().has_value());
  ASSERT_TRUE(server_driver->wait_mapped());
  doomed.kill9();
  ASSERT_TRUE(doomed.wait_exit().has_value());
  EXPECT_TRUE(server_driver->wait_closed(1));
  if (use_mapping_after_death) {
    // The guest is gone, the mapping is still the server's: its pages stay readable (the host
    // holds the guest's memory) until the server lets go of it.
    read_mapping(server_driver->mapped());
  }
  server->unmap_gpadl(server_driver->mapped_handle());
  expect_next_guest_served();
}

void ProcessKill::read_mapping(PMDL mdl) {
  const std::vector<std::byte> pattern = pattern_bytes(4 * wire::kPageSize, 0x3c);
  size_t offset = 0;
  for (PMDL at = mdl; at != nullptr; at = at->Next) {
    const auto* bytes = static_cast<const std::byte*>(
        MmGetSystemAddressForMdlSafe(at, NormalPagePriority | MdlMappingNoWrite));
    ASSERT_NE(bytes, nullptr);
    const ULONG count = MmGetMdlByteCount(at);
    ASSERT_LE(offset + count, pattern.size());
    EXPECT_EQ(std::memcmp(bytes, pattern.data() + offset, count), 0);
    offset += count;
  }
  EXPECT_EQ(offset, pattern.size());
}

namespace {

TEST_F(ProcessKill, GuestKilledWhileItsOpenIsInFlight) {
  ASSERT_NO_FATAL_FAILURE(fork_next_guest());
  GatedChild doomed([&] {
    auto guest = connect_guest(directory.socket_path());
    if (!guest) return 2;
    auto client = Channel::create(*guest, EndpointRole::kClient, nullptr);
    if (!client->set_target(kVictimType, kVictimInstance).ok() || !client->enable().ok()) return 3;
    Pipe forever;
    (void)forever.get(kProcessDeadline);  // killed long before
    return 4;
  });
  ASSERT_TRUE(doomed.started());
  ASSERT_NO_FATAL_FAILURE(start_host(ServerDriver::Mode::kEcho, false));
  doomed.release();
  // The server's opened() runs and is held: the guest dies with its open in flight.
  ASSERT_TRUE(server_driver->wait_opened(1));
  doomed.kill9();
  ASSERT_TRUE(doomed.wait_exit().has_value());
  server_driver->open_gate();
  EXPECT_TRUE(server_driver->wait_closed(1));
  expect_next_guest_served();
}

TEST_F(ProcessKill, GuestKilledWhileTheServerHasItsGpadlMapped) {
  gpadl_mapped_when_the_guest_dies(false);
}

// Once a bug (docs/reliability.md §5): the guest's death freed the MDL chains map_gpadl had
// handed to the server (heap-use-after-free under ASan). The mapping is the server's until
// unmap_gpadl (ChannelBus::map_gpadl), even after its closed().
TEST_F(ProcessKill, GpadlMappingStaysValidUntilUnmapAfterTheGuestDies) {
  gpadl_mapped_when_the_guest_dies(true);
}

TEST_F(ProcessKill, GuestKilledWhileItTearsDown) {
  ASSERT_NO_FATAL_FAILURE(fork_next_guest());
  Pipe held;     // host → guest: the server holds all five (else the close could come first)
  Pipe closing;  // guest → host: about to disable with requests outstanding
  GatedChild doomed([&] {
    held.close_write();
    closing.close_read();
    auto guest = connect_guest(directory.socket_path());
    if (!guest) return 2;
    VictimDriver* events = nullptr;
    auto client = open_client(*guest, &events);
    if (!client) return 3;
    for (int i = 0; i < 5; ++i) {
      PacketObject* packet = client->allocate_packet();
      if (packet == nullptr ||
          !client->send(*packet, pattern_bytes(16), {}, kSendWaitForCompletion).ok()) {
        return 4;
      }
    }
    if (!held.get()) return 5;
    closing.put(1);
    client->disable();  // the server holds the requests: the teardown waits for the host
    Pipe forever;
    (void)forever.get(kProcessDeadline);
    return 6;
  });
  ASSERT_TRUE(doomed.started());
  held.close_read();
  closing.close_write();
  ASSERT_NO_FATAL_FAILURE(start_host(ServerDriver::Mode::kHold));
  doomed.release();
  ASSERT_TRUE(server_driver->wait_held(5));
  held.put(1);
  ASSERT_TRUE(closing.get().has_value());
  doomed.kill9();
  ASSERT_TRUE(doomed.wait_exit().has_value());
  // The close waits for the server's driver to complete what it holds; nobody is there to
  // receive the completions, and completing must still be safe.
  server_driver->set_mode(ServerDriver::Mode::kEcho);
  for (IncomingPacket* packet : server_driver->take_held()) server->complete(*packet, {});
  EXPECT_TRUE(server_driver->wait_closed(1));
  expect_next_guest_served();
}

TEST_F(ProcessKill, GuestKilledWhileCreatingGpadls) {
  ASSERT_NO_FATAL_FAILURE(fork_next_guest());
  Pipe looping;  // guest → host: the first GPADL went through; more follow without pause
  GatedChild doomed([&] {
    looping.close_read();
    auto guest = connect_guest(directory.socket_path());
    if (!guest) return 2;
    VictimDriver* events = nullptr;
    auto client = open_client(*guest, &events);
    if (!client) return 3;
    // 64 pages: a GPADL_HEADER and several GPADL_BODY messages each time, so the kill lands
    // in the middle of one (or between a create and its delete) at some point.
    Result<GuestBuffer> buffer = guest->memory().allocate_pages(64);
    if (!buffer) return 4;
    for (uint64_t i = 0;; ++i) {
      const Result<uint32_t> handle =
          client->create_gpadl(buffer->address, 64 * wire::kPageSize, false);
      if (!handle) return 5;
      client->delete_gpadl(*handle);
      if (i == 0) looping.put(1);
    }
  });
  ASSERT_TRUE(doomed.started());
  looping.close_write();
  ASSERT_NO_FATAL_FAILURE(start_host(ServerDriver::Mode::kEcho));
  doomed.release();
  ASSERT_TRUE(looping.get().has_value());
  doomed.kill9();
  ASSERT_TRUE(doomed.wait_exit().has_value());
  EXPECT_TRUE(server_driver->wait_closed(1));
  expect_next_guest_served();
}

}  // namespace
}  // namespace vmb::testing
