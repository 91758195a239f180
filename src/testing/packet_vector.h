// SPDX-License-Identifier: MIT
// PacketVector: the `packet:` line of a ring golden vector turned into a wire::PacketSpec with
// the storage it points into, plus the vector's ring set-up (`before:` control fields) as plain
// numbers. Shared by the wire and ring vector tests. Test-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "testing/vector_file.h"
#include "vmbkit/wire/packet_encoder.h"

namespace vmb::testing {

class PacketVector {
 public:
  // Parses vector.header("packet"); aborts on a malformed line ("raw" is not parseable).
  explicit PacketVector(const Vector& vector);
  PacketVector(const PacketVector&) = delete;
  PacketVector& operator=(const PacketVector&) = delete;

  // Points into this object; valid while it lives.
  [[nodiscard]] const wire::PacketSpec& spec() const { return spec_; }
  [[nodiscard]] const std::vector<std::byte>& payload() const { return payload_; }
  // The GPA ranges with their PFN lists, in order (type 9).
  struct Range {
    uint32_t byte_count;
    uint32_t byte_offset;
    std::vector<uint64_t> pfns;
  };
  [[nodiscard]] const std::vector<Range>& gpa_ranges() const { return ranges_; }

 private:
  std::vector<std::byte> payload_;
  std::vector<Range> ranges_;
  std::vector<wire::GpaRangeSpec> range_specs_;
  std::vector<wire::TransferPageRange> transfer_ranges_;
  wire::PacketSpec spec_;
};

// The `before:` line of a ring vector: control fields the ring starts with (absent = 0).
struct RingBefore {
  uint32_t write_index = 0;
  uint32_t read_index = 0;
  uint32_t interrupt_mask = 0;
  uint32_t pending_send_size = 0;
  uint32_t feature_bits = 0;
};
RingBefore ring_before(const Vector& vector);

// `key=` of header `header`, which must be present (aborts otherwise).
uint64_t required_number(const Vector& vector, const std::string& header, const std::string& key);

}  // namespace vmb::testing
