// SPDX-License-Identifier: MIT
// The conversions between MDLs and GPA ranges that external data and GPADLs need
// (decisions.md §2–§3, kmcl-api.md §7.5–§7.6):
// - sender: an MDL chain + offset + length (with or without FORCE_MDL_LENGTH) -> GpaRanges,
//   and a PFN array -> one GpaRange;
// - receiver: GPA ranges from the peer -> MdlChain, MDLs over the receiver's own mapping of
//   the peer's guest memory, built only after every PFN, offset and length was checked.
// The MDL helpers themselves (IoAllocateMdl, ...) are the C API in vmbkit/mdl.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "vmbkit/memory/gpa_ranges.h"
#include "vmbkit/memory/guest_memory_mapping.h"
#include "vmbkit/nt_types.h"
#include "vmbkit/status.h"
#include "vmbkit/wire/packet_view.h"

namespace vmb {

// The most MDLs a sender's chain may have; longer chains (or a cycle through Next) are
// STATUS_INVALID_PARAMETER. A channel's VmbChannelInitSetMaximumExternalData limit is usually
// far lower and is checked by the channel.
inline constexpr size_t kMaximumMdlChainLength = 1024;
// The most PFNs one PFN array may name (VmbPacketSendWithExternalPfns): a single range's
// byte_count (u32) must hold PfnLength * 4096.
inline constexpr uint32_t kMaximumExternalPfns = 0xFFFFF;

// False for NULL and for an MDL that MmBuildMdlForNonPagedPool found outside guest memory
// (VMBKIT_MDL_OUTSIDE_GUEST_MEMORY): a send with it must fail with STATUS_INVALID_PARAMETER.
[[nodiscard]] bool mdl_is_usable(const MDL* mdl);

// How a send chooses its bytes from an MDL chain.
enum class MdlLengthMode : uint8_t {
  kWithinChain,     // offset + length must not pass the chain's total ByteCount
  kForceMdlLength,  // VMBUS_CHANNEL_FORMAT_FLAG_FORCE_MDL_LENGTH: first MDL only; may pass its
                    // ByteCount up to the end of the page holding its last byte
};

// Describes `length` bytes starting `offset` bytes into the buffer `chain` describes (length 0:
// to the end, of the chain or, with kForceMdlLength, of the first MDL's ByteCount) as GPA
// ranges, one per MDL touched, replacing *out's contents. Every MDL used must be usable and
// every PFN used below guest_page_count. MDLs with ByteCount 0 are skipped. Returns
// STATUS_INVALID_PARAMETER (nothing described) for: a NULL chain, an unusable MDL, a range past
// the limit of `mode`, zero bytes to describe, a PFN outside guest memory, a chain longer than
// kMaximumMdlChainLength. *out is unspecified after a failure.
Status describe_mdl_chain(const MDL* chain, uint32_t offset, uint32_t length, MdlLengthMode mode,
                          uint64_t guest_page_count, GpaRanges* out);

// Describes `count` whole pages (1..kMaximumExternalPfns) as one range {count * 4096, 0, pfns},
// replacing *out's contents. STATUS_INVALID_PARAMETER for NULL, a bad count or a PFN at or
// beyond guest_page_count.
Status describe_pfns(const PFN_NUMBER* pfns, uint32_t count, uint64_t guest_page_count,
                     GpaRanges* out);

// A chain of MDLs, one per received GPA range, over this process's mapping of the sender's
// guest memory (decisions.md §2). Each MDL has StartVa NULL (no address in the describing
// process), MappedSystemVa NULL until MmGetSystemAddressForMdlSafe maps it, MDL_PAGES_LOCKED,
// and MDL_WRITE_OPERATION unless read-only. MmGetSystemAddressForMdlSafe returns an address in
// the read-only view (or a read-only window) for a read-only chain. The chain owns all its
// MDLs and any windows they mapped, and keeps the guest mapping alive. Move-only; the MDLs are
// not freed with IoFreeMdl. Not thread-safe.
class MdlChain {
 public:
  MdlChain() = default;
  MdlChain(MdlChain&& other) noexcept;
  MdlChain& operator=(MdlChain&& other) noexcept;
  MdlChain(const MdlChain&) = delete;
  MdlChain& operator=(const MdlChain&) = delete;
  // Inline so that dropping an empty chain (every packet without external data) costs a few
  // compares, not a call and two smart-pointer resets.
  ~MdlChain() {
    if (holds_anything()) release();
  }
  // Lets go of the chain (its MDLs, windows and guest reference); it is then empty.
  void reset() noexcept {
    if (holds_anything()) release();
  }

  // Builds the chain for ranges received in a GPA-direct packet (already shape-checked by
  // wire::parse_packet; checked again here). STATUS_DATA_ERROR (and *fault) if any range is
  // empty, has byte_offset >= 4096, the wrong PFN count, or a PFN outside `guest`; no ranges is
  // kNoRanges. STATUS_INSUFFICIENT_RESOURCES if memory runs out.
  static Result<MdlChain> from_packet_ranges(std::shared_ptr<const GuestMemoryMapping> guest,
                                             const wire::GpaRangeList& ranges, bool read_only,
                                             RangeFault* fault = nullptr);

  // The same for ranges already held as GpaRanges (a GPADL).
  static Result<MdlChain> from_ranges(std::shared_ptr<const GuestMemoryMapping> guest,
                                      const GpaRanges& ranges, bool read_only,
                                      RangeFault* fault = nullptr);

  // The first MDL (NULL for an empty chain); the rest follow through Next.
  [[nodiscard]] PMDL first() const { return first_; }
  [[nodiscard]] size_t length() const { return length_; }
  [[nodiscard]] bool read_only() const { return read_only_; }

 private:
  [[nodiscard]] bool holds_anything() const {
    return first_ != nullptr || storage_ != nullptr || guest_ != nullptr;
  }
  void release() noexcept;
  std::shared_ptr<const GuestMemoryMapping> guest_;
  std::unique_ptr<std::byte[]> storage_;  // every MDL with its bookkeeping and PFNs
  PMDL first_ = nullptr;
  size_t length_ = 0;
  bool read_only_ = false;
};

}  // namespace vmb
