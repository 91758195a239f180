// SPDX-License-Identifier: MIT
// Attacks through packet bytes (wire-format.md §2, §4.2 items 3–5): every descriptor field
// (offset8, len8, type, flags), the transfer-page and GPA-direct extended headers (counts that
// overflow, ranges past offset8), GPA ranges naming pages outside guest memory, and a
// descriptor rewritten while the victim reads it. Each fails the victim with the reason the
// ring, the parser or the memory layer names; none may read past the packet (ASan) or crash.
#include <atomic>
#include <cstring>
#include <thread>
#include <tuple>

#include "hostile_fixture.h"

namespace vmb::testing {
namespace {

constexpr uint16_t kInBand = 6;
constexpr uint16_t kTransferPage = 7;
constexpr uint16_t kGpaDirect = 9;

using DescriptorAttack = HostileChannelTest;

TEST_P(DescriptorAttack, Offset8BelowMinimum) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  peer->publish_packet_bytes(RawPacket(kInBand, 1, 4).bytes());
  expect_contained("incoming ring: offset8 < 2");
}

TEST_P(DescriptorAttack, Offset8AboveLen8) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  peer->publish_packet_bytes(RawPacket(kInBand, 5, 4).bytes());
  expect_contained("incoming ring: offset8 > len8");
}

TEST_P(DescriptorAttack, Len8Zero) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kInBand, 2, 0, 0, 0, 16).bytes());
  expect_contained("incoming ring: offset8 > len8");
}

TEST_P(DescriptorAttack, Len8PastThePublishedBytes) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  // Claims 512 bytes; 32 are published.
  peer->publish_packet_bytes(RawPacket(kInBand, 2, 64, 0, 0, 32).bytes());
  expect_contained("incoming ring: packet beyond the bytes available");
}

TEST_P(DescriptorAttack, Len8LargerThanTheRing) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kInBand, 2, 0xFFFF, 0, 0, 64).bytes());
  expect_contained("incoming ring: packet beyond the bytes available");
}

TEST_P(DescriptorAttack, UndefinedFlagBit1) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kInBand, 2, 4, 0x2).bytes());
  expect_contained("incoming ring: undefined flag bit");
}

TEST_P(DescriptorAttack, UndefinedFlagBit15) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kInBand, 2, 4, 0x8001).bytes());
  expect_contained("incoming ring: undefined flag bit");
}

// ---- Transfer-page packets (type 7): never valid on a KMCL channel ----

TEST_P(DescriptorAttack, TransferPagePacket) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  // A well-formed one: set 0xCAFE, one range.
  peer->publish_packet_bytes(RawPacket(kTransferPage, 4, 6)
                                 .put<uint16_t>(16, 0xCAFE)
                                 .put<uint32_t>(20, 1)
                                 .put<uint32_t>(24, 100)
                                 .bytes());
  expect_contained("transfer-page packet on a KMCL channel");
}

TEST_P(DescriptorAttack, TransferPageHeaderTooShort) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kTransferPage, 2, 4).bytes());
  expect_contained("incoming ring: transfer-page header too short");
}

TEST_P(DescriptorAttack, TransferPageRangeCountOverflows) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kTransferPage, 4, 6).put<uint32_t>(20, 0xFFFFFFFFu).bytes());
  expect_contained("incoming ring: transfer-page ranges pass offset8");
}

// ---- GPA-direct packets (type 9): the shape, then the pages ----

TEST_P(DescriptorAttack, GpaHeaderTooShort) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kGpaDirect, 2, 4, 1, 1).bytes());
  expect_contained("incoming ring: GPA-direct header too short");
}

TEST_P(DescriptorAttack, GpaZeroRangeCount) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kGpaDirect, 3, 5, 1, 1).bytes());
  expect_contained("incoming ring: GPA-direct range count 0");
}

