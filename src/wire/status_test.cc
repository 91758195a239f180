// SPDX-License-Identifier: MIT
// Tests of the NTSTATUS table and vmb::Status / vmb::Result.
#include "vmbkit/status.h"

#include <gtest/gtest.h>

namespace vmb {
namespace {

TEST(Status, ConstantsMatchMicrosoftValues) {
  EXPECT_EQ(static_cast<uint32_t>(STATUS_SUCCESS), 0x00000000u);
  EXPECT_EQ(static_cast<uint32_t>(STATUS_PENDING), 0x00000103u);
  EXPECT_EQ(static_cast<uint32_t>(STATUS_BUFFER_OVERFLOW), 0x80000005u);
  EXPECT_EQ(static_cast<uint32_t>(STATUS_INVALID_PARAMETER), 0xC000000Du);
  EXPECT_EQ(static_cast<uint32_t>(STATUS_BUFFER_TOO_SMALL), 0xC0000023u);
  EXPECT_EQ(static_cast<uint32_t>(STATUS_CANCELLED), 0xC0000120u);
  EXPECT_EQ(static_cast<uint32_t>(STATUS_DEVICE_REMOVED), 0xC00002B6u);
}

TEST(Status, SeverityFollowsNtSuccess) {
  EXPECT_TRUE(NT_SUCCESS(STATUS_PENDING));
  EXPECT_TRUE(NT_SUCCESS(STATUS_TIMEOUT));
  EXPECT_FALSE(NT_SUCCESS(STATUS_BUFFER_OVERFLOW));
  EXPECT_FALSE(NT_SUCCESS(STATUS_MORE_PROCESSING_REQUIRED));
}

TEST(Status, ToStringNamesEveryTableEntry) {
  EXPECT_EQ(to_string(Status{STATUS_CANCELLED}), "STATUS_CANCELLED");
  EXPECT_EQ(to_string(Status{STATUS_DEVICE_REMOVED}), "STATUS_DEVICE_REMOVED");
  EXPECT_EQ(to_string(Status{0x12345}), "STATUS_<unknown>");
  EXPECT_FALSE(message(Status{STATUS_DATA_ERROR}).empty());
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(*good, 7);
  EXPECT_TRUE(good.status().ok());
  Result<int> bad = Status{STATUS_INVALID_PARAMETER};
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(bad.status(), STATUS_INVALID_PARAMETER);
}

TEST(Status, CNameFunctionUsesTheTable) {
  EXPECT_STREQ(VmbKitStatusName(STATUS_BUFFER_OVERFLOW), "STATUS_BUFFER_OVERFLOW");
  EXPECT_STREQ(VmbKitStatusName(0x7777), "STATUS_<unknown>");
}

}  // namespace
}  // namespace vmb
