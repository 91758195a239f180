// SPDX-License-Identifier: MIT
// RecordingGuestEffects: the fake that GuestControlPlane's unit tests drive it with. Records
// every effect in order; messages sent are kept as bytes with the descriptors they carried.
// Test-only, header-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vmbkit/bus/guest_control_plane.h"
#include "vmbkit/wire/channel_messages.h"

namespace vmb::bus::testing {

enum class GuestEffectKind : uint8_t {
  kSend,
  kConnected,
  kConnectFailed,
  kOfferReceived,
  kAllOffersDelivered,
  kOfferRescinded,
  kGpadlCreated,
  kGpadlTornDown,
  kOpenCompleted,
  kUnloaded,
  kDisconnect,
};

struct GuestEffect {
  GuestEffectKind kind = GuestEffectKind::kSend;
  std::vector<uint8_t> message;  // kSend
  std::vector<int> fds;          // kSend
  Relid relid{};
  GpadlHandle handle{};
  Status status;
  std::string reason;  // kDisconnect
};

class RecordingGuestEffects : public GuestControlPlaneEffects {
 public:
  std::vector<GuestEffect> effects;

  void send_to_host(std::span<const uint8_t> message, std::span<const int> fds) override {
    GuestEffect& effect = add(GuestEffectKind::kSend);
    effect.message.assign(message.begin(), message.end());
    effect.fds.assign(fds.begin(), fds.end());
  }
  void connected(wire::ProtocolVersion /*version*/) override { add(GuestEffectKind::kConnected); }
  void connect_failed(Status status) override {
    add(GuestEffectKind::kConnectFailed).status = status;
  }
  void offer_received(const wire::OfferChannel& offer) override {
    add(GuestEffectKind::kOfferReceived).relid = Relid{offer.child_relid};
  }
  void all_offers_delivered() override { add(GuestEffectKind::kAllOffersDelivered); }
  void offer_rescinded(Relid relid) override {
    add(GuestEffectKind::kOfferRescinded).relid = relid;
  }
  void gpadl_created(Relid relid, GpadlHandle handle, Status status) override {
    GuestEffect& effect = add(GuestEffectKind::kGpadlCreated);
    effect.relid = relid;
    effect.handle = handle;
    effect.status = status;
  }
  void gpadl_torn_down(Relid relid, GpadlHandle handle) override {
    GuestEffect& effect = add(GuestEffectKind::kGpadlTornDown);
    effect.relid = relid;
    effect.handle = handle;
  }
  void open_completed(Relid relid, Status status) override {
    GuestEffect& effect = add(GuestEffectKind::kOpenCompleted);
    effect.relid = relid;
    effect.status = status;
  }
  void unloaded() override { add(GuestEffectKind::kUnloaded); }
  void disconnect(std::string_view reason) override {
    add(GuestEffectKind::kDisconnect).reason = std::string(reason);
  }

  [[nodiscard]] std::vector<const GuestEffect*> of_kind(GuestEffectKind kind) const {
    std::vector<const GuestEffect*> found;
    for (const GuestEffect& effect : effects) {
      if (effect.kind == kind) found.push_back(&effect);
    }
    return found;
  }
  [[nodiscard]] size_t count(GuestEffectKind kind) const { return of_kind(kind).size(); }
  // The last message sent, decoded as T, if it was one.
  template <typename T>
  [[nodiscard]] std::optional<T> last_sent() const {
    const auto sends = of_kind(GuestEffectKind::kSend);
    if (sends.empty()) return std::nullopt;
    const auto decoded = wire::decode_channel_message(sends.back()->message);
    if (const T* typed = decoded.get_if<T>()) return *typed;
    return std::nullopt;
  }
  void clear() { effects.clear(); }

 private:
  GuestEffect& add(GuestEffectKind kind) {
    effects.emplace_back();
    effects.back().kind = kind;
    return effects.back();
  }
};

}  // namespace vmb::bus::testing
