/* SPDX-License-Identifier: MIT */
/* Part of the C11 API test: one variable of every PFN_VMB_* type, initialised from the export of
 * the same name, so a prototype that differs from its pointer type fails to compile under
 * -Werror; and checks that the query functions put exactly these exports into every slot, in
 * KMCL's order. Generated once by hand from kmcl-api.md §2.2–§2.3; keep the order. */
#include "vmbkit/kmcl.h"

int CheckClientInterface(const KMCL_CLIENT_INTERFACE_V1* Interface);
int CheckServerInterface(const KMCL_SERVER_INTERFACE_V1* Interface);

static const PFN_VMB_CHANNEL_ALLOCATE kVmbChannelAllocate = VmbChannelAllocate;
static const PFN_VMB_CHANNEL_CLEANUP kVmbChannelCleanup = VmbChannelCleanup;
static const PFN_VMB_CHANNEL_CREATE_GPADL_FROM_BUFFER kVmbChannelCreateGpadlFromBuffer =
    VmbChannelCreateGpadlFromBuffer;
static const PFN_VMB_CHANNEL_CREATE_GPADL_FROM_MDL kVmbChannelCreateGpadlFromMdl =
    VmbChannelCreateGpadlFromMdl;
static const PFN_VMB_CHANNEL_DELETE_GPADL kVmbChannelDeleteGpadl = VmbChannelDeleteGpadl;
static const PFN_VMB_CHANNEL_DISABLE kVmbChannelDisable = VmbChannelDisable;
static const PFN_VMB_CHANNEL_ENABLE kVmbChannelEnable = VmbChannelEnable;
static const PFN_VMB_CHANNEL_GET_INTERFACE_INSTANCE kVmbChannelGetInterfaceInstance =
    VmbChannelGetInterfaceInstance;
static const PFN_VMB_CHANNEL_GET_MMIO_SPACE kVmbChannelGetMmioSpace = VmbChannelGetMmioSpace;
static const PFN_VMB_CHANNEL_GET_POINTER kVmbChannelGetPointer = VmbChannelGetPointer;
static const PFN_VMB_CHANNEL_INIT_SET_CLIENT_CONTEXT_SIZE kVmbChannelInitSetClientContextSize =
    VmbChannelInitSetClientContextSize;
static const PFN_VMB_CHANNEL_INIT_SET_FLAGS kVmbChannelInitSetFlags = VmbChannelInitSetFlags;
static const PFN_VMB_CHANNEL_INIT_SET_FRIENDLY_NAME kVmbChannelInitSetFriendlyName =
    VmbChannelInitSetFriendlyName;
static const PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_EXTERNAL_DATA kVmbChannelInitSetMaximumExternalData =
    VmbChannelInitSetMaximumExternalData;
static const PFN_VMB_CHANNEL_INIT_SET_MAXIMUM_PACKET_SIZE kVmbChannelInitSetMaximumPacketSize =
    VmbChannelInitSetMaximumPacketSize;
static const PFN_VMB_CHANNEL_INIT_SET_PROCESS_PACKET_CALLBACKS
    kVmbChannelInitSetProcessPacketCallbacks = VmbChannelInitSetProcessPacketCallbacks;
static const PFN_VMB_CHANNEL_INIT_SET_STATE_CHANGE_CALLBACKS
    kVmbChannelInitSetStateChangeCallbacks = VmbChannelInitSetStateChangeCallbacks;
static const PFN_VMB_CHANNEL_PACKET_COMPLETE kVmbChannelPacketComplete = VmbChannelPacketComplete;
static const PFN_VMB_CHANNEL_PACKET_DEFER_TO_PASSIVE kVmbChannelPacketDeferToPassive =
    VmbChannelPacketDeferToPassive;
static const PFN_VMB_CHANNEL_PACKET_FAIL kVmbChannelPacketFail = VmbChannelPacketFail;
static const PFN_VMB_CHANNEL_PACKET_GET_EXTERNAL_DATA kVmbChannelPacketGetExternalData =
    VmbChannelPacketGetExternalData;
