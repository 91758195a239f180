// SPDX-License-Identifier: MIT
// The interface form of KMCL: the interface-type GUIDs and the query functions that fill
// KMCL_CLIENT_INTERFACE_V1 and KMCL_SERVER_INTERFACE_V1 with the plain exports (see
// kmcl/kmcl_interface.h).
#include <cstring>

#include "kmcl/kmcl_shim.h"

extern "C" {

// {f38f4fa2-6df8-43b4-ae5c-34cb3b56a094} and {a06a881e-4e24-4161-8e2b-11eafa627797}: vmbkit's
// own values (Windows' are not public).
const GUID KMCL_CLIENT_INTERFACE_TYPE = {
    0xf38f4fa2u, 0x6df8u, 0x43b4u, {0xae, 0x5c, 0x34, 0xcb, 0x3b, 0x56, 0xa0, 0x94}};
const GUID KMCL_SERVER_INTERFACE_TYPE = {
    0xa06a881eu, 0x4e24u, 0x4161u, {0x8e, 0x2b, 0x11, 0xea, 0xfa, 0x62, 0x77, 0x97}};

}  // extern "C"

namespace {

// The interfaces are static: reference counting has nothing to do.
VOID no_reference(PVOID /*context*/) {}

KMCL_SERVER_INTERFACE_V1 make_server_interface() {
  KMCL_SERVER_INTERFACE_V1 interface {};
  interface.Size = sizeof(KMCL_SERVER_INTERFACE_V1);
  interface.Version = KMCL_SERVER_INTERFACE_VERSION_V1;
  interface.Context = nullptr;
  interface.InterfaceReference = no_reference;
  interface.InterfaceDereference = no_reference;
#define VMBKIT_SLOT(name) interface.name = name;
  // KMCL_CLIENT_INTERFACE_V1, in order.
  VMBKIT_SLOT(VmbChannelAllocate)
  VMBKIT_SLOT(VmbChannelCleanup)
  VMBKIT_SLOT(VmbChannelCreateGpadlFromBuffer)
  VMBKIT_SLOT(VmbChannelCreateGpadlFromMdl)
  VMBKIT_SLOT(VmbChannelDeleteGpadl)
  VMBKIT_SLOT(VmbChannelDisable)
  VMBKIT_SLOT(VmbChannelEnable)
  VMBKIT_SLOT(VmbChannelGetInterfaceInstance)
  VMBKIT_SLOT(VmbChannelGetMmioSpace)
  VMBKIT_SLOT(VmbChannelGetPointer)
  VMBKIT_SLOT(VmbChannelInitSetClientContextSize)
  VMBKIT_SLOT(VmbChannelInitSetFlags)
  VMBKIT_SLOT(VmbChannelInitSetFriendlyName)
  VMBKIT_SLOT(VmbChannelInitSetMaximumExternalData)
  VMBKIT_SLOT(VmbChannelInitSetMaximumPacketSize)
  VMBKIT_SLOT(VmbChannelInitSetProcessPacketCallbacks)
  VMBKIT_SLOT(VmbChannelInitSetStateChangeCallbacks)
  VMBKIT_SLOT(VmbChannelPacketComplete)
  VMBKIT_SLOT(VmbChannelPacketDeferToPassive)
  VMBKIT_SLOT(VmbChannelPacketFail)
  VMBKIT_SLOT(VmbChannelPacketGetExternalData)
  VMBKIT_SLOT(VmbChannelPause)
  VMBKIT_SLOT(VmbChannelSendSynchronousRequest)
  VMBKIT_SLOT(VmbChannelSetIncomingProcessingAtPassive)
  VMBKIT_SLOT(VmbChannelSetInterruptLatency)
  VMBKIT_SLOT(VmbChannelSetPointer)
  VMBKIT_SLOT(VmbChannelSetTransactionQuota)
  VMBKIT_SLOT(VmbChannelSizeofPacket)
  VMBKIT_SLOT(VmbChannelStart)
  VMBKIT_SLOT(VmbClientChannelInitSetRingBufferPageCount)
  VMBKIT_SLOT(VmbClientChannelInitSetTargetPnp)
  VMBKIT_SLOT(VmbPacketAllocate)
  VMBKIT_SLOT(VmbPacketFree)
  VMBKIT_SLOT(VmbPacketGetChannel)
  VMBKIT_SLOT(VmbPacketGetPointer)
  VMBKIT_SLOT(VmbPacketInitialize)
  VMBKIT_SLOT(VmbPacketSend)
  VMBKIT_SLOT(VmbPacketSendWithExternalMdl)
  VMBKIT_SLOT(VmbPacketSendWithExternalPfns)
  VMBKIT_SLOT(VmbPacketSetCompletionRoutine)
  VMBKIT_SLOT(VmbPacketSetPointer)
  // KMCL_SERVER_ONLY_METHODS, in order.
  VMBKIT_SLOT(VmbChannelMapGpadl)
  VMBKIT_SLOT(VmbChannelRestoreFromBuffer)
  VMBKIT_SLOT(VmbChannelSaveBegin)
  VMBKIT_SLOT(VmbChannelSaveContinue)
  VMBKIT_SLOT(VmbChannelSaveEnd)
  VMBKIT_SLOT(VmbChannelUnmapGpadl)
  VMBKIT_SLOT(VmbConvertVmbusHandleToKernelHandle)
  VMBKIT_SLOT(VmbPacketRestore)
  VMBKIT_SLOT(VmbServerChannelInitSetFlags)
  VMBKIT_SLOT(VmbServerChannelInitSetMmioMegabytes)
  VMBKIT_SLOT(VmbServerChannelInitSetSaveRestorePacketCallbacks)
  VMBKIT_SLOT(VmbServerChannelInitSetTargetInterfaceId)
  VMBKIT_SLOT(VmbServerChannelInitSetTargetVtl)
  VMBKIT_SLOT(VmbServerChannelInitSetVmbusHandle)
#undef VMBKIT_SLOT
  return interface;
}

bool same_guid(const GUID& a, const GUID& b) { return std::memcmp(&a, &b, sizeof(GUID)) == 0; }

}  // namespace

