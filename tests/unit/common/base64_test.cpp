// Base64 against RFC 4648 §10 and the strict/lenient contracts of common/base64.h.
#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace junction {
namespace {

struct vector {
  const char* plain;
  const char* encoded;
};
constexpr vector kRfc4648[] = {{"", ""},
                               {"f", "Zg=="},
                               {"fo", "Zm8="},
                               {"foo", "Zm9v"},
                               {"foob", "Zm9vYg=="},
                               {"fooba", "Zm9vYmE="},
                               {"foobar", "Zm9vYmFy"}};

TEST(Base64, Rfc4648VectorsEncode) {
  for (const auto& v : kRfc4648) EXPECT_EQ(base64::encode(v.plain), v.encoded) << v.plain;
}

TEST(Base64, Rfc4648VectorsDecodeStrictAndLenient) {
  for (const auto& v : kRfc4648) {
    EXPECT_EQ(base64::decode(v.encoded), std::optional<std::string>(v.plain)) << v.encoded;
    EXPECT_EQ(base64::decode_lenient(v.encoded), std::optional<std::string>(v.plain)) << v.encoded;
  }
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    std::string s = all.substr(0, len);
    EXPECT_EQ(base64::decode(base64::encode(s)), s);
  }
}

TEST(Base64, StrictRejectsMalformedInput) {
  EXPECT_EQ(base64::decode("Zg"), std::nullopt);        // padding missing
  EXPECT_EQ(base64::decode("Zg="), std::nullopt);       // length not a multiple of 4
  EXPECT_EQ(base64::decode("Zm9v\r\n"), std::nullopt);  // whitespace
  EXPECT_EQ(base64::decode("Zm 9v"), std::nullopt);
  EXPECT_EQ(base64::decode("Zm9!"), std::nullopt);  // outside the alphabet
  EXPECT_EQ(base64::decode("Z==="), std::nullopt);  // too much padding
  EXPECT_EQ(base64::decode("===="), std::nullopt);
  EXPECT_EQ(base64::decode("Zg==Zg=="), std::nullopt);  // padding in the middle
  EXPECT_EQ(base64::decode("Zg=a"), std::nullopt);
  EXPECT_EQ(base64::decode("Zh=="), std::nullopt);  // non-zero leftover bits
}

TEST(Base64, LenientSkipsWhitespaceAndStopsAtPad) {
  EXPECT_EQ(base64::decode_lenient("Zm9v\r\nYmFy"), std::optional<std::string>("foobar"));
  EXPECT_EQ(base64::decode_lenient(" Zm 9v\tYg = = "), std::optional<std::string>("foob"));
  EXPECT_EQ(base64::decode_lenient("Zm9vYg"), std::optional<std::string>("foob"));
  EXPECT_EQ(base64::decode_lenient("Zg==ignored"), std::optional<std::string>("f"));
  EXPECT_EQ(base64::decode_lenient("Zm9v!"), std::nullopt);
}

}  // namespace
}  // namespace junction
