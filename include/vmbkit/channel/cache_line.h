// SPDX-License-Identifier: MIT
// The cache-line size the channel layer pads its per-channel objects to. Two channels' objects
// often come from neighbouring heap blocks; the two ends of a loopback pair run on two CPUs, and
// a line shared by one end's hot writes and the other end's hot reads costs a cross-CPU transfer
// on both critical paths of every round trip.
#ifndef VMBKIT_CHANNEL_CACHE_LINE_H_
#define VMBKIT_CHANNEL_CACHE_LINE_H_

#include <cstddef>

namespace vmb {

inline constexpr std::size_t kCacheLine = 64;

}  // namespace vmb

#endif  // VMBKIT_CHANNEL_CACHE_LINE_H_