static const PFN_VMB_CHANNEL_PAUSE kVmbChannelPause = VmbChannelPause;
static const PFN_VMB_CHANNEL_SEND_SYNCHRONOUS_REQUEST kVmbChannelSendSynchronousRequest =
    VmbChannelSendSynchronousRequest;
static const PFN_VMB_CHANNEL_SET_INCOMING_PROCESSING_AT_PASSIVE
    kVmbChannelSetIncomingProcessingAtPassive = VmbChannelSetIncomingProcessingAtPassive;
static const PFN_VMB_CHANNEL_SET_INTERRUPT_LATENCY kVmbChannelSetInterruptLatency =
    VmbChannelSetInterruptLatency;
static const PFN_VMB_CHANNEL_SET_POINTER kVmbChannelSetPointer = VmbChannelSetPointer;
static const PFN_VMB_CHANNEL_SET_TRANSACTION_QUOTA kVmbChannelSetTransactionQuota =
    VmbChannelSetTransactionQuota;
static const PFN_VMB_CHANNEL_SIZEOF_PACKET kVmbChannelSizeofPacket = VmbChannelSizeofPacket;
static const PFN_VMB_CHANNEL_START kVmbChannelStart = VmbChannelStart;
static const PFN_VMB_CLIENT_CHANNEL_INIT_SET_RING_BUFFER_PAGE_COUNT
    kVmbClientChannelInitSetRingBufferPageCount = VmbClientChannelInitSetRingBufferPageCount;
static const PFN_VMB_CLIENT_CHANNEL_INIT_SET_TARGET_PNP kVmbClientChannelInitSetTargetPnp =
    VmbClientChannelInitSetTargetPnp;
static const PFN_VMB_PACKET_ALLOCATE kVmbPacketAllocate = VmbPacketAllocate;
static const PFN_VMB_PACKET_FREE kVmbPacketFree = VmbPacketFree;
static const PFN_VMB_PACKET_GET_CHANNEL kVmbPacketGetChannel = VmbPacketGetChannel;
static const PFN_VMB_PACKET_GET_POINTER kVmbPacketGetPointer = VmbPacketGetPointer;
static const PFN_VMB_PACKET_INITIALIZE kVmbPacketInitialize = VmbPacketInitialize;
static const PFN_VMB_PACKET_SEND kVmbPacketSend = VmbPacketSend;
static const PFN_VMB_PACKET_SEND_WITH_EXTERNAL_MDL kVmbPacketSendWithExternalMdl =
    VmbPacketSendWithExternalMdl;
static const PFN_VMB_PACKET_SEND_WITH_EXTERNAL_PFNS kVmbPacketSendWithExternalPfns =
    VmbPacketSendWithExternalPfns;
static const PFN_VMB_PACKET_SET_COMPLETION_ROUTINE kVmbPacketSetCompletionRoutine =
    VmbPacketSetCompletionRoutine;
static const PFN_VMB_PACKET_SET_POINTER kVmbPacketSetPointer = VmbPacketSetPointer;
static const PFN_VMB_CHANNEL_MAP_GPADL kVmbChannelMapGpadl = VmbChannelMapGpadl;
static const PFN_VMB_CHANNEL_RESTORE_FROM_BUFFER kVmbChannelRestoreFromBuffer =
    VmbChannelRestoreFromBuffer;
static const PFN_VMB_CHANNEL_SAVE_BEGIN kVmbChannelSaveBegin = VmbChannelSaveBegin;
static const PFN_VMB_CHANNEL_SAVE_CONTINUE kVmbChannelSaveContinue = VmbChannelSaveContinue;
static const PFN_VMB_CHANNEL_SAVE_END kVmbChannelSaveEnd = VmbChannelSaveEnd;
static const PFN_VMB_CHANNEL_UNMAP_GPADL kVmbChannelUnmapGpadl = VmbChannelUnmapGpadl;
static const PFN_VMB_CONVERT_VMBUS_HANDLE_TO_KERNEL_HANDLE kVmbConvertVmbusHandleToKernelHandle =
    VmbConvertVmbusHandleToKernelHandle;
