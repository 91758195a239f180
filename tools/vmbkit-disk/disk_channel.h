// SPDX-License-Identifier: MIT
// DiskChannel: one open client channel of the vmbkit-disk VSC — the primary channel or a
// subchannel — written only against the public KMCL API. open() targets the server's offer,
// enables the channel and waits (bounded) until the library reports it running
// (EvtChannelPostStarted); control() sends one control request through
// VmbChannelSendSynchronousRequest and checks the reply's size. Reads and writes are not
// here: they are asynchronous packets with external data (disk_queue.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "disk_protocol.h"
#include "vmbkit/kmcl.h"

namespace vmb::disk {

class DiskChannel {
 public:
  // Opens channel `index` (0 = primary, i = subchannel i) of the disk on `bus` and waits up to
  // `timeout` for it to run. nullptr and *error set on failure.
  static std::unique_ptr<DiskChannel> open(PDEVICE_OBJECT bus, uint8_t index,
                                           std::chrono::milliseconds timeout, std::string* error);
  DiskChannel(const DiskChannel&) = delete;
  DiskChannel& operator=(const DiskChannel&) = delete;
  // Closes the channel (VmbChannelDisable blocks until the library is done with it).
  ~DiskChannel();

  [[nodiscard]] VMBCHANNEL handle() const { return channel_; }
  [[nodiscard]] uint8_t index() const { return index_; }

  // Sends `request` and waits up to `timeout` for the server's reply, which must be exactly a
  // Response. The library's status (STATUS_CANCELLED on timeout, STATUS_DEVICE_REMOVED, ...),
  // STATUS_DATA_ERROR for a reply of the wrong size, else the reply's own status.
  template <typename Response>
  NTSTATUS control(const DiskRequest& request, Response* response,
                   std::chrono::milliseconds timeout) {
    UINT32 size = sizeof(Response);
    const NTSTATUS sent = send_control(request, response, &size, timeout);
    if (sent != STATUS_SUCCESS) return sent;
    if (size != sizeof(Response)) return STATUS_DATA_ERROR;
    return response->status;
  }

 private:
  enum class State : uint8_t { kOpening, kRunning, kClosed, kFailed };

  DiskChannel(VMBCHANNEL channel, uint8_t index) : channel_(channel), index_(index) {}
  NTSTATUS send_control(const DiskRequest& request, void* response, UINT32* size,
                        std::chrono::milliseconds timeout);
  void set_state(State state);

  static EVT_VMB_CHANNEL_PROCESS_PACKET process_packet;
  static EVT_VMB_CHANNEL_POST_STARTED post_started;
  static EVT_VMB_CHANNEL_CLOSED closed;
  static EVT_VMB_CHANNEL_PNP_FAILURE pnp_failure;

  VMBCHANNEL channel_;
  uint8_t index_;
  std::mutex mutex_;
  std::condition_variable state_changed_;
  State state_ = State::kOpening;
};

}  // namespace vmb::disk
