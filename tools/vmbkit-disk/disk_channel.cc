// SPDX-License-Identifier: MIT
// DiskChannel (disk_channel.h): the VSC's channel setup, state callbacks and control requests.
#include "disk_channel.h"

#include <string>

namespace vmb::disk {
namespace {

// Ring data pages per direction: 64 KiB each way holds hundreds of requests and completions.
constexpr UINT32 kRingPages = 16;

// A relative KeWaitForSingleObject timeout: negative, in 100 ns units.
LARGE_INTEGER relative_timeout(std::chrono::milliseconds timeout) {
  LARGE_INTEGER value;
  value.QuadPart = -static_cast<LONGLONG>(timeout.count()) * 10000;
  return value;
}

DiskChannel* from(VMBCHANNEL channel) {
  return static_cast<DiskChannel*>(VmbChannelGetPointer(channel));
}

}  // namespace

std::unique_ptr<DiskChannel> DiskChannel::open(PDEVICE_OBJECT bus, uint8_t index,
                                               std::chrono::milliseconds timeout,
                                               std::string* error) {
  VMBCHANNEL handle = nullptr;
  NTSTATUS status = VmbChannelAllocate(bus, FALSE, &handle);
  if (status != STATUS_SUCCESS) {
    *error = std::string("VmbChannelAllocate: ") + VmbKitStatusName(status);
    return nullptr;
  }
  std::unique_ptr<DiskChannel> channel(new DiskChannel(handle, index));
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS callbacks;
  VMB_CHANNEL_STATE_CHANGE_CALLBACKS_INIT(&callbacks);
  callbacks.EvtChannelPostStarted = &DiskChannel::post_started;
  callbacks.EvtChannelClosed = &DiskChannel::closed;
  // Each step runs only if the ones before it succeeded; the first failure is reported.
  const char* failed_call = nullptr;
  auto step = [&](NTSTATUS result, const char* call) {
    if (failed_call == nullptr && result != STATUS_SUCCESS) {
      status = result;
      failed_call = call;
    }
  };
  VmbChannelSetPointer(handle, channel.get());
  step(VmbClientChannelInitSetTargetPnp(handle, &kInterfaceType, &kInstance,
                                        &DiskChannel::pnp_failure),
       "VmbClientChannelInitSetTargetPnp");
  step(VmbKitChannelInitSetSubChannelIndex(handle, index), "VmbKitChannelInitSetSubChannelIndex");
  step(VmbClientChannelInitSetRingBufferPageCount(handle, kRingPages, kRingPages),
       "VmbClientChannelInitSetRingBufferPageCount");
  step(VmbChannelInitSetMaximumPacketSize(handle, kMaximumMessageBytes),
       "VmbChannelInitSetMaximumPacketSize");
  // One guest buffer (one MDL) per read or write.
  step(VmbChannelInitSetMaximumExternalData(handle, kMaximumTransferBytes, 1),
       "VmbChannelInitSetMaximumExternalData");
  step(VmbChannelInitSetProcessPacketCallbacks(handle, &DiskChannel::process_packet, nullptr),
       "VmbChannelInitSetProcessPacketCallbacks");
  step(VmbChannelInitSetStateChangeCallbacks(handle, &callbacks),
       "VmbChannelInitSetStateChangeCallbacks");
  if (failed_call == nullptr) step(VmbChannelEnable(handle), "VmbChannelEnable");
  if (failed_call != nullptr) {
    *error = std::string(failed_call) + ": " + VmbKitStatusName(status);
    return nullptr;  // the destructor cleans the channel up
  }
  std::unique_lock<std::mutex> lock(channel->mutex_);
  const bool settled = channel->state_changed_.wait_for(
      lock, timeout, [&] { return channel->state_ != State::kOpening; });
  if (!settled || channel->state_ != State::kRunning) {
    *error = settled ? "the server refused or closed the channel"
                     : "no disk offer was opened within the timeout (is the server running?)";
    lock.unlock();
    return nullptr;
  }
  return channel;
}

DiskChannel::~DiskChannel() {
  VmbChannelDisable(channel_);
  VmbChannelCleanup(channel_);
}

void DiskChannel::set_state(State state) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
  }
  state_changed_.notify_all();
}

NTSTATUS DiskChannel::send_control(const DiskRequest& request, void* response, UINT32* size,
                                   std::chrono::milliseconds timeout) {
  DiskRequest copy = request;  // the API takes a non-const buffer
  LARGE_INTEGER deadline = relative_timeout(timeout);
  return VmbChannelSendSynchronousRequest(channel_, &copy, sizeof copy, nullptr,
                                          VMBUS_CHANNEL_FORMAT_FLAG_WAIT_FOR_COMPLETION, response,
                                          size, &deadline);
}

// The server never sends requests to the guest; anything that arrives is completed with no
// payload so the library can reclaim it.
void DiskChannel::process_packet(VMBCHANNEL, VMBPACKETCOMPLETION packet, PVOID, UINT32, UINT32) {
  VmbChannelPacketComplete(packet, nullptr, 0);
}

// The channel runs and its incoming queue is live: control requests may be sent from now on.
void DiskChannel::post_started(VMBCHANNEL channel) { from(channel)->set_state(State::kRunning); }

void DiskChannel::closed(VMBCHANNEL channel) { from(channel)->set_state(State::kClosed); }

void DiskChannel::pnp_failure(VMBCHANNEL channel, NTSTATUS) {
  from(channel)->set_state(State::kFailed);
}

}  // namespace vmb::disk
