// The reply grammar (RFC 5321 §4.2), enhanced status codes (RFC 2034/3463) and EHLO keywords.
#include <gtest/gtest.h>

#include "smtp/reply.h"

namespace junction::smtp {
namespace {

TEST(SmtpReplyLine, CodeSeparatorAndText) {
  auto r = parse_reply_line("250 OK");
  EXPECT_EQ(r.error, nullptr);
  EXPECT_EQ(r.code, 250);
  EXPECT_TRUE(r.last);
  EXPECT_EQ(r.text, "OK");

  r = parse_reply_line("250-PIPELINING");
  EXPECT_EQ(r.error, nullptr);
  EXPECT_FALSE(r.last);
  EXPECT_EQ(r.text, "PIPELINING");

  r = parse_reply_line("354");  // the text is optional
  EXPECT_EQ(r.error, nullptr);
  EXPECT_EQ(r.code, 354);
  EXPECT_TRUE(r.last);
  EXPECT_EQ(r.text, "");

  r = parse_reply_line("220-");
  EXPECT_EQ(r.error, nullptr);
  EXPECT_FALSE(r.last);
}

TEST(SmtpReplyLine, BadCodes) {
  for (const char* bad : {"2x0 OK", "25 OK", "", "abc", "-250 x", " 250 OK", "25"}) {
    auto r = parse_reply_line(bad);
    EXPECT_STREQ(r.error, "the reply does not start with a 3-digit code") << bad;
  }
  for (const char* bad : {"600 no", "199 no", "000 no", "260 no", "999 no", "190 no"}) {
    auto r = parse_reply_line(bad);
    EXPECT_STREQ(r.error, "reply code out of range") << bad;
  }
  for (const char* bad : {"250OK", "2500 OK", "250_OK", "250\tOK"}) {
    auto r = parse_reply_line(bad);
    EXPECT_STREQ(r.error, "space or hyphen expected after the reply code") << bad;
  }
  // The edges of the range are good.
  for (const char* good : {"200 a", "259 a", "500 a", "559 a", "334 a"}) {
    EXPECT_EQ(parse_reply_line(good).error, nullptr) << good;
  }
}

TEST(SmtpEnhancedCode, ClassMustMatchTheReply) {
  EXPECT_EQ(enhanced_code_length("2.0.0 Ok", 250), 5u);
  EXPECT_EQ(enhanced_code_length("5.7.8 Error: authentication failed", 535), 5u);
  EXPECT_EQ(enhanced_code_length("4.7.0 later", 454), 5u);
  EXPECT_EQ(enhanced_code_length("5.123.456 long", 550), 9u);
  EXPECT_EQ(enhanced_code_length("5.1.1", 550), 5u);       // alone on the line
  EXPECT_EQ(enhanced_code_length("2.0.0 Ok", 550), 0u);    // wrong class
  EXPECT_EQ(enhanced_code_length("3.0.0 go", 354), 0u);    // 3 is no class
  EXPECT_EQ(enhanced_code_length("5.1234.1 x", 550), 0u);  // subject too long
  EXPECT_EQ(enhanced_code_length("5.1.1234 x", 550), 0u);  // detail too long
  EXPECT_EQ(enhanced_code_length("5..1 x", 550), 0u);
  EXPECT_EQ(enhanced_code_length("5.1.1x", 550), 0u);  // not followed by SP
  EXPECT_EQ(enhanced_code_length("5.1 x", 550), 0u);
  EXPECT_EQ(enhanced_code_length("Ok", 250), 0u);
  EXPECT_EQ(enhanced_code_length("", 250), 0u);
}

TEST(SmtpEhlo, Keywords) {
  auto caps = parse_ehlo({"mail.example.com Hello", "PIPELINING", "SIZE 10240000", "ETRN",
                          "starttls", "AUTH PLAIN LOGIN CRAM-MD5", "ENHANCEDSTATUSCODES",
                          "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"});
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.max_size, 10240000u);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.auth);
  EXPECT_TRUE(caps.auth_plain);
  EXPECT_TRUE(caps.auth_login);
  EXPECT_TRUE(caps.auth_cram_md5);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.smtputf8);
}

TEST(SmtpEhlo, TheGreetingLineIsNoKeywordAndOldAuthFormCounts) {
  auto caps = parse_ehlo({"PIPELINING", "AUTH=LOGIN", "SIZE"});
  EXPECT_FALSE(caps.pipelining);  // the first line names the server
  EXPECT_TRUE(caps.auth_login);
  EXPECT_FALSE(caps.auth_plain);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.max_size, 0u);
}

TEST(SmtpEhlo, HostileSizeValuesMeanNoLimit) {
  EXPECT_EQ(parse_ehlo({"x", "SIZE 99999999999999999999999"}).max_size, 0u);
  EXPECT_EQ(parse_ehlo({"x", "SIZE 12a"}).max_size, 0u);
  EXPECT_EQ(parse_ehlo({"x", "SIZE -1"}).max_size, 0u);
  EXPECT_FALSE(parse_ehlo({"x", "SIZEABLE 12"}).size);
  EXPECT_FALSE(parse_ehlo({"x", "AUTHX PLAIN"}).auth_plain);
}

}  // namespace
}  // namespace junction::smtp
