// SPDX-License-Identifier: MIT
// DiskServer (disk_server.h): the VSP's channel setup and request handling. Everything the guest
// sends is untrusted: the request is copied out and every field checked before use, and a bad
// request is answered with an error status rather than acted on.
#include "disk_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vmbkit/mdl.h"

namespace vmb::disk {
namespace {

bool read_fully(int fd, std::byte* to, uint64_t length, uint64_t offset) {
  while (length > 0) {
    const ssize_t done = ::pread(fd, to, length, static_cast<off_t>(offset));
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;  // an error, or the image ended early
    to += done;
    length -= static_cast<uint64_t>(done);
    offset += static_cast<uint64_t>(done);
  }
  return true;
}

bool write_fully(int fd, const std::byte* from, uint64_t length, uint64_t offset) {
  while (length > 0) {
    const ssize_t done = ::pwrite(fd, from, length, static_cast<off_t>(offset));
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return false;
    from += done;
    length -= static_cast<uint64_t>(done);
    offset += static_cast<uint64_t>(done);
  }
  return true;
}

template <typename Response>
void complete(VMBPACKETCOMPLETION packet, Response response) {
  VmbChannelPacketComplete(packet, &response, static_cast<UINT32>(sizeof response));
}

}  // namespace

std::unique_ptr<DiskServer> DiskServer::start(PDEVICE_OBJECT bus, const std::string& image_path,
                                              uint32_t block_size, std::string* error) {
  const int fd = ::open(image_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + image_path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat status {};
  if (::fstat(fd, &status) != 0 || status.st_size <= 0 ||
      static_cast<uint64_t>(status.st_size) % block_size != 0) {
    *error = image_path + ": the image must be a non-empty multiple of the block size";
    static_cast<void>(::close(fd));
    return nullptr;
  }
  std::unique_ptr<DiskServer> server(
      new DiskServer(bus, fd, block_size, static_cast<uint64_t>(status.st_size) / block_size));
  std::lock_guard<std::mutex> lock(server->channels_mutex_);
  if (const NTSTATUS offered = server->offer_locked(0); offered != STATUS_SUCCESS) {
    *error = std::string("offering the disk channel failed: ") + VmbKitStatusName(offered);
    return nullptr;
  }
  return server;
}

DiskServer::DiskServer(PDEVICE_OBJECT bus, int image_fd, uint32_t block_size, uint64_t block_count)
    : bus_(bus), image_fd_(image_fd), block_size_(block_size), block_count_(block_count) {}

DiskServer::~DiskServer() {
  // The primary first: after it is gone no request can create more subchannels. Disable waits
  // for running callbacks, so it is called without holding channels_mutex_ (a callback may
  // need it).
  VMBCHANNEL primary = nullptr;
  {
    std::lock_guard<std::mutex> lock(channels_mutex_);
    if (!channels_.empty()) primary = channels_.front();
  }
  if (primary != nullptr) VmbChannelDisable(primary);
  std::vector<VMBCHANNEL> channels;
  {
    std::lock_guard<std::mutex> lock(channels_mutex_);
    channels.swap(channels_);
  }
  for (VMBCHANNEL channel : channels) {
    VmbChannelDisable(channel);
    VmbChannelCleanup(channel);
  }
  static_cast<void>(::close(image_fd_));
}

uint64_t DiskServer::requests_served() const { return served_.load(std::memory_order_relaxed); }

NTSTATUS DiskServer::offer_locked(uint8_t index) {
  VMBCHANNEL channel = nullptr;
  NTSTATUS status = VmbChannelAllocate(bus_, TRUE, &channel);
  if (status != STATUS_SUCCESS) return status;
  // Each step runs only if the ones before it succeeded.
  auto step = [&status](NTSTATUS result) {
    if (status == STATUS_SUCCESS) status = result;
  };
  step(VmbServerChannelInitSetTargetInterfaceId(channel, kInterfaceType, kInstance));
  if (status == STATUS_SUCCESS) step(VmbKitChannelInitSetSubChannelIndex(channel, index));
  if (status == STATUS_SUCCESS)
    step(VmbChannelInitSetMaximumPacketSize(channel, kMaximumMessageBytes));
  if (status == STATUS_SUCCESS) {
    step(VmbChannelInitSetProcessPacketCallbacks(channel, &DiskServer::process_packet, nullptr));
  }
  if (status == STATUS_SUCCESS) {
    VmbChannelSetPointer(channel, this);
    // File I/O may block: deliver requests on a worker thread, not the dispatch context.
    VmbChannelSetIncomingProcessingAtPassive(channel, TRUE);
    step(VmbChannelEnable(channel));
  }
  if (status != STATUS_SUCCESS) {
    VmbChannelCleanup(channel);
    return status;
  }
  VmbChannelStart(channel);  // a server starts its channels itself; a client's start on Enable
  channels_.push_back(channel);
  return STATUS_SUCCESS;
}

void DiskServer::process_packet(VMBCHANNEL channel, VMBPACKETCOMPLETION packet, PVOID buffer,
                                UINT32 buffer_length, UINT32 flags) {
  auto* server = static_cast<DiskServer*>(VmbChannelGetPointer(channel));
  DiskRequest request{};
  if (buffer == nullptr || buffer_length < sizeof request) {
    complete(packet, DiskStatusResponse{STATUS_INVALID_PARAMETER, 0});
    return;
  }
  // Copied out, so nothing below depends on the buffer's alignment or lifetime.
  std::memcpy(&request, buffer, sizeof request);
  server->handle(packet, request, flags);
  server->served_.fetch_add(1, std::memory_order_relaxed);
}

void DiskServer::handle(VMBPACKETCOMPLETION packet, const DiskRequest& request, UINT32 flags) {
  switch (static_cast<DiskOperation>(request.operation)) {
    case DiskOperation::kOpen: {
      const bool same_major = (request.argument >> 16) == (kProtocolVersion >> 16);
      complete(packet, DiskOpenResponse{same_major ? STATUS_SUCCESS : STATUS_REVISION_MISMATCH,
                                        kProtocolVersion});
      return;
    }
    case DiskOperation::kQueryGeometry:
      complete(packet, DiskGeometryResponse{STATUS_SUCCESS, block_size_, block_count_,
                                            kMaximumTransferBytes, kMaximumSubchannels});
      return;
    case DiskOperation::kFlush: {
      const bool durable = ::fdatasync(image_fd_) == 0;
      complete(packet, DiskStatusResponse{durable ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL, 0});
      return;
    }
    case DiskOperation::kCreateSubchannels:
      complete(packet, DiskStatusResponse{STATUS_SUCCESS, create_subchannels(request.argument)});
      return;
    case DiskOperation::kRead:
    case DiskOperation::kWrite: {
      const NTSTATUS status = transfer(packet, request, flags);
      complete(packet,
               DiskStatusResponse{status, status == STATUS_SUCCESS ? request.block_count : 0});
      return;
    }
  }
  complete(packet, DiskStatusResponse{STATUS_INVALID_DEVICE_REQUEST, 0});
}

NTSTATUS DiskServer::transfer(VMBPACKETCOMPLETION packet, const DiskRequest& request,
                              UINT32 flags) {
  if ((flags & VMBUS_CHANNEL_PROCESS_PACKET_FLAG_EXTERNAL_DATA) == 0) {
    return STATUS_INVALID_PARAMETER;  // a read or write without a buffer
  }
  if (request.block_count == 0 || request.block_count > kMaximumTransferBytes / block_size_ ||
      request.first_block >= block_count_ ||
      request.block_count > block_count_ - request.first_block) {
    return STATUS_INVALID_PARAMETER;
  }
  const bool to_disk = static_cast<DiskOperation>(request.operation) == DiskOperation::kWrite;
  // A write only reads guest memory: ask for a read-only mapping.
  PMDL mdl = nullptr;
  const NTSTATUS mapped = VmbChannelPacketGetExternalData(
      packet, to_disk ? VMBUS_CHANNEL_PACKET_EXTERNAL_DATA_FLAG_READ_ONLY : 0u, &mdl);
  if (mapped != STATUS_SUCCESS) return mapped;
  uint64_t remaining = uint64_t{request.block_count} * block_size_;
  uint64_t offset = request.first_block * block_size_;
  const ULONG priority =
      static_cast<ULONG>(NormalPagePriority) | (to_disk ? MdlMappingNoWrite : 0u);
  // The external data may arrive as a chain (one MDL per GPA range); walk it in order.
  for (PMDL piece = mdl; piece != nullptr && remaining > 0; piece = piece->Next) {
    const uint64_t length = std::min<uint64_t>(MmGetMdlByteCount(piece), remaining);
    auto* data = static_cast<std::byte*>(MmGetSystemAddressForMdlSafe(piece, priority));
    if (data == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
    // Straight between the image and guest memory: the data never passes through the ring.
    const bool moved = to_disk ? write_fully(image_fd_, data, length, offset)
                               : read_fully(image_fd_, data, length, offset);
    if (!moved) return STATUS_UNSUCCESSFUL;
    remaining -= length;
    offset += length;
  }
  // A guest buffer smaller than the request asks for.
  return remaining == 0 ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

uint32_t DiskServer::create_subchannels(uint32_t wanted) {
  std::lock_guard<std::mutex> lock(channels_mutex_);
  const uint32_t target = std::min(wanted, kMaximumSubchannels);
  // Offers made for an earlier guest stay and are reused.
  while (channels_.size() <= target) {
    if (offer_locked(static_cast<uint8_t>(channels_.size())) != STATUS_SUCCESS) break;
  }
  return std::min(target, static_cast<uint32_t>(channels_.size() - 1));
}

}  // namespace vmb::disk
