// SPDX-License-Identifier: MIT
// Channel construction, configuration, queries, the packet-object pool and failure
// (see channel.h). The state machine is in channel_lifecycle.cc, sending in channel_send.cc,
// receiving in channel_receive.cc.
#include "vmbkit/channel/channel.h"

#include <cassert>
#include <cstring>
#include <new>

#include "channel/callback_scope.h"
#include "channel/channel_internals.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/wire/packet_format.h"

namespace vmb {
namespace {

// Bytes of the largest GPA-direct header a client may build under `config`: per MDL one range
// header, and per range at most one page more than its bytes need (a range may start mid-page).
uint32_t external_header_capacity(const ChannelConfig& config, EndpointRole role) {
  if (role == EndpointRole::kServer) return 0;  // a server never sends external data
  const uint64_t pages =
      (uint64_t{config.maximum_external_bytes} + wire::kPageSize - 1) / wire::kPageSize;
  const uint64_t chain = config.maximum_external_chain;
  return static_cast<uint32_t>(8 + chain * 8 + (pages + chain) * wire::kPfnSize);
}

}  // namespace

std::unique_ptr<Channel> Channel::create(ChannelBus& bus, EndpointRole role,
                                         std::unique_ptr<ChannelDriver> driver) {
  if (!driver) driver = std::make_unique<ChannelDriver>();
  return std::unique_ptr<Channel>(new Channel(bus, role, std::move(driver)));
}

Channel::Channel(ChannelBus& bus, EndpointRole role, std::unique_ptr<ChannelDriver> driver)
    : bus_(&bus),
      role_(role),
      driver_(std::move(driver)),
      run_requested_(role == EndpointRole::kClient),  // Enable starts a client implicitly
      dispatch_task_(std::make_unique<DispatchTask>(bus.dispatch_pool(), *this)),
      control_task_(std::make_unique<ControlTask>(bus.passive_pool(), *this)),
      passive_task_(std::make_unique<PassiveTask>(bus.passive_pool(), *this)) {}

Channel::~Channel() {
  if (!is_disabled()) disable();
  // Stop the tasks before the state they use goes away. Each is closed (its run finished)
  // before its pointer is cleared: a run still in progress may use it (a polled drain asks
  // whether the task was scheduled again).
  control_task_->close();
  control_task_.reset();
  passive_task_->close();
  passive_task_.reset();
  dispatch_task_->close();
  dispatch_task_.reset();
  if (polling_.load(std::memory_order_relaxed)) WorkerPool::add_polled_channels(-1);
  for (void* memory : pooled_packet_memory_) {
    static_cast<PacketObject*>(memory)->invalidate();
    ::operator delete (memory, std::align_val_t{kCacheLine});
  }
  for (auto& record : records_) record->magic_ = 0;
  magic_ = 0;
}

// ---- Configuration ----

#define VMBKIT_REQUIRE_DISABLED()               \
  const std::lock_guard lock(mutex_);           \
  if (connection_ != Connection::kDisabled) {   \
    return Status{STATUS_INVALID_DEVICE_STATE}; \
  }

Status Channel::set_maximum_packet_size(uint32_t bytes) {
  VMBKIT_REQUIRE_DISABLED();
  if (bytes == 0 || bytes > kMaximumPacketSizeLimit) return Status{STATUS_INVALID_PARAMETER_2};
  config_.maximum_packet_size = bytes;
  free_packets_.clear();  // pooled objects of the old size are not handed out again
  return {};
}

Status Channel::set_maximum_external_data(uint32_t bytes, uint32_t chain_length) {
  VMBKIT_REQUIRE_DISABLED();
  if (bytes == 0) return Status{STATUS_INVALID_PARAMETER_2};
  if (chain_length == 0 || chain_length > kMaximumExternalChainLimit) {
    return Status{STATUS_INVALID_PARAMETER_3};
  }
  config_.maximum_external_bytes = bytes;
  config_.maximum_external_chain = chain_length;
  free_packets_.clear();
  return {};
}

Status Channel::set_client_context_size(uint32_t bytes) {
  VMBKIT_REQUIRE_DISABLED();
  config_.client_context_size = bytes;
  return {};
}

Status Channel::set_pipe_mode(bool pipe) {
  VMBKIT_REQUIRE_DISABLED();
  config_.pipe_mode = pipe;
  return {};
}

Status Channel::set_friendly_name(std::u16string name) {
  VMBKIT_REQUIRE_DISABLED();
  config_.friendly_name = std::move(name);
  return {};
}

Status Channel::set_ring_page_counts(uint32_t incoming_pages, uint32_t outgoing_pages) {
  VMBKIT_REQUIRE_DISABLED();
  if (is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  if (incoming_pages == 0 || incoming_pages > kMaximumRingPages) {
    return Status{STATUS_INVALID_PARAMETER_2};
  }
  if (outgoing_pages == 0 || outgoing_pages > kMaximumRingPages) {
    return Status{STATUS_INVALID_PARAMETER_3};
  }
  config_.incoming_ring_pages = incoming_pages;
  config_.outgoing_ring_pages = outgoing_pages;
  return {};
}

Status Channel::set_target(const Guid& type, std::optional<Guid> instance) {
  VMBKIT_REQUIRE_DISABLED();
  if (is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  config_.interface_type = type;
  config_.interface_instance = instance;
  return {};
}

Status Channel::set_offer(const Guid& type, const Guid& instance) {
  VMBKIT_REQUIRE_DISABLED();
  if (!is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  config_.interface_type = type;
  config_.interface_instance = instance;
  return {};
}

Status Channel::set_server_flags(uint32_t flags) {
  VMBKIT_REQUIRE_DISABLED();
  if (!is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  if ((flags & ~kServerDefinedFlags) != 0) return Status{STATUS_INVALID_PARAMETER_2};
  config_.server_flags = flags;
  return {};
}

Status Channel::set_mmio(uint16_t megabytes, uint16_t optional_megabytes) {
  VMBKIT_REQUIRE_DISABLED();
  if (!is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  if (megabytes == 0 && optional_megabytes == 0) return Status{STATUS_INVALID_PARAMETER};
  config_.mmio_megabytes = megabytes;
  config_.mmio_megabytes_optional = optional_megabytes;
  return {};
}

Status Channel::set_target_vtl(uint8_t vtl) {
  VMBKIT_REQUIRE_DISABLED();
  if (!is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  if (vtl != 0) return Status{STATUS_INVALID_PARAMETER_2};  // every vmbkit client is at VTL 0
  config_.target_vtl = vtl;
  return {};
}

Status Channel::set_sub_channel_index(uint16_t index) {
  VMBKIT_REQUIRE_DISABLED();
  config_.sub_channel_index = index;
  return {};
}

Status Channel::set_polling(bool enable) {
  VMBKIT_REQUIRE_DISABLED();
  if (polling_.exchange(enable, std::memory_order_relaxed) != enable) {
    WorkerPool::add_polled_channels(enable ? 1 : -1);
  }
  return {};
}

#undef VMBKIT_REQUIRE_DISABLED

ChannelConfig Channel::config() const {
  const std::lock_guard lock(mutex_);
  return config_;
}

// ---- Queries ----

ChannelStatistics Channel::statistics() const {
  ChannelStatistics statistics;
  statistics.packets_sent = tx_packets_.get();
  statistics.bytes_sent = tx_bytes_.get();
  statistics.completions_sent = tx_completions_.get();
  statistics.packets_received = rx_packets_.get();
  statistics.bytes_received = rx_bytes_.get();
  statistics.completions_received = rx_completions_.get();
  statistics.signals_sent = tx_signals_.get() + rx_signals_.load(std::memory_order_relaxed);
  statistics.signals_received = signals_received_.load(std::memory_order_relaxed);
  return statistics;
}

bool Channel::is_disabled() const {
  const std::lock_guard lock(mutex_);
  return connection_ == Connection::kDisabled;
}

bool Channel::is_open() const {
  const std::lock_guard lock(mutex_);
  return connection_ == Connection::kOpen;
}

void Channel::set_incoming_at_passive(bool passive) {
  const std::lock_guard lock(mutex_);
  incoming_at_passive_ = passive;
}

void Channel::set_transaction_quota(uint32_t quota) {
  if (quota == 0) {
    log_message(LogLevel::kWarning, "VmbChannelSetTransactionQuota: quota 0 ignored");
    return;
  }
  const std::lock_guard lock(mutex_);
  quota_ = quota;  // a lower quota takes effect at the next read; only completions restart
  update_ring_gate_locked();
}

Status Channel::set_interrupt_latency(uint16_t latency, uint16_t* original) {
  if (is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  const std::lock_guard lock(mutex_);
  if (connection_ != Connection::kOpen) return Status{STATUS_INVALID_DEVICE_STATE};
  if (original != nullptr) *original = interrupt_latency_;
  interrupt_latency_ = latency;
  return {};
}

Guid Channel::interface_instance() const {
  const std::lock_guard lock(mutex_);
  if (is_server()) return config_.interface_instance.value_or(Guid{});
  return connection_ == Connection::kOpen ? open_instance_ : Guid{};
}

Status Channel::failure(std::string* description) const {
  const std::lock_guard lock(mutex_);
  if (description != nullptr) *description = failure_reason_;
  return failure_;
}

void Channel::fail(Status status, std::string reason) {
  {
    const std::lock_guard lock(mutex_);
    if (!failure_.ok()) return;  // the first reason is kept; logged once
    failure_ = status;
    failure_reason_ = std::move(reason);
    incoming_enabled_ = false;
    update_ring_gate_locked();
    log_message(LogLevel::kError, "channel failed: %s (%s)", failure_reason_.c_str(),
                to_string(failure_).data());
    retire_all_sends(Status{STATUS_DEVICE_REMOVED});
    changed_.notify_all();
  }
  dispatch_task_->schedule();  // runs the retired packets' completion routines
  post(Event{EventKind::kFailed, nullptr, nullptr, status}, false);
}

// ---- Packet objects ----

uint32_t Channel::packet_object_size() const {
  const std::lock_guard lock(mutex_);
  return static_cast<uint32_t>(
      sizeof(PacketObject) + PacketObject::storage_bytes(config_.maximum_packet_size,
                                                         external_header_capacity(config_, role_)));
}

PacketObject* Channel::allocate_packet() {
  const std::lock_guard lock(mutex_);
  return allocate_packet_locked();
}

PacketObject* Channel::allocate_packet_locked() {
  release_polled_locked();  // a synchronous request's packet matched without mutex_
  PacketObject* packet;
  if (!free_packets_.empty()) {
    packet = free_packets_.back();
    free_packets_.pop_back();
  } else {
    const uint32_t external = external_header_capacity(config_, role_);
    const size_t bytes =
        sizeof(PacketObject) + PacketObject::storage_bytes(config_.maximum_packet_size, external);
    // Whole cache lines: a packet never shares one with another channel's hot data.
    void* memory = ::operator new ((bytes + kCacheLine - 1) / kCacheLine * kCacheLine,
                                   std::align_val_t{kCacheLine}, std::nothrow);
    if (memory == nullptr) return nullptr;
    try {
      pooled_packet_memory_.push_back(memory);
    } catch (const std::bad_alloc&) {
      ::operator delete (memory, std::align_val_t{kCacheLine});
      return nullptr;
    }
    packet = new (memory) PacketObject(*this, true, config_.maximum_packet_size, external);
  }
  packet->pointer_ = nullptr;
  packet->completion_ = PacketObject::Completion::kFreeAutomatically;
  packet->routine_ = nullptr;
  return packet;
}

Result<PacketObject*> Channel::initialize_packet(void* memory, uint32_t bytes) {
  if (memory == nullptr || reinterpret_cast<uintptr_t>(memory) % PacketObject::kAlignment != 0) {
    return Status{STATUS_INVALID_PARAMETER_2};
  }
  if (bytes < packet_object_size()) return Status{STATUS_INVALID_PARAMETER_3};
  const std::lock_guard lock(mutex_);
  auto* packet = new (memory) PacketObject(*this, false, config_.maximum_packet_size,
                                           external_header_capacity(config_, role_));
  packet->completion_ = PacketObject::Completion::kNone;
  return packet;
}

bool PacketObject::set_completion(Completion completion, GenericRoutine routine) {
  const std::lock_guard lock(channel_->mutex_);
  if (in_flight()) return false;
  completion_ = completion;
  routine_ = routine;
  return true;
}

void Channel::free_packet(PacketObject& packet) {
  const std::lock_guard lock(mutex_);
  free_packet_locked(packet);
}

void Channel::free_packet_locked(PacketObject& packet) {
  if (!packet.from_pool() || packet.in_flight() || packet.channel_ != this) {
    log_message(LogLevel::kWarning, "VmbPacketFree: packet not pooled, not idle or foreign");
    return;
  }
  if (packet.inband_capacity_ != config_.maximum_packet_size ||
      packet.external_header_capacity_ != external_header_capacity(config_, role_)) {
    return;  // sized for an old configuration; freed with the channel
  }
  try {
    free_packets_.push_back(&packet);
  } catch (const std::bad_alloc&) {
    // Not reused; its memory is still freed with the channel.
  }
}

}  // namespace vmb

namespace vmb {

void ChannelDriver::process_packet(Channel& channel, IncomingPacket& packet,
                                   std::span<std::byte> /*payload*/, bool /*external_data*/) {
  channel.complete(packet, {});
}

}  // namespace vmb
