// Message-ID and address fields as a message list shows them.
#include <gtest/gtest.h>

#include <string>

#include "mime/fields.h"

namespace junction::mime::detail {
namespace {

TEST(MimeMessageId, BracketsCommentsAndWhitespace) {
  EXPECT_EQ(extract_message_id(" <1234@local.machine.example>"), "1234@local.machine.example");
  EXPECT_EQ(extract_message_id("(x) <a.b @ c (y) .d> (z)"), "a.b@c.d");
  EXPECT_EQ(extract_message_id("<\"quoted (not a comment)\"@host>"),
            "\"quoted(notacomment)\"@host");
  EXPECT_EQ(extract_message_id("  bare@host trailing"), "bare@host");
  EXPECT_EQ(extract_message_id("bare@host>"), "bare@host");
  EXPECT_EQ(extract_message_id("<unclosed@host"), "unclosed@host");
  EXPECT_EQ(extract_message_id("<first@host> <second@host>"), "first@host");
  EXPECT_EQ(extract_message_id(""), "");
  EXPECT_EQ(extract_message_id("<>"), "");
  EXPECT_EQ(extract_message_id("(only a comment"), "");
}

TEST(MimeAddressList, DisplayNamesDecodedAddressesAsWritten) {
  EXPECT_EQ(decode_address_list("Jane Doe <jane@example.com>"), "Jane Doe <jane@example.com>");
  EXPECT_EQ(decode_address_list("  \"Jane   Doe\"   <jane@example.com>  "),
            "Jane Doe <jane@example.com>");
  EXPECT_EQ(decode_address_list("\"Doe, Jane\" <jane@example.com>"),
            "\"Doe, Jane\" <jane@example.com>");
  EXPECT_EQ(decode_address_list("=?utf-8?q?M=C3=BCller=2C_Hans?= <h@example.de>"),
            "\"M\xc3\xbcller, Hans\" <h@example.de>");
  EXPECT_EQ(decode_address_list("=?utf-8?q?a=40b?= <x@example.com>"), "\"a@b\" <x@example.com>");
  // The address itself is never decoded.
  EXPECT_EQ(decode_address_list("<=?utf-8?q?x?=@example.com>"), "<=?utf-8?q?x?=@example.com>");
  EXPECT_EQ(decode_address_list("=?utf-8?q?x?=@example.com"), "=?utf-8?q?x?=@example.com");
  EXPECT_EQ(decode_address_list("\"john doe\"@example.com"), "\"john doe\"@example.com");
  EXPECT_EQ(decode_address_list("jane@example.com (=?utf-8?q?J=C3=A4ne?=)"),
            "jane@example.com (J\xc3\xa4ne)");
}

TEST(MimeAddressList, GroupsAndOddShapes) {
  EXPECT_EQ(decode_address_list("undisclosed-recipients:;"), "undisclosed-recipients:;");
  EXPECT_EQ(decode_address_list("Team: a@x, B <b@x>;, c@y"), "Team: a@x, B <b@x>;, c@y");
  EXPECT_EQ(decode_address_list("<@route,@r2:user@x>"), "<@route,@r2:user@x>");
  // An unclosed quote swallows the rest, which holds an '@': kept as written.
  EXPECT_EQ(decode_address_list("\"unclosed <a@b>"), "\"unclosed <a@b>");
  EXPECT_EQ(decode_address_list("Name <unclosed@x"), "Name <unclosed@x>");
  EXPECT_EQ(decode_address_list("(unclosed comment"), "(unclosed comment)");
  EXPECT_EQ(decode_address_list(""), "");
  EXPECT_EQ(decode_address_list("J\xfcrgen <j@x>"), "J\xc3\xbcrgen <j@x>");
}

}  // namespace
}  // namespace junction::mime::detail
