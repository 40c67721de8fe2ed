// The bytes each command puts on the wire, literals and continuation requests, STARTTLS, and
// misuse of the API.
#include <gtest/gtest.h>

#include "imap/client.h"
#include "imap_test_util.h"

namespace junction::imap {
namespace {

using testing::describe;

// Drains events to need_data; returns them as lines.
std::string events(client& c) {
  std::string s;
  for (;;) {
    event e = c.next_event();
    if (e.type == event_type::need_data) return s;
    s += describe(e) + "\n";
    if (e.type == event_type::error) return s;
  }
}

std::string take_output(client& c) {
  std::string out(c.pending_output());
  c.consume_output(out.size());
  return out;
}

client greeted(std::string_view greeting = "* OK ready\r\n") {
  client c;
  c.feed(greeting);
  events(c);
  return c;
}

TEST(ImapCommands, TagsCountUpFromOne) {
  client c;
  EXPECT_EQ(c.submit_capability(), 1u);
  EXPECT_EQ(c.submit_noop(), 2u);
  EXPECT_EQ(c.submit_logout(), 3u);
  EXPECT_EQ(take_output(c), "J1 CAPABILITY\r\nJ2 NOOP\r\nJ3 LOGOUT\r\n");
}

TEST(ImapCommands, LoginQuotesAndEscapes) {
  client c = greeted();
  c.submit_login("jo\"e\\", "pass word");
  EXPECT_EQ(take_output(c), "J1 LOGIN \"jo\\\"e\\\\\" \"pass word\"\r\n");
  c.submit_login("", "");
  EXPECT_EQ(take_output(c), "J2 LOGIN \"\" \"\"\r\n");
}

TEST(ImapCommands, LoginWithSynchronizingLiteralsWaitsForEachContinuation) {
  client c = greeted();
  c.submit_login("m\xc3\xbcller", "p\xc3\xa4ss\r\n");
  c.submit_noop();  // must not overtake the held literal
  EXPECT_EQ(take_output(c), "J1 LOGIN {7}\r\n");
  EXPECT_EQ(events(c), "");
  c.feed("+ Ready for literal data\r\n");
  EXPECT_EQ(events(c), "");
  EXPECT_EQ(take_output(c), "m\xc3\xbcller {7}\r\n");
  c.feed("+\r\n");  // quirk: no space, no text
  EXPECT_EQ(events(c), "");
  EXPECT_EQ(take_output(c), "p\xc3\xa4ss\r\n\r\nJ2 NOOP\r\n");
  c.feed("J1 OK Logged in\r\nJ2 OK NOOP completed\r\n");
  EXPECT_EQ(events(c), "tagged J1 ok Logged in\ntagged J2 ok NOOP completed\n");
}

TEST(ImapCommands, LoginUsesLiteralPlusWhenAnnounced) {
  client c = greeted("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
  c.submit_login("joe", "p\xc3\xa4ss");
  EXPECT_EQ(take_output(c), "J1 LOGIN \"joe\" {5+}\r\np\xc3\xa4ss\r\n");
}

TEST(ImapCommands, LiteralMinusCoversOnly4096Octets) {
  client c = greeted("* OK [CAPABILITY IMAP4rev1 LITERAL-] ready\r\n");
  c.submit_login("joe", "p\xc3\xa4ss");
  EXPECT_EQ(take_output(c), "J1 LOGIN \"joe\" {5+}\r\np\xc3\xa4ss\r\n");
  std::string long_password(5000, 'x');
  c.submit_login("joe", long_password);  // longer than 1000: a literal; beyond 4096: synchronizing
  EXPECT_EQ(take_output(c), "J2 LOGIN \"joe\" {5000}\r\n");
}

TEST(ImapCommands, RefusedLiteralDropsTheRestOfTheCommand) {
  client c = greeted();
  c.submit_login("j\xc3\xb6", "secret");
  c.submit_noop();
  EXPECT_EQ(take_output(c), "J1 LOGIN {3}\r\n");
  c.feed("J1 NO [AUTHENTICATIONFAILED] Literal refused\r\n");
  EXPECT_EQ(events(c), "tagged J1 no [AUTHENTICATIONFAILED] Literal refused\n");
  EXPECT_EQ(take_output(c), "J2 NOOP\r\n");
  c.feed("+ go ahead\r\n");  // nobody waits for it any more
  EXPECT_EQ(events(c), "error IMAP: continuation request '+' nobody asked for at byte 58\n");
}

TEST(ImapCommands, AuthenticatePlainWithSaslIr) {
  client c = greeted("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n");
  c.submit_authenticate_plain("joe", "secret");
  EXPECT_EQ(take_output(c), "J1 AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=\r\n");
}

TEST(ImapCommands, AuthenticatePlainAnswersTheContinuation) {
  client c = greeted();
  c.submit_authenticate_plain("joe", "secret");
  EXPECT_EQ(take_output(c), "J1 AUTHENTICATE PLAIN\r\n");
  c.feed("+ \r\n");
  EXPECT_EQ(events(c), "");
  EXPECT_EQ(take_output(c), "AGpvZQBzZWNyZXQ=\r\n");
  c.feed("J1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
  EXPECT_EQ(events(c), "tagged J1 no [AUTHENTICATIONFAILED] Authentication failed.\n");
}

TEST(ImapCommands, ExamineAndListQuoteOrUseLiterals) {
  client c = greeted();
  c.submit_examine("Archive/2023 \"Q1\"");
  EXPECT_EQ(take_output(c), "J1 EXAMINE \"Archive/2023 \\\"Q1\\\"\"\r\n");
  c.submit_list("", "%");
  EXPECT_EQ(take_output(c), "J2 LIST \"\" \"%\"\r\n");
  c.submit_examine("Caf\xc3\xa9");
  EXPECT_EQ(take_output(c), "J3 EXAMINE {5}\r\n");
  c.feed("+ OK\r\n");
  EXPECT_EQ(events(c), "");
  EXPECT_EQ(take_output(c), "Caf\xc3\xa9\r\n");
}

TEST(ImapCommands, UidSearchRanges) {
  client c;
  c.submit_uid_search(1, 0);
  c.submit_uid_search(0, 200);
  c.submit_uid_search(7, 9);
  EXPECT_EQ(take_output(c),
            "J1 UID SEARCH UID 1:*\r\nJ2 UID SEARCH UID 1:200\r\nJ3 UID SEARCH UID 7:9\r\n");
}

TEST(ImapCommands, UidFetchPassesSetAndItemsThrough) {
  client c;
  c.submit_uid_fetch("101:200,205", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
  EXPECT_EQ(take_output(c),
            "J1 UID FETCH 101:200,205 (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])\r\n");
}

TEST(ImapCommands, UidFetchRefusesCommandInjection) {
  client c;
  EXPECT_EQ(c.submit_uid_fetch("1:*", "(UID)\r\nJ9 DELETE INBOX"), 0u);
  EXPECT_EQ(c.error().kind, error_kind::misuse);
  EXPECT_EQ(c.pending_output(), "");
  EXPECT_EQ(c.next_event().type, event_type::error);
  EXPECT_EQ(c.submit_noop(), 0u);  // failed: every call is a no-op
}

TEST(ImapCommands, NulInCredentialsIsMisuse) {
  client c;
  EXPECT_EQ(c.submit_login("joe", std::string_view("a\0b", 3)), 0u);
  EXPECT_EQ(c.error().kind, error_kind::misuse);
}

TEST(ImapCommands, ConsumingMoreThanPendingIsMisuse) {
  client c;
  c.submit_noop();
  c.consume_output(100);
  EXPECT_EQ(c.error().kind, error_kind::misuse);
  EXPECT_EQ(c.error().message, "IMAP: consume_output(100) beyond the 9 pending bytes");
}

TEST(ImapCommands, PartialWritesKeepTheRestPending) {
  client c;
  c.submit_noop();
  c.consume_output(3);
  EXPECT_EQ(c.pending_output(), "NOOP\r\n");
  c.submit_logout();
  EXPECT_EQ(c.pending_output(), "NOOP\r\nJ2 LOGOUT\r\n");
}

TEST(ImapStarttls, OkThenCapabilityAfterTheHandshake) {
  client c = greeted("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
  EXPECT_TRUE(c.has_capability("STARTTLS"));
  c.submit_starttls();
  EXPECT_EQ(take_output(c), "J1 STARTTLS\r\n");
  c.feed("J1 OK Begin TLS negotiation now.\r\n");
  EXPECT_EQ(events(c), "tagged J1 ok Begin TLS negotiation now.\n");
  // The caller runs the TLS handshake, then asks again: old capabilities are forgotten.
  c.submit_capability();
  EXPECT_FALSE(c.has_capability("STARTTLS"));
  EXPECT_EQ(take_output(c), "J2 CAPABILITY\r\n");
  c.feed("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nJ2 OK done\r\n");
  EXPECT_EQ(events(c), "capability (IMAP4REV1 AUTH=PLAIN)\ntagged J2 ok done\n");
}

TEST(ImapStarttls, DataBufferedWithTheOkIsAnInjection) {
  client c = greeted();
  c.submit_starttls();
  c.feed("J1 OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
  EXPECT_EQ(events(c),
            "error IMAP: data after the STARTTLS response (possible injection) at byte 29\n");
  EXPECT_EQ(c.error().kind, error_kind::protocol);
}

TEST(ImapStarttls, DataArrivingBeforeTheHandshakeIsAnInjection) {
  client c = greeted();
  c.submit_starttls();
  c.feed("J1 OK Begin TLS\r\n");
  EXPECT_EQ(events(c), "tagged J1 ok Begin TLS\n");
  c.feed("* OK injected\r\n");
  EXPECT_EQ(events(c),
            "error IMAP: data after the STARTTLS response (possible injection) at byte 29\n");
}

TEST(ImapStarttls, RefusedStarttlsLeavesTheSessionInClear) {
  client c = greeted();
  c.submit_starttls();
  c.feed("J1 BAD TLS support isn't enabled.\r\n* 1 EXISTS\r\n");
  EXPECT_EQ(events(c), "tagged J1 bad TLS support isn't enabled.\nexists 1\n");
}

}  // namespace
}  // namespace junction::imap
