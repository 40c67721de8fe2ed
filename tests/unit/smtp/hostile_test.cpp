// Hostile and broken servers: each case ends in one clear, terminal protocol error with
// bounded memory, never a crash or a hang; and misuse by the caller is refused.
#include <gtest/gtest.h>

#include "smtp_harness.h"

namespace junction::smtp::testing {
namespace {

void ehlo(client& c) {
  c.submit_ehlo("me");
}

std::string last_all_ways(const std::string& server, limits l = {}) {
  return last(run_all_ways(server, ehlo, {}, true, l));
}

TEST(SmtpHostile, EndlessLineFailsAtTheLimitWithoutBufferingIt) {
  limits l;
  l.max_line = 100;
  client c(l);
  std::string chunk(64, '2');
  event e;
  std::size_t fed = 0;
  for (int i = 0; i < 1000 && e.type != event_type::error; ++i) {
    c.feed(chunk);
    fed += chunk.size();
    e = c.next_event();
  }
  ASSERT_EQ(e.type, event_type::error);
  EXPECT_LE(fed, 192u);
  EXPECT_EQ(c.error().message, "SMTP: reply line longer than 100 octets at byte 0");
  EXPECT_EQ(c.error().kind, error_kind::protocol);
  EXPECT_FALSE(c.closed_by_peer());
}

TEST(SmtpHostile, LongLineWithItsLfAlsoFails) {
  limits l;
  l.max_line = 10;
  EXPECT_EQ(last_all_ways("220 hi\r\n250 0123456789\r\n", l),
            "error [SMTP: reply line longer than 10 octets at byte 8]");
  // Exactly at the limit is fine.
  EXPECT_EQ(last(run_all_ways("220 hi\r\n250 012345\r\n", ehlo, {}, false, l)),
            "reply EHLO #0 250 ok [] [012345] lines=1");
}

TEST(SmtpHostile, BadCodes) {
  EXPECT_EQ(last_all_ways("2x0 hi\r\n"),
            "error [SMTP: bad reply line \"2x0 hi\" (the reply does not start with a 3-digit "
            "code) in the greeting at byte 0]");
  EXPECT_EQ(last_all_ways("220 hi\r\n600 what\r\n"),
            "error [SMTP: bad reply line \"600 what\" (reply code out of range) in the reply to "
            "EHLO at byte 8]");
  EXPECT_EQ(last_all_ways("220 hi\r\n199 what\r\n"),
            "error [SMTP: bad reply line \"199 what\" (reply code out of range) in the reply to "
            "EHLO at byte 8]");
  EXPECT_EQ(last_all_ways("220hi\r\n"),
            "error [SMTP: bad reply line \"220hi\" (space or hyphen expected after the reply "
            "code) in the greeting at byte 0]");
  EXPECT_EQ(last_all_ways("+OK POP3 ready\r\n"),
            "error [SMTP: bad reply line \"+OK POP3 ready\" (the reply does not start with a "
            "3-digit code) in the greeting at byte 0]");
}

TEST(SmtpHostile, WrongContinuation) {
  EXPECT_EQ(last_all_ways("220 hi\r\n250-a\r\n251 b\r\n"),
            "error [SMTP: a continuation line has code 251 after 250 in the reply to EHLO at "
            "byte 15]");
  EXPECT_EQ(last_all_ways("220 hi\r\n250-a\r\nPIPELINING\r\n"),
            "error [SMTP: bad reply line \"PIPELINING\" (the reply does not start with a 3-digit "
            "code) in the reply to EHLO at byte 15]");
}

TEST(SmtpHostile, ReplyLineBomb) {
  limits l;
  l.max_reply_lines = 50;
  std::string server = "220 hi\r\n";
  for (int i = 0; i < 60; ++i) server += "250-x\r\n";
  EXPECT_EQ(last(run_whole(server, ehlo, {}, true, l)),
            "error [SMTP: more than 50 lines in one reply, in the reply to EHLO at byte 358]");
  // An endless stream of continuation lines with the default limits stops too.
  client c;
  c.submit_ehlo("me");
  c.feed("220 hi\r\n");
  c.next_event();
  std::string lines;
  for (int i = 0; i < 100; ++i) lines += "250-AUTH PLAIN\r\n";
  event e;
  int feeds = 0;
  for (; feeds < 100000 && e.type != event_type::error; ++feeds) {
    c.feed(lines);
    e = c.next_event();
  }
  EXPECT_EQ(e.type, event_type::error);
  EXPECT_EQ(feeds, 11);  // 1000 lines, then the 1001st
}

TEST(SmtpHostile, RepliesNobodyAskedFor) {
  EXPECT_EQ(last(run_whole("220 hi\r\n250 ok\r\n250 extra\r\n", ehlo)),
            "error [SMTP: unexpected data from the server with no command pending \"250 "
            "extra\" at byte 16]");
  // A flood of replies stops at the first.
  std::string flood = "220 hi\r\n250 ok\r\n";
  for (int i = 0; i < 10000; ++i) flood += "250 ok\r\n";
  run_result r = run_whole(flood, ehlo);
  EXPECT_EQ(r.events.size(), 3u);
}

TEST(SmtpHostile, NulInALine) {
  EXPECT_EQ(last_all_ways(std::string("220 h\0i\r\n", 9)),
            "error [SMTP: NUL in a reply line at byte 0]");
}

TEST(SmtpHostile, ClosedBeforeTheReply) {
  client c;
  c.submit_ehlo("me");
  c.feed("220 hi\r\n250-mail\r\n");
  c.feed_eof();
  EXPECT_EQ(c.next_event().cmd, command::none);
  event e = c.next_event();
  EXPECT_EQ(e.type, event_type::error);
  EXPECT_EQ(e.text, "SMTP: connection closed by the server before the reply to EHLO at byte 18");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(c.next_event().type, event_type::error);  // repeats
}

TEST(SmtpHostile, ClosedDuringTheContent) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_data();
  c.feed("354 go\r\n");
  EXPECT_TRUE(c.next_event().ok);
  c.write_data("half a mess");
  c.feed_eof();
  event e = c.next_event();
  EXPECT_EQ(e.type, event_type::error);
  EXPECT_EQ(e.text, "SMTP: connection closed by the server during the message data");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(SmtpMisuse, RefusedCalls) {
  {
    client c;
    EXPECT_FALSE(c.submit_rcpt("a@b>\r\nRCPT TO:<evil@x"));
    EXPECT_EQ(c.error().kind, error_kind::misuse);
    EXPECT_EQ(c.pending_output(), "");
  }
  {
    client c;
    EXPECT_FALSE(c.submit_mail("a\r\nb"));
    EXPECT_EQ(c.error().kind, error_kind::misuse);
  }
  {
    client c;
    EXPECT_FALSE(c.submit_ehlo("two words"));
  }
  {
    client c;
    EXPECT_FALSE(c.write_data("x"));
    EXPECT_EQ(c.error().message, "SMTP: message data written before DATA was answered 354");
  }
  {
    client c;
    c.submit_data();
    // Anything written after DATA would become part of the message.
    EXPECT_FALSE(c.submit_quit());
    EXPECT_EQ(c.error().message, "SMTP: QUIT submitted during DATA");
  }
  {
    client c;
    c.submit_quit();
    EXPECT_FALSE(c.submit_noop());
    EXPECT_EQ(c.error().message, "SMTP: NOOP submitted after QUIT");
  }
  {
    client c;
    EXPECT_TRUE(c.submit_mail(""));  // the null reverse-path is allowed
    EXPECT_FALSE(c.submit_auth(sasl_mechanism::plain, "", "x"));
  }
  {
    client c;
    c.consume_output(1);
    EXPECT_EQ(c.error().kind, error_kind::misuse);
  }
}

}  // namespace
}  // namespace junction::smtp::testing
