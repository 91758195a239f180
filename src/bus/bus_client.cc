// SPDX-License-Identifier: MIT
// BusClient's requests: connect, offers, GPADL creation and teardown, opening a channel (ring
// pages in guest memory, both control pages initialised, two eventfds, GPADL, OPENCHANNEL) and
// closing it (teardown confirmed before the pages are freed), unload. Each request runs the
// GuestControlPlane under the lock and waits for its answer with a deadline.
#include "vmbkit/bus/bus_client.h"

#include <sys/eventfd.h>

#include <numeric>
#include <utility>

#include "bus/bus_client_impl.h"
#include "vmbkit/ring/ring_view.h"
#include "vmbkit/wire/gpadl_messages.h"
#include "vmbkit/wire/ring_format.h"

namespace vmb::bus {

BusClient::BusClient(std::unique_ptr<GuestMemory> memory, std::unique_ptr<Impl> impl)
    : memory_(std::move(memory)), impl_(std::move(impl)) {}

// The reader stops before the memory goes: the host keeps its own mapping of it anyway.
BusClient::~BusClient() { impl_.reset(); }

Result<std::unique_ptr<BusClient>> BusClient::connect(const std::string& path,
                                                      BusClientHandler* handler,
                                                      const BusClientOptions& options,
                                                      const Deadline& deadline) {
  auto memory = GuestMemory::create(options.memory_pages);
  if (!memory.has_value()) return memory.status();
  auto socket = BusSocket::connect(path);
  if (!socket.has_value()) return socket.status();
  auto impl = std::make_unique<Impl>(std::move(socket.value()), handler, options);
  if (Status status = impl->start(memory.value()->fd(), deadline); !status.ok()) return status;
  return std::unique_ptr<BusClient>(new BusClient(std::move(memory.value()), std::move(impl)));
}

bool BusClient::connected() const {
  std::lock_guard lock(impl_->mutex);
  return !impl_->lost && impl_->control.state() == GuestConnectionState::kReady;
}

std::vector<wire::OfferChannel> BusClient::offers() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->offers;
}

Result<wire::OfferChannel> BusClient::wait_for_offer(
    const std::function<bool(const wire::OfferChannel&)>& match, const Deadline& deadline) {
  std::unique_lock lock(impl_->mutex);
  std::optional<wire::OfferChannel> found;
  const Status status = impl_->wait(
      lock, deadline,
      [&] {
        for (const wire::OfferChannel& offer : impl_->offers) {
          if (match(offer)) {
            found = offer;
            return true;
          }
        }
        return false;
      },
      false);  // an offer that never comes is not the host failing to answer
  if (!status.ok()) return status;
  return *found;
}

Result<GpadlHandle> BusClient::create_gpadl(Relid relid, const GpaRanges& ranges,
                                            const Deadline& deadline) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->lost) return Status{STATUS_DEVICE_REMOVED};
  if (impl_->rescinded.contains(relid)) return Status{STATUS_DEVICE_REMOVED};
  auto handle = impl_->control.create_gpadl(relid, ranges);
  if (!handle.has_value()) return handle.status();
  const GpadlHandle created = *handle;
  impl_->gpadl_results[created] = std::nullopt;
  const Status waited = impl_->wait(
      lock, deadline, [&] { return impl_->gpadl_results[created].has_value(); }, true);
  const std::optional<Status> result = impl_->gpadl_results[created];
  impl_->gpadl_results.erase(created);
  if (!waited.ok()) return waited;
  if (!result->ok()) {
    // The host refused; a refusal because of a rescind reads as the device being gone.
    return impl_->rescinded.contains(relid) ? Status{STATUS_DEVICE_REMOVED} : *result;
  }
  ++impl_->held[relid];
  return created;
}

Status BusClient::teardown_gpadl(Relid relid, GpadlHandle handle, const Deadline& deadline) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->lost) return Status{};  // the host is gone: nothing maps the memory any more
  if (Status status = impl_->control.teardown_gpadl(relid, handle); !status.ok()) return status;
  const Status waited = impl_->wait(
      lock, deadline, [&] { return impl_->torn_down.contains(handle); }, true);
  impl_->torn_down.erase(handle);
  if (--impl_->held[relid] <= 0) impl_->held.erase(relid);
  impl_->release_unheld_locked();
  // Lost meanwhile: the memory is ours again all the same.
  return waited == Status{STATUS_DEVICE_REMOVED} ? Status{} : waited;
}