static const PFN_VMB_PACKET_RESTORE kVmbPacketRestore = VmbPacketRestore;
static const PFN_VMB_SERVER_CHANNEL_INIT_SET_FLAGS kVmbServerChannelInitSetFlags =
    VmbServerChannelInitSetFlags;
static const PFN_VMB_SERVER_CHANNEL_INIT_SET_MMIO_MEGABYTES kVmbServerChannelInitSetMmioMegabytes =
    VmbServerChannelInitSetMmioMegabytes;
static const PFN_VMB_SERVER_CHANNEL_INIT_SET_SAVE_RESTORE_PACKET_CALLBACKS
    kVmbServerChannelInitSetSaveRestorePacketCallbacks =
        VmbServerChannelInitSetSaveRestorePacketCallbacks;
static const PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_INTERFACE_ID
    kVmbServerChannelInitSetTargetInterfaceId = VmbServerChannelInitSetTargetInterfaceId;
static const PFN_VMB_SERVER_CHANNEL_INIT_SET_TARGET_VTL kVmbServerChannelInitSetTargetVtl =
    VmbServerChannelInitSetTargetVtl;
static const PFN_VMB_SERVER_CHANNEL_INIT_SET_VMBUS_HANDLE kVmbServerChannelInitSetVmbusHandle =
    VmbServerChannelInitSetVmbusHandle;

/* Returns the number of slots that do not hold their export. */
int CheckClientInterface(const KMCL_CLIENT_INTERFACE_V1* Interface) {
  int mismatches = 0;
  mismatches += Interface->VmbChannelAllocate != kVmbChannelAllocate;
  mismatches += Interface->VmbChannelCleanup != kVmbChannelCleanup;
  mismatches += Interface->VmbChannelCreateGpadlFromBuffer != kVmbChannelCreateGpadlFromBuffer;
  mismatches += Interface->VmbChannelCreateGpadlFromMdl != kVmbChannelCreateGpadlFromMdl;
  mismatches += Interface->VmbChannelDeleteGpadl != kVmbChannelDeleteGpadl;
  mismatches += Interface->VmbChannelDisable != kVmbChannelDisable;
  mismatches += Interface->VmbChannelEnable != kVmbChannelEnable;
  mismatches += Interface->VmbChannelGetInterfaceInstance != kVmbChannelGetInterfaceInstance;
  mismatches += Interface->VmbChannelGetMmioSpace != kVmbChannelGetMmioSpace;
  mismatches += Interface->VmbChannelGetPointer != kVmbChannelGetPointer;
  mismatches +=
      Interface->VmbChannelInitSetClientContextSize != kVmbChannelInitSetClientContextSize;
  mismatches += Interface->VmbChannelInitSetFlags != kVmbChannelInitSetFlags;
  mismatches += Interface->VmbChannelInitSetFriendlyName != kVmbChannelInitSetFriendlyName;
  mismatches +=
      Interface->VmbChannelInitSetMaximumExternalData != kVmbChannelInitSetMaximumExternalData;
  mismatches +=
      Interface->VmbChannelInitSetMaximumPacketSize != kVmbChannelInitSetMaximumPacketSize;
  mismatches += Interface->VmbChannelInitSetProcessPacketCallbacks !=
                kVmbChannelInitSetProcessPacketCallbacks;
  mismatches +=
      Interface->VmbChannelInitSetStateChangeCallbacks != kVmbChannelInitSetStateChangeCallbacks;
  mismatches += Interface->VmbChannelPacketComplete != kVmbChannelPacketComplete;
  mismatches += Interface->VmbChannelPacketDeferToPassive != kVmbChannelPacketDeferToPassive;
  mismatches += Interface->VmbChannelPacketFail != kVmbChannelPacketFail;
  mismatches += Interface->VmbChannelPacketGetExternalData != kVmbChannelPacketGetExternalData;
  mismatches += Interface->VmbChannelPause != kVmbChannelPause;
  mismatches += Interface->VmbChannelSendSynchronousRequest != kVmbChannelSendSynchronousRequest;
  mismatches += Interface->VmbChannelSetIncomingProcessingAtPassive !=
                kVmbChannelSetIncomingProcessingAtPassive;
  mismatches += Interface->VmbChannelSetInterruptLatency != kVmbChannelSetInterruptLatency;
  mismatches += Interface->VmbChannelSetPointer != kVmbChannelSetPointer;
  mismatches += Interface->VmbChannelSetTransactionQuota != kVmbChannelSetTransactionQuota;
  mismatches += Interface->VmbChannelSizeofPacket != kVmbChannelSizeofPacket;
  mismatches += Interface->VmbChannelStart != kVmbChannelStart;
  mismatches += Interface->VmbClientChannelInitSetRingBufferPageCount !=
                kVmbClientChannelInitSetRingBufferPageCount;
  mismatches += Interface->VmbClientChannelInitSetTargetPnp != kVmbClientChannelInitSetTargetPnp;
  mismatches += Interface->VmbPacketAllocate != kVmbPacketAllocate;
  mismatches += Interface->VmbPacketFree != kVmbPacketFree;
  mismatches += Interface->VmbPacketGetChannel != kVmbPacketGetChannel;
  mismatches += Interface->VmbPacketGetPointer != kVmbPacketGetPointer;
  mismatches += Interface->VmbPacketInitialize != kVmbPacketInitialize;
  mismatches += Interface->VmbPacketSend != kVmbPacketSend;
  mismatches += Interface->VmbPacketSendWithExternalMdl != kVmbPacketSendWithExternalMdl;
  mismatches += Interface->VmbPacketSendWithExternalPfns != kVmbPacketSendWithExternalPfns;
  mismatches += Interface->VmbPacketSetCompletionRoutine != kVmbPacketSetCompletionRoutine;
  mismatches += Interface->VmbPacketSetPointer != kVmbPacketSetPointer;
  return mismatches;
}

