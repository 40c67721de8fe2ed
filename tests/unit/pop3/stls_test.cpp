// STLS (RFC 2595 §4): nothing may be read from the plaintext connection after +OK, and
// nothing meant for the encrypted connection may be sent before it.
#include <gtest/gtest.h>

#include "pop3_harness.h"

namespace junction::pop3::testing {
namespace {

TEST(Pop3Stls, OkReleasesTheCommandsQueuedBehindIt) {
  client c;
  c.feed("+OK ready\r\n");
  ASSERT_EQ(c.next_event().type, event_type::greeting);
  ASSERT_TRUE(c.submit_stls());
  ASSERT_TRUE(c.submit_capa());  // capabilities must be read again over TLS
  EXPECT_EQ(c.pending_output(), "STLS\r\n");
  c.consume_output(6);
  c.feed("+OK Begin TLS negotiation now.\r\n");
  EXPECT_EQ(serialize(c.next_event()), "response STLS ok [Begin TLS negotiation now.]");
  // The driver starts TLS now and writes the rest through it.
  EXPECT_EQ(c.pending_output(), "CAPA\r\n");
  c.consume_output(6);
  c.feed("+OK\r\nSTLS\r\nUSER\r\n.\r\n");
  EXPECT_EQ(serialize(c.next_event()), "capability [STLS]");
  EXPECT_EQ(serialize(c.next_event()), "capability [USER]");
  EXPECT_EQ(serialize(c.next_event()), "response CAPA ok []");
}

// CVE-2011-0411: a man in the middle appends commands' answers after the +OK in the same
// packet; read after the handshake, they would pass for TLS-protected replies.
TEST(Pop3Stls, BytesAfterTheOkAreAnInjection) {
  std::string server = "+OK ready\r\n+OK Begin TLS\r\n+OK injected\r\n";
  run_result r = run_whole(server, [](client& c) {
    c.submit_stls();
    c.submit_user("tim");
  });
  EXPECT_EQ(join(r.events),
            "greeting ok [ready] ts=[]\nerror POP3: data after the STLS +OK before TLS started "
            "(possible injection) at byte 26\n");
  EXPECT_EQ(r.output, "STLS\r\n");  // USER never went out
}

TEST(Pop3Stls, RefusalWithCommandsQueuedBehindFailsWithoutSendingThem) {
  std::string server = "+OK ready\r\n-ERR TLS not available\r\n";
  run_result r = run_whole(server, [](client& c) {
    c.submit_stls();
    c.submit_user("tim");
    c.submit_pass("secret");
  });
  EXPECT_EQ(r.output, "STLS\r\n");
  EXPECT_EQ(r.events.back(),
            "error POP3: the server refused STLS; 2 command(s) queued behind it were not sent");
}

TEST(Pop3Stls, RefusalAloneIsAResponse) {
  run_result r = run_whole(
      "+OK ready\r\n-ERR not now\r\n", [](client& c) { c.submit_stls(); }, false);
  EXPECT_EQ(r.events.back(), "response STLS err [not now]");
}

TEST(Pop3Stls, SecondStlsIsMisuse) {
  client c;
  EXPECT_TRUE(c.submit_stls());
  EXPECT_FALSE(c.submit_stls());
  EXPECT_EQ(c.error().kind, error_kind::misuse);
}

}  // namespace
}  // namespace junction::pop3::testing
