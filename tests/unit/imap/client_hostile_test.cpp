// Hostile and quirky server input: each transcript must give the same events however it is
// split, and hostile ones must end in a clear protocol error.
#include <gtest/gtest.h>

#include "imap/client.h"
#include "imap_test_util.h"

namespace junction::imap {
namespace {

using testing::join;
using testing::run_bytewise;
using testing::run_pieces;
using testing::run_result;
using testing::run_whole;

void submit_all(client& c) {
  c.submit_capability();
  c.submit_login("joe", "secret");
  c.submit_list("", "*");
  c.submit_examine("INBOX");
  c.submit_uid_search(1, 0);
  c.submit_uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])");
  c.submit_logout();
}

// Runs `input` whole, split at every offset and byte by byte; all must agree. Returns the
// events of the whole run.
std::string events_of(std::string_view input, limits l = {}) {
  run_result whole = run_whole(submit_all, input, true, l);
  std::string expected = join(whole.events);
  for (std::size_t k = 0; k <= input.size(); ++k) {
    run_result r = run_pieces(submit_all, {input.substr(0, k), input.substr(k)}, true, l);
    EXPECT_EQ(join(r.events), expected) << "split at " << k;
    if (join(r.events) != expected) break;
  }
  EXPECT_EQ(join(run_bytewise(submit_all, input, true, l).events), expected) << "byte at a time";
  return expected;
}

std::string last_line(const std::string& events) {
  std::string s = events.substr(0, events.size() - 1);
  return s.substr(s.rfind('\n') + 1);
}

const std::string kGreeting = "* OK ready\r\n";

// ---- hostile ----

TEST(ImapHostile, EndlessLineIsRefusedWithBoundedMemory) {
  client c;
  c.feed(kGreeting);
  while (c.next_event().type != event_type::need_data) {
  }
  c.feed("* OK ");
  std::string chunk(4096, 'a');
  std::size_t fed = 0;
  while (!c.error() && fed < (1u << 20)) {
    c.feed(chunk);
    fed += chunk.size();
    c.next_event();
  }
  EXPECT_LE(fed, 65536u + 4096u);  // refused as soon as the limit is passed
  EXPECT_EQ(c.error().message, "IMAP: response line longer than 65536 bytes at byte 12");
}

TEST(ImapHostile, EndlessLineSplitAnywhere) {
  limits l;
  l.max_line = 64;
  std::string input = kGreeting + "* OK " + std::string(100, 'x');
  EXPECT_EQ(last_line(events_of(input, l)),
            "error IMAP: response line longer than 64 bytes at byte 12");
}

TEST(ImapHostile, LiteralSizesBeyond64BitsAndLimits) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {18446744073709551616}\r\nx")),
            "error IMAP: literal size 18446744073709551616 out of range at byte 30");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {99999999999999999999}\r\nx")),
            "error IMAP: literal size 99999999999999999999 out of range at byte 30");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {18446744073709551615}\r\nx")),
            "error IMAP: literal size 18446744073709551615 exceeds limit 536870912 at byte 30");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {99999999999}\r\nx")),
            "error IMAP: literal size 99999999999 exceeds limit 536870912 at byte 30");
}

TEST(ImapHostile, HugeNumbersAreRefused) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* 99999999999999999999 EXISTS\r\n")),
            "error IMAP: number 99999999999999999999 out of range at byte 14");
}

TEST(ImapHostile, UnbalancedParentheses) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (UID 1))\r\n")),
            "error IMAP: unbalanced ')' at byte 29");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (UID 1 FLAGS (\\Seen)\r\n")),
            "error IMAP: unbalanced '(' at end of response at byte 42");
  EXPECT_EQ(last_line(events_of(kGreeting + "* LIST (\\Noselect \"/\" INBOX\r\n")),
            "error IMAP: malformed LIST attributes at byte 30");
}

TEST(ImapHostile, DepthBomb) {
  std::string input = kGreeting + "* 1 FETCH (X-FOO " + std::string(10000, '(') + "\r\n";
  EXPECT_EQ(last_line(events_of(input.substr(0, 200) + "\r\n")),
            "error IMAP: parentheses nested deeper than 32 at byte 60");
  // Unknown untagged responses are skipped with the same guard.
  EXPECT_EQ(last_line(events_of(kGreeting + "* XFOO " + std::string(40, '(') + "\r\n")),
            "error IMAP: parentheses nested deeper than 32 at byte 51");
}

