// SPDX-License-Identifier: MIT
// Tests for TransactionTable: ids start at 1 and are never 0 or pointers; completions match
// once; unknown, duplicate and stale ids are violations; late completions of cancelled
// transactions are dropped; reset retires every outstanding owner.
#include "vmbkit/channel/transaction_table.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace vmb {
namespace {

int owners[8];

TEST(TransactionTable, IdsStartAtOneAndCountUp) {
  TransactionTable table;
  EXPECT_EQ(table.allocate(&owners[0])->value, 1u);
  EXPECT_EQ(table.allocate(&owners[1])->value, 2u);
  EXPECT_EQ(table.allocate(&owners[2])->value, 3u);
  EXPECT_EQ(table.outstanding_count(), 3u);
}

TEST(TransactionTable, CompletionReturnsOwnerOnce) {
  TransactionTable table;
  const TransactionId id = *table.allocate(&owners[0]);
  const auto first = table.complete(id.value);
  EXPECT_EQ(first.match, TransactionTable::Match::kCompleted);
  EXPECT_EQ(first.owner, &owners[0]);
  EXPECT_EQ(table.complete(id.value).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.outstanding_count(), 0u);
}

TEST(TransactionTable, UnknownIdsAreViolations) {
  TransactionTable table;
  (void)table.allocate(&owners[0]);
  EXPECT_EQ(table.complete(0).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.complete(2).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.complete(0xFFFFFFFFu).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.complete(uint64_t{1} << 32 | 1).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.outstanding_count(), 1u);
}

TEST(TransactionTable, ReusedSlotGetsNewIdAndOldIdIsStale) {
  TransactionTable table;
  const TransactionId first = *table.allocate(&owners[0]);
  ASSERT_EQ(table.complete(first.value).match, TransactionTable::Match::kCompleted);
  const TransactionId second = *table.allocate(&owners[1]);
  EXPECT_NE(second, first);
  EXPECT_EQ(static_cast<uint32_t>(second.value), 1u);  // same slot, small low half
  EXPECT_EQ(table.complete(first.value).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.complete(second.value).owner, &owners[1]);
}

TEST(TransactionTable, LateCompletionOfCancelledIsDroppedOnce) {
  TransactionTable table;
  const TransactionId id = *table.allocate(&owners[0]);
  EXPECT_TRUE(table.cancel(id));
  EXPECT_FALSE(table.cancel(id));
  EXPECT_EQ(table.owner(id), nullptr);
  EXPECT_EQ(table.cancelled_count(), 1u);
  // The cancelled slot is not reused while its completion may still come.
  const TransactionId other = *table.allocate(&owners[1]);
  EXPECT_NE(static_cast<uint32_t>(other.value), static_cast<uint32_t>(id.value));
  EXPECT_EQ(table.complete(id.value).match, TransactionTable::Match::kDroppedCancelled);
  EXPECT_EQ(table.complete(id.value).match, TransactionTable::Match::kViolation);
  EXPECT_EQ(table.cancelled_count(), 0u);
}

TEST(TransactionTable, ReleaseFreesWithoutCompletion) {
  TransactionTable table;
  const TransactionId id = *table.allocate(&owners[0]);
  EXPECT_TRUE(table.release(id));
  EXPECT_FALSE(table.release(id));
  EXPECT_EQ(table.complete(id.value).match, TransactionTable::Match::kViolation);
}

TEST(TransactionTable, OwnerLooksUpOutstandingOnly) {
  TransactionTable table;
  const TransactionId id = *table.allocate(&owners[3]);
  EXPECT_EQ(table.owner(id), &owners[3]);
  EXPECT_EQ(table.owner(TransactionId{99}), nullptr);
}

TEST(TransactionTable, FullTableRefusesAllocation) {
  TransactionTable table(2);
  ASSERT_TRUE(table.allocate(&owners[0]));
  ASSERT_TRUE(table.allocate(&owners[1]));
  const auto third = table.allocate(&owners[2]);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.status(), STATUS_INSUFFICIENT_RESOURCES);
}

TEST(TransactionTable, ResetRetiresOutstandingAndForgetsCancelled) {
  TransactionTable table;
  const TransactionId a = *table.allocate(&owners[0]);
  const TransactionId b = *table.allocate(&owners[1]);
  const TransactionId c = *table.allocate(&owners[2]);
  ASSERT_TRUE(table.cancel(b));
  std::vector<void*> retired;
  table.reset([&](void* owner) { retired.push_back(owner); });
  EXPECT_EQ(retired, (std::vector<void*>{&owners[0], &owners[2]}));
  EXPECT_EQ(table.outstanding_count(), 0u);
  EXPECT_EQ(table.cancelled_count(), 0u);
  for (const TransactionId id : {a, b, c}) {
    EXPECT_EQ(table.complete(id.value).match, TransactionTable::Match::kViolation);
  }
}

TEST(TransactionTable, ManyConcurrentIdsAreDistinctAndSmall) {
  TransactionTable table;
  std::set<uint64_t> ids;
  for (int round = 0; round < 3; ++round) {
    std::vector<TransactionId> batch;
    for (int i = 0; i < 1000; ++i) batch.push_back(*table.allocate(&owners[i % 8]));
    for (const TransactionId id : batch) {
      EXPECT_TRUE(ids.insert(id.value).second);
      EXPECT_LE(static_cast<uint32_t>(id.value), 1000u);
      EXPECT_NE(id.value, 0u);
    }
    for (const TransactionId id : batch) {
      EXPECT_EQ(table.complete(id.value).match, TransactionTable::Match::kCompleted);
    }
  }
}

}  // namespace
}  // namespace vmb
