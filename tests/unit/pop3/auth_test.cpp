// Logging in: APOP (RFC 1939 §7), AUTH PLAIN and AUTH LOGIN (RFC 5034), and the rule that
// nothing submitted after an AUTH reaches the server before the AUTH is answered.
#include <gtest/gtest.h>

#include "common/base64.h"
#include "pop3_harness.h"

namespace junction::pop3::testing {
namespace {

const std::string kRfcGreeting = "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n";

TEST(Pop3Auth, ApopSendsTheRfc1939Digest) {
  client c;
  c.feed(kRfcGreeting);
  event g = c.next_event();
  ASSERT_EQ(g.type, event_type::greeting);
  EXPECT_TRUE(g.ok);
  EXPECT_EQ(g.apop_timestamp, "<1896.697170952@dbc.mtview.ca.us>");
  EXPECT_EQ(c.apop_timestamp(), "<1896.697170952@dbc.mtview.ca.us>");
  ASSERT_TRUE(c.submit_apop("mrose", "tanstaaf"));
  EXPECT_EQ(c.pending_output(), "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
  c.consume_output(c.pending_output().size());
  c.feed("+OK mrose's maildrop has 2 messages (320 octets)\r\n");
  event r = c.next_event();
  EXPECT_EQ(serialize(r), "response APOP ok [mrose's maildrop has 2 messages (320 octets)]");
}

TEST(Pop3Auth, TimestampIsTheFirstAngleBracketToken) {
  run_result r = run_whole(
      "+OK ready <a@b> and <c@d>\r\n", [](client&) {}, false);
  EXPECT_EQ(r.events.front(), "greeting ok [ready <a@b> and <c@d>] ts=[<a@b>]");
  r = run_whole(
      "+OK Dovecot ready.\r\n", [](client&) {}, false);
  EXPECT_EQ(r.events.front(), "greeting ok [Dovecot ready.] ts=[]");
  r = run_whole(
      "+OK a < b > c\r\n", [](client&) {}, false);
  EXPECT_EQ(r.events.front(), "greeting ok [a < b > c] ts=[]");
}

TEST(Pop3Auth, ApopWithoutTimestampIsMisuse) {
  client c;
  c.feed("+OK Dovecot ready.\r\n");
  c.next_event();
  EXPECT_FALSE(c.submit_apop("tim", "secret"));
  EXPECT_EQ(c.error().kind, error_kind::misuse);
  EXPECT_EQ(c.error().message, "POP3: APOP needs a timestamp in the server's greeting");
  EXPECT_EQ(c.next_event().type, event_type::error);
  EXPECT_TRUE(c.pending_output().empty());
}

TEST(Pop3Auth, ApopBeforeTheGreetingIsMisuse) {
  client c;
  EXPECT_FALSE(c.submit_apop("tim", "secret"));
  EXPECT_EQ(c.error().kind, error_kind::misuse);
}

TEST(Pop3Auth, PlainSendsAnInitialResponse) {
  std::string server = "+OK ready\r\n+OK Logged in.\r\n+OK 1 10\r\n";
  run_result r = run_whole(
      server,
      [](client& c) {
        c.submit_auth_plain("tim", "tanstaaf");
        c.submit_stat();
      },
      false);
  EXPECT_EQ(r.output,
            "AUTH PLAIN " + base64::encode(std::string("\0tim\0tanstaaf", 13)) + "\r\nSTAT\r\n");
  EXPECT_EQ(r.output, "AUTH PLAIN AHRpbQB0YW5zdGFhZg==\r\nSTAT\r\n");
  EXPECT_EQ(join(r.events),
            "greeting ok [ready] ts=[]\nresponse AUTH-PLAIN ok [Logged in.]\nstat 1 10\n"
            "response STAT ok [1 10]\n");
}

// RFC 5034 §4: an initial response that would push the command past 255 octets is not sent;
// the credentials answer the server's empty challenge instead.
TEST(Pop3Auth, PlainWithLongCredentialsAnswersTheEmptyChallenge) {
  std::string password(200, 'p');
  std::string server = "+OK ready\r\n+ \r\n+OK Logged in.\r\n";
  std::string b64 = base64::encode(std::string("\0tim\0", 5) + password);
  run_result r = run_whole(
      server, [&](client& c) { c.submit_auth_plain("tim", password); }, false);
  EXPECT_EQ(r.output, "AUTH PLAIN\r\n" + b64 + "\r\n");
  EXPECT_EQ(r.events.back(), "response AUTH-PLAIN ok [Logged in.]");
}

TEST(Pop3Auth, PlainCancelsWhenAskedForMoreThanItHas) {
  std::string server = "+OK ready\r\n+ \r\n-ERR [AUTH] Authentication cancelled\r\n";
  run_result r = run_whole(
      server, [](client& c) { c.submit_auth_plain("tim", "x"); }, false);
  EXPECT_EQ(r.output, "AUTH PLAIN AHRpbQB4\r\n*\r\n");
  EXPECT_EQ(r.events.back(), "response AUTH-PLAIN err [[AUTH] Authentication cancelled]");
}

TEST(Pop3Auth, LoginAnswersUsernameAndPasswordChallenges) {
  std::string server =
      "+OK ready\r\n+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK Logged in.\r\n+OK 0 0\r\n";
  auto submit = [](client& c) {
    c.submit_auth_login("tim", "tanstaaf");
    c.submit_stat();
  };
  run_result r = run_whole(server, submit, false);
  EXPECT_EQ(r.output, "AUTH LOGIN\r\ndGlt\r\ndGFuc3RhYWY=\r\nSTAT\r\n");
  EXPECT_EQ(join(r.events),
            "greeting ok [ready] ts=[]\nresponse AUTH-LOGIN ok [Logged in.]\nstat 0 0\n"
            "response STAT ok [0 0]\n");
  EXPECT_EQ(run_bytewise(server, submit, false).events, r.events);
}

TEST(Pop3Auth, LoginFailureIsAResponseAndLaterCommandsStillFlow) {
  std::string server =
      "+OK ready\r\n+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+ more?\r\n"
      "-ERR [AUTH] Authentication failed.\r\n+OK Logging out.\r\n";
  run_result r = run_whole(server, [](client& c) {
    c.submit_auth_login("tim", "wrong");
    c.submit_quit();
  });
  EXPECT_EQ(r.output, "AUTH LOGIN\r\ndGlt\r\nd3Jvbmc=\r\n*\r\nQUIT\r\n");
  EXPECT_EQ(join(r.events),
            "greeting ok [ready] ts=[]\nresponse AUTH-LOGIN err [[AUTH] Authentication failed.]\n"
            "response QUIT ok [Logging out.]\n");
}

// A command pipelined behind AUTH would be read by the server as a SASL answer.
TEST(Pop3Auth, CommandsBehindAuthWaitForItsAnswer) {
  client c;
  c.feed("+OK ready\r\n");
  ASSERT_EQ(c.next_event().type, event_type::greeting);
  c.submit_auth_login("tim", "tanstaaf");
  c.submit_stat();
  EXPECT_EQ(c.pending_output(), "AUTH LOGIN\r\n");
  c.consume_output(c.pending_output().size());
  c.feed("+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  EXPECT_EQ(c.pending_output(), "dGlt\r\n");
  c.consume_output(6);
  c.feed("+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  EXPECT_EQ(c.pending_output(), "dGFuc3RhYWY=\r\n");
  c.consume_output(c.pending_output().size());
  c.feed("+OK Logged in.\r\n");
  EXPECT_EQ(serialize(c.next_event()), "response AUTH-LOGIN ok [Logged in.]");
  EXPECT_EQ(c.pending_output(), "STAT\r\n");
}

TEST(Pop3Auth, CommandsWaitForTheGreeting) {
  client c;
  c.submit_user("tim");
  EXPECT_TRUE(c.pending_output().empty());
  EXPECT_TRUE(c.awaiting_response());
  c.feed("+OK ready\r\n");
  EXPECT_EQ(c.next_event().type, event_type::greeting);
  EXPECT_EQ(c.pending_output(), "USER tim\r\n");
}

TEST(Pop3Auth, ContinuationOutsideAuthIsABadStatus) {
  run_result r = run_whole("+OK ready\r\n+ hello\r\n", [](client& c) { c.submit_user("tim"); });
  EXPECT_EQ(r.events.back(),
            "error POP3: bad status line \"+ hello\" in response to USER at byte 11");
}

TEST(Pop3Auth, CredentialsThatWouldInjectACommandAreRefused) {
  client a;
  EXPECT_FALSE(a.submit_user("tim\r\nDELE 1"));
  EXPECT_EQ(a.error().kind, error_kind::misuse);
  client b;
  EXPECT_FALSE(b.submit_pass(std::string("pw\nRSET")));
  EXPECT_EQ(b.error().kind, error_kind::misuse);
  client d;
  EXPECT_FALSE(d.submit_auth_plain("tim", std::string("a\0b", 3)));
  EXPECT_EQ(d.error().kind, error_kind::misuse);
  EXPECT_TRUE(d.pending_output().empty());
}

}  // namespace
}  // namespace junction::pop3::testing
