// AUTH (RFC 4954) byte for byte: PLAIN (RFC 4616) with and without an initial response,
// LOGIN, CRAM-MD5 against the example of RFC 2195, STARTTLS (RFC 3207).
#include <gtest/gtest.h>

#include "smtp_harness.h"

namespace junction::smtp::testing {
namespace {

run_result auth_run(const std::string& server, sasl_mechanism m, const std::string& user,
                    const std::string& pass) {
  return run_all_ways(
      "220 hi\r\n" + server, [&](client& c) { c.submit_auth(m, user, pass); }, {}, false);
}

TEST(SmtpAuth, PlainWithInitialResponse) {
  run_result r = auth_run("235 2.7.0 ok\r\n", sasl_mechanism::plain, "tim", "tanstaaftanstaaf");
  EXPECT_EQ(r.output, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
  EXPECT_EQ(last(r), "reply AUTH #0 235 ok [2.7.0] [ok] lines=1");
}

TEST(SmtpAuth, PlainTooLongForOneLineAnswersTheEmptyChallenge) {
  const std::string pass(400, 'p');
  run_result r = auth_run("334 \r\n235 ok\r\n", sasl_mechanism::plain, "tim", pass);
  std::string expected_b64 = r.output.substr(std::string("AUTH PLAIN\r\n").size());
  EXPECT_EQ(r.output.substr(0, 12), "AUTH PLAIN\r\n");
  EXPECT_EQ(expected_b64.size(), 4 * ((1 + 3 + 1 + 400 + 2) / 3) + 2);
  EXPECT_EQ(expected_b64.substr(0, 8), "AHRpbQBw");  // \0tim\0p...
  EXPECT_EQ(last(r), "reply AUTH #0 235 ok [] [ok] lines=1");
}

TEST(SmtpAuth, Login) {
  run_result r = auth_run("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 ok\r\n",
                          sasl_mechanism::login, "tim", "tanstaaftanstaaf");
  EXPECT_EQ(r.output, "AUTH LOGIN\r\ndGlt\r\ndGFuc3RhYWZ0YW5zdGFhZg==\r\n");
  EXPECT_EQ(last(r), "reply AUTH #0 235 ok [2.7.0] [ok] lines=1");
}

TEST(SmtpAuth, CramMd5Rfc2195Example) {
  // RFC 2195 §2: the challenge <1896.697170952@postoffice.reston.mci.net>, user tim,
  // password tanstaaftanstaaf.
  run_result r = auth_run(
      "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"
      "235 2.7.0 ok\r\n",
      sasl_mechanism::cram_md5, "tim", "tanstaaftanstaaf");
  EXPECT_EQ(r.output, "AUTH CRAM-MD5\r\ndGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
  EXPECT_EQ(last(r), "reply AUTH #0 235 ok [2.7.0] [ok] lines=1");
}

TEST(SmtpAuth, CramMd5BadChallengeIsAProtocolError) {
  run_result r = auth_run("334 not*base64\r\n", sasl_mechanism::cram_md5, "tim", "x");
  EXPECT_EQ(last(r), "error [SMTP: the CRAM-MD5 challenge \"not*base64\" is not base64]");
  EXPECT_EQ(r.output, "AUTH CRAM-MD5\r\n");
}

TEST(SmtpAuth, MoreChallengesThanTheMechanismHasAreCancelled) {
  run_result r = auth_run("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n334 more?\r\n501 cancelled\r\n",
                          sasl_mechanism::login, "tim", "pw");
  EXPECT_EQ(r.output, "AUTH LOGIN\r\ndGlt\r\ncHc=\r\n*\r\n");
  EXPECT_EQ(last(r), "reply AUTH #0 501 err [] [cancelled] lines=1");
}

TEST(SmtpAuth, WrongPasswordIsAReplyNotAnError) {
  run_result r =
      auth_run("535 5.7.8 Error: authentication failed\r\n", sasl_mechanism::plain, "tim", "bad");
  EXPECT_EQ(last(r), "reply AUTH #0 535 err [5.7.8] [Error: authentication failed] lines=1");
}

TEST(SmtpAuth, NothingIsPipelinedBehindAuth) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_auth(sasl_mechanism::login, "tim", "pw");
  c.submit_mail("tim@x");
  EXPECT_EQ(c.pending_output(), "AUTH LOGIN\r\n");
  c.consume_output(12);
  c.feed("334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  EXPECT_EQ(c.pending_output(), "dGlt\r\n");  // the SASL answer, not MAIL
}

TEST(SmtpStartTls, CommandsBehindStartTlsWaitAndInjectionIsRefused) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_starttls();
  c.submit_ehlo("me");
  EXPECT_EQ(c.pending_output(), "STARTTLS\r\n");
  c.consume_output(10);
  c.feed("220 2.0.0 Ready to start TLS\r\n250-injected\r\n");
  event e = c.next_event();
  EXPECT_EQ(e.type, event_type::error);
  EXPECT_EQ(e.text,
            "SMTP: data after the STARTTLS reply before TLS started (possible injection) at byte "
            "38");
}

TEST(SmtpStartTls, RefusedWithCommandsQueuedNeverSendsThem) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_starttls();
  c.submit_auth(sasl_mechanism::plain, "tim", "secret");
  c.consume_output(c.pending_output().size());
  c.feed("454 4.7.0 TLS not available\r\n");
  event e = c.next_event();
  EXPECT_EQ(e.type, event_type::error);
  EXPECT_EQ(c.pending_output(), "");
}

TEST(SmtpStartTls, Accepted) {
  client c;
  c.feed("220 hi\r\n");
  c.next_event();
  c.submit_starttls();
  c.consume_output(c.pending_output().size());
  c.feed("220 go ahead\r\n");
  event e = c.next_event();
  EXPECT_EQ(e.cmd, command::starttls);
  EXPECT_TRUE(e.ok);
  EXPECT_TRUE(c.submit_ehlo("me"));
  EXPECT_EQ(c.pending_output(), "EHLO me\r\n");
}

}  // namespace
}  // namespace junction::smtp::testing