int CheckServerInterface(const KMCL_SERVER_INTERFACE_V1* Interface) {
  int mismatches = CheckClientInterface((const KMCL_CLIENT_INTERFACE_V1*)Interface);
  mismatches += Interface->VmbChannelMapGpadl != kVmbChannelMapGpadl;
  mismatches += Interface->VmbChannelRestoreFromBuffer != kVmbChannelRestoreFromBuffer;
  mismatches += Interface->VmbChannelSaveBegin != kVmbChannelSaveBegin;
  mismatches += Interface->VmbChannelSaveContinue != kVmbChannelSaveContinue;
  mismatches += Interface->VmbChannelSaveEnd != kVmbChannelSaveEnd;
  mismatches += Interface->VmbChannelUnmapGpadl != kVmbChannelUnmapGpadl;
  mismatches +=
      Interface->VmbConvertVmbusHandleToKernelHandle != kVmbConvertVmbusHandleToKernelHandle;
  mismatches += Interface->VmbPacketRestore != kVmbPacketRestore;
  mismatches += Interface->VmbServerChannelInitSetFlags != kVmbServerChannelInitSetFlags;
  mismatches +=
      Interface->VmbServerChannelInitSetMmioMegabytes != kVmbServerChannelInitSetMmioMegabytes;
  mismatches += Interface->VmbServerChannelInitSetSaveRestorePacketCallbacks !=
                kVmbServerChannelInitSetSaveRestorePacketCallbacks;
  mismatches += Interface->VmbServerChannelInitSetTargetInterfaceId !=
                kVmbServerChannelInitSetTargetInterfaceId;
  mismatches += Interface->VmbServerChannelInitSetTargetVtl != kVmbServerChannelInitSetTargetVtl;
  mismatches +=
      Interface->VmbServerChannelInitSetVmbusHandle != kVmbServerChannelInitSetVmbusHandle;
  return mismatches;
}