TEST(ImapHostile, NulBytes) {
  using namespace std::string_literals;
  EXPECT_EQ(last_line(events_of(kGreeting + "* OK hello\0world\r\n"s)),
            "error IMAP: NUL byte in a response at byte 22");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (UID 1\0)\r\n"s)),
            "error IMAP: NUL byte in a response at byte 28");
  EXPECT_EQ(last_line(events_of(kGreeting + "* LIST () \"/\" \"IN\0BOX\"\r\n"s)),
            "error IMAP: NUL byte in a quoted string at byte 29");
  EXPECT_EQ(last_line(events_of("\0* OK\r\n"s)), "error IMAP: NUL byte in a response at byte 0");
}

TEST(ImapHostile, InvalidTags) {
  EXPECT_EQ(last_line(events_of(kGreeting + "X99 OK done\r\n")),
            "error IMAP: response tag \"X99\" matches no command at byte 12");
  EXPECT_EQ(last_line(events_of(kGreeting + "J99 OK done\r\n")),
            "error IMAP: response tag \"J99\" matches no command at byte 12");
  EXPECT_EQ(last_line(events_of(kGreeting + "J1 MAYBE done\r\n")),
            "error IMAP: tagged response is not OK, NO or BAD at byte 15");
}

TEST(ImapHostile, ContinuationNobodyAskedFor) {
  EXPECT_EQ(last_line(events_of(kGreeting + "+ Ready\r\n")),
            "error IMAP: continuation request '+' nobody asked for at byte 12");
}

TEST(ImapHostile, GreetingMustComeFirst) {
  EXPECT_EQ(last_line(events_of("J1 OK done\r\n")), "error IMAP: expected a greeting at byte 0");
  EXPECT_EQ(last_line(events_of("* 3 EXISTS\r\n")), "error IMAP: expected a greeting at byte 2");
  EXPECT_EQ(last_line(events_of("* NO go away\r\n")),
            "error IMAP: greeting is not OK, PREAUTH or BYE at byte 2");
  EXPECT_EQ(last_line(events_of("HTTP/1.1 400 Bad Request\r\n")),
            "error IMAP: expected a greeting at byte 0");
}

TEST(ImapHostile, EofCutsResponses) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {10}\r\nabc")),
            "error IMAP: connection closed in the middle of a response at byte 39");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {3}\r\nabc")),
            "error IMAP: connection closed in the middle of a response at byte 38");
  EXPECT_EQ(last_line(events_of(kGreeting + "J1 OK done")),
            "error IMAP: connection closed in the middle of a response at byte 22");
  EXPECT_EQ(last_line(events_of(kGreeting)),
            "error IMAP: connection closed by the server without BYE at byte 12");
}

TEST(ImapHostile, LiteralMarkerInsideALine) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] {5} UID 1)\r\n")),
            "error IMAP: literal marker not at the end of its line at byte 30");
}

TEST(ImapHostile, MalformedFetch) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH UID 1\r\n")),
            "error IMAP: malformed FETCH response at byte 22");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (UID abc)\r\n")),
            "error IMAP: malformed number in FETCH at byte 27");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (BODY[] (1 2))\r\n")),
            "error IMAP: malformed body in FETCH at byte 30");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (UID 1) junk\r\n")),
            "error IMAP: unexpected data after a FETCH response at byte 30");
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (\"UID\" 1)\r\n")),
            "error IMAP: malformed FETCH attribute at byte 23");
}

TEST(ImapHostile, BadUidvalidity) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* OK [UIDVALIDITY x] bad\r\n")),
            "error IMAP: malformed UIDVALIDITY response code at byte 17");
}

TEST(ImapHostile, TooManyListItems) {
  limits l;
  l.max_list_items = 3;
  EXPECT_EQ(last_line(events_of(kGreeting + "* 1 FETCH (FLAGS (a b c d))\r\n", l)),
            "error IMAP: more than 3 items in a list at byte 36");
  EXPECT_EQ(last_line(events_of(kGreeting + "* CAPABILITY A B C D\r\n", l)),
            "error IMAP: more than 3 capabilities at byte 25");
}

TEST(ImapHostile, HugeLiteralMailboxName) {
  EXPECT_EQ(last_line(events_of(kGreeting + "* LIST () \"/\" {100000}\r\nx")),
            "error IMAP: mailbox name of 100000 bytes exceeds limit 65536 at byte 26");
}

TEST(ImapHostile, InvalidUtf8PassesThroughAsBytes) {
  // Mailbox names may be 8-bit (UTF8=ACCEPT); the engine reports the bytes as sent and leaves
  // their validation (mutf7_decode, UTF-8 checks) to the caller.
  std::string events = events_of(kGreeting + "* LIST () \"/\" \"\xff\xfe\"\r\n* BYE x\r\n");
  EXPECT_EQ(events, "greeting ok ready\nlist () / \xff\xfe\nuntagged bye x\n");
}

