// SPDX-License-Identifier: MIT
// DiskQueue (disk_queue.h): issuing, completing and verifying the requests of one channel. The
// completion routine runs on the channel's dispatch context: it never blocks except on this
// queue's own mutex, which nothing holds for long.
#include "disk_queue.h"

#include <cstring>
#include <string>

#include "disk_protocol.h"

namespace vmb::disk {
namespace {

constexpr std::byte kReadPoison{0xA5};

}  // namespace

std::unique_ptr<DiskQueue> DiskQueue::create(PDEVICE_OBJECT bus, VMBCHANNEL channel,
                                             const QueueOptions& options, std::string* error) {
  if (options.queue_depth == 0 || options.io_blocks == 0 ||
      options.extent_count <= options.queue_depth) {
    *error = "each queue needs more extents than requests in flight";
    return nullptr;
  }
  const uint64_t buffer_bytes =
      uint64_t{options.queue_depth} * options.io_blocks * options.block_size;
  if (buffer_bytes > UINT32_MAX) {
    *error = "queue depth x I/O size does not fit one guest buffer";
    return nullptr;
  }
  std::unique_ptr<DiskQueue> queue(new DiskQueue(bus, channel, options));
  const NTSTATUS allocated = VmbKitAllocateGuestBuffer(bus, static_cast<UINT32>(buffer_bytes),
                                                       &queue->buffer_, &queue->mdl_);
  if (allocated != STATUS_SUCCESS) {
    *error = std::string("VmbKitAllocateGuestBuffer: ") + VmbKitStatusName(allocated);
    return nullptr;
  }
  // The slots never move after this: each packet keeps a pointer to its own.
  queue->slots_.resize(options.queue_depth);
  for (uint32_t i = 0; i < options.queue_depth; ++i) {
    Slot& slot = queue->slots_[i];
    slot.owner = queue.get();
    slot.index = i;
    slot.packet = VmbPacketAllocate(channel);
    if (slot.packet == nullptr) {
      *error = "VmbPacketAllocate failed";
      return nullptr;
    }
    VmbPacketSetCompletionRoutine(slot.packet, &DiskQueue::completion_routine);
    VmbPacketSetPointer(slot.packet, &slot);
  }
  return queue;
}

DiskQueue::DiskQueue(PDEVICE_OBJECT bus, VMBCHANNEL channel, const QueueOptions& options)
    : bus_(bus),
      channel_(channel),
      options_(options),
      pattern_(options.block_size),
      io_bytes_(options.io_blocks * options.block_size),
      extents_(options.extent_count),
      random_(options.seed) {}

DiskQueue::~DiskQueue() {
  for (const Slot& slot : slots_) {
    if (slot.packet != nullptr) VmbPacketFree(slot.packet);
  }
  // Memory that a request in flight still describes must not be reused: leak it instead.
  std::lock_guard<std::mutex> lock(mutex_);
  if (buffer_ != nullptr && in_flight_ == 0) VmbKitFreeGuestBuffer(bus_, buffer_, mdl_);
}

std::byte* DiskQueue::slot_data(const Slot& slot) const {
  return static_cast<std::byte*>(buffer_) + size_t{slot.index} * io_bytes_;
}

std::string DiskQueue::first_problem() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return first_problem_;
}

uint32_t DiskQueue::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

void DiskQueue::note_problem_locked(std::string problem) {
  if (first_problem_.empty()) first_problem_ = std::move(problem);
}

NTSTATUS DiskQueue::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Slot& slot : slots_) {
    if (!issue_locked(slot)) break;
  }
  return in_flight_ > 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}

void DiskQueue::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (phase_ == Phase::kRandom) phase_ = Phase::kDraining;
}

bool DiskQueue::wait_idle_locked(std::unique_lock<std::mutex>& lock,
                                 std::chrono::milliseconds timeout) {
  return idle_.wait_for(lock, timeout, [this] { return in_flight_ == 0; });
}

bool DiskQueue::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return wait_idle_locked(lock, timeout);
}

bool DiskQueue::read_back(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (in_flight_ != 0) return false;
  // Every extent written is read back once, whether or not the random phase re-read it.
  phase_ = Phase::kReadBack;
  read_back_next_ = 0;
  for (Slot& slot : slots_) {
    if (!issue_locked(slot)) break;
  }
  const bool drained = wait_idle_locked(lock, timeout);
  phase_ = Phase::kDone;
  return drained;
}

bool DiskQueue::pick_locked(Slot& slot) {
  const uint64_t count = options_.extent_count;
  if (phase_ == Phase::kReadBack) {
    while (read_back_next_ < written_.size()) {
      const uint64_t extent = written_[read_back_next_++];
      const Extent& state = extents_[extent - options_.first_extent];
      if (state.unknown) continue;
      slot.is_read = true;
      slot.extent = extent;
      slot.generation = state.generation;
      return true;
    }
    return false;
  }
  if (phase_ != Phase::kRandom) return false;
  slot.is_read = !written_.empty() && random_() % 100 < options_.read_percent;
  if (slot.is_read) {
    // A random extent among those written, skipping any in flight.
    const size_t start = random_() % written_.size();
    slot.is_read = false;
    for (size_t i = 0; i < written_.size() && !slot.is_read; ++i) {
      const uint64_t extent = written_[(start + i) % written_.size()];
      const Extent& state = extents_[extent - options_.first_extent];
      if (state.in_flight || state.unknown) continue;
      slot.is_read = true;
      slot.extent = extent;
      slot.generation = state.generation;
    }
    if (slot.is_read) return true;
  }
  // A write to any extent not in flight; there are more extents than slots, so one is free.
  const uint64_t start = random_() % count;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t offset = (start + i) % count;
    Extent& state = extents_[offset];
    if (state.in_flight) continue;
    slot.extent = options_.first_extent + offset;
    slot.generation = state.generation + 1;
    state.unknown = false;  // this write makes the contents known again
    return true;
  }
  return false;
}

