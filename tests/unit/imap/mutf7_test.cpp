#include "imap/mutf7.h"

#include <gtest/gtest.h>

#include <string>

namespace junction::imap {
namespace {

using opt = std::optional<std::string>;

TEST(ImapMutf7, Rfc3501Example) {
  const std::string utf8 =
      "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
  EXPECT_EQ(mutf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), opt(utf8));
  EXPECT_EQ(mutf7_encode(utf8), opt("~peter/mail/&U,BTFw-/&ZeVnLIqe-"));
}

TEST(ImapMutf7, AmpersandAndAccents) {
  EXPECT_EQ(mutf7_decode("&-"), opt("&"));
  EXPECT_EQ(mutf7_decode("Tom &- Jerry"), opt("Tom & Jerry"));
  EXPECT_EQ(mutf7_encode("Tom & Jerry"), opt("Tom &- Jerry"));
  EXPECT_EQ(mutf7_decode("&AMk-t&AOk-"), opt("\xc3\x89t\xc3\xa9"));  // Été
  EXPECT_EQ(mutf7_encode("\xc3\x89t\xc3\xa9"), opt("&AMk-t&AOk-"));
  EXPECT_EQ(mutf7_encode("Entw\xc3\xbcrfe"), opt("Entw&APw-rfe"));
  EXPECT_EQ(mutf7_decode(""), opt(""));
  EXPECT_EQ(mutf7_encode(""), opt(""));
}

TEST(ImapMutf7, NonBmpUsesSurrogatePairs) {
  const std::string grin = "\xf0\x9f\x98\x80";  // U+1F600 = D83D DE00
  EXPECT_EQ(mutf7_encode(grin), opt("&2D3eAA-"));
  EXPECT_EQ(mutf7_decode("&2D3eAA-"), opt(grin));
  EXPECT_EQ(mutf7_encode("Fun " + grin + "!"), opt("Fun &2D3eAA-!"));
}

TEST(ImapMutf7, RoundTrips) {
  const char* samples[] = {
      "INBOX",
      "Archive/2023 Q1",
      "&&&",
      "\xd0\x92\xd1\x85\xd0\xbe\xd0\xb4\xd1\x8f\xd1\x89\xd0\xb8\xd0\xb5",  // Входящие
      "\xe5\x8f\x97\xe4\xbf\xa1\xe7\xae\xb1 & co",
      "\xf0\x9f\x93\xa7 Mail \xf0\x9f\x98\x80\xf0\x9f\x98\x81 x",
      "tab\there\x7f",
      "a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9z",
  };
  for (const char* s : samples) {
    auto encoded = mutf7_encode(s);
    ASSERT_TRUE(encoded) << s;
    for (char c : *encoded) {
      EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << "not printable ASCII in " << *encoded;
    }
    EXPECT_EQ(mutf7_decode(*encoded), opt(s)) << *encoded;
  }
}

TEST(ImapMutf7, RejectsInvalidModifiedUtf7) {
  EXPECT_EQ(mutf7_decode("&Jjo"), std::nullopt);  // "&" not closed
  EXPECT_EQ(mutf7_decode("&"), std::nullopt);
  EXPECT_EQ(mutf7_decode("&AGE-"), std::nullopt);  // 'a' encoded in base64
  EXPECT_EQ(mutf7_decode("&ACY-"), std::nullopt);  // '&' encoded in base64
  EXPECT_EQ(mutf7_decode("&AMk"), std::nullopt);   // run not closed
  EXPECT_EQ(mutf7_decode("&AMk-&-"), opt("\xc3\x89&"));
}

TEST(ImapMutf7, RejectsBadRunsAndSurrogates) {
  EXPECT_EQ(mutf7_decode("&2D0-x"), std::nullopt);       // lone high surrogate D83D
  EXPECT_EQ(mutf7_decode("&2D3-"), std::nullopt);        // D83D with non-zero leftover bits
  EXPECT_EQ(mutf7_decode("&3gA-"), std::nullopt);        // lone low surrogate DE00
  EXPECT_EQ(mutf7_decode("&2D3YPQ-"), std::nullopt);     // high surrogate then high surrogate
  EXPECT_EQ(mutf7_decode("&2D0-&3gA-"), std::nullopt);   // a pair split across two runs
  EXPECT_EQ(mutf7_decode("&AMl-"), std::nullopt);        // non-zero leftover bits
  EXPECT_EQ(mutf7_decode("&AM-"), std::nullopt);         // 12 bits
  EXPECT_EQ(mutf7_decode("&A-"), std::nullopt);          // 6 bits
  EXPECT_EQ(mutf7_decode("&AMkA-"), std::nullopt);       // 24 bits: a stray base64 character
  EXPECT_EQ(mutf7_decode("&U/BTFw-"), std::nullopt);     // '/' is not modified base64
  EXPECT_EQ(mutf7_decode("&U,B TFw-"), std::nullopt);    // space inside a run
  EXPECT_EQ(mutf7_decode("Caf\xc3\xa9"), std::nullopt);  // raw 8-bit
  EXPECT_EQ(mutf7_decode("a\tb"), std::nullopt);         // raw control byte
}

TEST(ImapMutf7, EncodeRejectsInvalidUtf8) {
  EXPECT_EQ(mutf7_encode("\xff"), std::nullopt);
  EXPECT_EQ(mutf7_encode("\xc0\xaf"), std::nullopt);          // overlong '/'
  EXPECT_EQ(mutf7_encode("\xe0\x80\xaf"), std::nullopt);      // overlong
  EXPECT_EQ(mutf7_encode("\xed\xa0\x80"), std::nullopt);      // UTF-16 surrogate
  EXPECT_EQ(mutf7_encode("\xf4\x90\x80\x80"), std::nullopt);  // beyond U+10FFFF
  EXPECT_EQ(mutf7_encode("\xe6\x97"), std::nullopt);          // truncated
  EXPECT_EQ(mutf7_encode("a\x80"), std::nullopt);             // stray continuation
}

}  // namespace
}  // namespace junction::imap
