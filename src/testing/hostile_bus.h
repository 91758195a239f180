// SPDX-License-Identifier: MIT
// HostileBus: a ChannelBus for attack tests. A channel marked with attack() is opened, when it
// is enabled, to a HostilePeer (hostile_peer.h) that the test drives with raw access to the
// rings; every other channel is paired as usual by an inner LoopbackBus. Attacked and ordinary
// channels share the bus's worker pools and guest memory, so a test can show that a failed
// channel leaves its neighbours working. The rings of an attacked channel are allocated in that
// guest memory and initialised as a guest does (then optionally spoiled before the victim sees
// them); a server victim can be handed GPADLs with any ranges, and a client victim's GPADLs are
// recorded as the host received them. Test-only. Not here: the attacks (the tests) or the
// peer's mechanics (hostile_peer.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "testing/hostile_peer.h"
#include "vmbkit/channel/channel_bus.h"
#include "vmbkit/channel/loopback_bus.h"
#include "vmbkit/memory/mdl_chain.h"

namespace vmb::testing {

class HostileBus final : public ChannelBus {
 public:
  struct Options {
    uint64_t guest_pages = 2048;
    uint32_t dispatch_threads = 2;
    uint32_t passive_threads = 2;
  };
  // How the hostile side opens an attacked channel.
  struct Attack {
    // Server victims: data pages of the two rings the hostile guest allocates. (A client
    // victim's own configuration sizes its rings.)
    uint32_t to_victim_pages = 8;
    uint32_t from_victim_pages = 8;
    // Runs on the initialised rings before the victim receives them: a guest that opens with
    // spoiled control pages.
    std::function<void(RawRing& to_victim, RawRing& from_victim)> before_open;
  };

  static Result<std::unique_ptr<HostileBus>> create(const Options& options);
  // Every channel on the bus must be destroyed first, and every HostilePeer reference dropped.
  ~HostileBus() override;
  HostileBus(const HostileBus&) = delete;
  HostileBus& operator=(const HostileBus&) = delete;

  // Marks a channel of this bus (not yet enabled) as attacked: its next Enable opens it to a
  // new HostilePeer.
  void attack(Channel& victim, Attack attack);
  void attack(Channel& victim);  // with the default Attack
  // The peer of the victim's latest open, waiting up to `wait` for it; null on timeout.
  std::shared_ptr<HostilePeer> wait_for_peer(Channel& victim, std::chrono::milliseconds wait);
  // Server victims: a GPADL the hostile guest created over `ranges` (not checked in any way);
  // returns its handle for the victim's map_gpadl.
  uint32_t add_gpadl(Channel& server_victim, GpaRanges ranges, bool read_only);
  // Client victims: the range words of a GPADL the victim created, as the host received them.
  std::optional<std::vector<uint64_t>> gpadl_words(Channel& client_victim, uint32_t handle);

  [[nodiscard]] LoopbackBus& loopback() { return *inner_; }
  [[nodiscard]] GuestMemory& memory() { return inner_->memory(); }

  WorkerPool& dispatch_pool() override { return inner_->dispatch_pool(); }
  WorkerPool& passive_pool() override { return inner_->passive_pool(); }
  Status offer(Channel& server) override;
  void rescind(Channel& server) override;
  Status connect(Channel& client) override;
  void disconnect(Channel& client) override;
  std::shared_ptr<const GuestMemoryMapping> guest_memory() override {
    return inner_->guest_memory();
  }
  Result<uint32_t> create_gpadl(Channel& client, GpaRanges ranges, bool read_only) override;
  void delete_gpadl(Channel& client, uint32_t handle) override;
  Result<PMDL> map_gpadl(Channel& server, uint32_t handle, bool read_only) override;
  void unmap_gpadl(Channel& server, uint32_t handle) override;
  void close_connection(Channel& channel, const ChannelConnection* connection) override;

 private:
  class Connection;
  struct RingPages;
  struct Gpadl {
    GpaRanges ranges;
    bool read_only = false;
    std::optional<MdlChain> mapping;
  };
  struct Victim {
    Attack attack;
    std::shared_ptr<HostilePeer> peer;  // of the latest open
    std::shared_ptr<RingPages> pages;
    std::map<uint32_t, Gpadl> gpadls;
    uint32_t next_gpadl = 1;
  };

  explicit HostileBus(std::unique_ptr<LoopbackBus> inner) : inner_(std::move(inner)) {}
  Victim* find_locked(Channel& channel);
  // Allocates and initialises the rings, builds the peer and hands the victim its connection.
  Status open_locked(Channel& channel, Victim& victim);
  // Detaches the victim from its current peer (it closed its side). mutex_ held.
  static void detach_locked(Victim& victim);

  std::unique_ptr<LoopbackBus> inner_;
  std::mutex mutex_;  // victims_; taken before any link's locks
  std::condition_variable changed_;
  std::map<Channel*, Victim> victims_;
};

}  // namespace vmb::testing