Result<GuestChannelResources> BusClient::open_channel(Relid relid, uint32_t outgoing_pages,
                                                      uint32_t incoming_pages,
                                                      const wire::UserDefinedData& user_data,
                                                      const Deadline& deadline) {
  const uint64_t total = uint64_t{outgoing_pages} + incoming_pages;
  if (outgoing_pages < 2 || incoming_pages < 2 || total > wire::kGpadlMaximumPages) {
    return Status{STATUS_INVALID_PARAMETER};
  }
  GuestChannelResources channel;
  channel.relid = relid;
  auto pages = memory_->allocate_pages(total);
  if (!pages.has_value()) return pages.status();
  channel.ring_pages = *pages;
  // Both control pages belong to us until OPENCHANNEL (wire-format.md §5.5 step 3); like
  // Linux, advertise the pending-send-size protocol on both.
  ring::initialize_control_page(channel.ring_pages.address, wire::kFeaturePendingSendSize);
  ring::initialize_control_page(channel.ring_pages.address + uint64_t{outgoing_pages} * 4096,
                                wire::kFeaturePendingSendSize);
  std::vector<uint64_t> pfns(total);
  std::iota(pfns.begin(), pfns.end(), channel.ring_pages.first_pfn);
  GpaRanges ranges;
  Status status = ranges.append(static_cast<uint32_t>(total * 4096), 0, pfns);
  auto outgoing =
      RingMapping::map(memory_->mapping()->region(), std::span(pfns).subspan(0, outgoing_pages));
  auto incoming =
      RingMapping::map(memory_->mapping()->region(), std::span(pfns).subspan(outgoing_pages));
  channel.signal_host.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  channel.host_signals.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (status.ok() && (!outgoing.has_value() || !incoming.has_value() || !channel.signal_host ||
                      !channel.host_signals)) {
    status = Status{STATUS_INSUFFICIENT_RESOURCES};
  }
  if (!status.ok()) {
    (void)memory_->free(channel.ring_pages.address);
    return status;
  }
  channel.outgoing_ring = std::move(outgoing.value());
  channel.incoming_ring = std::move(incoming.value());

  auto gpadl = create_gpadl(relid, ranges, deadline);
  if (!gpadl.has_value()) {
    (void)memory_->free(channel.ring_pages.address);
    return gpadl.status();
  }
  channel.ring_gpadl = *gpadl;
  std::unique_lock lock(impl_->mutex);
  status = impl_->control.open_channel(relid, channel.ring_gpadl, outgoing_pages, user_data,
                                       channel.signal_host.get(), channel.host_signals.get());
  if (status.ok()) {
    impl_->open_results[relid] = std::nullopt;
    status = impl_->wait(
        lock, deadline, [&] { return impl_->open_results[relid].has_value(); }, true);
    if (status.ok()) status = *impl_->open_results[relid];
    impl_->open_results.erase(relid);
    if (!status.ok() && impl_->rescinded.contains(relid)) status = Status{STATUS_DEVICE_REMOVED};
  }
  if (status.ok()) {
    impl_->open_channels.insert(relid);
    return channel;
  }
  lock.unlock();
  // Undo: the host must confirm the teardown before the pages may be reused.
  (void)teardown_gpadl(relid, channel.ring_gpadl, deadline);
  (void)memory_->free(channel.ring_pages.address);
  return status;
}

Status BusClient::close_channel(GuestChannelResources& channel, const Deadline& deadline) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->lost) (void)impl_->control.close_channel(channel.relid);
    impl_->open_channels.erase(channel.relid);
  }
  // The rings stop being ours to touch before the host confirms the teardown.
  channel.outgoing_ring = RingMapping();
  channel.incoming_ring = RingMapping();
  const Status status = teardown_gpadl(channel.relid, channel.ring_gpadl, deadline);
  if (channel.ring_pages.address != nullptr) (void)memory_->free(channel.ring_pages.address);
  channel.ring_pages = GuestBuffer{};
  channel.signal_host.reset();
  channel.host_signals.reset();
  return status;
}

Status BusClient::unload(const Deadline& deadline) {
  std::unique_lock lock(impl_->mutex);
  if (impl_->lost) return Status{STATUS_DEVICE_REMOVED};
  if (Status status = impl_->control.unload(); !status.ok()) return status;
  return impl_->wait(
      lock, deadline, [&] { return impl_->unload_done; }, true);
}

}  // namespace vmb::bus
