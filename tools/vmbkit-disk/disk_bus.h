// SPDX-License-Identifier: MIT
// Where vmbkit-disk's channels live: a bus, the PDEVICE_OBJECT every KMCL channel is allocated
// on. The VSP and VSC code is the same whichever bus it gets: an in-process loopback bus
// (server and guest in one process) or the cross-process bus over a Unix socket (the server
// listens, the guest connects). This file is the only place that knows the difference. Not
// here: channels.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "vmbkit/kmcl.h"

namespace vmb::disk {

struct BusCloser {
  void operator()(PDEVICE_OBJECT bus) const { VmbKitBusClose(bus); }
};
// A bus, closed (VmbKitBusClose) when the handle goes.
using BusHandle = std::unique_ptr<DEVICE_OBJECT, BusCloser>;

// An in-process bus pairing this process's server and client channels.
BusHandle create_loopback_bus(std::string* error);
// The host side of a cross-process bus: listens on `socket_path` for one guest process.
BusHandle listen_on_bus(const std::string& socket_path, std::string* error);
// The guest side: connects to a server listening on `socket_path`.
BusHandle connect_to_bus(const std::string& socket_path, std::string* error);

// True if this build has the cross-process bus (VmbKitBusListen / VmbKitBusConnect).
bool cross_process_bus_available();

}  // namespace vmb::disk
