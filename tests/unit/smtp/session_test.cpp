// Whole sessions through the engine: the same events and the same bytes on the wire whether
// the server's replies arrive whole, cut at any offset, or one byte at a time.
#include <gtest/gtest.h>

#include "smtp_harness.h"

namespace junction::smtp::testing {
namespace {

const std::string kEhlo =
    "250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n";

TEST(SmtpSession, PipelinedTransactionWithMultiLineReplies) {
  const std::string server =
      "220-mail.example.com ESMTP\r\n220 second line\r\n" + kEhlo +
      "235 2.7.0 Authentication successful\r\n"
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550-5.1.1 <b@example.org>: Recipient address\r\n"
      "550 5.1.1 rejected: User unknown\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
      "250 2.0.0 Ok: queued as ABC\r\n221 2.0.0 Bye\r\n";
  auto submit = [](client& c) {
    c.submit_ehlo("client.example");
    c.submit_auth(sasl_mechanism::plain, "jdoe", "secret");
    c.submit_mail("jdoe@example.com", {1234, true, false}, 7);
    c.submit_rcpt("a@example.org", 1);
    c.submit_rcpt("b@example.org", 2);
    c.submit_data(7);
  };
  auto react = [](client& c, const event& e) {
    if (e.cmd == command::data && e.ok) {
      c.write_data("Subject: hi\r\n\r\n.hello\r\n");
      c.end_data(7);
      c.submit_quit();
    }
  };
  run_result r = run_all_ways(server, submit, react);
  const std::vector<std::string> expected = {
      "reply the greeting #0 220 ok [] [mail.example.com ESMTP second line] lines=2",
      "reply EHLO #0 250 ok [] [mail.example.com PIPELINING SIZE 1000000 8BITMIME "
      "ENHANCEDSTATUSCODES AUTH PLAIN LOGIN] lines=6",
      "reply AUTH #0 235 ok [2.7.0] [Authentication successful] lines=1",
      "reply MAIL FROM #7 250 ok [2.1.0] [Ok] lines=1",
      "reply RCPT TO #1 250 ok [2.1.5] [Ok] lines=1",
      "reply RCPT TO #2 550 err [5.1.1] [<b@example.org>: Recipient address rejected: User "
      "unknown] lines=2",
      "reply DATA #7 354 ok [] [End data with <CR><LF>.<CR><LF>] lines=1",
      "reply the end of the message data #7 250 ok [2.0.0] [Ok: queued as ABC] lines=1",
      "reply QUIT #0 221 ok [2.0.0] [Bye] lines=1",
  };
  EXPECT_EQ(r.events, expected);
  EXPECT_EQ(visible(r.output),
            visible("EHLO client.example\r\n"
                    "AUTH PLAIN AGpkb2UAc2VjcmV0\r\n"
                    "MAIL FROM:<jdoe@example.com> SIZE=1234 BODY=8BITMIME\r\n"
                    "RCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
                    "Subject: hi\r\n\r\n..hello\r\n.\r\nQUIT\r\n"));
}

TEST(SmtpSession, CommandsBehindAGroupEndWaitForItsReply) {
  client c;
  c.submit_ehlo("me");
  c.submit_mail("a@b");
  c.submit_rcpt("c@d");
  EXPECT_EQ(c.pending_output(), "");  // the greeting ends the first group
  c.feed("220 hi\r\n");
  EXPECT_EQ(c.next_event().cmd, command::none);
  EXPECT_EQ(c.pending_output(), "EHLO me\r\n");
  c.consume_output(c.pending_output().size());
  c.feed("250 hi\r\n");
  EXPECT_EQ(c.next_event().cmd, command::ehlo);
  // MAIL and RCPT form one group.
  EXPECT_EQ(c.pending_output(), "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
}

TEST(SmtpSession, NextTransactionMayFollowTheContentInOneWrite) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_mail("a@b");
  c.submit_rcpt("c@d");
  c.submit_data();
  c.consume_output(c.pending_output().size());
  c.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  EXPECT_TRUE(c.next_event().ok);
  EXPECT_TRUE(c.next_event().ok);
  event e = c.next_event();
  EXPECT_EQ(e.code, 354);
  EXPECT_TRUE(c.in_data());
  EXPECT_TRUE(c.write_data("x"));
  EXPECT_TRUE(c.end_data(1));
  EXPECT_FALSE(c.in_data());
  c.submit_rset();
  c.submit_mail("a@b");
  EXPECT_EQ(c.pending_output(), "x\r\n.\r\nRSET\r\nMAIL FROM:<a@b>\r\n");
}

TEST(SmtpSession, DataRefusedLeavesDataMode) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_data(3);
  c.feed("554 5.5.1 Error: no valid recipients\r\n");
  event e = c.next_event();
  EXPECT_EQ(e.cmd, command::data);
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(e.enhanced, "5.5.1");
  EXPECT_FALSE(c.in_data());
  EXPECT_TRUE(c.submit_rset());
}

TEST(SmtpSession, QuirksBareLfAndCodeWithoutText) {
  const std::string server = "220 hi\n250\n221\r\n";
  auto submit = [](client& c) {
    c.submit_ehlo("me");
    c.submit_quit();
  };
  run_result r = run_all_ways(server, submit);
  const std::vector<std::string> expected = {
      "reply the greeting #0 220 ok [] [hi] lines=1",
      "reply EHLO #0 250 ok [] [] lines=1",
      "reply QUIT #0 221 ok [] [] lines=1",
  };
  EXPECT_EQ(r.events, expected);
}

TEST(SmtpSession, EofAfterQuitIsClean) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_quit();
  c.feed("221 bye\r\n");
  c.feed_eof();
  EXPECT_EQ(c.next_event().cmd, command::quit);
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  EXPECT_FALSE(c.error());
}

TEST(SmtpSession, HeloFallbackIsTheCallersChoice) {
  const std::string server = "220 old\r\n500 5.5.1 command unrecognized\r\n250 old.example\r\n";
  auto submit = [](client& c) { c.submit_ehlo("me"); };
  auto react = [](client& c, const event& e) {
    if (e.cmd == command::ehlo && !e.ok) c.submit_helo("me");
  };
  run_result r = run_all_ways(server, submit, react, false);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[1], "reply EHLO #0 500 err [5.5.1] [command unrecognized] lines=1");
  EXPECT_EQ(r.events[2], "reply HELO #0 250 ok [] [old.example] lines=1");
  EXPECT_EQ(r.output, "EHLO me\r\nHELO me\r\n");
}

}  // namespace
}  // namespace junction::smtp::testing
