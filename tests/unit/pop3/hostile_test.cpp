// Hostile and broken servers: every case ends in one clear, terminal protocol error with
// bounded memory, never a crash, a wrapped number or a hang; plus the quirks we tolerate.
#include <gtest/gtest.h>

#include "pop3_harness.h"

namespace junction::pop3::testing {
namespace {

const std::string kGreeting = "+OK ready\r\n";

std::string last_event(const std::string& server, const std::function<void(client&)>& submit,
                       bool eof = true, limits l = {}) {
  run_result whole = run_whole(server, submit, eof, l);
  run_result bytes = run_bytewise(server, submit, eof, l);
  EXPECT_EQ(whole.events, bytes.events) << "whole and byte-at-a-time differ";
  return whole.events.empty() ? std::string() : whole.events.back();
}

void submit_nothing(client&) {}

TEST(Pop3Hostile, EndlessLineFailsAfterMaxLineWithoutBufferingIt) {
  limits l;
  l.max_line = 100;
  client c(l);
  std::string chunk(64, 'A');
  chunk[0] = '+';
  event e;
  std::size_t fed = 0;
  for (int i = 0; i < 1000 && e.type != event_type::error; ++i) {
    c.feed(chunk);
    fed += chunk.size();
    e = c.next_event();
  }
  ASSERT_EQ(e.type, event_type::error);
  EXPECT_LE(fed, 192u);  // stopped at the first feed past 100 octets plus CRLF
  EXPECT_EQ(c.error().message, "POP3: line longer than 100 octets at byte 0");
  EXPECT_EQ(c.error().kind, error_kind::protocol);
}

TEST(Pop3Hostile, LineOfExactlyMaxLineIsAccepted) {
  limits l;
  l.max_line = 20;
  std::string text(16, 't');  // "+OK " + 16 = 20
  EXPECT_EQ(last_event("+OK " + text + "\r\n", submit_nothing, false, l),
            "greeting ok [" + text + "] ts=[]");
  EXPECT_EQ(last_event("+OK " + text + "x\r\n", submit_nothing, false, l),
            "error POP3: line longer than 20 octets at byte 0");
}

TEST(Pop3Hostile, StatusIndicatorsAreCaseSensitiveButTextIsOptional) {
  EXPECT_EQ(last_event("+KO ready\r\n", submit_nothing),
            "error POP3: bad status line \"+KO ready\" in response to the greeting at byte 0");
  EXPECT_EQ(last_event("+ok ready\r\n", submit_nothing),
            "error POP3: bad status line \"+ok ready\" in response to the greeting at byte 0");
  EXPECT_EQ(last_event("+OKAY\r\n", submit_nothing),
            "error POP3: bad status line \"+OKAY\" in response to the greeting at byte 0");
  EXPECT_EQ(last_event("\r\n", submit_nothing),
            "error POP3: bad status line \"\" in response to the greeting at byte 0");
  // Quirk: "+OK" and "-ERR" without text are accepted.
  EXPECT_EQ(last_event("+OK\r\n", submit_nothing, false), "greeting ok [] ts=[]");
  EXPECT_EQ(last_event(
                kGreeting + "-ERR\r\n", [](client& c) { c.submit_noop(); }, false),
            "response NOOP err []");
}

TEST(Pop3Hostile, ErrorGreetingIsReported) {
  EXPECT_EQ(last_event("-ERR too many connections\r\n", submit_nothing, false),
            "greeting err [too many connections] ts=[]");
}

TEST(Pop3Hostile, ListSizesBeyond64BitsAreRejected) {
  auto list = [](client& c) { c.submit_list(); };
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 18446744073709551615\r\n.\r\n", list, false),
            "listing_end LIST");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 18446744073709551616\r\n.\r\n", list),
            "error POP3: bad LIST line \"1 18446744073709551616\" (size out of range) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 99999999999999999999999\r\n.\r\n", list),
            "error POP3: bad LIST line \"1 99999999999999999999999\" (size out of range) at "
            "byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n99999999999999999999999 1\r\n.\r\n", list),
            "error POP3: bad LIST line \"99999999999999999999999 1\" (message number out of "
            "range) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 -5\r\n.\r\n", list),
            "error POP3: bad LIST line \"1 -5\" (size missing) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 5x\r\n.\r\n", list),
            "error POP3: bad LIST line \"1 5x\" (junk after the size) at byte 16");
}

TEST(Pop3Hostile, ListMayCarryInformationAfterTheSize) {
  run_result r = run_whole(
      kGreeting + "+OK\r\n1 120 extra info\r\n.\r\n", [](client& c) { c.submit_list(); }, false);
  EXPECT_EQ(r.events[1], "listing LIST 1 120 []");
}

