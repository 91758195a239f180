// SPDX-License-Identifier: MIT
// RecordingHostEffects: the fake that HostControlPlane's unit tests and fuzz target drive it
// with. It records every effect in order (messages sent are kept as bytes and can be decoded),
// pretends to map guest memory of a configurable size, and keeps the descriptors handed to it
// so tests can check which ones arrived. Test-only; header-only so the fuzz target can use it.
#pragma once

#include <sys/eventfd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmbkit/bus/host_control_plane.h"
#include "vmbkit/wire/channel_messages.h"

namespace vmb::bus::testing {

enum class HostEffectKind : uint8_t {
  kSend,
  kMapMemory,
  kMemoryReleased,
  kGpadlEstablished,
  kGpadlTornDown,
  kOpenRequested,
  kChannelClosed,
  kRelidReleased,
  kDisconnect,
};

struct HostEffect {
  HostEffectKind kind = HostEffectKind::kSend;
  std::vector<uint8_t> message;  // kSend
  Relid relid{};
  GpadlHandle handle{};
  std::vector<uint64_t> words;          // kGpadlEstablished: the range words; kOpenRequested: pages
  uint32_t downstream_page_offset = 0;  // kOpenRequested
  uint32_t open_id = 0;                 // kOpenRequested
  std::string reason;                   // kDisconnect
};

inline HostEffect make_effect(HostEffectKind kind, Relid relid = {}, GpadlHandle handle = {}) {
  HostEffect effect;
  effect.kind = kind;
  effect.relid = relid;
  effect.handle = handle;
  return effect;
}

class RecordingHostEffects : public HostControlPlaneEffects {
 public:
  // What map_guest_memory returns (a page count, or a failure status).
  Result<uint64_t> memory_pages = uint64_t{1024};

  std::vector<HostEffect> effects;
  std::vector<UniqueFd> memory_fds;                      // descriptors handed to map_guest_memory
  std::vector<std::pair<UniqueFd, UniqueFd>> event_fds;  // per open_requested

  void send_to_guest(std::span<const uint8_t> message) override {
    HostEffect effect;
    effect.message.assign(message.begin(), message.end());
    effects.push_back(std::move(effect));
  }
  Result<uint64_t> map_guest_memory(UniqueFd memory) override {
    memory_fds.push_back(std::move(memory));
    effects.push_back(make_effect(HostEffectKind::kMapMemory));
    return memory_pages;
  }
  void guest_memory_released() override {
    effects.push_back(make_effect(HostEffectKind::kMemoryReleased));
  }
  void gpadl_established(Relid relid, GpadlHandle handle, const GpaRanges& ranges) override {
    HostEffect effect = make_effect(HostEffectKind::kGpadlEstablished, relid, handle);
    effect.words.assign(ranges.words().begin(), ranges.words().end());
    effects.push_back(std::move(effect));
  }
  void gpadl_torn_down(Relid relid, GpadlHandle handle) override {
    effects.push_back(make_effect(HostEffectKind::kGpadlTornDown, relid, handle));
  }
  void open_requested(const HostOpenRequest& request, UniqueFd guest_to_host_event,
                      UniqueFd host_to_guest_event) override {
    HostEffect effect =
        make_effect(HostEffectKind::kOpenRequested, request.relid, request.ring_gpadl);
    effect.words.assign(request.ring_pages.begin(), request.ring_pages.end());
    effect.downstream_page_offset = request.downstream_page_offset;
    effect.open_id = request.open_id;
    effects.push_back(std::move(effect));
    event_fds.emplace_back(std::move(guest_to_host_event), std::move(host_to_guest_event));
  }
  void channel_closed(Relid relid) override {
    effects.push_back(make_effect(HostEffectKind::kChannelClosed, relid));
  }
  void relid_released(Relid relid) override {
    effects.push_back(make_effect(HostEffectKind::kRelidReleased, relid));
  }
  void disconnect(std::string_view reason) override {
    HostEffect effect = make_effect(HostEffectKind::kDisconnect);
    effect.reason = std::string(reason);
    effects.push_back(std::move(effect));
  }

  // The effects of one kind, in order.
  [[nodiscard]] std::vector<const HostEffect*> of_kind(HostEffectKind kind) const {
    std::vector<const HostEffect*> found;
    for (const HostEffect& effect : effects) {
      if (effect.kind == kind) found.push_back(&effect);
    }
    return found;
  }
  [[nodiscard]] size_t count(HostEffectKind kind) const { return of_kind(kind).size(); }

  // Every message sent, decoded (a message that does not decode is a test failure upstream).
  [[nodiscard]] std::vector<wire::ChannelMessage> sent() const {
    std::vector<wire::ChannelMessage> messages;
    for (const HostEffect* effect : of_kind(HostEffectKind::kSend)) {
      auto decoded = wire::decode_channel_message(effect->message);
      if (decoded.has_value()) messages.push_back(std::move(decoded).value());
    }
    return messages;
  }
  // The messages of type T sent, in order.
  template <typename T>
  [[nodiscard]] std::vector<T> sent_of() const {
    std::vector<T> found;
    for (const wire::ChannelMessage& message : sent()) {
      if (const T* typed = std::get_if<T>(&message)) found.push_back(*typed);
    }
    return found;
  }
  // The last message sent, if it was a T.
  template <typename T>
  [[nodiscard]] std::optional<T> last_sent() const {
    const auto messages = sent();
    if (messages.empty()) return std::nullopt;
    if (const T* typed = std::get_if<T>(&messages.back())) return *typed;
    return std::nullopt;
  }

  void clear() { effects.clear(); }
};

// A fresh descriptor to attach to a message (an eventfd; any descriptor would do).
inline UniqueFd make_test_fd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC)); }

}  // namespace vmb::bus::testing
