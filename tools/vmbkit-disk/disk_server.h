// SPDX-License-Identifier: MIT
// DiskServer: the vmbkit-disk VSP. It offers the disk's primary channel on a bus and serves a
// disk image file to whichever guest opens it: open, geometry and flush requests, reads and
// writes straight between the image and the guest's buffers (external data, mapped in place —
// no copy through the ring), and more channels on request (subchannels, one queue each).
// Written only against the public KMCL API (vmbkit/kmcl.h, vmbkit/mdl.h), as a Windows VSP
// would be. Requests are handled at passive level (VmbChannelSetIncomingProcessingAtPassive),
// where file I/O may block; each channel's requests are serialised by the library, so
// channels are the unit of parallelism. Not here: the bus (disk_bus.h) or the guest side.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "disk_protocol.h"
#include "vmbkit/kmcl.h"

namespace vmb::disk {

class DiskServer {
 public:
  // Opens `image_path` (read-write; its size must be a non-zero multiple of `block_size`) and
  // offers the primary channel on `bus`. nullptr and *error set on failure.
  static std::unique_ptr<DiskServer> start(PDEVICE_OBJECT bus, const std::string& image_path,
                                           uint32_t block_size, std::string* error);
  DiskServer(const DiskServer&) = delete;
  DiskServer& operator=(const DiskServer&) = delete;
  // Rescinds every channel (VmbChannelDisable, which waits for requests being handled) and
  // closes the image.
  ~DiskServer();

  [[nodiscard]] uint64_t block_count() const { return block_count_; }
  [[nodiscard]] uint32_t block_size() const { return block_size_; }
  // Requests served so far (all channels). Any thread.
  [[nodiscard]] uint64_t requests_served() const;

 private:
  DiskServer(PDEVICE_OBJECT bus, int image_fd, uint32_t block_size, uint64_t block_count);

  // Offers channel `index` (0 = primary). Caller holds channels_mutex_.
  NTSTATUS offer_locked(uint8_t index);
  void handle(VMBPACKETCOMPLETION packet, const DiskRequest& request, UINT32 flags);
  NTSTATUS transfer(VMBPACKETCOMPLETION packet, const DiskRequest& request, UINT32 flags);
  uint32_t create_subchannels(uint32_t wanted);

  static EVT_VMB_CHANNEL_PROCESS_PACKET process_packet;

  PDEVICE_OBJECT bus_;
  int image_fd_;
  uint32_t block_size_;
  uint64_t block_count_;
  mutable std::mutex channels_mutex_;
  std::vector<VMBCHANNEL> channels_;  // [0] primary, [i] subchannel i
  std::atomic<uint64_t> served_{0};
};

}  // namespace vmb::disk