TEST_P(DescriptorAttack, GpaZeroByteCount) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kGpaDirect, 5, 6, 1, 1)
                                 .put<uint32_t>(20, 1)  // range_count
                                 .put<uint32_t>(24, 0)  // byte_count
                                 .put<uint32_t>(28, 0)  // byte_offset
                                 .put<uint64_t>(32, 1)  // pfn
                                 .bytes());
  expect_contained("incoming ring: GPA range byte_count 0");
}

TEST_P(DescriptorAttack, GpaByteOffsetNotInPage) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kGpaDirect, 6, 7, 1, 1)
                                 .put<uint32_t>(20, 1)
                                 .put<uint32_t>(24, 16)
                                 .put<uint32_t>(28, 4096)
                                 .put<uint64_t>(32, 1)
                                 .put<uint64_t>(40, 2)
                                 .bytes());
  expect_contained("incoming ring: GPA range byte_offset >= 4096");
}

TEST_P(DescriptorAttack, GpaRangeCountOverflows) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(RawPacket(kGpaDirect, 5, 6, 1, 1)
                                 .put<uint32_t>(20, 0xFFFFFFFFu)
                                 .put<uint32_t>(24, 16)
                                 .put<uint64_t>(32, 1)
                                 .bytes());
  expect_contained("incoming ring: GPA ranges pass offset8");
}

TEST_P(DescriptorAttack, GpaPfnCountOverflows) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  // byte_offset 4095 + byte_count 0xFFFFFFFF spans 1,048,577 pages: 8 MiB of PFNs claimed.
  peer->publish_packet_bytes(RawPacket(kGpaDirect, 5, 6, 1, 1)
                                 .put<uint32_t>(20, 1)
                                 .put<uint32_t>(24, 0xFFFFFFFFu)
                                 .put<uint32_t>(28, 4095)
                                 .put<uint64_t>(32, 1)
                                 .bytes());
  expect_contained("incoming ring: GPA ranges pass offset8");
}

// A shape-valid GPA-direct packet with one range of one page at `pfn` (and a second range
// at `second_pfn` when given). A client victim refuses any external data from a server; a
// server victim maps the pages and must refuse a PFN outside guest memory.
RawPacket gpa_packet(uint64_t pfn, std::optional<uint64_t> second_pfn = std::nullopt) {
  const uint16_t offset8 = second_pfn ? 7 : 5;
  RawPacket packet(kGpaDirect, offset8, static_cast<uint16_t>(offset8 + 2), 1, 1);
  packet.put<uint32_t>(20, second_pfn ? 2 : 1).put<uint32_t>(24, 4096).put<uint64_t>(32, pfn);
  if (second_pfn) packet.put<uint32_t>(40, 100).put<uint32_t>(44, 8).put<uint64_t>(48, *second_pfn);
  return packet;
}

std::string gpa_reason(const Channel& victim) {
  return victim.is_server() ? "external data: PFN outside guest memory"
                            : "external data sent by the server";
}

TEST_P(DescriptorAttack, GpaPfnJustPastGuestMemory) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  peer->publish_packet_bytes(gpa_packet(peer->guest_memory()->page_count()).bytes());
  expect_contained(gpa_reason(*victim));
}

TEST_P(DescriptorAttack, GpaPfnMaximum) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(gpa_packet(~uint64_t{0}).bytes());
  expect_contained(gpa_reason(*victim));
}

TEST_P(DescriptorAttack, GpaPfnWhoseAddressWraps) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  // pfn * 4096 overflows 64 bits to a small address.
  peer->publish_packet_bytes(gpa_packet((uint64_t{1} << 52) + 1).bytes());
  expect_contained(gpa_reason(*victim));
}

TEST_P(DescriptorAttack, GpaSecondRangeOutsideGuestMemory) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(1);
  peer->publish_packet_bytes(gpa_packet(3, peer->guest_memory()->page_count() + 7).bytes());
  expect_contained(gpa_reason(*victim));
}

