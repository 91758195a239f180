// SPDX-License-Identifier: MIT
// Channel's GPADL functions (kmcl-api.md §4.7): the client describes guest memory and asks its
// bus to establish or tear down a GPADL; the server maps and unmaps by handle. The bookkeeping
// and the handshake with the peer belong to the bus.
#include "channel/callback_scope.h"
#include "vmbkit/channel/channel.h"
#include "vmbkit/channel/log_sink.h"
#include "vmbkit/memory/mdl_chain.h"

namespace vmb {

namespace {

// Client GPADL calls block until the server side confirms: not from a dispatch callback.
Status check_gpadl_caller(const Channel& channel, bool open) {
  if (channel.is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  if (!open || CallbackScope::blocking_forbidden()) return Status{STATUS_INVALID_DEVICE_STATE};
  return Status{};
}

}  // namespace

Result<uint32_t> Channel::create_gpadl(const void* buffer, uint32_t bytes, bool read_only) {
  if (Status status = check_gpadl_caller(*this, is_open()); !status.ok()) return status;
  const std::shared_ptr<const GuestMemoryMapping> memory = bus_->guest_memory();
  GpaRanges ranges;
  if (!memory || buffer == nullptr || bytes == 0 ||
      !memory->describe(buffer, bytes, &ranges).ok()) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  return bus_->create_gpadl(*this, std::move(ranges), read_only);
}

Result<uint32_t> Channel::create_gpadl(const MDL* mdl, uint32_t offset, uint32_t length,
                                       bool read_only) {
  if (Status status = check_gpadl_caller(*this, is_open()); !status.ok()) return status;
  const std::shared_ptr<const GuestMemoryMapping> memory = bus_->guest_memory();
  GpaRanges ranges;
  if (!memory || !describe_mdl_chain(mdl, offset, length, MdlLengthMode::kWithinChain,
                                     memory->page_count(), &ranges)
                      .ok()) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  return bus_->create_gpadl(*this, std::move(ranges), read_only);
}

void Channel::delete_gpadl(uint32_t handle) {
  if (is_server() || CallbackScope::blocking_forbidden()) {
    log_message(LogLevel::kError, "VmbChannelDeleteGpadl: server or dispatch callback");
    return;
  }
  bus_->delete_gpadl(*this, handle);
}

Result<PMDL> Channel::map_gpadl(uint32_t handle, bool read_only) {
  if (!is_server()) return Status{STATUS_INVALID_DEVICE_REQUEST};
  return bus_->map_gpadl(*this, handle, read_only);
}

void Channel::unmap_gpadl(uint32_t handle) {
  if (is_server()) bus_->unmap_gpadl(*this, handle);
}

}  // namespace vmb
