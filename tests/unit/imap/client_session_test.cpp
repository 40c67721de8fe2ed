// A realistic Dovecot 2.3 session, fed whole, split at every byte offset and one byte at a
// time, with CRLF and with bare LF line ends.
#include <gtest/gtest.h>

#include "imap/client.h"
#include "imap/mutf7.h"
#include "imap_test_util.h"

namespace junction::imap {
namespace {

using testing::join;
using testing::run_bytewise;
using testing::run_pieces;
using testing::run_result;
using testing::run_whole;

std::string literal(std::string_view body) {
  return "{" + std::to_string(body.size()) + "}\r\n" + std::string(body);
}

const std::string kBody1 = "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n";
// A body that looks like protocol: parentheses, a literal marker, responses and a tag.
const std::string kBody3 =
    "Subject: tricky\r\n\r\nA line with ) and {5}\r\nand \"quotes\" (nested\r\n"
    "* 9 EXISTS\r\nJ6 OK fake completion\r\n";
const std::string kHeader4 = "Message-ID: <a@b>\r\n\r\n";

// The server's side of the session; `eol` ends every protocol line (literal contents keep
// their CRLFs whatever the line ends are).
std::string dovecot_session(std::string_view eol) {
  std::string e(eol);
  std::string s;
  s += "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
       "AUTH=PLAIN] Dovecot (Debian) ready." +
       e;
  s += "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN" + e;
  s += "J1 OK Pre-login capabilities listed, post-login capabilities have more." + e;
  s += "J2 OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT UIDPLUS "
       "LIST-EXTENDED CONDSTORE QRESYNC ESEARCH BINARY MOVE LITERAL+ SPECIAL-USE] Logged in" +
       e;
  s += "* LIST (\\HasNoChildren) \"/\" INBOX" + e;
  s += "* LIST (\\HasChildren \\Noselect) \"/\" Archive" + e;
  s += "* LIST (\\HasNoChildren \\Sent) \"/\" Sent" + e;
  s += "* LIST (\\HasNoChildren) \"/\" \"Archive/2023 Q1\"" + e;
  s += "* LIST (\\HasNoChildren) \"/\" \"Say \\\"hi\\\" \\\\ bye\"" + e;
  s += "* LIST (\\HasNoChildren) \"/\" \"&AMk-t&AOk-\"" + e;
  s += "* LIST (\\HasNoChildren) \"/\" " + literal("Caf\xc3\xa9 Menu") + e;
  s += "* LIST (\\Noselect) NIL \"\"" + e;
  s += "J3 OK List completed (0.001 + 0.000 secs)." + e;
  s += "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)" + e;
  s += "* OK [PERMANENTFLAGS ()] Read-only mailbox." + e;
  s += "* 5 EXISTS" + e;
  s += "* 0 RECENT" + e;
  s += "* OK [UNSEEN 3] First unseen." + e;
  s += "* OK [UIDVALIDITY 1700000000] UIDs valid" + e;
  s += "* OK [UIDNEXT 106] Predicted next UID" + e;
  s += "* OK [HIGHESTMODSEQ 14] Highest" + e;
  s += "J4 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs)." + e;
  s += "* SEARCH 101 102 104 105" + e;
  s += "J5 OK Search completed (0.001 + 0.000 secs)." + e;
  s += "* 1 FETCH (UID 101 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
       "RFC822.SIZE " +
       std::to_string(kBody1.size()) +
       " BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 44 2 NIL "
       "NIL NIL NIL) BODY[] " +
       literal(kBody1) + ")" + e;
  s += "* 2 FETCH (UID 102 MODSEQ (12) FLAGS () INTERNALDATE \"01-Jan-2024 00:00:00 +0000\" "
       "RFC822.SIZE 0 BODY[] {0}" +
       e + ")" + e;
  s += "* 6 EXISTS" + e;
  s += "* 3 FETCH (BODY[] " + literal(kBody3) +
       " UID 104 X-GM-LABELS (\\Inbox \"Work \\\"x\\\"\" " + literal("La)b(") +
       " (\"nested\" NIL)) FLAGS (\\Seen \\Answered $Forwarded) RFC822.SIZE " +
       std::to_string(kBody3.size()) + " INTERNALDATE \"02-Feb-2024 10:11:12 +0100\")" + e;
  s += "* 2 EXPUNGE" + e;
  s += "* 3 FETCH (UID 105 ENVELOPE (\"Mon, 1 Jan 2024 00:00:00 +0000\" \"subj\" ((\"Name\" NIL "
       "\"a\" \"b.org\")) NIL NIL NIL NIL NIL NIL \"<a@b>\") BODY[HEADER.FIELDS (MESSAGE-ID)] " +
       literal(kHeader4) + " BODY[]<0> \"short \\\"body\\\"\" FLAGS (\\Recent))" + e;
  s += "J6 OK Fetch completed (0.002 + 0.000 + 0.001 secs)." + e;
  s += "* BYE Logging out" + e;
  s += "J7 OK Logout completed (0.001 + 0.000 secs)." + e;
  return s;
}

void submit_session(client& c) {
  EXPECT_EQ(c.submit_capability(), 1u);
  EXPECT_EQ(c.submit_login("jane", "s3cret pass"), 2u);
  EXPECT_EQ(c.submit_list("", "*"), 3u);
  EXPECT_EQ(c.submit_examine("INBOX"), 4u);
  EXPECT_EQ(c.submit_uid_search(101, 0), 5u);
  EXPECT_EQ(c.submit_uid_fetch("101:105", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"), 6u);
  EXPECT_EQ(c.submit_logout(), 7u);
}

std::vector<std::string> expected_session_events() {
  const std::string pre_caps =
      "capability (IMAP4REV1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN)";
  return {
      pre_caps,
      "greeting ok [CAPABILITY] Dovecot (Debian) ready.",
      pre_caps,
      "tagged J1 ok Pre-login capabilities listed, post-login capabilities have more.",
      "capability (IMAP4REV1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT UIDPLUS LIST-EXTENDED "
      "CONDSTORE QRESYNC ESEARCH BINARY MOVE LITERAL+ SPECIAL-USE)",
      "tagged J2 ok [CAPABILITY] Logged in",
      "list (\\HasNoChildren) / INBOX",
      "list (\\HasChildren \\Noselect) / Archive",
      "list (\\HasNoChildren \\Sent) / Sent",
      "list (\\HasNoChildren) / Archive/2023 Q1",
      "list (\\HasNoChildren) / Say \"hi\" \\ bye",
      "list (\\HasNoChildren) / &AMk-t&AOk-",
      "list (\\HasNoChildren) / Caf\xc3\xa9 Menu",
      "list (\\Noselect) NIL ",
      "tagged J3 ok List completed (0.001 + 0.000 secs).",
      "untagged ok [PERMANENTFLAGS] Read-only mailbox.",
      "exists 5",
      "untagged ok [UNSEEN 3] First unseen.",
      "untagged ok [UIDVALIDITY 1700000000] UIDs valid",
      "untagged ok [UIDNEXT 106] Predicted next UID",
      "untagged ok [HIGHESTMODSEQ 14] Highest",
      "tagged J4 ok [READ-ONLY] Examine completed (0.001 + 0.000 secs).",
      "search 101",
      "search 102",
      "search 104",
      "search 105",
      "tagged J5 ok Search completed (0.001 + 0.000 secs).",
      "fetch 1",
      "uid 101",
      "flags (\\Seen)",
      "internaldate 17-Jul-1996 02:44:25 -0700",
      "size " + std::to_string(kBody1.size()),
      "body [] " + std::to_string(kBody1.size()),
      "data " + kBody1,
      "body_end",
      "fetch_end",
      "fetch 2",
      "uid 102",
      "flags ()",
      "internaldate 01-Jan-2024 00:00:00 +0000",
      "size 0",
      "body [] 0",
      "body_end",
      "fetch_end",
      "exists 6",
      "fetch 3",
      "body [] " + std::to_string(kBody3.size()),
      "data " + kBody3,
      "body_end",
      "uid 104",
      "flags (\\Seen \\Answered $Forwarded)",
      "size " + std::to_string(kBody3.size()),
      "internaldate 02-Feb-2024 10:11:12 +0100",
      "fetch_end",
      "expunge 2",
      "fetch 3",
      "uid 105",
      "body [HEADER.FIELDS (MESSAGE-ID)] " + std::to_string(kHeader4.size()),
      "data " + kHeader4,
      "body_end",
      "body [] 12",
      "data short \"body\"",
      "body_end",
      "flags (\\Recent)",
      "fetch_end",
      "tagged J6 ok Fetch completed (0.002 + 0.000 + 0.001 secs).",
      "untagged bye Logging out",
      "tagged J7 ok Logout completed (0.001 + 0.000 secs).",
  };
}

const char kSessionCommands[] =
    "J1 CAPABILITY\r\n"
    "J2 LOGIN \"jane\" \"s3cret pass\"\r\n"
    "J3 LIST \"\" \"*\"\r\n"
    "J4 EXAMINE \"INBOX\"\r\n"
    "J5 UID SEARCH UID 101:*\r\n"
    "J6 UID FETCH 101:105 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])\r\n"
    "J7 LOGOUT\r\n";

TEST(ImapSession, DovecotTranscriptGivesTheExpectedEventsAndCommands) {
  for (std::string_view eol : {"\r\n", "\n"}) {
    SCOPED_TRACE(eol.size() == 2 ? "CRLF" : "LF");
    run_result r = run_whole(submit_session, dovecot_session(eol));
    EXPECT_EQ(join(r.events), join(expected_session_events()));
    EXPECT_EQ(r.output, kSessionCommands);
  }
}

TEST(ImapSession, EverySplitAndByteAtATimeGiveTheSameEvents) {
  for (std::string_view eol : {"\r\n", "\n"}) {
    SCOPED_TRACE(eol.size() == 2 ? "CRLF" : "LF");
    const std::string input = dovecot_session(eol);
    const std::string expected = join(expected_session_events());
    for (std::size_t k = 0; k <= input.size(); ++k) {
      std::string_view in(input);
      run_result r = run_pieces(submit_session, {in.substr(0, k), in.substr(k)}, true);
      ASSERT_EQ(join(r.events), expected) << "split at " << k;
      ASSERT_EQ(r.output, kSessionCommands) << "split at " << k;
    }
    run_result r = run_bytewise(submit_session, input);
    EXPECT_EQ(join(r.events), expected);
  }
}

TEST(ImapSession, ListNamesDecodeFromModifiedUtf7) {
  EXPECT_EQ(mutf7_decode("&AMk-t&AOk-"), std::optional<std::string>("\xc3\x89t\xc3\xa9"));
}

TEST(ImapSession, CapabilitiesAreKeptUpperCasedAndQueriedCaseInsensitively) {
  client c;
  c.feed("* OK [CAPABILITY IMAP4rev1 literal+ AUTH=PLAIN] ready\r\n");
  EXPECT_EQ(c.next_event().type, event_type::capability);
  EXPECT_EQ(c.next_event().type, event_type::greeting);
  EXPECT_TRUE(c.has_capability("LITERAL+"));
  EXPECT_TRUE(c.has_capability("auth=plain"));
  EXPECT_FALSE(c.has_capability("STARTTLS"));
  ASSERT_EQ(c.capabilities().size(), 3u);
  EXPECT_EQ(c.capabilities()[1], "LITERAL+");
}

TEST(ImapSession, EventsQueuedBehindACapabilityEventSurviveAFeed) {
  client c;
  c.feed("* OK [CAPABILITY IMAP4rev1] Server ready\r\n");
  EXPECT_EQ(c.next_event().type, event_type::capability);
  c.feed("* 1 EXISTS\r\n");  // may move the input buffer
  event g = c.next_event();
  EXPECT_EQ(g.type, event_type::greeting);
  EXPECT_EQ(g.code, "CAPABILITY");
  EXPECT_EQ(g.text, "Server ready");
}

TEST(ImapSession, EofAfterLogoutCompletionIsTheNormalEnd) {
  auto setup = [](client& c) { c.submit_logout(); };
  // No BYE at all: the tagged OK to LOGOUT is enough.
  run_result r = run_whole(setup, "* OK ready\r\nJ1 OK Logout completed.\r\n");
  EXPECT_EQ(join(r.events), "greeting ok ready\ntagged J1 ok Logout completed.\n");
}

TEST(ImapSession, UnsolicitedByeIsReportedAndTheFollowingEofIsNoError) {
  auto setup = [](client& c) { c.submit_noop(); };
  run_result r = run_whole(setup, "* OK ready\r\n* BYE Server shutting down\r\n");
  EXPECT_EQ(join(r.events), "greeting ok ready\nuntagged bye Server shutting down\n");
}

TEST(ImapSession, PreauthAndByeGreetings) {
  auto none = [](client&) {};
  EXPECT_EQ(join(run_whole(none, "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n").events),
            "capability (IMAP4REV1)\ngreeting preauth [CAPABILITY] hi\n"
            "error IMAP: connection closed by the server without BYE at byte 37\n");
  EXPECT_EQ(join(run_whole(none, "* BYE Too many connections\r\n").events),
            "greeting bye Too many connections\n");
}

}  // namespace
}  // namespace junction::imap