TEST(Pop3Hostile, StatMustBeTwoNumbers) {
  auto stat = [](client& c) { c.submit_stat(); };
  EXPECT_EQ(last_event(kGreeting + "+OK 2 320\r\n", stat, false), "response STAT ok [2 320]");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n", stat),
            "error POP3: bad STAT response (message number missing) at byte 11");
  EXPECT_EQ(last_event(kGreeting + "+OK 2 99999999999999999999\r\n", stat),
            "error POP3: bad STAT response (size out of range) at byte 11");
}

TEST(Pop3Hostile, UidsMustBe1To70PrintableCharacters) {
  auto uidl = [](client& c) { c.submit_uidl(); };
  std::string uid70(70, 'u');
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 " + uid70 + "\r\n.\r\n", uidl, false),
            "listing_end UIDL");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 " + uid70 + "u\r\n.\r\n", uidl),
            "error POP3: bad UIDL line \"1 uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu...\" (unique-id "
            "must be 1 to 70 characters) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 \r\n.\r\n", uidl),
            "error POP3: bad UIDL line \"1 \" (unique-id must be 1 to 70 characters) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 ab\x01"
                                   "cd\r\n.\r\n",
                       uidl),
            "error POP3: bad UIDL line \"1 ab?cd\" (unique-id must be printable ASCII without "
            "spaces) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 ab cd\r\n.\r\n", uidl),
            "error POP3: bad UIDL line \"1 ab cd\" (unique-id must be printable ASCII without "
            "spaces) at byte 16");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 \xc3\xa9t\xc3\xa9\r\n.\r\n", uidl),
            "error POP3: bad UIDL line \"1 ??t??\" (unique-id must be printable ASCII without "
            "spaces) at byte 16");
}

TEST(Pop3Hostile, SingleMessageUidlGivesOneListing) {
  auto uidl2 = [](client& c) { c.submit_uidl(2); };
  run_result r = run_whole(kGreeting + "+OK 2 QhdPYR:00WBw1Ph7x7\r\n", uidl2, false);
  EXPECT_EQ(join(r.events), "greeting ok [ready] ts=[]\nlisting UIDL 2 0 [QhdPYR:00WBw1Ph7x7]\n");
  EXPECT_EQ(r.output, "UIDL 2\r\n");
  EXPECT_EQ(last_event(kGreeting + "-ERR no such message\r\n", uidl2, false),
            "response UIDL err [no such message]");
  EXPECT_EQ(last_event(kGreeting + "+OK 2 a\x7f\r\n", uidl2),
            "error POP3: bad UIDL response (unique-id must be printable ASCII without spaces) "
            "at byte 11");
}

TEST(Pop3Hostile, NulInAStatusOrListingLineIsRejected) {
  EXPECT_EQ(last_event(std::string("+OK re\0dy\r\n", 11), submit_nothing),
            "error POP3: NUL in a response line at byte 0");
  EXPECT_EQ(last_event(kGreeting + std::string("+OK\r\nUI\0DL\r\n.\r\n", 15),
                       [](client& c) { c.submit_capa(); }),
            "error POP3: NUL in a response line at byte 16");
}

TEST(Pop3Hostile, NulInABodyIsDeliveredAsData) {
  run_result r = run_whole(
      kGreeting + std::string("+OK\r\na\0b\r\n.\r\n", 14), [](client& c) { c.submit_retr(1); },
      false);
  EXPECT_EQ(r.events[2], "data [a\\x00b\\r\\n]");
}

TEST(Pop3Hostile, EofInTheMiddleOfAResponseIsAnError) {
  auto retr = [](client& c) { c.submit_retr(3); };
  EXPECT_EQ(last_event(kGreeting + "+OK\r\nSubject: x\r\n\r\nbody", retr),
            "error POP3: connection closed in the middle of the response to RETR 3 at byte 34");
  // A partial terminator is not a terminator.
  EXPECT_EQ(last_event(kGreeting + "+OK\r\nbody\r\n.", retr),
            "error POP3: connection closed in the middle of the response to RETR 3 at byte 23");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\nbody\r\n.\r", retr),
            "error POP3: connection closed in the middle of the response to RETR 3 at byte 24");
  // "text." at the end of a line does not end the message.
  EXPECT_EQ(last_event(kGreeting + "+OK\r\nlast line.\r\n", retr),
            "error POP3: connection closed in the middle of the response to RETR 3 at byte 28");
  EXPECT_EQ(last_event(kGreeting + "+O", [](client& c) { c.submit_stat(); }),
            "error POP3: connection closed in the middle of the response to STAT at byte 13");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n1 abc\r\n", [](client& c) { c.submit_uidl(); }),
            "error POP3: connection closed in the middle of the response to UIDL at byte 23");
  EXPECT_EQ(last_event("+OK rea", submit_nothing),
            "error POP3: connection closed in the middle of the greeting at byte 7");
}

