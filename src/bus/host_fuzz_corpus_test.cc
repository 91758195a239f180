// SPDX-License-Identifier: MIT
// Generator and freshness check of the bus_host_control_plane fuzz seed corpus
// (tests/fuzz/corpus/bus_host_control_plane/): whole guest sessions built with the wire
// encoders — connect, offers, GPADLs, opens, closes, rescinds, unload — plus one script per
// kind of violation, so the fuzzer starts deep inside the state machine. Each seed is also
// played here (no broken promise). Normally the test checks that the committed files equal
// what it would write; with VMBKIT_REGENERATE_CORPUS=1 it rewrites them instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <string>

#include "bus/host_fuzz_script.h"
#include "vmbkit/wire/gpadl_messages.h"

namespace vmb::bus::testing {
namespace {

struct Seed {
  std::vector<uint8_t> bytes;
  bool violation = false;  // the script ends with the guest dropped
  size_t opens = 0;        // open_requested effects expected
};
using Corpus = std::map<std::string, Seed>;

template <typename T>
void send(HostScript& script, const T& message, uint8_t fds = 0) {
  const auto bytes = wire::encode(message);
  script.datagram(bytes, fds);
}

void contact(HostScript& script, uint32_t version = 0x00050003) {
  wire::InitiateContact message{};
  message.version_requested = version;
  send(script, message, 1);
}

void connect(HostScript& script) {
  contact(script);
  send(script, wire::RequestOffers{});
}

void gpadl(HostScript& script, uint32_t relid, uint32_t handle, uint64_t first, uint32_t pages) {
  std::vector<uint64_t> pfns(pages);
  std::iota(pfns.begin(), pfns.end(), first);
  const wire::GpaRangeSpec range{pages * 4096, 0, pfns};
  const auto messages = wire::encode_gpadl(relid, handle, std::span(&range, 1));
  for (const auto& message : *messages) script.datagram(message.span());
}

void open(HostScript& script, uint32_t relid, uint32_t handle, uint32_t downstream,
          uint8_t fds = 2) {
  wire::OpenChannel message{};
  message.child_relid = relid;
  message.openid = relid;
  message.ringbuffer_gpadlhandle = handle;
  message.downstream_ringbuffer_pageoffset = downstream;
  send(script, message, fds);
}

// Offer 1 (primary) and 2 (its sub-channel), connect, ring GPADL 10 over pages 8..15, open 1.
HostScript opened_session() {
  HostScript script;
  script.add_offer(1);
  script.add_offer(2, 1);
  connect(script);
  gpadl(script, 1, 10, 8, 8);
  open(script, 1, 10, 4);
  script.complete_open(1, true);
  return script;
}

Corpus build_corpus() {
  Corpus corpus;
  const auto add = [&](const std::string& name, const HostScript& script, bool violation = false,
                       size_t opens = 0) {
    corpus[name] = Seed{script.bytes(), violation, opens};
  };
  {
    HostScript script;
    script.add_offer(1);
    script.add_offer(2, 1);
    connect(script);
    script.add_offer(3, 0, 1);
    add("connect_and_offers", script);
  }
  {
    HostScript script;
    contact(script, 0x00060000);
    contact(script, 0x00050002);
    send(script, wire::RequestOffers{});
    add("version_fallback", script);
  }
  {
    HostScript script = opened_session();
    send(script, wire::CloseChannel{.header = {}, .child_relid = 1});
    send(script, wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 10});
    open(script, 2, 10, 4);  // a torn-down GPADL: violation at the end
    add("open_close_teardown", script, true, 1);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 20, 0, 60);  // a header and two bodies
    add("multi_body_gpadl", script);
  }
  {
    HostScript script = opened_session();
    script.remove_offer(1);
    send(script, wire::CloseChannel{.header = {}, .child_relid = 1});
    send(script, wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 10});
    send(script, wire::RelidReleased{.header = {}, .child_relid = 1});
    script.add_offer(1);
    add("rescind_and_reoffer", script, false, 1);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 10, 0, 4);
    script.remove_offer(1);
    open(script, 1, 10, 2);  // crossed the rescind
    gpadl(script, 1, 11, 4, 4);
    send(script, wire::RelidReleased{.header = {}, .child_relid = 1});
    add("open_crossing_rescind", script);
  }
  {
    HostScript script = opened_session();
    send(script, wire::Unload{});
    connect(script);
    add("unload_and_reconnect", script, false, 1);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 10, 0, 4);
    open(script, 1, 10, 2);
    script.connection_lost();
    script.complete_open(1, true);
    add("connection_lost_while_opening", script, false, 1);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 10, 0, 4);
    open(script, 1, 10, 2);
    script.complete_open(1, false);
    open(script, 1, 10, 2);
    send(script, wire::CloseChannel{.header = {}, .child_relid = 1});
    script.complete_open(1, true);
    add("failed_then_cancelled_open", script, false, 2);
  }
  {
    HostScript script = opened_session();
    send(script, wire::ModifyChannel{.header = {}, .child_relid = 1, .target_vp = 1});
    send(script, wire::TlConnectRequest{});
    add("modify_and_hv_sock", script, false, 1);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    for (uint32_t handle = 1; handle <= 9; ++handle) gpadl(script, 1, handle, handle, 1);
    add("gpadl_limit", script);
  }
  // Violations, one each.
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 10, 62, 3);  // page 64 is outside
    add("violation_pfn_outside", script, true);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 10, 0, 4);
    open(script, 1, 10, 3);
    add("violation_downstream_offset", script, true);
  }
  {
    HostScript script;
    script.add_offer(1);
    connect(script);
    gpadl(script, 1, 10, 0, 4);
    open(script, 1, 10, 2, 1);
    add("violation_open_without_eventfds", script, true);
  }
  {
    HostScript script = opened_session();
    send(script, wire::GpadlTeardown{.header = {}, .child_relid = 1, .gpadl = 10});
    add("violation_teardown_open_ring", script, true, 1);
  }
  {
    HostScript script;
    connect(script);
    send(script, wire::RequestOffers{}, 1);
    add("violation_descriptors_on_request", script, true);
  }
  {
    HostScript script;
    const std::vector<uint8_t> truncated = {5, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    contact(script);
    script.datagram(truncated);
    add("violation_truncated_open", script, true);
  }
  return corpus;
}

