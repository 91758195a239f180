// SPDX-License-Identifier: MIT
// The buses of vmbkit-disk (disk_bus.h).
#include "disk_bus.h"

namespace vmb::disk {
namespace {

BusHandle checked(NTSTATUS status, PDEVICE_OBJECT bus, const char* call, std::string* error) {
  if (status != STATUS_SUCCESS) {
    *error = std::string(call) + ": " + VmbKitStatusName(status);
    return nullptr;
  }
  return BusHandle(bus);
}

}  // namespace

BusHandle create_loopback_bus(std::string* error) {
  PDEVICE_OBJECT bus = nullptr;
  const NTSTATUS status = VmbKitLoopbackBusCreate(&bus);  // before `bus` is read below
  return checked(status, bus, "VmbKitLoopbackBusCreate", error);
}

// TODO(#6): VmbKitBusListen / VmbKitBusConnect are not in vmbkit/kmcl.h yet; until they are,
// the cross-process bus reports itself unavailable and `demo` runs on the loopback bus.
bool cross_process_bus_available() { return false; }

BusHandle listen_on_bus(const std::string& socket_path, std::string* error) {
  *error = "listening on " + socket_path + ": this build has no cross-process bus yet";
  return nullptr;
}

BusHandle connect_to_bus(const std::string& socket_path, std::string* error) {
  *error = "connecting to " + socket_path + ": this build has no cross-process bus yet";
  return nullptr;
}

}  // namespace vmb::disk
