// SPDX-License-Identifier: MIT
// The packaging test's C++ consumer: includes installed public headers and calls into
// libvmbkit — status names and one packet through a ring pair on heap memory — proving the
// headers are self-contained and the C++ API links. Not a unit test: it checks only that the
// installed package works.
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "vmbkit/kmcl.h"
#include "vmbkit/ntstatus.h"
#include "vmbkit/ring/incoming_ring.h"
#include "vmbkit/ring/outgoing_ring.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/packet_view.h"
#include "vmbkit/wire/ring_format.h"

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "consumer_cxx: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  if (vmb::to_string(vmb::Status{STATUS_DEVICE_REMOVED}) != "STATUS_DEVICE_REMOVED") {
    return fail("to_string gave the wrong name");
  }
  if (std::strcmp(VmbKitStatusName(STATUS_CANCELLED), "STATUS_CANCELLED") != 0) {
    return fail("VmbKitStatusName gave the wrong name");
  }

  // One ring on the heap: a control page and one data page.
  alignas(8) static std::array<std::byte, 2 * vmb::wire::kPageSize> memory{};
  vmb::ring::RingView view;
  view.control = memory.data();
  view.data = memory.data() + vmb::wire::kControlPageSize;
  view.data_size = vmb::wire::kPageSize;
  vmb::ring::initialize_control_page(view.control, vmb::wire::kFeaturePendingSendSize);
  vmb::ring::OutgoingRing outgoing(view);
  vmb::ring::IncomingRing incoming(view);
  const std::array<std::byte, 3> payload{std::byte{1}, std::byte{2}, std::byte{3}};
  if (outgoing.try_write(vmb::wire::PacketType::kDataInBand, 0, 7, payload) !=
      vmb::ring::WriteResult::kWritten) {
    return fail("try_write failed");
  }
  static_cast<void>(outgoing.commit());
  std::vector<std::byte> buffer(vmb::wire::kPageSize);
  vmb::wire::PacketView packet;
  if (incoming.read(buffer, &packet) != vmb::ring::ReadResult::kPacket ||
      packet.transaction_id != 7 || packet.payload.size() != 8 ||
      packet.payload[2] != std::byte{3}) {
    return fail("the packet did not come back");
  }
  std::printf("consumer_cxx: ok\n");
  return 0;
}
