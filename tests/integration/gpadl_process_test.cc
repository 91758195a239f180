// SPDX-License-Identifier: MIT
// GPADL teardown between processes: a guest's DeleteGpadl returns (GPADL_TORNDOWN arrives)
// only after the host's server unmapped the GPADL (kmcl-api.md §4.7), whether the guest
// deletes it while its channel is open or tears its channel down with the GPADL still mapped
// (the server then unmaps in closed()). The guest reuses the pages only after that. Children
// report by exit code; every wait is bounded.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <mutex>
#include <thread>

#include "bus/bus_test_support.h"
#include "channel/recording_driver_for_tests.h"
#include "child_process.h"
#include "vmbkit/bus/guest_channel_bus.h"
#include "vmbkit/bus/host_channel_bus.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/mdl.h"

namespace vmb::integration {
namespace {

using vmb::testing::RecordingDriver;

constexpr Guid kType = *Guid::parse("5d0b7c3e-3a51-4c2e-8f6a-0b1c2d3e4f50");
constexpr Guid kInstance = *Guid::parse("6e1c8d4f-4b62-4d3f-9a7b-1c2d3e4f5061");
constexpr uint32_t kPages = 4;

std::unique_ptr<bus::GuestChannelBus> connect_guest(const std::string& path) {
  bus::GuestChannelBus::Options options;
  options.dispatch_threads = 1;
  options.client.memory_pages = 256;
  options.request_timeout = kProcessDeadline;
  auto guest = bus::GuestChannelBus::connect(path, options);
  return guest.has_value() ? std::move(guest.value()) : nullptr;
}

// RecordingDriver with a hook in closed().
class ServerDriver final : public RecordingDriver {
 public:
  ServerDriver() : RecordingDriver("server") {}
  std::function<void(Channel&)> on_closed;
  void closed(Channel& channel) override {
    if (on_closed) on_closed(channel);
    RecordingDriver::closed(channel);
  }
};

// The host: a server channel whose driver maps the GPADL named in each request (a 4-byte
// handle), checks its first byte and answers; the test unmaps it when it chooses (or, with
// `unmap_in_closed`, the driver unmaps in closed(), as KMCL asks).
class GpadlProcessTest : public ::testing::Test {
 protected:
  void start_host(bool unmap_in_closed) {
    bus::HostChannelBus::Options options;
    options.dispatch_threads = 1;
    auto host = bus::HostChannelBus::listen(directory_.socket_path(), options);
    ASSERT_TRUE(host.has_value()) << to_string(host.status());
    host_ = std::move(host.value());
    auto driver = std::make_unique<ServerDriver>();
    events_ = driver.get();
    driver->on_packet = [this](Channel& channel, IncomingPacket& packet,
                               std::span<std::byte> payload) {
      uint32_t handle = 0;
      std::memcpy(&handle, payload.data(), std::min(payload.size(), sizeof handle));
      const Result<PMDL> mdl = channel.map_gpadl(handle, true);
      std::array<std::byte, 8> answer{};
      if (mdl) {
        const auto* bytes = static_cast<const std::byte*>(
            MmGetSystemAddressForMdlSafe(*mdl, NormalPagePriority | MdlMappingNoWrite));
        if (bytes != nullptr) answer[0] = bytes[0];
        const std::lock_guard lock(mutex_);
        mapped_ = handle;
      }
      channel.complete(packet, answer);
    };
    if (unmap_in_closed) {
      driver->on_closed = [this](Channel& channel) {
        unmapped_.put(1);  // before: the guest may look as soon as the unmap is done
        channel.unmap_gpadl(mapped());
      };
    }
    server_ = Channel::create(*host_, EndpointRole::kServer, std::move(driver));
    ASSERT_TRUE(server_->set_offer(kType, kInstance).ok());
    ASSERT_TRUE(server_->enable().ok());
    server_->start();
  }
  void TearDown() override {
    server_.reset();
    host_.reset();
  }
  uint32_t mapped() {
    const std::lock_guard lock(mutex_);
    return mapped_;
  }

