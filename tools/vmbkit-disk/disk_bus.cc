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

bool cross_process_bus_available() { return true; }

BusHandle listen_on_bus(const std::string& socket_path, std::string* error) {
  PDEVICE_OBJECT bus = nullptr;
  const NTSTATUS status = VmbKitBusListen(socket_path.c_str(), &bus);
  return checked(status, bus, "VmbKitBusListen", error);
}

BusHandle connect_to_bus(const std::string& socket_path, std::string* error) {
  PDEVICE_OBJECT bus = nullptr;
  const NTSTATUS status = VmbKitBusConnect(socket_path.c_str(), &bus);
  return checked(status, bus, "VmbKitBusConnect", error);
}

}  // namespace vmb::disk
