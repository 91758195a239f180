// SPDX-License-Identifier: MIT
// The vmbkit-disk protocol: the messages a virtual-disk client (VSC) and server (VSP) exchange
// over VMBus channels, shared by both sides. Every request is one in-band DiskRequest; every
// reply is the payload of the request's completion (VmbChannelPacketComplete), one of the
// Disk*Response structs, all little-endian with explicit sizes that are multiples of 8 (the
// wire carries completion payloads in 8-byte units). Reads and writes carry their data as
// external data: the guest's buffer described by an MDL (VmbPacketSendWithExternalMdl), which
// the server reads or fills in place. Control requests (open, geometry, flush, subchannels)
// travel through VmbChannelSendSynchronousRequest. Not here: any code (disk_server.h,
// disk_client.h) — this header is the contract, as a storage driver's protocol header is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "vmbkit/kmcl.h"

namespace vmb::disk {

// The offer's interface type, which a client targets: vmbkit-disk's own, random, GUID
// {5c6f8a38-2f41-4d6e-9a1b-7d3e0c52b9a4}.
inline constexpr GUID kInterfaceType = {
    0x5c6f8a38, 0x2f41, 0x4d6e, {0x9a, 0x1b, 0x7d, 0x3e, 0x0c, 0x52, 0xb9, 0xa4}};
// The disk's instance {0d9e4c21-7b3a-4f58-8c6d-2e1f0a9b3c00}. Every channel of the disk is
// offered with this type and instance; subchannel i (1..kMaximumSubchannels) carries
// sub_channel_index i in its offer, set on both sides with VmbKitChannelInitSetSubChannelIndex
// (KMCL V1 has no call for it; docs/kmcl.md "Sub-channels").
inline constexpr GUID kInstance = {
    0x0d9e4c21, 0x7b3a, 0x4f58, {0x8c, 0x6d, 0x2e, 0x1f, 0x0a, 0x9b, 0x3c, 0x00}};

// Version 1.0: major in the high 16 bits. A server answers kOpen with the version it speaks
// if the major numbers match, else STATUS_REVISION_MISMATCH.
inline constexpr uint32_t kProtocolVersion = 0x00010000;

// Limits the server advertises and enforces.
inline constexpr uint32_t kMaximumSubchannels = 15;
inline constexpr uint32_t kMaximumTransferBytes = 1u << 20;
// The largest in-band message either side sends (the request; replies are completions).
inline constexpr uint32_t kMaximumMessageBytes = 64;

enum class DiskOperation : uint32_t {
  kOpen = 1,               // argument: client's kProtocolVersion -> DiskOpenResponse
  kQueryGeometry = 2,      // -> DiskGeometryResponse
  kFlush = 3,              // -> DiskStatusResponse, after the image is durable (fdatasync)
  kCreateSubchannels = 4,  // argument: subchannels wanted -> DiskStatusResponse (value: offered)
  kRead = 5,               // external data: the guest buffer to fill -> DiskStatusResponse
  kWrite = 6,              // external data: the guest buffer to store -> DiskStatusResponse
};

// Every request, in-band. Reserved fields: send 0; may be non-zero on receipt, ignore.
struct DiskRequest {
  uint32_t operation;    // DiskOperation
  uint32_t argument;     // kOpen: version; kCreateSubchannels: count; otherwise 0
  uint64_t first_block;  // kRead / kWrite: the first block
  uint32_t block_count;  // kRead / kWrite: blocks, block_count * block_size <= max transfer
  uint32_t reserved;
};
static_assert(sizeof(DiskRequest) == 24);
static_assert(offsetof(DiskRequest, operation) == 0);
static_assert(offsetof(DiskRequest, argument) == 4);
static_assert(offsetof(DiskRequest, first_block) == 8);
static_assert(offsetof(DiskRequest, block_count) == 16);
static_assert(offsetof(DiskRequest, reserved) == 20);

// Reply to kFlush, kCreateSubchannels, kRead and kWrite.
struct DiskStatusResponse {
  int32_t status;  // NTSTATUS: STATUS_SUCCESS, or why the request failed
  uint32_t value;  // kRead / kWrite: blocks transferred; kCreateSubchannels: subchannels offered
};
static_assert(sizeof(DiskStatusResponse) == 8);
static_assert(offsetof(DiskStatusResponse, value) == 4);

// Reply to kOpen.
struct DiskOpenResponse {
  int32_t status;    // STATUS_SUCCESS or STATUS_REVISION_MISMATCH
  uint32_t version;  // the version the server speaks
};
static_assert(sizeof(DiskOpenResponse) == 8);
static_assert(offsetof(DiskOpenResponse, version) == 4);

// Reply to kQueryGeometry.
struct DiskGeometryResponse {
  int32_t status;
  uint32_t block_size;  // bytes, a power of two in [512, 65536]
  uint64_t block_count;
  uint32_t maximum_transfer_bytes;  // of one read or write
  uint32_t maximum_subchannels;
};
static_assert(sizeof(DiskGeometryResponse) == 24);
static_assert(offsetof(DiskGeometryResponse, block_size) == 4);
static_assert(offsetof(DiskGeometryResponse, block_count) == 8);
static_assert(offsetof(DiskGeometryResponse, maximum_transfer_bytes) == 16);
static_assert(offsetof(DiskGeometryResponse, maximum_subchannels) == 20);

static_assert(std::is_trivially_copyable_v<DiskRequest> &&
              std::is_trivially_copyable_v<DiskStatusResponse> &&
              std::is_trivially_copyable_v<DiskOpenResponse> &&
              std::is_trivially_copyable_v<DiskGeometryResponse>);
static_assert(sizeof(DiskRequest) <= kMaximumMessageBytes);

}  // namespace vmb::disk