  // Guest body: open, create a GPADL over a page filled with `fill`, have the server map it
  // (it answers with the first byte it read), tell `deleting`, then delete the GPADL (or, with
  // `disable_instead`, Disable the channel with the GPADL still created). When that returns,
  // the host must already have said it unmaps (`unmapped` readable at once).
  int guest(bool disable_instead) {
    if (!go_.get()) return 9;
    auto guest_bus = connect_guest(directory_.socket_path());
    if (!guest_bus) return 10;
    auto driver = std::make_unique<RecordingDriver>("client");
    RecordingDriver* events = driver.get();
    auto client = Channel::create(*guest_bus, EndpointRole::kClient, std::move(driver));
    if (!client->set_target(kType, kInstance).ok() || !client->enable().ok()) return 11;
    if (!events->wait_for_event("post_started")) return 12;
    Result<GuestBuffer> buffer = guest_bus->memory().allocate_pages(kPages);
    if (!buffer) return 13;
    std::memset(buffer->address, 0x5a, kPages * wire::kPageSize);
    const Result<uint32_t> handle =
        client->create_gpadl(buffer->address, kPages * wire::kPageSize, true);
    if (!handle) return 14;
    std::array<std::byte, 8> request{};
    std::memcpy(request.data(), &*handle, sizeof *handle);
    std::array<std::byte, 8> answer{};
    const SyncRequestResult result =
        client->send_synchronous(request, nullptr, kSendWaitForCompletion, std::span(answer),
                                 Deadline::after(kProcessDeadline));
    if (!result.status.ok()) return 15;
    if (answer[0] != std::byte{0x5a}) return 16;  // the server read the page: it is mapped
    deleting_.put(1);
    if (disable_instead) {
      client->disable();  // CLOSECHANNEL, ring teardown, then this GPADL's teardown
    } else {
      client->delete_gpadl(*handle);
    }
    // GPADL_TORNDOWN has come: the host unmapped before it answered.
    if (!unmapped_.get(std::chrono::milliseconds(0)).has_value()) return 17;
    if (disable_instead) return 0;
    // The channel still works, and the pages may be described again.
    const Result<uint32_t> again =
        client->create_gpadl(buffer->address, kPages * wire::kPageSize, true);
    if (!again) return 18;
    client->delete_gpadl(*again);
    return 0;
  }

  bus::testing::SocketDirectory directory_;
  std::unique_ptr<bus::HostChannelBus> host_;
  std::unique_ptr<Channel> server_;
  RecordingDriver* events_ = nullptr;
  Pipe go_;        // host → guest: listening
  Pipe deleting_;  // guest → host: about to delete (or Disable)
  Pipe unmapped_;  // host → guest: the server unmaps now
  std::mutex mutex_;
  uint32_t mapped_ = 0;
};

TEST_F(GpadlProcessTest, DeleteGpadlReturnsOnlyAfterTheServerUnmapped) {
  ChildProcess child([&] {
    go_.close_write();
    deleting_.close_read();
    unmapped_.close_write();
    return guest(false);
  });
  ASSERT_TRUE(child.started());
  deleting_.close_write();
  // unmapped_ keeps its read end here too: a guest that returned early must not make the
  // byte below a SIGPIPE.
  go_.close_read();
  ASSERT_NO_FATAL_FAILURE(start_host(false));
  go_.put(1);
  ASSERT_TRUE(deleting_.get().has_value()) << "the guest ended with " << child.exit_code();
  // The guest's teardown is on its way (or held by the host) while the server still maps the
  // GPADL. A host that answered it at once would let DeleteGpadl return before the byte below
  // is written; the pause only gives such a host the time to show it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  unmapped_.put(1);
  server_->unmap_gpadl(mapped());
  EXPECT_EQ(child.exit_code(), 0);
  std::string reason;
  EXPECT_EQ(server_->failure(&reason), STATUS_SUCCESS) << reason;
}

TEST_F(GpadlProcessTest, ATeardownAfterTheCloseWaitsForTheUnmapInClosed) {
  ChildProcess child([&] {
    go_.close_write();
    deleting_.close_read();
    unmapped_.close_write();
    return guest(true);
  });
  ASSERT_TRUE(child.started());
  deleting_.close_write();
  // unmapped_ keeps its read end here too: a guest that returned early must not make the
  // byte below a SIGPIPE.
  go_.close_read();
  ASSERT_NO_FATAL_FAILURE(start_host(true));
  go_.put(1);
  ASSERT_TRUE(deleting_.get().has_value()) << "the guest ended with " << child.exit_code();
  EXPECT_EQ(child.exit_code(), 0);
  EXPECT_TRUE(events_->wait_for_event("closed"));
}

}  // namespace
}  // namespace vmb::integration