extern "C" {

NTSTATUS VmbKitQueryInterface(LPCGUID InterfaceType, PINTERFACE Interface, USHORT Size,
                              USHORT Version) noexcept {
  if (InterfaceType == nullptr) return STATUS_INVALID_PARAMETER_1;
  if (Interface == nullptr) return STATUS_INVALID_PARAMETER_2;
  size_t bytes;
  if (same_guid(*InterfaceType, KMCL_CLIENT_INTERFACE_TYPE)) {
    if (Version != KMCL_CLIENT_INTERFACE_VERSION_V1) return STATUS_NOT_SUPPORTED;
    bytes = sizeof(KMCL_CLIENT_INTERFACE_V1);
  } else if (same_guid(*InterfaceType, KMCL_SERVER_INTERFACE_TYPE)) {
    if (Version != KMCL_SERVER_INTERFACE_VERSION_V1) return STATUS_NOT_SUPPORTED;
    bytes = sizeof(KMCL_SERVER_INTERFACE_V1);
  } else {
    return STATUS_NOT_SUPPORTED;
  }
  if (Size < bytes) return STATUS_BUFFER_TOO_SMALL;
  // The client interface is the server interface's first part (same members, same order).
  static const KMCL_SERVER_INTERFACE_V1 kInterface = make_server_interface();
  std::memcpy(Interface, &kInterface, bytes);
  Interface->Size = static_cast<USHORT>(bytes);
  Interface->Version = Version;
  return STATUS_SUCCESS;
}

NTSTATUS VmbKitQueryClientInterface(PKMCL_CLIENT_INTERFACE_V1 Interface, USHORT Size,
                                    USHORT Version) noexcept {
  return VmbKitQueryInterface(&KMCL_CLIENT_INTERFACE_TYPE, reinterpret_cast<PINTERFACE>(Interface),
                              Size, Version);
}

NTSTATUS VmbKitQueryServerInterface(PKMCL_SERVER_INTERFACE_V1 Interface, USHORT Size,
                                    USHORT Version) noexcept {
  return VmbKitQueryInterface(&KMCL_SERVER_INTERFACE_TYPE, reinterpret_cast<PINTERFACE>(Interface),
                              Size, Version);
}

}  // extern "C"
