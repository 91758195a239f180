// SPDX-License-Identifier: MIT
// Generator and freshness check of the channel_message fuzz seed corpus
// (tests/fuzz/corpus/channel_message/). The seeds are built here with the encoders, not copied
// from the golden vectors: one valid message per struct, the longer forms, messages with extra
// trailing bytes, and one input per rejection branch. Normally the test checks that the committed
// files equal what it would write; with VMBKIT_REGENERATE_CORPUS=1 in the environment it rewrites
// them instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "vmbkit/wire/channel_messages.h"
#include "vmbkit/wire/protocol_version.h"

namespace vmb::wire {
namespace {

using Bytes = std::vector<uint8_t>;
using Corpus = std::map<std::string, Bytes>;

constexpr Guid kNetvscClass = *Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e");
constexpr Guid kInstance = *Guid::parse("0b2c6e51-9d3f-4a87-8e21-5c4b3a291807");

template <ChannelMessageStruct T>
Bytes bytes_of(const T& message) {
  const auto encoded = encode(message);
  return Bytes(encoded.begin(), encoded.end());
}

Bytes with_tail(Bytes bytes, size_t extra, uint8_t fill) {
  bytes.insert(bytes.end(), extra, fill);
  return bytes;
}

Bytes raw_message(uint32_t type, size_t size, uint8_t fill) {
  Bytes bytes(size, fill);
  for (size_t i = 0; i < 4 && i < size; ++i) bytes[i] = static_cast<uint8_t>(type >> (8 * i));
  return bytes;
}

void add_connection_messages(Corpus& corpus) {
  InitiateContact contact{};
  contact.version_requested = static_cast<uint32_t>(kNewestSupportedProtocolVersion);
  contact.set_message_target(2, 0);
  contact.monitor_page1 = 0x1000000;
  contact.monitor_page2 = 0x1001000;
  corpus["initiate_contact"] = bytes_of(contact);
  corpus["initiate_contact_with_client_id"] =
      bytes_of(InitiateContactWithClientId{.contact = contact, .client_id = kInstance});
  corpus["version_response"] = bytes_of(version_response_for(ProtocolVersion::kWin10V5_2, 4));
  corpus["version_response_6_0_longer"] =
      with_tail(bytes_of(version_response_for(ProtocolVersion::kWin10V5_3, 4)), 4, 0x3F);
  corpus["unload"] = bytes_of(Unload{});
  corpus["unload_response"] = bytes_of(UnloadResponse{});
  TlConnectRequest request{};
  request.guest_endpoint_id = kInstance;
  request.host_service_id = kNetvscClass;
  corpus["tl_connect_request"] = bytes_of(request);
  corpus["tl_connect_request_with_silo_id"] =
      bytes_of(TlConnectRequestWithSiloId{.request = request, .silo_id = kNetvscClass});
  TlConnectResult result{};
  result.endpoint_id = kInstance;
  result.service_id = kNetvscClass;
  result.status = -1073741823;
  corpus["tl_connect_result"] = bytes_of(result);
}

void add_channel_messages(Corpus& corpus) {
  OfferChannel offer{};
  offer.if_type = kNetvscClass;
  offer.if_instance = kInstance;
  offer.chn_flags = kOfferFlagNamedPipeMode;
  offer.user_def[0] = kPipeModeMessage;
  offer.sub_channel_index = 2;
  offer.child_relid = 17;
  offer.monitorid = 33;
  offer.monitor_allocated = 1;
  offer.connection_id = 0x20011;
  corpus["offer_channel"] = bytes_of(offer);
  corpus["offer_channel_max_length"] = with_tail(bytes_of(offer), 240 - sizeof(offer), 0x5A);
  corpus["rescind_channel_offer"] = bytes_of(RescindChannelOffer{.header = {}, .child_relid = 17});
  corpus["request_offers"] = bytes_of(RequestOffers{});
  corpus["all_offers_delivered"] = bytes_of(AllOffersDelivered{});
  corpus["relid_released"] = bytes_of(RelidReleased{.header = {}, .child_relid = 17});
  OpenChannel open{};
  open.child_relid = 17;
  open.openid = 17;
  open.ringbuffer_gpadlhandle = 0xE1E10;
  open.target_vp = kTargetVpInterruptsDisabled;
  open.downstream_ringbuffer_pageoffset = 2;
  corpus["open_channel"] = bytes_of(open);
  corpus["open_channel_openvmm_extension"] = with_tail(bytes_of(open), 8, 0x01);
  corpus["open_channel_result"] =
      bytes_of(OpenChannelResult{.header = {}, .child_relid = 17, .openid = 17, .status = 1});
  corpus["close_channel"] = bytes_of(CloseChannel{.header = {}, .child_relid = 17});
  corpus["gpadl_created"] = bytes_of(
      GpadlCreated{.header = {}, .child_relid = 17, .gpadl = 0xE1E10, .creation_status = 0});
  corpus["gpadl_teardown"] =
      bytes_of(GpadlTeardown{.header = {}, .child_relid = 17, .gpadl = 0xE1E10});
  corpus["gpadl_torndown"] = bytes_of(GpadlTorndown{.header = {}, .gpadl = 0xE1E10});
  corpus["modify_channel"] =
      bytes_of(ModifyChannel{.header = {}, .child_relid = 17, .target_vp = 1});
  corpus["modify_channel_response"] =
      bytes_of(ModifyChannelResponse{.header = {}, .child_relid = 17, .status = 0});
  // GPADL_HEADER with one 2-page range, and a GPADL_BODY with two PFNs (raw: another file owns
  // their structs; here they only exercise the pass-through).
  corpus["gpadl_header_passthrough"] = {8, 0,  0, 0, 0, 0, 0,    0, 17, 0, 0, 0, 0x10, 0x1e, 0x0e,
                                        0, 24, 0, 1, 0, 0, 0x20, 0, 0,  0, 0, 0, 0,    0,    1,
                                        0, 0,  0, 0, 0, 0, 1,    1, 0,  0, 0, 0, 0,    0};
  corpus["gpadl_body_passthrough"] = {9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x1e, 0x0e, 0,
                                      2, 1, 0, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0,    0,    0,    0};
}

void add_refused_inputs(Corpus& corpus) {
  corpus["refused_empty"] = {};
  corpus["refused_shorter_than_header"] = raw_message(3, 7, 0);
  corpus["refused_longer_than_maximum"] = raw_message(1, 241, 0);
  corpus["refused_unknown_type_reserved_channel"] = raw_message(18, 28, 0);
  corpus["refused_unknown_type_invalid"] = raw_message(0, 8, 0);
  corpus["refused_offer_one_byte_short"] = raw_message(1, 195, 0);
  corpus["refused_tl_connect_result_short"] = raw_message(23, 43, 0xFF);
}

Corpus build_corpus() {
  Corpus corpus;
  add_connection_messages(corpus);
  add_channel_messages(corpus);
  add_refused_inputs(corpus);
  return corpus;
}

std::filesystem::path corpus_dir() {
  return std::filesystem::path(VMBKIT_SOURCE_DIR) / "tests/fuzz/corpus/channel_message";
}

TEST(ChannelMessageCorpus, SeedsCoverEveryAlternative) {
  // Every ChannelMessage alternative appears among the accepted seeds.
  std::vector<bool> seen(std::variant_size_v<ChannelMessage>, false);
  for (const auto& [name, bytes] : build_corpus()) {
    const auto decoded = decode_channel_message(bytes);
    EXPECT_EQ(decoded.has_value(), name.rfind("refused_", 0) != 0) << name;
    if (decoded.has_value()) seen[decoded.value().index()] = true;
  }
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "alternative " << i;
}

TEST(ChannelMessageCorpus, CommittedSeedsAreCurrent) {
  const Corpus corpus = build_corpus();
  const bool regenerate = std::getenv("VMBKIT_REGENERATE_CORPUS") != nullptr;
  if (regenerate) std::filesystem::create_directories(corpus_dir());
  for (const auto& [name, bytes] : corpus) {
    const auto path = corpus_dir() / name;
    if (regenerate) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      ASSERT_TRUE(out.good()) << path;
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in.good()) << path << " missing: run with VMBKIT_REGENERATE_CORPUS=1";
    const Bytes committed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(committed, bytes) << name << " is stale: run with VMBKIT_REGENERATE_CORPUS=1";
  }
  // No stray files the generator no longer makes.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    EXPECT_TRUE(corpus.count(entry.path().filename().string())) << entry.path();
    ++files;
  }
  EXPECT_EQ(files, corpus.size());
}

}  // namespace
}  // namespace vmb::wire
