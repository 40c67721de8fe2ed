// The send job against a scripted SMTP server (fake_smtp_server.h): what goes on the wire,
// what the server captured, and what the summary says.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "fake_smtp_server.h"
#include "jobs/send_job.h"
#include "model/smtp_account.h"
#include "scripted_driver.h"  // effect_name

namespace junction::jobs::testing {
namespace {

struct send_drive_options {
  std::size_t chunk = 0;  // bytes per on_data (0: all the server has)
  std::size_t max_effects = 1000000;
  // The driver reports the connection lost (on_failure) at the first receive after a send
  // containing this, when not empty.
  std::string lose_after_sending;
  // cancel() after this many progress effects.
  std::size_t cancel_at_progress = std::numeric_limits<std::size_t>::max();
};

struct send_drive_result {
  send_summary summary;
  bool finished = false;
  std::vector<std::string> trace;
  std::vector<std::string> sends;  // each send effect's bytes
  std::vector<std::string> violations;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  std::size_t receives = 0;
};

send_drive_result drive_send(const model::smtp_account& account,
                             std::vector<outgoing_message> messages, send_options options,
                             fake_smtp_server& server, const send_drive_options& how = {}) {
  send_drive_result result;
  server.trace = &result.trace;
  auto job = send_job::create(account, std::move(messages), std::move(options));
  std::string outgoing;
  bool connected = false;
  bool lose = false;
  for (std::size_t i = 0; i < how.max_effects; ++i) {
    effect e = job->next();
    switch (e.kind) {
      case effect::type::connect:
        result.trace.push_back("E: connect " + std::string(e.host) + ":" + std::to_string(e.port) +
                               (e.tls == tls_mode::implicit ? " tls" : ""));
        if (connected) result.violations.push_back("connect while connected");
        server.connect();
        connected = true;
        if (e.tls == tls_mode::implicit) server.start_implicit_tls();
        job->on_connected();
        break;
      case effect::type::send:
        if (!connected) result.violations.push_back("send without a connection");
        if (e.bytes.empty()) result.violations.push_back("empty send");
        result.sends.emplace_back(e.bytes);
        if (!how.lose_after_sending.empty() &&
            e.bytes.find(how.lose_after_sending) != std::string_view::npos) {
          lose = true;
        }
        outgoing.append(e.bytes);
        break;
      case effect::type::receive: {
        ++result.receives;
        if (lose) {
          result.trace.push_back("E: connection reset");
          outgoing.clear();  // never reached the server
          job->on_failure(failure_kind::connection, "connection reset by peer");
          break;
        }
        if (!outgoing.empty()) {
          server.receive(outgoing);
          outgoing.clear();
        }
        std::string bytes = server.to_client(how.chunk);
        if (!bytes.empty()) {
          job->on_data(bytes);
        } else if (server.at_eof()) {
          job->on_eof();
        } else {
          result.trace.push_back("E: receive with nothing to read");
          job->on_failure(failure_kind::timeout, "the server did not answer");
        }
        break;
      }
      case effect::type::start_tls:
        result.trace.push_back("E: start_tls");
        if (!outgoing.empty()) result.violations.push_back("bytes queued before STARTTLS");
        server.start_tls();
        job->on_tls_started();
        break;
      case effect::type::progress:
        result.progress.emplace_back(e.done_count, e.total);
        if (e.done_count > e.total) result.violations.push_back("progress beyond total");
        if (result.progress.size() == how.cancel_at_progress) job->cancel();
        break;
      case effect::type::close:
        result.trace.push_back("E: close");
        if (connected && !outgoing.empty()) server.receive(outgoing);
        outgoing.clear();
        if (connected) server.disconnect();
        connected = false;
        break;
      case effect::type::done:
      case effect::type::failed:
        result.trace.push_back(std::string("E: ") + effect_name(e.kind));
        result.finished = true;
        result.summary = job->summary();
        if (connected) {
          result.violations.push_back("finished without close");
          server.disconnect();
        }
        server.trace = nullptr;
        for (const auto& v : server.violations) result.violations.push_back("server: " + v);
        return result;
      default:
        result.violations.push_back(std::string("unexpected effect ") + effect_name(e.kind));
        break;
    }
  }
  result.violations.push_back("too many effects");
  server.trace = nullptr;
  return result;
}

std::string tail(const send_drive_result& r, std::size_t n = 30) {
  std::string out;
  std::size_t from = r.trace.size() > n ? r.trace.size() - n : 0;
  for (std::size_t i = from; i < r.trace.size(); ++i) out += "\n  " + r.trace[i];
  out += "\n  summary: " + r.summary.message;
  for (const auto& v : r.violations) out += "\n  VIOLATION " + v;
  return out;
}

model::smtp_account account(model::smtp_encryption enc = model::smtp_encryption::none) {
  model::smtp_account a;
  a.server = "smtp.example.com";
  a.port = 587;
  a.encryption = enc;
  a.email = "jdoe@example.com";
  a.password = "secret";
  return a;
}

outgoing_message message(std::vector<std::string> to,
                         std::string body = "Subject: hi\r\n\r\nhello\r\n") {
  outgoing_message m;
  m.envelope_from = "jdoe@example.com";
  m.recipients = std::move(to);
  m.data = std::move(body);
  return m;
}

std::vector<std::string> lines_of(const fake_smtp_server& s) {
  std::vector<std::string> out;
  for (const auto& c : s.commands) out.push_back(c.line);
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// ---- sessions and logins ----

TEST(SendJob, SendsOneMessageOverPlainTextWithCramMd5) {
  fake_smtp_server server;
  server.auth = "PLAIN LOGIN CRAM-MD5";
  server.user = "tim";
  server.password = "tanstaaftanstaaf";
  auto a = account();
  a.username = "tim";
  a.password = "tanstaaftanstaaf";
  auto r = drive_send(a, {message({"bob@example.org"})}, {}, server);
  ASSERT_TRUE(r.finished) << tail(r);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_EQ(r.summary.failure, failure_kind::none);
  EXPECT_EQ(r.summary.message, "sent 1 message");
  EXPECT_EQ(r.summary.server_greeting, "fake.example ESMTP ready");
  EXPECT_TRUE(r.violations.empty()) << tail(r);
  // CRAM-MD5 over a plain connection, with the bytes of RFC 2195's example.
  const std::vector<std::string> expected = {
      "EHLO localhost",
      "AUTH CRAM-MD5",
      "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
      "MAIL FROM:<jdoe@example.com> SIZE=22",
      "RCPT TO:<bob@example.org>",
      "DATA",
      "Subject: hi",
      "",
      "hello",
      ".",
      "QUIT",
  };
  EXPECT_EQ(lines_of(server), expected);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_EQ(server.messages[0].data, "Subject: hi\r\n\r\nhello\r\n");
  EXPECT_EQ(server.messages[0].from, "jdoe@example.com");
  ASSERT_EQ(r.summary.messages.size(), 1u);
  const auto& m = r.summary.messages[0];
  EXPECT_TRUE(m.accepted);
  EXPECT_EQ(m.code, 250);
  EXPECT_EQ(m.enhanced_code, "2.0.0");
  EXPECT_EQ(m.text, "Ok: queued as 4F2A");
  ASSERT_EQ(m.recipients.size(), 1u);
  EXPECT_EQ(m.recipients[0].address, "bob@example.org");
  EXPECT_TRUE(m.recipients[0].accepted);
  EXPECT_EQ(m.recipients[0].code, 250);
  EXPECT_EQ(m.recipients[0].enhanced_code, "2.1.5");
}

TEST(SendJob, ImplicitTlsPrefersPlainWithExactBytes) {
  fake_smtp_server server;
  server.auth = "LOGIN CRAM-MD5 PLAIN";
  auto r =
      drive_send(account(model::smtp_encryption::ssl), {message({"bob@example.org"})}, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_EQ(r.trace.front(), "E: connect smtp.example.com:587 tls");
  EXPECT_TRUE(contains(lines_of(server), "AUTH PLAIN AGpkb2VAZXhhbXBsZS5jb20Ac2VjcmV0"));
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_TRUE(server.messages[0].under_tls);
}

TEST(SendJob, LoginWhenItIsTheOnlyMechanism) {
  fake_smtp_server server;
  server.auth = "LOGIN";
  auto r =
      drive_send(account(model::smtp_encryption::ssl), {message({"bob@example.org"})}, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  auto lines = lines_of(server);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[1], "AUTH LOGIN");
  EXPECT_EQ(lines[2], "amRvZUBleGFtcGxlLmNvbQ==");
  EXPECT_EQ(lines[3], "c2VjcmV0");
}

TEST(SendJob, PlainOverAPlainConnectionWhenNoCramMd5) {
  fake_smtp_server server;
  server.auth = "PLAIN LOGIN";
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_EQ(lines_of(server)[1], "AUTH PLAIN AGpkb2VAZXhhbXBsZS5jb20Ac2VjcmV0");
}

TEST(SendJob, WrongPasswordIsALoginFailureAndNothingIsSent) {
  fake_smtp_server server;
  auto a = account();
  a.password = "wrong";
  auto r = drive_send(a, {message({"bob@example.org"})}, {}, server);
  ASSERT_TRUE(r.finished);
  EXPECT_FALSE(r.summary.ok);
  EXPECT_EQ(r.summary.failure, failure_kind::login);
  EXPECT_EQ(r.summary.message,
            "the SMTP server refused the login for jdoe@example.com: 535 5.7.8 Error: "
            "authentication failed: authentication failure");
  EXPECT_EQ(server.count("MAIL"), 0u);
  EXPECT_TRUE(server.messages.empty());
  EXPECT_FALSE(r.summary.messages[0].accepted);
}

TEST(SendJob, EhloRefusedFallsBackToHelo) {
  fake_smtp_server server;
  server.ehlo = false;
  server.require_auth = false;
  auto a = account();
  a.auth = false;
  auto r = drive_send(a, {message({"bob@example.org", "carol@example.org"})}, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  auto lines = lines_of(server);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "EHLO localhost");
  EXPECT_EQ(lines[1], "HELO localhost");
  EXPECT_EQ(lines[2], "MAIL FROM:<jdoe@example.com>");  // no SIZE=, no extensions after HELO
  // No PIPELINING after HELO: one command per write.
  for (const auto& s : r.sends) {
    EXPECT_FALSE(s.find("MAIL FROM") != std::string::npos && s.find("RCPT TO") != std::string::npos)
        << s;
    EXPECT_FALSE(s.find("RCPT TO:<bob") != std::string::npos &&
                 s.find("RCPT TO:<carol") != std::string::npos)
        << s;
  }
  EXPECT_EQ(server.messages.size(), 1u);
}

TEST(SendJob, HeloServerWithAuthRequiredIsALoginFailure) {
  fake_smtp_server server;
  server.ehlo = false;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::login);
  EXPECT_EQ(r.summary.message,
            "the SMTP server does not support authentication (it refused EHLO); turn "
            "authentication off or use another server");
  EXPECT_EQ(server.count("MAIL"), 0u);
}

TEST(SendJob, StartTlsUpgradesAndReadsCapabilitiesAgain) {
  fake_smtp_server server;
  server.starttls = true;
  server.auth_needs_tls = true;
  auto r = drive_send(account(model::smtp_encryption::starttls), {message({"bob@example.org"})}, {},
                      server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_TRUE(r.violations.empty()) << tail(r);
  ASSERT_GE(server.commands.size(), 4u);
  EXPECT_EQ(server.commands[0].line, "EHLO localhost");
  EXPECT_FALSE(server.commands[0].under_tls);
  EXPECT_EQ(server.commands[1].line, "STARTTLS");
  EXPECT_EQ(server.commands[2].line, "EHLO localhost");
  EXPECT_TRUE(server.commands[2].under_tls);
  // AUTH was announced only after TLS: the job used the second EHLO's list (PLAIN over TLS).
  EXPECT_EQ(server.commands[3].line, "AUTH PLAIN AGpkb2VAZXhhbXBsZS5jb20Ac2VjcmV0");
  EXPECT_TRUE(server.commands[3].under_tls);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_TRUE(server.messages[0].under_tls);
  EXPECT_TRUE(contains(r.trace, "E: start_tls"));
}

TEST(SendJob, StartTlsRequiredButNotOfferedSendsNoCredentialsAndNoMail) {
  fake_smtp_server server;  // no STARTTLS, like smtp-sink
  server.auth = "PLAIN LOGIN";
  for (bool check : {false, true}) {
    send_options o;
    o.check_only = check;
    auto r = drive_send(account(model::smtp_encryption::starttls), {message({"bob@example.org"})},
                        o, server);
    EXPECT_EQ(r.summary.failure, failure_kind::encryption_required) << tail(r);
    EXPECT_EQ(r.summary.message,
              "the SMTP server does not offer STARTTLS; nothing was sent. Choose SSL/TLS, or no "
              "encryption if you trust the network");
  }
  EXPECT_EQ(server.count("AUTH"), 0u);
  EXPECT_EQ(server.count("MAIL"), 0u);
  EXPECT_EQ(server.count("EHLO"), 2u);
  EXPECT_EQ(server.commands.size(), 2u);  // EHLO only, on both runs
}

TEST(SendJob, StartTlsRefusedIsEncryptionRequired) {
  fake_smtp_server server;
  server.refuse_starttls = true;
  auto r = drive_send(account(model::smtp_encryption::starttls), {message({"bob@example.org"})}, {},
                      server);
  EXPECT_EQ(r.summary.failure, failure_kind::encryption_required);
  EXPECT_EQ(r.summary.message,
            "the SMTP server refused STARTTLS: 454 4.7.0 TLS not available due to local problem; "
            "nothing was sent");
  EXPECT_EQ(server.count("AUTH"), 0u);
}

TEST(SendJob, NoEncryptionNeverUpgradesByItself) {
  fake_smtp_server server;
  server.starttls = true;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_TRUE(r.summary.ok);
  EXPECT_EQ(server.count("STARTTLS"), 0u);
}

TEST(SendJob, AuthOnlyAfterStartTlsOnAPlainAccountSaysSo) {
  fake_smtp_server server;
  server.starttls = true;
  server.auth_needs_tls = true;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::encryption_required);
  EXPECT_EQ(r.summary.message,
            "the SMTP server offers no login on an unencrypted connection; choose STARTTLS. "
            "Nothing was sent");
  EXPECT_EQ(server.count("MAIL"), 0u);
}

TEST(SendJob, CheckOnlyConnectsLogsInAndQuits) {
  fake_smtp_server server;
  send_options o;
  o.check_only = true;
  auto r =
      drive_send(account(model::smtp_encryption::ssl), {message({"bob@example.org"})}, o, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_EQ(r.summary.message,
            "connection OK: smtp.example.com:587, SSL/TLS, logged in as jdoe@example.com (PLAIN)");
  const std::vector<std::string> expected = {"EHLO localhost",
                                             "AUTH PLAIN AGpkb2VAZXhhbXBsZS5jb20Ac2VjcmV0", "QUIT"};
  EXPECT_EQ(lines_of(server), expected);
  EXPECT_TRUE(r.summary.messages.empty());
  EXPECT_TRUE(r.progress.empty());
}

TEST(SendJob, CheckOnlyWithoutAuth) {
  fake_smtp_server server;
  server.auth.clear();
  auto a = account();
  a.auth = false;
  send_options o;
  o.check_only = true;
  o.ehlo_name = "client.example";
  auto r = drive_send(a, {}, o, server);
  EXPECT_TRUE(r.summary.ok);
  EXPECT_EQ(r.summary.message, "connection OK: smtp.example.com:587, no encryption, no login");
  const std::vector<std::string> expected = {"EHLO client.example", "QUIT"};
  EXPECT_EQ(lines_of(server), expected);
}

TEST(SendJob, GreetingRefused) {
  struct refusing : fake_smtp_server {
    void begin_session() override { reply("554 5.7.1 go away\r\n"); }
  } server;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::protocol);
  EXPECT_EQ(r.summary.message, "the SMTP server refused the connection: 554 5.7.1 go away");
}

TEST(SendJob, HostileServerIsAProtocolFailure) {
  struct hostile : fake_smtp_server {
    void begin_session() override { reply("220 hi\r\n"); }
    void handle_line(const std::string&) override { reply("2x0 what\r\n"); }
  } server;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::protocol);
  EXPECT_EQ(r.summary.message,
            "SMTP: bad reply line \"2x0 what\" (the reply does not start with a 3-digit code) in "
            "the reply to EHLO at byte 8");
}

// ---- messages ----

TEST(SendJob, PipeliningPutsMailRcptsAndDataInOneSend) {
  fake_smtp_server server;
  auto r = drive_send(account(),
                      {message({"a@example.org", "b@example.org", "c@example.org"}),
                       message({"d@example.org"}, "second\r\n")},
                      {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  std::size_t envelope_sends = 0;
  for (const auto& s : r.sends) {
    if (s.find("MAIL FROM") == std::string::npos) continue;
    ++envelope_sends;
    if (s.find("RCPT TO:<a@") != std::string::npos) {
      EXPECT_EQ(s,
                "MAIL FROM:<jdoe@example.com> SIZE=22\r\nRCPT TO:<a@example.org>\r\n"
                "RCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n");
    } else {
      // The second message's envelope waits for the reply to the first one's end of data
      // (Dovecot 2.3's submission aborts when it follows the content in the same write).
      EXPECT_EQ(s, "MAIL FROM:<jdoe@example.com> SIZE=8\r\nRCPT TO:<d@example.org>\r\nDATA\r\n");
    }
  }
  EXPECT_EQ(envelope_sends, 2u);
  // The first message's content ends a write of its own.
  EXPECT_NE(std::find(r.sends.begin(), r.sends.end(), "Subject: hi\r\n\r\nhello\r\n.\r\n"),
            r.sends.end());
  // The last content and QUIT go together too.
  EXPECT_EQ(r.sends.back(), "second\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(server.messages.size(), 2u);
  EXPECT_EQ(server.messages[0].recipients,
            (std::vector<std::string>{"a@example.org", "b@example.org", "c@example.org"}));
}

TEST(SendJob, OneRefusedRecipientOfThreeDoesNotSinkTheOthers) {
  for (bool pipelining : {true, false}) {
    fake_smtp_server server;
    server.pipelining = pipelining;
    server.unknown_users = {"b@example.org"};
    auto r = drive_send(account(), {message({"a@example.org", "b@example.org", "c@example.org"})},
                        {}, server);
    EXPECT_TRUE(r.summary.ok) << tail(r);
    EXPECT_EQ(r.summary.message, "sent 1 message; 1 recipient refused");
    const auto& m = r.summary.messages[0];
    EXPECT_TRUE(m.accepted);
    ASSERT_EQ(m.recipients.size(), 3u);
    EXPECT_TRUE(m.recipients[0].accepted);
    EXPECT_FALSE(m.recipients[1].accepted);
    EXPECT_EQ(m.recipients[1].address, "b@example.org");
    EXPECT_EQ(m.recipients[1].code, 550);
    EXPECT_EQ(m.recipients[1].enhanced_code, "5.1.1");
    EXPECT_EQ(m.recipients[1].text,
              "<b@example.org>: Recipient address rejected: User unknown in local recipient table");
    EXPECT_TRUE(m.recipients[2].accepted);
    ASSERT_EQ(server.messages.size(), 1u);
    EXPECT_EQ(server.messages[0].recipients,
              (std::vector<std::string>{"a@example.org", "c@example.org"}));
  }
}

TEST(SendJob, AllRecipientsRefusedRejectsTheMessageAndResetsBeforeTheNext) {
  for (bool pipelining : {true, false}) {
    SCOPED_TRACE(pipelining ? "pipelining" : "one at a time");
    fake_smtp_server server;
    server.pipelining = pipelining;
    server.relay_domain = "example.org";
    auto r = drive_send(account(),
                        {message({"x@elsewhere.net", "y@elsewhere.net"}),
                         message({"ok@example.org"}, "second\r\n")},
                        {}, server);
    ASSERT_TRUE(r.finished);
    EXPECT_FALSE(r.summary.ok);
    EXPECT_EQ(r.summary.failure, failure_kind::rejected);
    EXPECT_EQ(r.summary.message,
              "1 of 2 messages sent; message 1 was refused: 554 5.7.1 <x@elsewhere.net>: Relay "
              "access denied");
    const auto& first = r.summary.messages[0];
    EXPECT_FALSE(first.accepted);
    EXPECT_EQ(first.code, 554);
    EXPECT_EQ(first.enhanced_code, "5.7.1");
    EXPECT_FALSE(first.recipients[0].accepted);
    EXPECT_FALSE(first.recipients[1].accepted);
    EXPECT_TRUE(r.summary.messages[1].accepted);
    // RSET between the refused transaction and the next MAIL.
    auto lines = lines_of(server);
    auto second_mail =
        std::find(lines.rbegin(), lines.rend(), "MAIL FROM:<jdoe@example.com> SIZE=8");
    ASSERT_NE(second_mail, lines.rend());
    EXPECT_EQ(*(second_mail + 1), "RSET");
    EXPECT_EQ(server.count("RSET"), 1u);
    // Without pipelining DATA is not even sent.
    EXPECT_EQ(server.count("DATA"), pipelining ? 2u : 1u);
    ASSERT_EQ(server.messages.size(), 1u);
    EXPECT_EQ(server.messages[0].data, "second\r\n");
  }
}

TEST(SendJob, OnlyMessageRefusedIsRunFailureRejected) {
  fake_smtp_server server;
  server.relay_domain = "example.org";
  auto r = drive_send(account(), {message({"x@elsewhere.net"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::rejected);
  EXPECT_EQ(
      r.summary.message,
      "the SMTP server refused the message: 554 5.7.1 <x@elsewhere.net>: Relay access denied");
  EXPECT_EQ(to_string(r.summary.failure), "rejected");
}

TEST(SendJob, ServerWhoAnswers354WithoutRecipientsGetsAnEmptyMessage) {
  // A pipelining server that says 354 although every RCPT failed (RFC 2920 §3.1 case).
  struct lax : fake_smtp_server {
    void handle_line(const std::string& line) override {
      if (line == "DATA") {
        reply("354 go ahead anyway\r\n");
        lax_data_ = true;
        return;
      }
      if (lax_data_) {
        received_.push_back(line);
        if (line == ".") {
          lax_data_ = false;
          reply("250 2.0.0 Ok: queued\r\n");
        }
        return;
      }
      fake_smtp_server::handle_line(line);
    }
    bool lax_data_ = false;
    std::vector<std::string> received_;
  } server;
  server.relay_domain = "example.org";
  auto r = drive_send(account(), {message({"x@elsewhere.net"}, "secret content\r\n")}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::rejected) << tail(r);
  EXPECT_FALSE(r.summary.messages[0].accepted);
  EXPECT_EQ(r.summary.messages[0].code, 554);
  EXPECT_EQ(server.received_, std::vector<std::string>{"."});  // no content went out
}

TEST(SendJob, SizeOverTheServerLimitIsRefusedLocally) {
  fake_smtp_server server;
  server.size = 100;
  std::string big = "Subject: big\r\n\r\n" + std::string(200, 'x') + "\r\n";
  auto r = drive_send(account(), {message({"bob@example.org"}, big)}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::rejected);
  EXPECT_EQ(r.summary.message,
            "the SMTP server refused the message: the message is 218 bytes and the SMTP server "
            "accepts at most 100; it was not sent");
  EXPECT_EQ(r.summary.messages[0].code, 0);
  EXPECT_EQ(server.count("MAIL"), 0u);
  EXPECT_EQ(server.count("QUIT"), 1u);
}

TEST(SendJob, SizeRefusedByTheServerAtMail) {
  fake_smtp_server server;
  server.size = 100;
  server.size_keyword = false;  // the client cannot know; it learns from 552 at MAIL
  std::string big(300, 'x');
  auto r = drive_send(account(), {message({"bob@example.org"}, big)}, {}, server);
  // Without SIZE in EHLO there is no SIZE= either; the fake checks only SIZE=, so it accepts.
  EXPECT_TRUE(r.summary.ok);
  EXPECT_EQ(lines_of(server)[2], "MAIL FROM:<jdoe@example.com>");

  struct at_mail : fake_smtp_server {
    void handle_line(const std::string& line) override {
      if (line.rfind("MAIL", 0) == 0) {
        reply("552 5.3.4 Message size exceeds fixed limit\r\n");
        return;
      }
      fake_smtp_server::handle_line(line);
    }
  } refusing;
  for (bool pipelining : {true, false}) {
    refusing.pipelining = pipelining;
    auto r2 = drive_send(account(), {message({"bob@example.org"}), message({"bob@example.org"})},
                         {}, refusing);
    EXPECT_EQ(r2.summary.failure, failure_kind::rejected) << tail(r2);
    EXPECT_EQ(r2.summary.message,
              "0 of 2 messages sent; message 1 was refused: 552 5.3.4 Message size exceeds fixed "
              "limit");
    EXPECT_EQ(r2.summary.messages[1].code, 552);
    EXPECT_FALSE(r2.summary.messages[0].recipients[0].accepted);
  }
  EXPECT_EQ(refusing.count("RSET"), 0u);  // MAIL refused: no transaction to reset
}

TEST(SendJob, SmtpUtf8NeededButNotOffered) {
  fake_smtp_server server;
  auto m = message({"j\xc3\xb6rg@example.org"});
  m.needs_smtputf8 = true;
  auto r = drive_send(account(), {m, message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::rejected);
  EXPECT_EQ(r.summary.messages[0].text,
            "the message has internationalised addresses and the SMTP server does not support "
            "SMTPUTF8; it was not sent");
  EXPECT_TRUE(r.summary.messages[1].accepted);
  EXPECT_EQ(server.count("MAIL"), 1u);

  fake_smtp_server utf8;
  utf8.smtputf8 = true;
  auto r2 = drive_send(account(), {m}, {}, utf8);
  EXPECT_TRUE(r2.summary.ok) << tail(r2);
  EXPECT_EQ(lines_of(utf8)[2], "MAIL FROM:<jdoe@example.com> SIZE=22 SMTPUTF8");
}

TEST(SendJob, EightBitBodyAsks8BitMime) {
  fake_smtp_server server;
  auto m = message({"bob@example.org"}, "Subject: x\r\n\r\ncaf\xc3\xa9\r\n");
  m.eight_bit = true;
  auto r = drive_send(account(), {m}, {}, server);
  EXPECT_TRUE(r.summary.ok);
  EXPECT_EQ(lines_of(server)[2], "MAIL FROM:<jdoe@example.com> SIZE=21 BODY=8BITMIME");

  fake_smtp_server old;
  old.eight_bit_mime = false;
  auto r2 = drive_send(account(), {m}, {}, old);
  EXPECT_TRUE(r2.summary.ok);
  EXPECT_EQ(lines_of(old)[2], "MAIL FROM:<jdoe@example.com> SIZE=21");
}

TEST(SendJob, DataEndRefused) {
  fake_smtp_server server;
  server.data_end_reply = "554 5.7.1 Message rejected: spam\r\n";
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::rejected);
  EXPECT_EQ(r.summary.message,
            "the SMTP server refused the message: 554 5.7.1 Message rejected: spam");
  EXPECT_TRUE(r.summary.messages[0].recipients[0].accepted);  // the recipient was fine
}

TEST(SendJob, DotStuffingEdgeCasesArriveIntact) {
  fake_smtp_server server;
  const std::vector<std::string> bodies = {
      ".", "", ".\r\n", "a\r\n.\r\nb\r\n", "..leading\r\n.x", "no final CRLF", "\r\n.\r\n.\r\n"};
  std::vector<outgoing_message> msgs;
  for (const auto& b : bodies) msgs.push_back(message({"bob@example.org"}, b));
  auto r = drive_send(account(), msgs, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  const std::vector<std::string> expected = {
      ".\r\n",         "", ".\r\n", "a\r\n.\r\nb\r\n", "..leading\r\n.x\r\n", "no final CRLF\r\n",
      "\r\n.\r\n.\r\n"};
  ASSERT_EQ(server.messages.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(server.messages[i].data, expected[i]) << i;
  }
  EXPECT_TRUE(r.violations.empty()) << tail(r);
}

TEST(SendJob, BareLineEndsAreSentAsCrlf) {
  fake_smtp_server server;
  auto r = drive_send(account(), {message({"bob@example.org"}, "a\nb\rc\r\n")}, {}, server);
  EXPECT_TRUE(r.summary.ok);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_EQ(server.messages[0].data, "a\r\nb\r\nc\r\n");
  EXPECT_TRUE(r.violations.empty()) << tail(r);
}

TEST(SendJob, LargeMessageStreamsInChunks) {
  fake_smtp_server server;
  std::string big = "Subject: big\r\n\r\n";
  while (big.size() < (3u << 20))
    big += ".a line that starts with a dot\r\nand one that does not\r\n";
  auto r = drive_send(account(), {message({"bob@example.org"}, big)}, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  ASSERT_EQ(server.messages.size(), 1u);
  EXPECT_TRUE(server.messages[0].data == big);
  std::size_t largest = 0;
  for (const auto& s : r.sends) largest = std::max(largest, s.size());
  EXPECT_LE(largest, send_job::chunk_size * 2);  // bounded, whatever the message size
  EXPECT_GE(r.sends.size(), big.size() / send_job::chunk_size);
}

TEST(SendJob, SeveralMessagesOverOneConnectionWithProgress) {
  fake_smtp_server server;
  std::vector<outgoing_message> msgs;
  for (int i = 0; i < 5; ++i) {
    msgs.push_back(message({"bob@example.org"}, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n"));
  }
  auto r = drive_send(account(), msgs, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_EQ(r.summary.message, "sent 5 messages");
  EXPECT_EQ(server.connections, 1u);
  EXPECT_EQ(server.count("EHLO"), 1u);
  EXPECT_EQ(server.count("AUTH"), 1u);
  ASSERT_EQ(server.messages.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(server.messages[i].data, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n");
  }
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> expected = {{0, 5}, {1, 5}, {2, 5},
                                                                         {3, 5}, {4, 5}, {5, 5}};
  EXPECT_EQ(r.progress, expected);
}

TEST(SendJob, ByteAtATimeRepliesGiveTheSameRun) {
  for (std::size_t chunk : {1u, 3u, 7u}) {
    fake_smtp_server server;
    server.unknown_users = {"b@example.org"};
    auto r = drive_send(account(),
                        {message({"a@example.org", "b@example.org"}), message({"c@example.org"})},
                        {}, server, {chunk});
    EXPECT_TRUE(r.summary.ok) << chunk << tail(r);
    EXPECT_EQ(server.messages.size(), 2u);
    EXPECT_FALSE(r.summary.messages[0].recipients[1].accepted);
  }
}

TEST(SendJob, FiveHundredMessagesCostTwoRoundTripsEach) {
  fake_smtp_server server;
  std::vector<outgoing_message> msgs;
  for (int i = 0; i < 500; ++i) msgs.push_back(message({"bob@example.org"}));
  auto r = drive_send(account(), msgs, {}, server);
  EXPECT_TRUE(r.summary.ok) << tail(r);
  EXPECT_EQ(server.messages.size(), 500u);
  // greeting, EHLO, AUTH; per message its envelope (MAIL, RCPT, DATA in one write) and its
  // content; the last content goes with QUIT.
  EXPECT_EQ(r.receives, 3u + 2u * 500u);
}

TEST(SendJob, ConnectionLostMidDataIsAConnectionFailure) {
  fake_smtp_server server;
  server.cut_in_data = true;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::connection) << tail(r);
  EXPECT_EQ(r.summary.message,
            "the SMTP server closed the connection while sending message 1 of 1; it was not sent "
            "(SMTP: connection closed by the server before the reply to the end of the message "
            "data at byte 255)");
  EXPECT_FALSE(r.summary.messages[0].accepted);
  EXPECT_TRUE(server.messages.empty());
}

TEST(SendJob, DriverReportedLossMidDataIsAConnectionFailure) {
  fake_smtp_server server;
  std::string big(300000, 'x');
  send_drive_options how;
  how.lose_after_sending = "xxxx";
  auto r = drive_send(account(), {message({"bob@example.org"}, big)}, {}, server, how);
  EXPECT_EQ(r.summary.failure, failure_kind::connection);
  EXPECT_EQ(r.summary.message, "connection reset by peer");
  EXPECT_TRUE(server.messages.empty());
}

TEST(SendJob, ServerShuttingDownIs421) {
  fake_smtp_server server;
  server.say_421_at_mail = true;
  auto r = drive_send(account(), {message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::connection);
  EXPECT_EQ(r.summary.message,
            "the SMTP server closed the session: 421 4.3.2 Service shutting down");
}

TEST(SendJob, CancelStopsBetweenMessages) {
  fake_smtp_server server;
  server.pipelining = false;
  std::vector<outgoing_message> msgs;
  for (int i = 0; i < 4; ++i) msgs.push_back(message({"bob@example.org"}));
  send_drive_options how;
  // cancel() when the driver sees "1 of 4 done": the second message was started in the same
  // step (its MAIL is queued behind that progress effect); its content is then cut off by
  // closing the connection, so the server discards it. No third message starts.
  how.cancel_at_progress = 2;
  auto r = drive_send(account(), msgs, {}, server, how);
  EXPECT_EQ(r.summary.failure, failure_kind::cancelled) << tail(r);
  EXPECT_EQ(r.summary.message, "sending was stopped; message 2 was not sent");
  EXPECT_EQ(server.messages.size(), 1u);
  EXPECT_EQ(server.count("MAIL"), 2u);
  EXPECT_TRUE(r.summary.messages[0].accepted);
  EXPECT_FALSE(r.summary.messages[1].accepted);
}

TEST(SendJob, CancelBeforeTheFirstContentSendsNothing) {
  fake_smtp_server server;
  send_drive_options how;
  how.cancel_at_progress = 1;  // the "0 of 2", queued with the first envelope
  auto r = drive_send(account(), {message({"bob@example.org"}), message({"bob@example.org"})}, {},
                      server, how);
  EXPECT_EQ(r.summary.failure, failure_kind::cancelled) << tail(r);
  EXPECT_EQ(r.summary.message, "sending was stopped; message 1 was not sent");
  EXPECT_TRUE(server.messages.empty());
  EXPECT_EQ(server.count("MAIL"), 1u);
}

TEST(SendJob, InvalidAddressesAndEmptyRecipientsAreRefusedLocally) {
  fake_smtp_server server;
  auto evil = message({"a@example.org>\r\nRCPT TO:<evil@x"});
  auto none = message({});
  auto r = drive_send(account(), {evil, none, message({"bob@example.org"})}, {}, server);
  EXPECT_EQ(r.summary.failure, failure_kind::rejected);
  EXPECT_EQ(r.summary.messages[0].text,
            "a recipient address is not valid; the message was not sent");
  EXPECT_EQ(r.summary.messages[1].text, "the message has no recipients; it was not sent");
  EXPECT_TRUE(r.summary.messages[2].accepted);
  EXPECT_EQ(server.count("RCPT"), 1u);
}

TEST(SendJob, NothingToSendStillLogsIn) {
  fake_smtp_server server;
  auto r = drive_send(account(), {}, {}, server);
  EXPECT_TRUE(r.summary.ok);
  EXPECT_EQ(r.summary.message, "nothing to send");
  EXPECT_EQ(server.count("AUTH"), 1u);
}

TEST(SendJob, ConnectFailureFromTheDriver) {
  auto job = send_job::create(account(), {message({"bob@example.org"})}, {});
  effect e = job->next();
  ASSERT_EQ(e.kind, effect::type::connect);
  EXPECT_EQ(e.host, "smtp.example.com");
  EXPECT_EQ(e.port, 587);
  EXPECT_EQ(e.tls, tls_mode::none);
  job->on_failure(failure_kind::refused, "connection refused");
  EXPECT_EQ(job->next().kind, effect::type::close);
  EXPECT_EQ(job->next().kind, effect::type::failed);
  EXPECT_EQ(job->next().kind, effect::type::failed);
  EXPECT_EQ(job->summary().failure, failure_kind::refused);
}

}  // namespace
}  // namespace junction::jobs::testing
