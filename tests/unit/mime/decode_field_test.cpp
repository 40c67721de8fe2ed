// decode_field: RFC 2047 encoded words and raw 8-bit text to UTF-8.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "mime_test_support.h"

namespace junction::mime::test {
namespace {

std::string utf8(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// RFC 2047 §8, the examples in comments (the ISO-8859-2 one uses a charset we do not know).
TEST(MimeDecodeField, Rfc2047Examples) {
  EXPECT_EQ(decode_field("(=?ISO-8859-1?Q?a?=)"), "(a)");
  EXPECT_EQ(decode_field("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
  EXPECT_EQ(decode_field("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_field("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_field("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_field("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
  EXPECT_EQ(decode_field("=?US-ASCII?Q?Keith_Moore?="), "Keith Moore");
  EXPECT_EQ(decode_field("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?="), "Keld J\xc3\xb8rn Simonsen");
  EXPECT_EQ(decode_field("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
                         " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="),
            "If you can read this yo =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=");
}

TEST(MimeDecodeField, QEncoding) {
  EXPECT_EQ(decode_field("=?utf-8?q?a_b=5Fc=3d=3F?="), "a b_c=?");
  EXPECT_EQ(decode_field("=?UTF-8?Q?=E2=82=AC?="), "\xe2\x82\xac");
  EXPECT_EQ(decode_field("=?utf-8?q?broken=G1=4?="), "broken=G1=4");
  EXPECT_EQ(decode_field("=?utf-8?q?"
                         "?="),
            "");
}

TEST(MimeDecodeField, BEncodingAndSplitCharacters) {
  EXPECT_EQ(decode_field("=?utf-8?B?w6k=?="), "\xc3\xa9");
  EXPECT_EQ(decode_field("=?utf-8?b?w6k?="), "\xc3\xa9");  // padding missing
  EXPECT_EQ(decode_field("=?iso-8859-1?B?6Q==?="), "\xc3\xa9");
  // A three-byte character split between two words in the same charset comes out whole.
  EXPECT_EQ(decode_field("=?utf-8?B?4oI=?= =?utf-8?B?rA==?="), "\xe2\x82\xac");
  // Characters outside the base64 alphabet: the word stays as written.
  EXPECT_EQ(decode_field("=?utf-8?B?w6k*?="), "=?utf-8?B?w6k*?=");
}

TEST(MimeDecodeField, CharsetNames) {
  EXPECT_EQ(decode_field("=?Utf-8*EN?q?ok?="), "ok");
  EXPECT_EQ(decode_field("=?LATIN1?q?=E9?="), "\xc3\xa9");
  EXPECT_EQ(decode_field("=?cp1252?q?=80?="), "\xe2\x82\xac");
  EXPECT_EQ(decode_field("=?us-ascii?q?plain?="), "plain");
  EXPECT_EQ(decode_field("=?big5?q?x?= =?utf-8?q?y?="), "=?big5?q?x?= y");
}

TEST(MimeDecodeField, Windows1252FullHighTable) {
  static constexpr std::uint32_t kExpected[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int b = 0x80; b <= 0xFF; ++b) {
    std::string word = "=?windows-1252?q?x=";
    word += kHex[b >> 4];
    word += kHex[b & 15];
    word += "?=";
    const std::uint32_t cp = b < 0xA0 ? kExpected[b - 0x80] : static_cast<std::uint32_t>(b);
    EXPECT_EQ(decode_field(word), "x" + utf8(cp)) << "byte " << b;
    // Raw 8-bit text that is not UTF-8 reads the same way.
    EXPECT_EQ(decode_field(std::string("x") + static_cast<char>(b)), "x" + utf8(cp));
  }
}

TEST(MimeDecodeField, Iso885915DiffersFromLatin1InEightPlaces) {
  EXPECT_EQ(decode_field("=?iso-8859-15?q?=A4=A6=A8=B4=B8=BC=BD=BE=E9?="),
            utf8(0x20AC) + utf8(0x160) + utf8(0x161) + utf8(0x17D) + utf8(0x17E) + utf8(0x152) +
                utf8(0x153) + utf8(0x178) + utf8(0xE9));
  EXPECT_EQ(decode_field("=?iso-8859-1?q?=A4?="), utf8(0xA4));
}

TEST(MimeDecodeField, InvalidUtf8IsReadAsWindows1252) {
  EXPECT_EQ(decode_field("=?utf-8?q?caf=E9?="), "caf\xc3\xa9");
  EXPECT_EQ(decode_field("caf\xe9"), "caf\xc3\xa9");
  EXPECT_EQ(decode_field("\xc0\xaf"), utf8(0xC0) + utf8(0xAF));                     // overlong '/'
  EXPECT_EQ(decode_field("\xed\xa0\x80"), utf8(0xED) + utf8(0xA0) + utf8(0x20AC));  // surrogate
  EXPECT_EQ(decode_field("J\xc3\xbcrgen"), "J\xc3\xbcrgen");  // valid UTF-8 is kept
}

TEST(MimeDecodeField, LenientPlacesOfEncodedWords) {
  // Inside a quoted string (RFC 2047 §5 says no; mailers do it anyway).
  EXPECT_EQ(decode_field("\"=?utf-8?q?J=C3=B6rg?=\""), "\"J\xc3\xb6rg\"");
  // Glued to other text.
  EXPECT_EQ(decode_field("Re:=?utf-8?q?hi?=!"), "Re:hi!");
  // 8-bit bytes left unencoded in the word: in its charset, or UTF-8 when they are UTF-8.
  EXPECT_EQ(decode_field("=?iso-8859-1?Q?Die_Fr\xf6sche?="), "Die Fr\xc3\xb6sche");
  EXPECT_EQ(decode_field("=?iso-8859-1?Q?Die_Fr\xc3\xb6sche?="), "Die Fr\xc3\xb6sche");
  // Whitespace between an encoded word and plain text is kept.
  EXPECT_EQ(decode_field("=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
}

TEST(MimeDecodeField, MalformedEncodedWordsStayAsWritten) {
  EXPECT_EQ(decode_field("=?utf-8?q?no end"), "=?utf-8?q?no end");
  EXPECT_EQ(decode_field("=?utf-8?q?has space?="), "=?utf-8?q?has space?=");
  EXPECT_EQ(decode_field("=??q?empty charset?="), "=??q?empty charset?=");
  EXPECT_EQ(decode_field("=?utf-8?z?abc?="), "=?utf-8?z?abc?=");
  EXPECT_EQ(decode_field("=?"), "=?");
  EXPECT_EQ(decode_field("=?utf-8?"), "=?utf-8?");
  EXPECT_EQ(decode_field("=?utf-8?q"), "=?utf-8?q");
}

TEST(MimeDecodeField, WhitespaceAndControlsCollapse) {
  EXPECT_EQ(decode_field("  a\t\tb\r\n c"), "a b c");
  EXPECT_EQ(decode_field(std::string("x\0y\x7f", 4)), "x y");
  EXPECT_EQ(decode_field("=?utf-8?q?line=0D=0Abreak=00?="), "line break");
}

TEST(MimeDecodeField, OutputIsAlwaysUtf8) {
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return (state >> 16) & 0xFF;
  };
  static const char* const kPieces[] = {
      "=?utf-8?q?", "=?utf-8?b?", "=?iso-8859-15?q?", "?=", "=E2=82", "=C3", "8J+Y", " ", "_"};
  for (int round = 0; round < 2000; ++round) {
    std::string input;
    for (int k = 0; k < 24; ++k) {
      if (next() < 100) {
        input += kPieces[next() % 9];
      } else {
        input += static_cast<char>(next());
      }
    }
    const std::string out = decode_field(input);
    ASSERT_TRUE(is_utf8(out)) << "input " << ::testing::PrintToString(input);
  }
}

}  // namespace
}  // namespace junction::mime::test
