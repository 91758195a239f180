// SPDX-License-Identifier: MIT
// The input language of the bus_host_control_plane fuzz target, shared by the target
// (tests/fuzz/bus_host_control_plane_fuzz.cc) and its seed-corpus generator
// (src/bus/host_fuzz_corpus_test.cc): a byte string is a sequence of steps, each a guest
// datagram (bytes plus a number of descriptors) or a local event (offer added or removed, open
// completed, connection lost). run_host_script() plays it into a HostControlPlane whose effects
// are checked against the machine's promises; a broken promise aborts. Test-only, header-only.
//
// Steps (one opcode byte, then its operands; input that ends early ends the script):
//   0 datagram       u8 length, u8 descriptor count (mod 4), `length` message bytes
//   1 add_offer      u8 relid, u8 sub_channel_index, u8 instance selector (mod 4)
//   2 remove_offer   u8 relid
//   3 complete_open  u8 relid, u8 outcome (0 = success)
//   4 connection_lost
//   (opcodes are taken mod 5)
#pragma once

#include <sys/eventfd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "vmbkit/bus/host_control_plane.h"

namespace vmb::bus::testing {

inline constexpr uint64_t kFuzzGuestPages = 64;

enum class HostStep : uint8_t {
  kDatagram = 0,
  kAddOffer = 1,
  kRemoveOffer = 2,
  kCompleteOpen = 3,
  kConnectionLost = 4,
};

// Builds scripts (for seeds).
class HostScript {
 public:
  void datagram(std::span<const uint8_t> message, uint8_t fds = 0) {
    bytes_.push_back(static_cast<uint8_t>(HostStep::kDatagram));
    bytes_.push_back(static_cast<uint8_t>(message.size()));
    bytes_.push_back(fds);
    bytes_.insert(bytes_.end(), message.begin(), message.end());
  }
  void add_offer(uint8_t relid, uint8_t sub_channel_index = 0, uint8_t instance = 0) {
    bytes_.insert(bytes_.end(),
                  {static_cast<uint8_t>(HostStep::kAddOffer), relid, sub_channel_index, instance});
  }
  void remove_offer(uint8_t relid) {
    bytes_.insert(bytes_.end(), {static_cast<uint8_t>(HostStep::kRemoveOffer), relid});
  }
  void complete_open(uint8_t relid, bool success) {
    bytes_.insert(bytes_.end(), {static_cast<uint8_t>(HostStep::kCompleteOpen), relid,
                                 static_cast<uint8_t>(success ? 0 : 1)});
  }
  void connection_lost() { bytes_.push_back(static_cast<uint8_t>(HostStep::kConnectionLost)); }
  [[nodiscard]] const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

inline void require(bool condition, const char* promise) {
  if (!condition) {
    std::fprintf(stderr, "bus_host_control_plane_fuzz: broken promise: %s\n", promise);
    std::abort();
  }
}

// Effects that check what HostControlPlane promises its owner.
class CheckingHostEffects final : public HostControlPlaneEffects {
 public:
  void send_to_guest(std::span<const uint8_t> message) override {
    require(!disconnected_, "no message after disconnect");
    require(message.size() <= wire::kMaximumChannelMessageSize, "messages fit 240 bytes");
    const auto decoded = wire::decode_channel_message(message);
    require(decoded.has_value(), "messages sent decode");
  }
  Result<uint64_t> map_guest_memory(UniqueFd memory) override {
    require(!disconnected_ && !mapped_, "memory mapped once per contact");
    require(memory.valid(), "the memory descriptor is handed on");
    mapped_ = true;
    return kFuzzGuestPages;
  }
  void guest_memory_released() override {
    require(mapped_, "memory released only when mapped");
    mapped_ = false;
  }
  void gpadl_established(Relid relid, GpadlHandle handle, const GpaRanges& ranges) override {
    require(!disconnected_, "no GPADL after disconnect");
    require(added_.contains(relid), "GPADLs belong to offered relids");
    require(gpadls_.emplace(handle, relid).second, "a handle is established once");
    ++gpadls_established;
    for (const wire::GpaRangeSpec& range : ranges.ranges()) {
      for (const uint64_t pfn : range.pfns) require(pfn < kFuzzGuestPages, "PFNs inside guest");
    }
  }
  void gpadl_torn_down(Relid relid, GpadlHandle handle) override {
    const auto found = gpadls_.find(handle);
    require(found != gpadls_.end() && found->second == relid, "only established GPADLs go");
    require(!rings_.contains(handle), "a ring GPADL outlives its channel");
    gpadls_.erase(found);
  }
  void open_requested(const HostOpenRequest& request, UniqueFd guest_to_host,
                      UniqueFd host_to_guest) override {
    require(!disconnected_, "no open after disconnect");
    require(guest_to_host.valid() && host_to_guest.valid(), "both eventfds handed on");
    require(!open_.contains(request.relid), "a channel opens once");
    require(gpadls_.contains(request.ring_gpadl), "the ring is an established GPADL");
    const size_t pages = request.ring_pages.size();
    require(request.downstream_page_offset >= 2 && request.downstream_page_offset + 2 <= pages,
            "both rings have a control and a data page");
    for (const uint64_t pfn : request.ring_pages) require(pfn < kFuzzGuestPages, "ring inside");
    open_[request.relid] = request.ring_gpadl;
    ++opens_requested;
    rings_.insert(request.ring_gpadl);
  }
  void channel_closed(Relid relid) override {
    const auto found = open_.find(relid);
    require(found != open_.end(), "only opening or open channels close");
    rings_.erase(found->second);
    open_.erase(found);
  }
  void relid_released(Relid relid) override {
    require(added_.erase(relid) == 1, "a relid is released once, after it was added");
    require(!open_.contains(relid), "a released relid has no channel");
  }
  void disconnect(std::string_view reason) override {
    require(!disconnected_, "disconnect once");
    require(!reason.empty(), "disconnects say why");
    require(open_.empty() && gpadls_.empty() && !mapped_, "cleanup precedes the disconnect");
    disconnected_ = true;
  }