TEST(Pop3Hostile, EofAfterQuitIsNormalAndEofWhenIdleIsNot) {
  run_result r = run_whole(kGreeting + "+OK bye\r\n", [](client& c) { c.submit_quit(); });
  EXPECT_EQ(r.events.back(), "response QUIT ok [bye]");
  EXPECT_EQ(last_event(kGreeting, submit_nothing),
            "error POP3: connection closed by the server before QUIT");
}

TEST(Pop3Hostile, DataWithNoCommandPendingIsAnError) {
  EXPECT_EQ(last_event(kGreeting + "+OK surprise\r\n", submit_nothing, false),
            "error POP3: unexpected data from the server with no command pending at byte 11");
  EXPECT_EQ(last_event(kGreeting + "+OK bye\r\n+OK more\r\n", [](client& c) { c.submit_quit(); }),
            "error POP3: unexpected data from the server with no command pending at byte 20");
}

TEST(Pop3Hostile, MessageOverTheSizeLimitStopsAtTheLimit) {
  limits l;
  l.max_message_size = 10;
  auto retr = [](client& c) { c.submit_retr(1); };
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n12345678\r\n.\r\n", retr, false, l),
            "message_end RETR 1 size=10");
  EXPECT_EQ(last_event(kGreeting + "+OK\r\n123456789\n.\r\n", retr, false, l),
            "message_end RETR 1 size=10");
  run_result r = run_whole(kGreeting + "+OK\r\n123456789\r\n.\r\n", retr, true, l);
  EXPECT_EQ(join(r.events),
            "greeting ok [ready] ts=[]\nmessage_begin RETR 1\ndata [123456789\\r]\n"
            "error POP3: message 1 exceeds limit 10 octets at byte 26\n");
  EXPECT_EQ(run_bytewise(kGreeting + "+OK\r\n123456789\r\n.\r\n", retr, true, l).events, r.events);
}

TEST(Pop3Hostile, TooManyCapabilitiesOrListingLines) {
  limits l;
  l.max_capabilities = 2;
  l.max_listing_entries = 2;
  EXPECT_EQ(
      last_event(
          kGreeting + "+OK\r\nA\r\nB\r\nC\r\n.\r\n", [](client& c) { c.submit_capa(); }, true, l),
      "error POP3: more than 2 capabilities at byte 22");
  EXPECT_EQ(last_event(
                kGreeting + "+OK\r\n1 1\r\n2 2\r\n3 3\r\n.\r\n", [](client& c) { c.submit_list(); },
                true, l),
            "error POP3: more than 2 LIST lines at byte 26");
}

TEST(Pop3Hostile, CapaErrIsAnOrdinaryResponse) {
  EXPECT_EQ(last_event(
                kGreeting + "-ERR unknown command\r\n", [](client& c) { c.submit_capa(); }, false),
            "response CAPA err [unknown command]");
}

// The terminator decision waits for at most two bytes; everything else is delivered now.
TEST(Pop3Hostile, BodyHoldsBackOnlyAPossibleTerminator) {
  client c;
  c.feed(kGreeting);
  c.next_event();
  c.submit_retr(1);
  c.feed("+OK\r\nabc");
  EXPECT_EQ(c.next_event().type, event_type::message_begin);
  EXPECT_EQ(serialize(c.next_event()), "data [abc]");
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  c.feed("\r\n.");
  EXPECT_EQ(serialize(c.next_event()), "data [\\r\\n]");
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  c.feed("\r");
  EXPECT_EQ(c.next_event().type, event_type::need_data);
  c.feed("x\r\n.");
  EXPECT_EQ(serialize(c.next_event()), "data [\\rx\\r\\n]");  // ".\rx" was a stuffed line
  c.feed(".y\r\n.\r\n");
  EXPECT_EQ(serialize(c.next_event()), "data [.y\\r\\n]");
  EXPECT_EQ(serialize(c.next_event()), "message_end RETR 1 size=13");
}

TEST(Pop3Hostile, MisuseIsTerminalAndReported) {
  client c;
  EXPECT_TRUE(c.submit_quit());
  EXPECT_FALSE(c.submit_noop());
  EXPECT_EQ(c.error().kind, error_kind::misuse);
  EXPECT_EQ(c.error().message, "POP3: NOOP submitted after QUIT");
  event e = c.next_event();
  EXPECT_EQ(e.type, event_type::error);
  EXPECT_EQ(e.text, "POP3: NOOP submitted after QUIT");
  c.feed("+OK ready\r\n");
  EXPECT_EQ(c.next_event().type, event_type::error);
  EXPECT_FALSE(c.awaiting_response());

  client d;
  EXPECT_FALSE(d.submit_retr(0));
  EXPECT_EQ(d.error().message, "POP3: RETR of message number 0");

  client f;
  f.consume_output(1);
  EXPECT_EQ(f.error().kind, error_kind::misuse);

  client g;
  g.feed_eof();
  EXPECT_FALSE(g.submit_stat());
  EXPECT_EQ(g.error().kind, error_kind::protocol);
}

}  // namespace
}  // namespace junction::pop3::testing