// ---- quirks (tolerated, with the transcripts that need them) ----

TEST(ImapQuirks, LowercaseStatusExtraSpacesBareLfAndEmptyText) {
  std::string input =
      "* ok  [CAPABILITY imap4rev1 idle]   hello\n"
      "*   3   EXISTS  \r\n"
      "\r\n"
      "* OK\r\n"
      "J1 ok\r\n"
      "J2 OK [ALERT unterminated code\r\n"
      "* list (\\HasNoChildren)  \"/\"   INBOX\r\n"
      "* search\r\n"
      "* SEARCH 2 4 (MODSEQ 917162500)\r\n"
      "J3 no [ALERT] Mailbox is at 95% of quota\r\n"
      "* bye\r\n";
  EXPECT_EQ(events_of(input),
            "capability (IMAP4REV1 IDLE)\n"
            "greeting ok [CAPABILITY] hello\n"
            "exists 3\n"
            "untagged ok \n"
            "tagged J1 ok \n"
            "tagged J2 ok [ALERT unterminated code\n"
            "list (\\HasNoChildren) / INBOX\n"
            "search 2\n"
            "search 4\n"
            "tagged J3 no [ALERT] Mailbox is at 95% of quota\n"
            "untagged bye \n");
}

TEST(ImapQuirks, UnknownResponsesAreSkippedIncludingLiterals) {
  std::string input = kGreeting +
                      "* ENABLED CONDSTORE\r\n"
                      "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
                      "* STATUS {5}\r\nINBOX (MESSAGES 3 UNSEEN 1)\r\n"
                      "* ID (\"name\" \"Dovecot\" \"x\" {3}\r\n)()) \r\n"
                      "* 4 RECENT\r\n"
                      "* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Limited\r\n"
                      "* NO [BADCHARSET (UTF-8 \"x\")] whatever {5}\r\n"
                      "* 1 EXPUNGE\r\n"
                      "* BYE\r\n";
  EXPECT_EQ(events_of(input),
            "greeting ok ready\n"
            "untagged ok [PERMANENTFLAGS] Limited\n"
            "untagged no [BADCHARSET] whatever {5}\n"
            "expunge 1\n"
            "untagged bye \n");
}

TEST(ImapQuirks, FetchVariants) {
  std::string input = kGreeting +
                      "* 1 FETCH (uid 7 body[] NIL rfc822.size 3)\r\n"
                      "* 2 FETCH (UID 8 BINARY[] ~{3}\r\nZ\xff\x01 INTERNALDATE NIL)\r\n"
                      "* 3 FETCH (UID 9 BODY (\"text\" \"plain\" NIL NIL NIL \"7bit\" 3 1) "
                      "BINARY.SIZE[1] 42 BODY[1.MIME] {2}\r\nab RFC822.HEADER {4}\r\nh: x)\r\n"
                      "* 4 FETCH (FLAGS (\\Seen) UID 10 RFC822 \"\" MODSEQ (3))\r\n"
                      "* BYE\r\n";
  input[input.find("~{3}") + 6] = '\0';
  EXPECT_EQ(events_of(input),
            "greeting ok ready\n"
            "fetch 1\nuid 7\nbody [] 0\nbody_end\nsize 3\nfetch_end\n"
            "fetch 2\nuid 8\nbody [] 3\n" +
                std::string("data \0\xff\x01\n", 9) +
                "body_end\nfetch_end\n"
                "fetch 3\nuid 9\nbody [1.MIME] 2\ndata ab\nbody_end\nbody [HEADER] 4\ndata h: x\n"
                "body_end\nfetch_end\n"
                "fetch 4\nflags (\\Seen)\nuid 10\nbody [] 0\nbody_end\nfetch_end\n"
                "untagged bye \n");
}

TEST(ImapQuirks, ByteAtATimeCostsLinearTime) {
  // 512 KB of literal and 512 KB of a long line fed one byte at a time: a rescan per byte would
  // take minutes; this must finish quickly (the assertion is on the result, not the time).
  limits l;
  l.max_line = 1u << 20;
  std::string body(512u << 10, 'b');
  std::string line = "* OK " + std::string(512u << 10, 't') + "\r\n";
  std::string input = kGreeting + "* 1 FETCH (BODY[] {" + std::to_string(body.size()) + "}\r\n" +
                      body + ")\r\n" + line + "* BYE\r\n";
  run_result r = run_bytewise(submit_all, input, true, l);
  ASSERT_EQ(r.events.size(), 8u);
  EXPECT_EQ(r.events[3].size(), 5 + body.size());
  EXPECT_EQ(r.events[6].size(), line.size() - 2 + 7);
}

}  // namespace
}  // namespace junction::imap
