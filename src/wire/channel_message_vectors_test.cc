// SPDX-License-Identifier: MIT
// Golden-vector tests of the channel-management messages: every vector of
// control-messages.vec except GPADL_HEADER / GPADL_BODY (gpadl_messages.h has its own tests).
// For each: the struct built from the `fields:` line encodes to exactly the vector's bytes; the
// bytes decode to the same type with every listed field equal; one byte less is refused; extra
// trailing bytes are accepted and ignored.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "testing/vector_file.h"
#include "vmbkit/wire/channel_messages.h"

namespace vmb::wire {
namespace {

using testing::Vector;

// Converts one `fields:` token value into a member's type.
template <typename M>
M from_token(const std::string& token) {
  if constexpr (std::is_same_v<M, Guid>) {
    const auto guid = Guid::parse(token);
    EXPECT_TRUE(guid.has_value()) << "bad GUID token " << token;
    return guid.value_or(Guid{});
  } else if constexpr (std::is_integral_v<M>) {
    const uint64_t value = testing::parse_number(token);
    EXPECT_LE(value, uint64_t{std::numeric_limits<std::make_unsigned_t<M>>::max()}) << token;
    return static_cast<M>(value);
  } else {
    // Byte arrays are written "VALUE*COUNT" ("0*120").
    M bytes{};
    const auto star = token.find('*');
    EXPECT_NE(star, std::string::npos) << "byte-array token " << token;
    if (star == std::string::npos) return bytes;
    EXPECT_EQ(testing::parse_number(token.substr(star + 1)), bytes.size()) << token;
    const auto value = static_cast<uint8_t>(testing::parse_number(token.substr(0, star)));
    std::fill(bytes.begin(), bytes.end(), value);
    return bytes;
  }
}

// Bytes as "0e 00 ..." so a mismatch shows where the images differ.
std::string hex(std::span<const uint8_t> bytes) {
  std::string text;
  for (const uint8_t byte : bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    if (!text.empty()) text += ' ';
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0xF];
  }
  return text;
}

// One named field of a message struct: how to set it from a token and how to compare it.
template <typename T>
struct Field {
  std::string name;
  std::function<void(T&, const std::string&)> set;
  std::function<bool(const T&, const std::string&)> equals;
};

template <typename T, typename M>
Field<T> member(std::string name, M T::*pointer) {
  return {std::move(name), [pointer](T& m, const std::string& t) { m.*pointer = from_token<M>(t); },
          [pointer](const T& m, const std::string& t) { return m.*pointer == from_token<M>(t); }};
}

std::vector<Field<InitiateContact>> fields_of(const InitiateContact*) {
  using M = InitiateContact;
  const auto byte_of = [](const std::string& t) { return from_token<uint8_t>(t); };
  return {
      member("version_requested", &M::version_requested),
      member("target_vcpu", &M::target_vcpu),
      member("interrupt_page", &M::interrupt_page),
      member("monitor_page1", &M::monitor_page1),
      member("monitor_page2", &M::monitor_page2),
      {"msg_sint",
       [=](M& m, const std::string& t) {
         m.set_message_target(byte_of(t), m.msg_vtl(), m.feature_flags());
       },
       [=](const M& m, const std::string& t) { return m.msg_sint() == byte_of(t); }},
      {"msg_vtl",
       [=](M& m, const std::string& t) {
         m.set_message_target(m.msg_sint(), byte_of(t), m.feature_flags());
       },
       [=](const M& m, const std::string& t) { return m.msg_vtl() == byte_of(t); }},
  };
}

std::vector<Field<VersionResponse>> fields_of(const VersionResponse*) {
  using M = VersionResponse;
  return {member("version_supported", &M::version_supported),
          member("connection_state", &M::connection_state), member("msg_conn_id", &M::msg_conn_id)};
}

std::vector<Field<OfferChannel>> fields_of(const OfferChannel*) {
  using M = OfferChannel;
  // reserved1/reserved2 are u64 in the vectors' notation, byte arrays in the struct.
  const auto reserved = [](std::string name, std::array<uint8_t, 8> M::*pointer) {
    return Field<M>{std::move(name),
                    [=](M& m, const std::string& t) {
                      m.*pointer = std::bit_cast<std::array<uint8_t, 8>>(from_token<uint64_t>(t));
                    },
                    [=](const M& m, const std::string& t) {
                      return std::bit_cast<uint64_t>(m.*pointer) == from_token<uint64_t>(t);
                    }};
  };
  return {member("if_type", &M::if_type),
          member("if_instance", &M::if_instance),
          reserved("reserved1", &M::reserved1),
          reserved("reserved2", &M::reserved2),
          member("chn_flags", &M::chn_flags),
          member("mmio_megabytes", &M::mmio_megabytes),
          member("user_def", &M::user_def),
          member("sub_channel_index", &M::sub_channel_index),
          member("mmio_megabytes_optional", &M::mmio_megabytes_optional),
          member("child_relid", &M::child_relid),
          member("monitorid", &M::monitorid),
          member("monitor_allocated", &M::monitor_allocated),
          member("is_dedicated_interrupt", &M::is_dedicated_interrupt),
          member("connection_id", &M::connection_id)};
}

template <typename M>
std::vector<Field<M>> relid_only(const M*) {
  return {member("child_relid", &M::child_relid)};
}
std::vector<Field<RescindChannelOffer>> fields_of(const RescindChannelOffer* m) {
  return relid_only(m);
}
std::vector<Field<RelidReleased>> fields_of(const RelidReleased* m) { return relid_only(m); }
std::vector<Field<CloseChannel>> fields_of(const CloseChannel* m) { return relid_only(m); }
std::vector<Field<RequestOffers>> fields_of(const RequestOffers*) { return {}; }
std::vector<Field<AllOffersDelivered>> fields_of(const AllOffersDelivered*) { return {}; }

std::vector<Field<OpenChannel>> fields_of(const OpenChannel*) {
  using M = OpenChannel;
  return {member("child_relid", &M::child_relid),
          member("openid", &M::openid),
          member("ringbuffer_gpadlhandle", &M::ringbuffer_gpadlhandle),
          member("target_vp", &M::target_vp),
          member("downstream_ringbuffer_pageoffset", &M::downstream_ringbuffer_pageoffset),
          member("user_data", &M::user_data)};
}

std::vector<Field<OpenChannelResult>> fields_of(const OpenChannelResult*) {
  using M = OpenChannelResult;
  return {member("child_relid", &M::child_relid), member("openid", &M::openid),
          member("status", &M::status)};
}

std::vector<Field<GpadlCreated>> fields_of(const GpadlCreated*) {
  using M = GpadlCreated;
  return {member("child_relid", &M::child_relid), member("gpadl", &M::gpadl),
          member("creation_status", &M::creation_status)};
}

std::vector<Field<GpadlTeardown>> fields_of(const GpadlTeardown*) {
  using M = GpadlTeardown;
  return {member("child_relid", &M::child_relid), member("gpadl", &M::gpadl)};
}

std::vector<Field<GpadlTorndown>> fields_of(const GpadlTorndown*) {
  return {member("gpadl", &GpadlTorndown::gpadl)};
}

// The `name=value` tokens of the vector's `fields:` line ("-" = none).
std::vector<std::pair<std::string, std::string>> field_tokens(const Vector& vector) {
  std::vector<std::pair<std::string, std::string>> tokens;
  std::istringstream words(vector.header("fields"));
  std::string word;
  while (words >> word) {
    if (word == "-") continue;
    const auto equals = word.find('=');
    EXPECT_NE(equals, std::string::npos) << vector.name << ": token " << word;
    if (equals != std::string::npos)
      tokens.emplace_back(word.substr(0, equals), word.substr(equals + 1));
  }
  return tokens;
}

template <ChannelMessageStruct T>
void check_vector(const Vector& vector) {
  const std::vector<uint8_t> bytes = vector.concatenated();
  const auto fields = fields_of(static_cast<const T*>(nullptr));
  const auto find = [&](const std::string& name) {
    return std::find_if(fields.begin(), fields.end(),
                        [&](const auto& f) { return f.name == name; });
  };

  // The vector's declared size is the struct's size, and its name matches the type's.
  EXPECT_EQ(vector.number("message", "size"), sizeof(T));
  EXPECT_EQ(bytes.size(), sizeof(T));
  EXPECT_EQ(vector.header("message").substr(0, to_string(T::kType).size()), to_string(T::kType));

  // Encode from the fields line → identical bytes. Unlisted fields stay 0.
  T built{};
  for (const auto& [name, value] : field_tokens(vector)) {
    const auto field = find(name);
    ASSERT_NE(field, fields.end()) << "no binding for field " << name;
    field->set(built, value);
  }
  const auto encoded = encode(built);
  EXPECT_EQ(hex(encoded), hex(bytes));

  // Decode the bytes → the same type, every listed field identical, and re-encoding is exact.
  const auto decoded = decode_channel_message(bytes);
  ASSERT_TRUE(decoded.has_value()) << to_string(decoded.rejection());
  const T* message = decoded.get_if<T>();
  ASSERT_NE(message, nullptr) << "decoded as another alternative";
  for (const auto& [name, value] : field_tokens(vector)) {
    EXPECT_TRUE(find(name)->equals(*message, value)) << "field " << name << " != " << value;
  }
  EXPECT_EQ(hex(encode(*message)), hex(encoded));
  EXPECT_EQ(message_type(decoded.value()), T::kType);

  // One byte short → refused.
  const auto truncated = decode_channel_message(std::span(bytes).first(bytes.size() - 1));
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.rejection(), bytes.size() == kChannelMessageHeaderSize
                                       ? ChannelMessageRejection::kShorterThanHeader
                                       : ChannelMessageRejection::kShorterThanType);

