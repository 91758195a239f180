// SPDX-License-Identifier: MIT
// Fuzz target for GPADL establishment as a server sees it: a GPADL_HEADER and GPADL_BODY
// messages from a peer into GpadlReassembler, then GpaRanges::from_words against a 64-page
// guest and an MdlChain over the server's mapping. It must never crash; an accepted GPADL must
// re-encode (encode_gpadl) into messages that reassemble to the same words; every MDL must map.
// Input: messages, each as u8 length then that many bytes. Seeds: tests/fuzz/corpus/gpadl/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "vmbkit/mdl.h"
#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory.h"
#include "vmbkit/memory/mdl_chain.h"
#include "vmbkit/wire/gpadl_messages.h"

namespace {

constexpr uint64_t kGuestPages = 64;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "gpadl_fuzz: %s\n", what);
    std::abort();
  }
}

std::shared_ptr<const vmb::GuestMemoryMapping> server() {
  static const auto memory = [] {
    auto created = vmb::GuestMemory::create(kGuestPages);
    require(created.has_value(), "cannot create guest memory");
    return std::move(*created);
  }();
  return memory->mapping();
}

// Splits the input into length-prefixed messages.
std::vector<std::span<const uint8_t>> messages_of(const uint8_t* data, size_t size) {
  std::vector<std::span<const uint8_t>> messages;
  size_t at = 0;
  while (at < size) {
    const size_t length = data[at++];
    if (length > size - at) break;
    messages.emplace_back(data + at, length);
    at += length;
  }
  return messages;
}

void check_accepted(const vmb::wire::ReassembledGpadl& gpadl, const vmb::GpaRanges& ranges) {
  auto messages = vmb::wire::encode_gpadl(gpadl.child_relid, gpadl.gpadl, ranges.ranges());
  require(messages.has_value(), "accepted GPADL cannot be re-encoded");
  auto again = vmb::wire::GpadlReassembler::begin((*messages)[0].span());
  require(again.has_value(), "re-encoded header refused");
  for (size_t i = 1; i < messages->size(); ++i) {
    require((*messages)[i].size <= vmb::wire::kMaximumChannelMessageSize, "message too long");
    require(again->add_body((*messages)[i].span()).ok(), "re-encoded body refused");
  }
  require(again->complete(), "re-encoded GPADL incomplete");
  require(again->take().range_words == gpadl.range_words, "words differ after re-encoding");

  auto chain = vmb::MdlChain::from_ranges(server(), ranges, false);
  require(chain.has_value(), "MdlChain refused accepted ranges");
  for (PMDL mdl = chain->first(); mdl != nullptr; mdl = mdl->Next) {
    auto* bytes = static_cast<volatile uint8_t*>(MmGetSystemAddressForMdlSafe(mdl, 0));
    require(bytes != nullptr, "accepted GPADL range could not be mapped");
    bytes[0] = bytes[0];
    bytes[MmGetMdlByteCount(mdl) - 1] = bytes[MmGetMdlByteCount(mdl) - 1];
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto messages = messages_of(data, size);
  if (messages.empty()) return 0;
  vmb::wire::GpadlFault fault = vmb::wire::GpadlFault::kNone;
  auto reassembler = vmb::wire::GpadlReassembler::begin(messages[0], &fault);
  if (!reassembler) {
    require(fault != vmb::wire::GpadlFault::kNone, "refusal without a reason");
    return 0;
  }
  for (size_t i = 1; i < messages.size(); ++i) {
    const size_t missing = reassembler->missing_words();
    if (!reassembler->add_body(messages[i], &fault).ok()) {
      require(fault != vmb::wire::GpadlFault::kNone, "refusal without a reason");
      return 0;
    }
    require(reassembler->missing_words() < missing, "a body added no words");
  }
  if (!reassembler->complete()) return 0;
  vmb::wire::ReassembledGpadl gpadl = reassembler->take();
  require(gpadl.range_words.size() >= 2 * size_t{gpadl.range_count}, "counts inconsistent");
  vmb::RangeFault range_fault = vmb::RangeFault::kNone;
  auto ranges =
      vmb::GpaRanges::from_words(gpadl.range_words, gpadl.range_count, kGuestPages, &range_fault);
  if (!ranges) {
    require(range_fault != vmb::RangeFault::kNone, "range refusal without a reason");
    return 0;
  }
  check_accepted(gpadl, *ranges);
  return 0;
}