TEST_P(DescriptorAttack, GpaInsideGuestMemoryIsDeliveredToAServerOnly) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  peer->publish_packet_bytes(gpa_packet(3, 5).bytes());
  if (!victim->is_server()) {
    expect_contained("external data sent by the server");
    return;
  }
  // The control case: the same shape with pages inside guest memory is legitimate.
  ASSERT_TRUE(receive_completion(1));
  EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
}

// ---- A descriptor that changes while the victim reads it ----

TEST_P(DescriptorAttack, DescriptorRewrittenWhileRead) {
  if (kThreadSanitizer) GTEST_SKIP() << "a data race on ring bytes by design";
  ASSERT_NO_FATAL_FAILURE(open_victim());
  // Each round publishes a valid 64-byte packet and rewrites its len8 and offset8 between the
  // valid values and huge ones while the victim reads. The victim copies the descriptor once:
  // it delivers the packet (64 bytes, as validated) or fails; a re-read of len8 after the
  // check would copy 512 KiB into a 32 KiB buffer (ASan).
  size_t delivered = 0;
  for (int round = 0; round < 200; ++round) {
    const uint32_t at = peer->write_position();
    const std::vector<std::byte> payload = pattern_bytes(48, static_cast<uint8_t>(round));
    StoppableThread rewriter([&](const std::atomic<bool>& stop) {
      const wire::PacketDescriptor valid{kInBand, 2, 8, 0, 0};
      const wire::PacketDescriptor huge{kInBand, 0xFFFF, 0xFFFF, 0, 0};
      std::byte image[sizeof(wire::PacketDescriptor)];
      for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        std::memcpy(image, (i & 1u) != 0 ? &valid : &huge, sizeof image);
        peer->to_victim().write(at, image);
      }
      std::memcpy(image, &valid, sizeof image);
      peer->to_victim().write(at, image);
    });
    ASSERT_EQ(peer->send_inband(payload, 0, false), STATUS_SUCCESS);
    peer->signal_victim();
    const bool done = eventually(
        [&] { return victim_driver->received().size() > delivered || peer->victim_closed(); });
    rewriter.stop();
    ASSERT_TRUE(done);
    if (peer->victim_closed()) break;
    ++delivered;
    const std::vector<std::byte> got = victim_driver->received().back();
    ASSERT_EQ(got.size(), 48u);
    EXPECT_EQ(got, payload);
  }
  const RecordedFailure failure = recorded_failure(*victim);
  if (failure.status != STATUS_SUCCESS) {
    EXPECT_EQ(failure.status, STATUS_DATA_ERROR);
    EXPECT_NE(failure.description.find("incoming ring:"), std::string::npos);
  }
  expect_bystanders_work();
}

// ---- Unknown packet types, each a named case ----

class UnknownTypeAttack : public HostileChannelFixture,
                          public ::testing::WithParamInterface<std::tuple<EndpointRole, uint16_t>> {
 protected:
  void SetUp() override { set_up(std::get<0>(GetParam()), {}); }
};

TEST_P(UnknownTypeAttack, FailsTheChannel) {
  ASSERT_NO_FATAL_FAILURE(open_victim());
  send_outstanding(2);
  peer->publish_packet_bytes(RawPacket(std::get<1>(GetParam()), 2, 4).bytes());
  expect_contained("incoming ring: unknown packet type");
}

std::string unknown_type_name(
    const ::testing::TestParamInfo<std::tuple<EndpointRole, uint16_t>>& info) {
  const char* role =
      std::get<0>(info.param) == EndpointRole::kServer ? "VictimServer" : "VictimClient";
  return std::string(role) + "Type" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Roles, DescriptorAttack,
                         ::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                         role_name);
INSTANTIATE_TEST_SUITE_P(
    Types, UnknownTypeAttack,
    ::testing::Combine(::testing::Values(EndpointRole::kServer, EndpointRole::kClient),
                       ::testing::Values<uint16_t>(0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x8, 0xA, 0xC, 0xD,
                                                   0xE, 0x7FFF, 0xFFFF)),
    unknown_type_name);

}  // namespace
}  // namespace vmb::testing
