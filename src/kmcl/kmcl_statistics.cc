// SPDX-License-Identifier: MIT
// VmbKitChannelGetStatistics and VmbKitChannelInitSetPolling (kmcl/vmbkit_extensions.h): a
// channel's counters and its busy-poll mode, over Channel::statistics and Channel::set_polling.
#include <cstddef>

#include "kmcl/kmcl_shim.h"

using namespace vmb::kmcl;

extern "C" {

NTSTATUS VmbKitChannelInitSetPolling(VMBCHANNEL Channel, BOOLEAN Enable) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    return channel->set_polling(Enable != FALSE).code();
  });
}

NTSTATUS VmbKitChannelGetStatistics(VMBCHANNEL Channel,
                                    PVMBKIT_CHANNEL_STATISTICS Statistics) noexcept {
  return guarded([&]() -> NTSTATUS {
    vmb::Channel* channel = channel_from(Channel);
    if (channel == nullptr) return STATUS_INVALID_PARAMETER_1;
    if (Statistics == nullptr) return STATUS_INVALID_PARAMETER_2;
    if (Statistics->Size < sizeof(VMBKIT_CHANNEL_STATISTICS)) return STATUS_BUFFER_TOO_SMALL;
    const vmb::ChannelStatistics counters = channel->statistics();
    Statistics->Size = sizeof(VMBKIT_CHANNEL_STATISTICS);
    Statistics->Version = VMBKIT_CHANNEL_STATISTICS_VERSION;
    Statistics->PacketsSent = counters.packets_sent;
    Statistics->BytesSent = counters.bytes_sent;
    Statistics->CompletionsSent = counters.completions_sent;
    Statistics->PacketsReceived = counters.packets_received;
    Statistics->BytesReceived = counters.bytes_received;
    Statistics->CompletionsReceived = counters.completions_received;
    Statistics->SignalsSent = counters.signals_sent;
    Statistics->SignalsReceived = counters.signals_received;
    return STATUS_SUCCESS;
  });
}

}  // extern "C"
