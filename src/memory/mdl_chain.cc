// SPDX-License-Identifier: MIT
// MDL <-> GPA range conversions: the sender's description of an MDL chain (decisions.md §3
// rules for MdlOffset, MdlLength and FORCE_MDL_LENGTH) or a PFN array, and the receiver's
// MdlChain over its mapping of the sender's guest memory, built only from checked ranges.
#include "vmbkit/memory/mdl_chain.h"

#include <algorithm>
#include <new>
#include <type_traits>

#include "memory/mdl_extension.h"
#include "vmbkit/mdl.h"
#include "vmbkit/wire/packet_format.h"

namespace vmb {
namespace {

using memory_internal::add_flags;
using memory_internal::MdlExtension;
using memory_internal::pfns_of;

static_assert(std::is_same_v<PFN_NUMBER, uint64_t>, "PFN arrays are read as u64 spans");

constexpr uint64_t kPageSize = wire::kPageSize;
const Status kInvalid{STATUS_INVALID_PARAMETER};

// Appends bytes [start, start + length) of `mdl`'s buffer as one range. The caller has checked
// that they lie within the pages the MDL's PFN array covers.
Status append_piece(const MDL* mdl, uint64_t start, uint32_t length, uint64_t guest_page_count,
                    GpaRanges* out) {
  const uint64_t first_byte = uint64_t{mdl->ByteOffset} + start;
  const uint64_t first_page = first_byte / kPageSize;
  const auto byte_offset = static_cast<uint32_t>(first_byte % kPageSize);
  const uint64_t count = wire::pfn_count(byte_offset, length);
  const std::span<const uint64_t> pfns(pfns_of(mdl) + first_page, count);
  if (std::any_of(pfns.begin(), pfns.end(),
                  [&](uint64_t pfn) { return pfn >= guest_page_count; })) {
    return kInvalid;
  }
  return out->append(length, byte_offset, pfns);
}

Status describe_forced(const MDL* mdl, uint32_t offset, uint32_t length, uint64_t guest_page_count,
                       GpaRanges* out) {
  // Only the first MDL counts; the bytes may pass its ByteCount up to the end of the page that
  // holds its last byte: offset + length <= round_up(ByteOffset + ByteCount, 4096) - ByteOffset.
  const uint64_t end_of_pages =
      (uint64_t{mdl->ByteOffset} + mdl->ByteCount + kPageSize - 1) / kPageSize * kPageSize;
  const uint64_t limit = end_of_pages - mdl->ByteOffset;
  const uint64_t bytes =
      length != 0 ? length : (mdl->ByteCount > offset ? mdl->ByteCount - offset : 0);
  if (bytes == 0 || uint64_t{offset} + bytes > limit) return kInvalid;
  return append_piece(mdl, offset, static_cast<uint32_t>(bytes), guest_page_count, out);
}

Status describe_within_chain(const MDL* chain, uint32_t offset, uint32_t length,
                             uint64_t guest_page_count, GpaRanges* out) {
  uint64_t total = 0;
  size_t links = 0;
  for (const MDL* mdl = chain; mdl != nullptr; mdl = mdl->Next) {
    if (++links > kMaximumMdlChainLength) return kInvalid;  // also stops a cycle
    total += mdl->ByteCount;
  }
  if (offset >= total) return kInvalid;
  const uint64_t bytes = length != 0 ? length : total - offset;
  if (uint64_t{offset} + bytes > total) return kInvalid;

  uint64_t skip = offset;
  uint64_t remaining = bytes;
  for (const MDL* mdl = chain; mdl != nullptr && remaining > 0; mdl = mdl->Next) {
    const uint64_t count = mdl->ByteCount;
    if (skip >= count) {  // also skips MDLs with ByteCount 0
      skip -= count;
      continue;
    }
    if (!mdl_is_usable(mdl) || mdl->ByteOffset >= kPageSize) return kInvalid;
    const uint64_t take = std::min(count - skip, remaining);
    if (Status status = append_piece(mdl, skip, static_cast<uint32_t>(take), guest_page_count, out);
        !status.ok()) {
      return status;
    }
    remaining -= take;
    skip = 0;
  }
  return Status{};
}

// Checks one received range: shape, then every PFN inside the guest.
template <typename Range>
RangeFault check_received(const Range& range, uint64_t guest_page_count) {
  if (range.byte_count == 0) return RangeFault::kZeroByteCount;
  if (range.byte_offset >= kPageSize) return RangeFault::kByteOffsetNotInPage;
  if (range.pfns.size() != wire::pfn_count(range.byte_offset, range.byte_count)) {
    return RangeFault::kPfnCountMismatch;
  }
  for (uint32_t i = 0; i < range.pfns.size(); ++i) {
    if (range.pfns[i] >= guest_page_count) return RangeFault::kPfnOutsideGuest;
  }
  return RangeFault::kNone;
}

}  // namespace

bool mdl_is_usable(const MDL* mdl) { return VmbKitMdlIsUsable(mdl) != FALSE; }

Status describe_mdl_chain(const MDL* chain, uint32_t offset, uint32_t length, MdlLengthMode mode,
                          uint64_t guest_page_count, GpaRanges* out) {
  if (chain == nullptr || out == nullptr) return kInvalid;
  out->clear();
  if (mode == MdlLengthMode::kForceMdlLength) {
    if (!mdl_is_usable(chain) || chain->ByteOffset >= kPageSize) return kInvalid;
    return describe_forced(chain, offset, length, guest_page_count, out);
  }
  return describe_within_chain(chain, offset, length, guest_page_count, out);
}

Status describe_pfns(const PFN_NUMBER* pfns, uint32_t count, uint64_t guest_page_count,
                     GpaRanges* out) {
  if (pfns == nullptr || out == nullptr || count == 0 || count > kMaximumExternalPfns) {
    return kInvalid;
  }
  out->clear();
  const std::span<const uint64_t> list(pfns, count);
  if (std::any_of(list.begin(), list.end(),
                  [&](uint64_t pfn) { return pfn >= guest_page_count; })) {
    return kInvalid;
  }
  return out->append(count * static_cast<uint32_t>(kPageSize), 0, list);
}

// ---- MdlChain ---------------------------------------------------------------------------------

namespace {

struct BuiltChain {
  std::unique_ptr<std::byte[]> storage;
  PMDL first = nullptr;
  size_t length = 0;
};

// Checks every range first (decisions.md §2: nothing is built from an unchecked PFN), then lays
// all MDLs out in one allocation: [extension][MDL][PFNs] per range, linked through Next.
template <typename Ranges>
Result<BuiltChain> build_chain(const std::shared_ptr<const GuestMemoryMapping>& guest,
                               const Ranges& ranges, bool read_only, RangeFault* fault) {
  const auto reject = [fault](RangeFault reason) {
    if (fault != nullptr) *fault = reason;
    return Status{STATUS_DATA_ERROR};
  };
  size_t bytes = 0;
  size_t count = 0;
  for (const auto& range : ranges) {
    if (const RangeFault reason = check_received(range, guest->page_count());
        reason != RangeFault::kNone) {
      return reject(reason);
    }
    bytes += memory_internal::mdl_allocation_size(range.pfns.size());
    ++count;
  }
  if (count == 0) return reject(RangeFault::kNoRanges);

  BuiltChain chain;
  chain.storage.reset(new (std::nothrow) std::byte[bytes]);  // NOLINT: owned by unique_ptr
  if (!chain.storage) return Status{STATUS_INSUFFICIENT_RESOURCES};
  size_t at = 0;
  MDL* previous = nullptr;
  for (const auto& range : ranges) {
    const size_t pfn_count = range.pfns.size();
    // Safety: `at` advances by exactly the sizes summed above, so each block lies inside the
    // storage; new[] storage is aligned for MdlExtension (16 bytes).
    // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): placement into chain.storage
    auto* extension = new (chain.storage.get() + at) MdlExtension;
    extension->guest = guest;
    extension->read_only = read_only;
    extension->owned_by_chain = true;
    MDL* mdl = memory_internal::mdl_after(extension);
    mdl->Next = nullptr;
    // Truncated to CSHORT past 32 KiB, as Windows does; vmbkit never reads Size back.
    mdl->Size = static_cast<CSHORT>(sizeof(MDL) + pfn_count * sizeof(PFN_NUMBER));
    mdl->MdlFlags = 0;
    add_flags(mdl,
              MDL_ALLOCATED_FIXED_SIZE | MDL_PAGES_LOCKED | (read_only ? 0 : MDL_WRITE_OPERATION));
    mdl->Process = nullptr;
    mdl->MappedSystemVa = nullptr;
    mdl->StartVa = nullptr;  // no address in the describing process
    mdl->ByteCount = range.byte_count;
    mdl->ByteOffset = range.byte_offset;
    PPFN_NUMBER pfns = MmGetMdlPfnArray(mdl);
    for (uint32_t i = 0; i < pfn_count; ++i) pfns[i] = range.pfns[i];
    if (previous != nullptr) {
      previous->Next = mdl;
    } else {
      chain.first = mdl;
    }
    previous = mdl;
    at += memory_internal::mdl_allocation_size(pfn_count);
  }
  chain.length = count;
  if (fault != nullptr) *fault = RangeFault::kNone;
  return chain;
}

}  // namespace

MdlChain::MdlChain(MdlChain&& other) noexcept
    : guest_(std::move(other.guest_)),
      storage_(std::move(other.storage_)),
      first_(std::exchange(other.first_, nullptr)),
      length_(std::exchange(other.length_, 0)),
      read_only_(other.read_only_) {}

MdlChain& MdlChain::operator=(MdlChain&& other) noexcept {
  if (this != &other) {
    reset();
    guest_ = std::move(other.guest_);
    storage_ = std::move(other.storage_);
    first_ = std::exchange(other.first_, nullptr);
    length_ = std::exchange(other.length_, 0);
    read_only_ = other.read_only_;
  }
  return *this;
}

Result<MdlChain> MdlChain::from_packet_ranges(std::shared_ptr<const GuestMemoryMapping> guest,
                                              const wire::GpaRangeList& ranges, bool read_only,
                                              RangeFault* fault) {
  if (!guest) return Status{STATUS_INVALID_PARAMETER};
  auto built = build_chain(guest, ranges, read_only, fault);
  if (!built) return built.status();
  MdlChain chain;
  chain.guest_ = std::move(guest);
  chain.storage_ = std::move(built->storage);
  chain.first_ = built->first;
  chain.length_ = built->length;
  chain.read_only_ = read_only;
  return chain;
}

Result<MdlChain> MdlChain::from_ranges(std::shared_ptr<const GuestMemoryMapping> guest,
                                       const GpaRanges& ranges, bool read_only, RangeFault* fault) {
  if (!guest) return Status{STATUS_INVALID_PARAMETER};
  auto built = build_chain(guest, ranges.ranges(), read_only, fault);
  if (!built) return built.status();
  MdlChain chain;
  chain.guest_ = std::move(guest);
  chain.storage_ = std::move(built->storage);
  chain.first_ = built->first;
  chain.length_ = built->length;
  chain.read_only_ = read_only;
  return chain;
}

void MdlChain::release() noexcept {
  // Each member's extension owns a window and a guest reference: destroy them in place.
  for (MDL* mdl = first_; mdl != nullptr;) {
    MDL* next = mdl->Next;
    if (MdlExtension* extension = memory_internal::extension_of(mdl); extension != nullptr) {
      extension->magic = 0;
      extension->~MdlExtension();
    }
    mdl = next;
  }
  first_ = nullptr;
  length_ = 0;
  storage_.reset();
  guest_.reset();
}

}  // namespace vmb
