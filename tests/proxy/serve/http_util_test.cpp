// The HTTP API's small parsers on their own: good input, and the malformed and hostile
// input a client may send in a path, a query, a cookie, If-Match or X-Junction-Flags.
#include "serve/http_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "mailbox/maildir.h"

namespace junction::serve {
namespace {

TEST(http_util, percent_decode_decodes_pairs_and_refuses_broken_escapes) {
  EXPECT_EQ(percent_decode("a%41%2f%2F+b", false), "aA//+b");
  EXPECT_EQ(percent_decode("a%41%2f+b", true), "aA/ b");
  EXPECT_EQ(percent_decode("", false), "");
  EXPECT_EQ(percent_decode("%00", false), std::string(1, '\0'));
  EXPECT_EQ(percent_decode("%ff%C3%a9", false), "\xff\xc3\xa9");
  for (const char* bad : {"%", "%4", "a%", "%zz", "%4g", "%g4", "%%41", "x%2"}) {
    EXPECT_EQ(percent_decode(bad, false), std::nullopt) << bad;
    EXPECT_EQ(percent_decode(bad, true), std::nullopt) << bad;
  }
  // A '%' near the end must not read past it.
  EXPECT_EQ(percent_decode(std::string_view("%4", 2), false), std::nullopt);
}

TEST(http_util, query_parameter_finds_the_first_decoded_match) {
  EXPECT_EQ(query_parameter("a=1&b=2", "b"), "2");
  EXPECT_EQ(query_parameter("b=1&b=2", "b"), "1");
  EXPECT_EQ(query_parameter("%6Fwner=me+too", "owner"), "me too");
  EXPECT_EQ(query_parameter("folder=A%2FB", "folder"), "A/B");
  EXPECT_EQ(query_parameter("flag&x=1", "flag"), "");
  EXPECT_EQ(query_parameter("flag=", "flag"), "");
  EXPECT_EQ(query_parameter("a=1=2", "a"), "1=2");
  EXPECT_EQ(query_parameter("", "a"), std::nullopt);
  EXPECT_EQ(query_parameter("&&&", "a"), std::nullopt);
  EXPECT_EQ(query_parameter("ab=1", "a"), std::nullopt);
  // A key that does not decode is passed over; a value that does not decode is no value.
  EXPECT_EQ(query_parameter("%zz=1&a=2", "a"), "2");
  EXPECT_EQ(query_parameter("a=%zz&a=2", "a"), std::nullopt);
}

TEST(http_util, json_depth_within_counts_brackets_outside_strings) {
  EXPECT_TRUE(json_depth_within("", 0));
  EXPECT_TRUE(json_depth_within("1", 0));
  EXPECT_FALSE(json_depth_within("[]", 0));
  EXPECT_TRUE(json_depth_within("[{}]", 2));
  EXPECT_FALSE(json_depth_within("[{[]}]", 2));
  EXPECT_TRUE(json_depth_within("[][][][][]", 1));
  EXPECT_TRUE(json_depth_within(R"(["[[[[", "\"[[[["])", 1));
  EXPECT_FALSE(json_depth_within(R"(["\\", [[]]])", 2));
  // Stray closers do not buy depth.
  EXPECT_FALSE(json_depth_within("]]]]][[[", 2));
  EXPECT_FALSE(json_depth_within(std::string(100000, '['), 64));
}

http_request with_cookies(std::initializer_list<const char*> values) {
  http_request r;
  for (const char* v : values) r.headers.push_back({"Cookie", v});
  return r;
}

TEST(http_util, session_token_reads_only_a_well_formed_session_cookie) {
  const std::string token(64, 'a');
  const std::string good = std::string(session_cookie_name) + "=" + token;
  EXPECT_TRUE(is_session_token(token));
  EXPECT_FALSE(is_session_token(std::string(63, 'a')));
  EXPECT_FALSE(is_session_token(std::string(65, 'a')));
  EXPECT_FALSE(is_session_token(std::string(64, 'A')));
  EXPECT_FALSE(is_session_token(std::string(63, 'a') + "g"));
  EXPECT_EQ(session_token(with_cookies({good.c_str()})), token);
  EXPECT_EQ(session_token(with_cookies({("x=1; " + good + " ; y=2").c_str()})), token);
  EXPECT_EQ(session_token(with_cookies({"x=1", good.c_str()})), token);
  // The header name is case-blind; the cookie name is not.
  http_request lower;
  lower.headers.push_back({"cOOKIE", good});
  EXPECT_EQ(session_token(lower), token);
  EXPECT_EQ(session_token(with_cookies({("JUNCTION_SESSION=" + token).c_str()})), "");
  // A malformed value is passed over; a later good one is taken.
  const std::string bad = std::string(session_cookie_name) + "=" + std::string(64, 'A');
  EXPECT_EQ(session_token(with_cookies({(bad + "; " + good).c_str()})), token);
  EXPECT_EQ(session_token(with_cookies({bad.c_str()})), "");
  EXPECT_EQ(session_token(with_cookies({""})), "");
  EXPECT_EQ(session_token(with_cookies({";;; =; ="})), "");
  EXPECT_EQ(session_token(http_request{}), "");
}

TEST(http_util, parse_number_takes_whole_decimals_up_to_the_maximum) {
  EXPECT_EQ(parse_number("0", 10), 0);
  EXPECT_EQ(parse_number("10", 10), 10);
  EXPECT_EQ(parse_number("11", 10), std::nullopt);
  EXPECT_EQ(parse_number("007", 10), 7);
  EXPECT_EQ(parse_number("999999999999999999", INT64_MAX), 999999999999999999);
  // 19 digits could overflow: refused before multiplying.
  EXPECT_EQ(parse_number("9999999999999999999", INT64_MAX), std::nullopt);
  EXPECT_EQ(parse_number("0000000000000000001", INT64_MAX), std::nullopt);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.0", "0x1", "1e3"}) {
    EXPECT_EQ(parse_number(bad, INT64_MAX), std::nullopt) << bad;
  }
}

TEST(http_util, parse_revision_takes_quoted_weak_or_bare_revisions) {
  EXPECT_EQ(parse_revision("\"5\""), 5);
  EXPECT_EQ(parse_revision("W/\"5\""), 5);
  EXPECT_EQ(parse_revision("5"), 5);
  EXPECT_EQ(parse_revision("  \"12\"  "), 12);
  EXPECT_EQ(parse_revision("9007199254740992"), std::int64_t{1} << 53);
  EXPECT_EQ(parse_revision("9007199254740993"), std::nullopt);
  for (const char* bad :
       {"", "\"", "\"\"", "W/", "W/\"\"", "w/\"5\"", "\"5", "5\"", "*", "\"-1\"", "\"5\", \"6\""}) {
    EXPECT_EQ(parse_revision(bad), std::nullopt) << bad;
  }
}

TEST(http_util, parse_flags_takes_the_imap_system_flags) {
  using mailbox::message_flag;
  const auto bit = [](message_flag f) { return static_cast<unsigned>(f); };
  EXPECT_EQ(parse_flags(""), 0u);
  EXPECT_EQ(parse_flags("   "), 0u);
  EXPECT_EQ(parse_flags("\\Seen"), bit(message_flag::seen));
  EXPECT_EQ(parse_flags("\\seen  \\FLAGGED \\Answered \\Draft"),
            bit(message_flag::seen) | bit(message_flag::flagged) | bit(message_flag::answered) |
                bit(message_flag::draft));
  EXPECT_EQ(parse_flags("\\Seen \\Seen"), bit(message_flag::seen));
  EXPECT_EQ(parse_flags("\\Recent"), 0u);
  for (const char* bad :
       {"\\Deleted", "Seen", "\\Seen,\\Flagged", "\\Seen\t\\Draft", "$Junk", "\\"}) {
    EXPECT_EQ(parse_flags(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace junction::serve