bool DiskQueue::issue_locked(Slot& slot) {
  if (!pick_locked(slot)) return false;
  const NTSTATUS status = send_locked(slot);
  if (status == STATUS_SUCCESS) return true;
  counters_.failed_requests.fetch_add(1, std::memory_order_relaxed);
  note_problem_locked(std::string("VmbPacketSendWithExternalMdl: ") + VmbKitStatusName(status));
  return false;
}

NTSTATUS DiskQueue::send_locked(Slot& slot) {
  Extent& state = extents_[slot.extent - options_.first_extent];
  const uint64_t first_block = slot.extent * options_.io_blocks;
  std::byte* data = slot_data(slot);
  if (slot.is_read) {
    // Old contents of this slice must not pass for the server's answer.
    std::memset(data, static_cast<int>(kReadPoison), io_bytes_);
  } else {
    for (uint32_t b = 0; b < options_.io_blocks; ++b) {
      pattern_.fill(data + size_t{b} * options_.block_size, first_block + b, slot.generation);
    }
  }
  DiskRequest request{};
  request.operation =
      static_cast<uint32_t>(slot.is_read ? DiskOperation::kRead : DiskOperation::kWrite);
  request.first_block = first_block;
  request.block_count = options_.io_blocks;
  state.in_flight = true;
  slot.busy = true;
  ++in_flight_;
  slot.sent = std::chrono::steady_clock::now();
  // The request in-band; the data as external data: this slot's slice of the guest buffer.
  // External data requires WAIT_FOR_COMPLETION: the buffer is ours again only after the reply.
  const NTSTATUS status = VmbPacketSendWithExternalMdl(
      slot.packet, &request, sizeof request, mdl_, slot.index * io_bytes_, io_bytes_,
      VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION);
  if (status != STATUS_SUCCESS) {
    state.in_flight = false;
    slot.busy = false;
    --in_flight_;
  }
  return status;
}

void DiskQueue::completion_routine(VMBPACKET packet, NTSTATUS status, PVOID buffer,
                                   UINT32 buffer_length) {
  auto* slot = static_cast<Slot*>(VmbPacketGetPointer(packet));
  slot->owner->complete(*slot, status, buffer, buffer_length);
}

void DiskQueue::complete(Slot& slot, NTSTATUS status, const void* reply, uint32_t reply_size) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (phase_ != Phase::kReadBack) {
    latencies_.record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.sent).count()));
  }
  DiskStatusResponse response{STATUS_DATA_ERROR, 0};
  if (status == STATUS_SUCCESS && reply != nullptr && reply_size >= sizeof response) {
    std::memcpy(&response, reply, sizeof response);
  }
  Extent& state = extents_[slot.extent - options_.first_extent];
  const bool done = status == STATUS_SUCCESS && response.status == STATUS_SUCCESS &&
                    response.value == options_.io_blocks;
  if (done && slot.is_read) {
    verify_locked(slot);
    counters_.reads.fetch_add(1, std::memory_order_relaxed);
  } else if (done) {
    if (state.generation == 0) written_.push_back(slot.extent);
    state.generation = slot.generation;
    counters_.writes.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.failed_requests.fetch_add(1, std::memory_order_relaxed);
    note_problem_locked(
        std::string(slot.is_read ? "read" : "write") + " of extent " + std::to_string(slot.extent) +
        " failed: " + VmbKitStatusName(status != STATUS_SUCCESS ? status : response.status));
    if (!slot.is_read) state.unknown = true;  // some blocks may hold the new data
  }
  if (done) counters_.bytes.fetch_add(io_bytes_, std::memory_order_relaxed);
  state.in_flight = false;
  slot.busy = false;
  --in_flight_;
  if (!issue_locked(slot) && in_flight_ == 0) idle_.notify_all();
}

void DiskQueue::verify_locked(const Slot& slot) {
  const uint64_t first_block = slot.extent * options_.io_blocks;
  const std::byte* data = slot_data(slot);
  for (uint32_t b = 0; b < options_.io_blocks; ++b) {
    const BlockCheck check =
        pattern_.check(data + size_t{b} * options_.block_size, first_block + b, slot.generation);
    if (check == BlockCheck::kGood) {
      counters_.verified_blocks.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counters_.bad_blocks.fetch_add(1, std::memory_order_relaxed);
    note_problem_locked("block " + std::to_string(first_block + b) + " (generation " +
                        std::to_string(slot.generation) + "): " + to_string(check));
  }
}

}  // namespace vmb::disk
