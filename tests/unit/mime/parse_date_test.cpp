// parse_date: RFC 5322 §3.3 and §4.3. Expected values computed with Python's
// calendar.timegm, independently of the code under test.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "mime/headers.h"

namespace junction::mime {
namespace {

using opt = std::optional<std::int64_t>;

TEST(MimeParseDate, Rfc5322AppendixA) {
  EXPECT_EQ(parse_date("Fri, 21 Nov 1997 09:55:06 -0600"), opt(880127706));  // A.1.1
  EXPECT_EQ(parse_date("Tue, 1 Jul 2003 10:52:37 +0200"), opt(1057049557));  // A.1.2
  EXPECT_EQ(parse_date("Thu, 13 Feb 1969 23:32:54 -0330"), opt(-27723426));  // A.1.3
  EXPECT_EQ(parse_date("Fri, 21 Nov 1997 10:01:10 -0600"), opt(880128070));  // A.3
  EXPECT_EQ(parse_date("Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
                       "               -0330 (Newfoundland Time)"),
            opt(-27723480));                                                // A.5
  EXPECT_EQ(parse_date("21 Nov 97 09:55:06 GMT"), opt(880106106));          // A.6.2
  EXPECT_EQ(parse_date("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600"),  // A.6.3
            opt(880127706));
}

TEST(MimeParseDate, ObsoleteYears) {
  EXPECT_EQ(parse_date("1 Jan 49 00:00 +0000"), parse_date("1 Jan 2049 00:00 +0000"));
  EXPECT_EQ(parse_date("1 Jan 00 00:00 +0000"), parse_date("1 Jan 2000 00:00 +0000"));
  EXPECT_EQ(parse_date("1 Jan 50 00:00:00 +0000"), opt(-631152000));  // 1950
  EXPECT_EQ(parse_date("1 Jan 99 00:00 +0000"), parse_date("1 Jan 1999 00:00 +0000"));
  EXPECT_EQ(parse_date("5 Jan 104 07:08:09 +0000"), opt(1073286489));  // 2004
  EXPECT_EQ(parse_date("1 Jan 005 00:00 +0000"), opt(-2051222400));    // 1905
}

TEST(MimeParseDate, Zones) {
  EXPECT_EQ(parse_date("Fri, 31 Dec 1999 23:00:00 EST"), opt(946699200));
  EXPECT_EQ(parse_date("Fri, 31 Dec 1999 23:00:00 -0500"), opt(946699200));
  EXPECT_EQ(parse_date("15 Jan 2024 10:30:00 pdt"), opt(1705339800));
  EXPECT_EQ(parse_date("15 Jan 2024 10:30:00 -0700"), opt(1705339800));
  const opt utc = opt(1705314600);
  for (const char* zone : {"UT", "GMT", "+0000", "-0000", "Z", "A", "m", "N", "Y", "CEST"}) {
    EXPECT_EQ(parse_date(std::string("15 Jan 2024 10:30:00 ") + zone), utc) << zone;
  }
  EXPECT_EQ(parse_date("15 Jan 2024 10:30:00"), utc);  // no zone: read as -0000
  EXPECT_EQ(parse_date("15 Jan 2024 10:30:00 -0800 PST"), opt(1705343400));
  EXPECT_EQ(parse_date("15 Jan 2024 10:30:00 -0800 (PST)"), opt(1705343400));
  const std::pair<const char*, int> us[] = {{"EDT", -4}, {"CST", -6}, {"CDT", -5},
                                            {"MST", -7}, {"MDT", -6}, {"PST", -8}};
  for (const auto& [name, hours] : us) {
    EXPECT_EQ(parse_date(std::string("15 Jan 2024 10:30:00 ") + name), *utc - hours * 3600) << name;
  }
}

TEST(MimeParseDate, CalendarEdges) {
  EXPECT_EQ(parse_date("Thu, 29 Feb 2024 12:00 +0100"), opt(1709204400));
  EXPECT_EQ(parse_date("1 Mar 2000 00:00 +0000"), opt(951868800));
  EXPECT_EQ(parse_date("1 Mar 2100 00:00 +0000"), opt(4107542400));
  EXPECT_EQ(parse_date("1 Jan 1900 00:00 +0000"), opt(-2208988800));
  EXPECT_EQ(parse_date("31 Dec 9999 23:59:59 +0000"), opt(253402300799));
  EXPECT_EQ(parse_date("31 Dec 2049 23:59:60 +0000"), opt(2524608000));  // leap second
  EXPECT_EQ(parse_date("Monday, 15 January 2024 10:30:00 -0700"), opt(1705339800));
  EXPECT_EQ(parse_date("mon 15 jan 2024 10:30 -0700"), opt(1705339800));
  EXPECT_EQ(parse_date("Mon, 15 Jan 2024 1:2:3 +0000"), opt(1705280523));
}

// Every day from 1900 to 2400 against a day counter, so days-from-civil is right everywhere.
TEST(MimeParseDate, EveryDayFrom1900To2400) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::int64_t expected = -2208988800;
  for (int y = 1900; y <= 2400; ++y) {
    for (int m = 1; m <= 12; ++m) {
      static const int kLength[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      const int length = kLength[m - 1] + (m == 2 && leap ? 1 : 0);
      for (int d = 1; d <= length; ++d) {
        const std::string date =
            std::to_string(d) + " " + kMonths[m - 1] + " " + std::to_string(y) + " 00:00 +0000";
        ASSERT_EQ(parse_date(date), opt(expected)) << date;
        expected += 86400;
      }
      const std::string past_end = std::to_string(length + 1) + " " + kMonths[m - 1] + " " +
                                   std::to_string(y) + " 00:00 +0000";
      ASSERT_EQ(parse_date(past_end), std::nullopt) << past_end;
    }
  }
}

TEST(MimeParseDate, InvalidDatesAreRejected) {
  for (const char* bad : {
           "",
           "garbage",
           "Fri, 21 Nov 1997",                 // no time
           "Fri, 21 Foo 1997 09:55:06 -0600",  // month
           "Fri, 0 Nov 1997 09:55:06 -0600",   // day
           "Fri, 32 Nov 1997 09:55:06 -0600",
           "Fri, 31 Apr 1997 09:55:06 -0600",
           "Thu, 29 Feb 2023 09:55:06 -0600",
           "Fri, 21 Nov 1997 24:00:00 -0600",  // hour
           "Fri, 21 Nov 1997 09:60:00 -0600",  // minute
           "Fri, 21 Nov 1997 09:55:61 -0600",  // second
           "Fri, 21 Nov 1997 123:55:06 -0600",
           "Fri, 21 Nov 7 09:55:06 -0600",      // one-digit year
           "Fri, 21 Nov 19970 09:55:06 -0600",  // five-digit year
           "Fri, 21 Nov 1899 09:55:06 -0600",   // before 1900
           "Fri, 21 Nov 1997 09:55:06 +2400",   // zone hours
           "Fri, 21 Nov 1997 09:55:06 +0160",   // zone minutes
           "Fri, 21 Nov 1997 09:55:06 +01",
           "Fri, 21 Nov 1997 09:55:06 +",
           "Fri, 21 Nov 1997 09:55:06 -0600 extra junk",
           "Fri, 21 Nov 1997 09:55:06 Pacific",  // alphabetic zone too long
           "Fri, 21 Nov 1997 09:55:06.5 +0000",
           "Fry, 21 Nov 1997 09:55:06 -0600",  // day name
           "Fri, 21 Nov 1997 09:55: -0600",
           "Fri, 21 Nov 1997 09 -0600",
           "99999999999999999999 Nov 1997 09:55:06 -0600",
           "21 Nov 99999999999999999999 09:55:06 -0600",
           "21 Nov 1997 99999999999999999999:55:06 -0600",
           "21 Nov 1997 09:55:06 +99999999999999999999",
           "Fri, 21 Nov 1997 09:55:06 \xc3\xa9",
           "\x00",
       }) {
    EXPECT_EQ(parse_date(bad), std::nullopt) << bad;
  }
  // An unclosed comment runs to the end, like a trailing comment.
  EXPECT_EQ(parse_date("Fri, 21 Nov 1997 09:55:06 -0600 (CST"), opt(880127706));
}

}  // namespace
}  // namespace junction::mime
