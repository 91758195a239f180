// SPDX-License-Identifier: MIT
// Tests of the golden-vector reader against the real vector files.
#include "testing/vector_file.h"

#include <gtest/gtest.h>

namespace vmb::testing {
namespace {

TEST(VectorFile, ParsesInbandVector) {
  const auto vectors = load_vectors("ring-inband.vec");
  ASSERT_FALSE(vectors.empty());
  const Vector& first = vectors.front();
  EXPECT_EQ(first.name, "inband_5_bytes");
  EXPECT_EQ(first.header("kind"), "ring-write");
  EXPECT_EQ(first.number("after", "write_index"), 0x20u);
  EXPECT_EQ(first.tokens("packet", "payload").at(0), "0102030405");
  const auto image = first.image(4096);
  EXPECT_EQ(image[0], 0x06);
  EXPECT_EQ(image[0x10], 0x01);
  EXPECT_EQ(image[0x14], 0x05);
}

TEST(VectorFile, ExpandsPatternPayload) {
  const auto bytes = parse_payload("pattern:300");
  ASSERT_EQ(bytes.size(), 300u);
  EXPECT_EQ(bytes[255], 0xff);
  EXPECT_EQ(bytes[256], 0x00);
  EXPECT_TRUE(parse_payload("-").empty());
}

TEST(VectorFile, CountsEveryVector) {
  size_t total = 0;
  for (const char* file :
       {"control-messages.vec", "malformed.vec", "ring-capacity.vec", "ring-completion.vec",
        "ring-gpa-direct.vec", "ring-inband.vec", "ring-transfer-page.vec", "ring-wrap.vec",
        "signal-read.vec", "signal-write.vec"}) {
    total += load_vectors(file).size();
  }
  EXPECT_EQ(total, 77u);  // the README's count
}

}  // namespace
}  // namespace vmb::testing
