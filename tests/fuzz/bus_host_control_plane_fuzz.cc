// SPDX-License-Identifier: MIT
// Fuzz target for the host's control-message handling: arbitrary sequences of guest datagrams
// (with descriptors) and local events (offers added and removed, opens completed, connection
// lost) played into a HostControlPlane (src/bus/host_fuzz_script.h gives the input language).
// It must never crash, and every effect must keep the machine's promises: messages that fit
// and decode, GPADL and ring PFNs inside the guest's memory, channels closed only once opened,
// GPADLs torn down only once established and never under an open channel, relids released once,
// cleanup before any disconnect. Seeds: tests/fuzz/corpus/bus_host_control_plane/, written by
// src/bus/host_fuzz_corpus_test.cc.
#include <cstddef>
#include <cstdint>
#include <span>

#include "bus/host_fuzz_script.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input =
      size == 0 ? std::span<const uint8_t>{} : std::span<const uint8_t>{data, size};
  (void)vmb::bus::testing::run_host_script(input);
  return 0;
}