std::filesystem::path corpus_directory() {
  return std::filesystem::path(VMBKIT_SOURCE_DIR) / "tests/fuzz/corpus/bus_host_control_plane";
}

TEST(HostFuzzCorpus, EverySeedReachesTheStateItWasWrittenFor) {
  for (const auto& [name, seed] : build_corpus()) {
    SCOPED_TRACE(name);
    const HostScriptSummary summary = run_host_script(seed.bytes);
    EXPECT_EQ(summary.disconnected, seed.violation);
    EXPECT_EQ(summary.opens_requested, seed.opens);
  }
  EXPECT_EQ(run_host_script(build_corpus().at("multi_body_gpadl").bytes).gpadls_established, 1u);
  EXPECT_EQ(run_host_script(build_corpus().at("gpadl_limit").bytes).gpadls_established, 8u);
}

TEST(HostFuzzCorpus, CommittedSeedsAreCurrent) {
  const Corpus corpus = build_corpus();
  const std::filesystem::path directory = corpus_directory();
  const char* regenerate = std::getenv("VMBKIT_REGENERATE_CORPUS");
  if (regenerate != nullptr && std::string(regenerate) == "1") {
    std::filesystem::create_directories(directory);
    for (const auto& [name, seed] : corpus) {
      std::ofstream file(directory / name, std::ios::binary | std::ios::trunc);
      file.write(reinterpret_cast<const char*>(seed.bytes.data()),
                 static_cast<std::streamsize>(seed.bytes.size()));
    }
  }
  for (const auto& [name, seed] : corpus) {
    SCOPED_TRACE(name);
    std::ifstream file(directory / name, std::ios::binary);
    ASSERT_TRUE(file) << "missing seed; run with VMBKIT_REGENERATE_CORPUS=1";
    const std::vector<uint8_t> committed{std::istreambuf_iterator<char>(file),
                                         std::istreambuf_iterator<char>()};
    EXPECT_EQ(committed, seed.bytes) << "stale seed; run with VMBKIT_REGENERATE_CORPUS=1";
  }
}

}  // namespace
}  // namespace vmb::bus::testing