  // Extra trailing bytes (a newer peer's fields) → accepted, same fields, extra ignored. Seven
  // bytes keep INITIATE_CONTACT / TL_CONNECT_REQUEST below their 56-byte forms.
  std::vector<uint8_t> longer = bytes;
  longer.insert(longer.end(), 7, 0xA5);
  const auto extended = decode_channel_message(longer);
  ASSERT_TRUE(extended.has_value()) << to_string(extended.rejection());
  ASSERT_NE(extended.get_if<T>(), nullptr);
  EXPECT_EQ(hex(encode(*extended.get_if<T>())), hex(encoded));
}

// Returns false for the GPADL_HEADER / GPADL_BODY vectors, which are not this file's.
bool check_any(const Vector& vector) {
  const auto type = static_cast<ChannelMessageType>(vector.number("message", "type").value_or(0));
  switch (type) {
    case ChannelMessageType::kInitiateContact:
      check_vector<InitiateContact>(vector);
      break;
    case ChannelMessageType::kVersionResponse:
      check_vector<VersionResponse>(vector);
      break;
    case ChannelMessageType::kRequestOffers:
      check_vector<RequestOffers>(vector);
      break;
    case ChannelMessageType::kAllOffersDelivered:
      check_vector<AllOffersDelivered>(vector);
      break;
    case ChannelMessageType::kOfferChannel:
      check_vector<OfferChannel>(vector);
      break;
    case ChannelMessageType::kRescindChannelOffer:
      check_vector<RescindChannelOffer>(vector);
      break;
    case ChannelMessageType::kRelidReleased:
      check_vector<RelidReleased>(vector);
      break;
    case ChannelMessageType::kOpenChannel:
      check_vector<OpenChannel>(vector);
      break;
    case ChannelMessageType::kOpenChannelResult:
      check_vector<OpenChannelResult>(vector);
      break;
    case ChannelMessageType::kCloseChannel:
      check_vector<CloseChannel>(vector);
      break;
    case ChannelMessageType::kGpadlCreated:
      check_vector<GpadlCreated>(vector);
      break;
    case ChannelMessageType::kGpadlTeardown:
      check_vector<GpadlTeardown>(vector);
      break;
    case ChannelMessageType::kGpadlTorndown:
      check_vector<GpadlTorndown>(vector);
      break;
    case ChannelMessageType::kGpadlHeader:
    case ChannelMessageType::kGpadlBody:
      return false;
    default:
      ADD_FAILURE() << "no test for message type " << static_cast<uint32_t>(type);
  }
  return true;
}

