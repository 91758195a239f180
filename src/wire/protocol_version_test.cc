// SPDX-License-Identifier: MIT
// Tests of the protocol-version table and the negotiation helpers: the host accepts exactly
// 5.0–5.3, answers with the VERSION_RESPONSE bytes of the golden vectors, and a guest walks down
// from 5.3 to 5.0 and then gives up.
#include "vmbkit/wire/protocol_version.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "testing/vector_file.h"

namespace vmb::wire {
namespace {

TEST(ProtocolVersion, EncodesMajorAndMinor) {
  EXPECT_EQ(static_cast<uint32_t>(ProtocolVersion::kWin10V5_3), 0x00050003u);
  EXPECT_EQ(make_protocol_version(5, 2), ProtocolVersion::kWin10V5_2);
  EXPECT_EQ(make_protocol_version(0, 13), ProtocolVersion::kWs2008);
  EXPECT_EQ(major_of(ProtocolVersion::kWin8), 2);
  EXPECT_EQ(minor_of(ProtocolVersion::kWin8), 4);
  EXPECT_EQ(to_string(ProtocolVersion::kWin10V5_3), "VERSION_WIN10_V5_3");
  EXPECT_EQ(to_string(make_protocol_version(7, 1)), "<unknown>");
}

TEST(ProtocolVersion, AcceptsExactlyFiveZeroToFiveThree) {
  for (const auto version : {ProtocolVersion::kWin10V5, ProtocolVersion::kWin10V5_1,
                             ProtocolVersion::kWin10V5_2, ProtocolVersion::kWin10V5_3}) {
    EXPECT_EQ(negotiate_protocol_version(version), VersionDecision::kAccept) << to_string(version);
  }
  for (const auto version :
       {ProtocolVersion::kWs2008, ProtocolVersion::kWin7, ProtocolVersion::kWin8,
        ProtocolVersion::kWin8_1, ProtocolVersion::kWin10, ProtocolVersion::kWin10V4_1,
        ProtocolVersion::kCopper, make_protocol_version(5, 4), make_protocol_version(0, 0),
        static_cast<ProtocolVersion>(0xFFFFFFFF)}) {
    EXPECT_EQ(negotiate_protocol_version(version), VersionDecision::kReject) << to_string(version);
  }
}

TEST(ProtocolVersion, SupportedListIsHighestFirst) {
  EXPECT_EQ(kNewestSupportedProtocolVersion, ProtocolVersion::kWin10V5_3);
  EXPECT_TRUE(
      std::is_sorted(kSupportedProtocolVersions.rbegin(), kSupportedProtocolVersions.rend()));
}

TEST(ProtocolVersion, GuestWalksDownAndGivesUp) {
  std::vector<ProtocolVersion> tried = {kNewestSupportedProtocolVersion};
  while (auto next = next_protocol_version_to_try(tried.back())) tried.push_back(*next);
  EXPECT_EQ(tried,
            (std::vector<ProtocolVersion>{ProtocolVersion::kWin10V5_3, ProtocolVersion::kWin10V5_2,
                                          ProtocolVersion::kWin10V5_1, ProtocolVersion::kWin10V5}));
  // A host that only knows 6.0 rejected... nothing lower is newer than 5.3.
  EXPECT_EQ(next_protocol_version_to_try(ProtocolVersion::kCopper), ProtocolVersion::kWin10V5_3);
  EXPECT_EQ(next_protocol_version_to_try(ProtocolVersion::kWin10), std::nullopt);
}

TEST(ProtocolVersion, ResponsesMatchTheGoldenVectors) {
  size_t matched = 0;
  for (const auto& vector : testing::load_vectors("control-messages.vec")) {
    VersionResponse response{};
    if (vector.name == "version_response_accepted") {
      response = version_response_for(ProtocolVersion::kWin10V5_3, 4);
    } else if (vector.name == "version_response_rejected") {
      response = version_response_for(ProtocolVersion::kWin10V4_1, 4);
    } else {
      continue;
    }
    const auto bytes = encode(response);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), vector.concatenated())
        << vector.name;
    ++matched;
  }
  EXPECT_EQ(matched, 2u);
}

TEST(ProtocolVersion, InitiateContactVectorRequestsANegotiableVersion) {
  for (const auto& vector : testing::load_vectors("control-messages.vec")) {
    if (vector.name != "initiate_contact_v5_3") continue;
    const auto requested = vector.number("fields", "version_requested");
    ASSERT_TRUE(requested.has_value());
    EXPECT_EQ(negotiate_protocol_version(static_cast<ProtocolVersion>(*requested)),
              VersionDecision::kAccept);
    return;
  }
  FAIL() << "initiate_contact_v5_3 missing";
}

}  // namespace
}  // namespace vmb::wire