  // The owner refused an open it was asked for (no channel_closed follows: it knows).
  void open_refused(Relid relid) {
    const auto found = open_.find(relid);
    require(found != open_.end(), "only requested opens are answered");
    rings_.erase(found->second);
    open_.erase(found);
  }

  std::set<Relid> added_;  // maintained by the script runner
  size_t opens_requested = 0;
  size_t gpadls_established = 0;
  [[nodiscard]] bool disconnected() const { return disconnected_; }

 private:
  bool disconnected_ = false;
  bool mapped_ = false;
  std::map<GpadlHandle, Relid> gpadls_;
  std::map<Relid, GpadlHandle> open_;
  std::set<GpadlHandle> rings_;
};

inline wire::OfferChannel fuzz_offer(uint8_t relid, uint8_t sub_channel_index, uint8_t instance) {
  wire::OfferChannel offer{};
  offer.if_type = *Guid::parse("f8615163-df3e-46c5-913f-f2d2f965ed0e");
  offer.if_instance.bytes[0] = static_cast<uint8_t>(instance % 4);
  offer.sub_channel_index = sub_channel_index;
  offer.child_relid = relid;
  return offer;
}

// What a script did, for the seed tests.
struct HostScriptSummary {
  bool disconnected = false;  // the machine dropped the guest (a violation)
  size_t opens_requested = 0;
  size_t gpadls_established = 0;
};

// Plays one script. Aborts on a broken promise.
inline HostScriptSummary run_host_script(std::span<const uint8_t> script) {
  CheckingHostEffects effects;
  HostLimits limits;
  limits.maximum_gpadls = 8;
  limits.maximum_pending_gpadls = 4;
  limits.maximum_gpadl_words = 512;
  HostControlPlane host(effects, limits);
  size_t at = 0;
  const auto next = [&](uint8_t* value) {
    if (at >= script.size()) return false;
    *value = script[at++];
    return true;
  };
  const auto summary = [&] {
    HostScriptSummary result{effects.disconnected(), effects.opens_requested,
                             effects.gpadls_established};
    host.connection_lost();  // everything must unwind cleanly
    return result;
  };
  uint8_t op = 0;
  while (next(&op)) {
    uint8_t a = 0;
    uint8_t b = 0;
    uint8_t c = 0;
    switch (static_cast<HostStep>(op % 5)) {
      case HostStep::kDatagram: {
        if (!next(&a) || !next(&b)) return summary();
        const size_t length = std::min<size_t>(a, script.size() - at);
        AttachedFds fds;
        for (int i = 0; i < b % 4; ++i) {
          if (!fds.push(UniqueFd(::eventfd(0, EFD_CLOEXEC)))) break;
        }
        host.receive(script.subspan(at, length), std::move(fds));
        at += length;
        break;
      }
      case HostStep::kAddOffer:
        if (!next(&a) || !next(&b) || !next(&c)) return summary();
        if (host.add_offer(fuzz_offer(a, b, c)).ok()) effects.added_.insert(Relid{a});
        break;
      case HostStep::kRemoveOffer: {
        if (!next(&a)) return summary();
        (void)host.remove_offer(Relid{a});
        break;
      }
      case HostStep::kCompleteOpen:
        if (!next(&a) || !next(&b)) return summary();
        if (host.complete_open(Relid{a}, b == 0 ? Status{} : Status{STATUS_UNSUCCESSFUL}).ok() &&
            b != 0) {
          effects.open_refused(Relid{a});
        }
        break;
      case HostStep::kConnectionLost:
        host.connection_lost();
        require(host.state() == HostConnectionState::kDisconnected, "lost is final");
        break;
    }
  }
  return summary();
}

}  // namespace vmb::bus::testing
