// SPDX-License-Identifier: MIT
// Attacks through GPADLs a hostile guest hands a server: ranges naming pages past the end of
// guest memory, the largest PFN, one bad page among many, unknown handles, a second mapping,
// and write access to a read-only GPADL. In one process the check that guards the server is
// MdlChain::from_ranges (the host control plane makes the same check on GPADL_HEADER between
// processes, see control_message_attack_test.cc). A refused mapping is an error returned to the
// driver, not a channel failure: the channel and the bystanders keep working, and a valid
// GPADL still maps.
#include "hostile_fixture.h"
#include "vmbkit/mdl.h"

namespace vmb::testing {
namespace {

class GpadlAttack : public HostileChannelFixture {
 protected:
  void SetUp() override {
    set_up(EndpointRole::kServer, {});
    ASSERT_NO_FATAL_FAILURE(open_victim());
  }
  // A GPADL of whole pages at `pfns`.
  uint32_t add(std::vector<uint64_t> pfns, bool read_only = false) {
    GpaRanges ranges;
    EXPECT_TRUE(ranges.append(static_cast<uint32_t>(pfns.size() * wire::kPageSize), 0, pfns).ok());
    return bus->add_gpadl(*victim, std::move(ranges), read_only);
  }
  uint64_t guest_pages() { return peer->guest_memory()->page_count(); }
  // The control case after each attack: a valid GPADL maps and unmaps; nothing failed.
  void expect_valid_gpadl_maps() {
    const uint32_t handle = add({10, 11, 12});
    const Result<PMDL> mdl = victim->map_gpadl(handle, false);
    ASSERT_TRUE(mdl);
    EXPECT_EQ(MmGetMdlByteCount(*mdl), 3 * wire::kPageSize);
    victim->unmap_gpadl(handle);
    EXPECT_EQ(recorded_failure(*victim).status, STATUS_SUCCESS);
    expect_victim_still_works();
    expect_bystanders_work();
  }
};

TEST_F(GpadlAttack, PfnJustPastGuestMemory) {
  const Result<PMDL> mdl = victim->map_gpadl(add({1, 2, guest_pages()}), false);
  ASSERT_FALSE(mdl);
  EXPECT_EQ(mdl.status(), STATUS_DATA_ERROR);
  expect_valid_gpadl_maps();
}

TEST_F(GpadlAttack, PfnMaximum) {
  const Result<PMDL> mdl = victim->map_gpadl(add({~uint64_t{0}}), true);
  ASSERT_FALSE(mdl);
  EXPECT_EQ(mdl.status(), STATUS_DATA_ERROR);
  expect_valid_gpadl_maps();
}

TEST_F(GpadlAttack, PfnWhoseAddressWraps) {
  const Result<PMDL> mdl = victim->map_gpadl(add({uint64_t{1} << 52}), false);
  ASSERT_FALSE(mdl);
  EXPECT_EQ(mdl.status(), STATUS_DATA_ERROR);
  expect_valid_gpadl_maps();
}

TEST_F(GpadlAttack, OneBadPageAmongMany) {
  std::vector<uint64_t> pfns;
  for (uint64_t pfn = 100; pfn < 612; ++pfn) pfns.push_back(pfn);
  pfns[300] = guest_pages() + 300;
  const Result<PMDL> mdl = victim->map_gpadl(add(pfns), false);
  ASSERT_FALSE(mdl);
  EXPECT_EQ(mdl.status(), STATUS_DATA_ERROR);
  expect_valid_gpadl_maps();
}

TEST_F(GpadlAttack, UnknownHandle) {
  const Result<PMDL> mdl = victim->map_gpadl(0xC0FFEE, false);
  ASSERT_FALSE(mdl);
  EXPECT_EQ(mdl.status(), STATUS_INVALID_PARAMETER);
  expect_valid_gpadl_maps();
}

TEST_F(GpadlAttack, MappedTwice) {
  const uint32_t handle = add({20});
  ASSERT_TRUE(victim->map_gpadl(handle, false));
  const Result<PMDL> again = victim->map_gpadl(handle, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status(), STATUS_INVALID_PARAMETER);
  victim->unmap_gpadl(handle);
  expect_valid_gpadl_maps();
}

TEST_F(GpadlAttack, ReadOnlyGpadlMappedForWriting) {
  const Result<PMDL> mdl = victim->map_gpadl(add({30, 31}, true), false);
  ASSERT_FALSE(mdl);
  EXPECT_EQ(mdl.status(), STATUS_ACCESS_DENIED);
  expect_valid_gpadl_maps();
}

}  // namespace
}  // namespace vmb::testing