TEST(ChannelMessageVectors, EveryControlVectorRoundTrips) {
  const auto vectors = testing::load_vectors("control-messages.vec");
  size_t checked = 0;
  std::set<std::string> names;
  for (const Vector& vector : vectors) {
    SCOPED_TRACE(vector.name);
    ASSERT_EQ(vector.header("kind"), "control");
    if (check_any(vector)) {
      ++checked;
      names.insert(vector.name);
    }
  }
  // 20 control vectors, 3 of them GPADL_HEADER / GPADL_BODY: nothing may be skipped silently.
  EXPECT_EQ(vectors.size(), 20u);
  EXPECT_EQ(checked, 17u);
  EXPECT_TRUE(names.count("offer_channel_netvsc_subchannel_3"));
}

TEST(ChannelMessageVectors, GpadlVectorsPassThroughUndecoded) {
  for (const Vector& vector : testing::load_vectors("control-messages.vec")) {
    const auto type = static_cast<ChannelMessageType>(vector.number("message", "type").value_or(0));
    if (type != ChannelMessageType::kGpadlHeader && type != ChannelMessageType::kGpadlBody) {
      continue;
    }
    SCOPED_TRACE(vector.name);
    const auto bytes = vector.concatenated();
    const auto decoded = decode_channel_message(bytes);
    ASSERT_TRUE(decoded.has_value());
    const auto* gpadl = decoded.get_if<UndecodedGpadlMessage>();
    ASSERT_NE(gpadl, nullptr);
    EXPECT_EQ(gpadl->type, type);
    EXPECT_EQ(hex(gpadl->view()), hex(bytes));
    EXPECT_EQ(hex(encode_channel_message(decoded.value()).view()), hex(bytes));
  }
}

}  // namespace
}  // namespace vmb::wire
