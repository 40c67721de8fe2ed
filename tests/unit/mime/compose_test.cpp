// The composer (mime/compose.h): its output byte for byte against golden files in
// tests/fixtures/compose/, the same output read back by the independent reader view_message,
// line limits, the envelope, and every input it must refuse.
//
// To regenerate the golden files after a deliberate change of the output (then read the diff):
//   JUNCTION_UPDATE_GOLDEN=1 build/tests/junction_unit_mime --gtest_filter='ComposeGolden*'
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "common/base64.h"
#include "mime/compose.h"
#include "mime/message_view.h"

namespace junction::mime {
namespace {

// 2025-07-01 12:05:09 UTC, a Tuesday.
constexpr std::int64_t kDate = 1751371509;

compose_input basic_input() {
  compose_input input;
  input.from = {"Jane Doe", "jdoe@example.com"};
  input.to = {{"Bob Smith", "bob@example.org"}, {"", "carol@example.net"}};
  input.cc = {{"Team, The", "team@example.com"}};
  input.subject = "Lunch on Friday?";
  input.text = "Hi Bob,\n\nlunch on Friday at noon?\n\nJane\n";
  input.date = kDate;
  input.utc_offset_minutes = 120;
  input.unique = "4f1c2a9be07d3365";
  return input;
}

std::string fixture_path(const std::string& name) {
  return std::string(JUNCTION_FIXTURES) + "/compose/" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The output must equal the golden file byte for byte. With JUNCTION_UPDATE_GOLDEN set the
// file is written instead (and the test fails, so an update is never silent).
void expect_golden(const std::string& name, const std::string& message) {
  const std::string path = fixture_path(name);
  if (std::getenv("JUNCTION_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << message;
    ADD_FAILURE() << "wrote " << path;
    return;
  }
  const std::string golden = read_file(path);
  ASSERT_FALSE(golden.empty()) << "missing golden file " << path;
  EXPECT_EQ(message, golden) << "output differs from " << path;
}

// What every message must be, whatever the input: CRLF only, lines within 998, headers
// folded within 78 (76 by policy), ASCII unless SMTPUTF8 is needed, a blank line.
void expect_well_formed(const compose_result& result) {
  const std::string& m = result.message;
  const std::size_t header_end = m.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos);
  std::size_t start = 0;
  while (start < m.size()) {
    const std::size_t end = m.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "the message must end with CRLF";
    const std::string_view line(m.data() + start, end - start);
    EXPECT_EQ(line.find('\n'), std::string_view::npos) << "bare LF in: " << line;
    EXPECT_EQ(line.find('\r'), std::string_view::npos) << "bare CR in: " << line;
    EXPECT_LE(line.size(), 998u) << line;
    if (start <= header_end && !result.needs_smtputf8) {
      EXPECT_LE(line.size(), 76u) << "header line: " << line;
    }
    if (start > 0 && start <= header_end && !line.empty()) {
      // A continuation line is never only white space.
      EXPECT_NE(line.find_first_not_of(" \t"), std::string_view::npos);
    }
    start = end + 2;
  }
  if (!result.needs_smtputf8) {
    for (const char c : m) {
      ASSERT_LT(static_cast<unsigned char>(c), 0x80u) << "8-bit byte without SMTPUTF8";
    }
  }
  EXPECT_FALSE(result.eight_bit);
}

std::string header_section(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}

// The text as view_message gives it back: LF line ends, ending with one.
std::string as_viewed(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

// Mailboxes as view_message renders them.
std::string viewed_list(const std::vector<mailbox_address>& list) {
  std::string out;
  for (const mailbox_address& address : list) {
    if (!out.empty()) out += ", ";
    if (address.name.empty()) {
      out += address.email;
      continue;
    }
    const bool quote = address.name.find_first_of("()<>[]:;@\\,\"") != std::string::npos;
    if (quote) {
      out += '"';
      for (const char c : address.name) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    } else {
      out += address.name;
    }
    out += " <" + address.email + ">";
  }
  return out;
}

// The independent check: view_message (written separately, for received mail) reads back
// what was composed.
void expect_reads_back(const compose_input& input, const compose_result& result) {
  const message_view_result read = view_message(result.message);
  ASSERT_TRUE(read.ok) << read.error;
  const message_view& view = read.view;
  EXPECT_EQ(view.subject, input.subject);
  EXPECT_EQ(view.from, viewed_list({input.from}));
  EXPECT_EQ(view.to, viewed_list(input.to));
  EXPECT_EQ(view.cc, viewed_list(input.cc));
  ASSERT_TRUE(view.date.has_value());
  EXPECT_EQ(*view.date, input.date);
  if (!input.text.empty()) {
    EXPECT_EQ(view.text, as_viewed(input.text));
    EXPECT_FALSE(view.text_from_html);
  }
  ASSERT_EQ(view.attachments.size(), input.attachments.size());
  for (std::size_t i = 0; i < input.attachments.size(); ++i) {
    EXPECT_EQ(view.attachments[i].filename, input.attachments[i].filename) << i;
    EXPECT_EQ(view.attachments[i].size, input.attachments[i].data.size()) << i;
  }
  for (const auto& [name, value] : view.headers) {
    EXPECT_NE(name, "Bcc") << "Bcc must never be a header";
  }
  bool has_message_id = false;
  for (const auto& [name, value] : view.headers) {
    if (name == "Message-ID") {
      has_message_id = true;
      EXPECT_EQ(value, result.message_id);
    }
  }
  EXPECT_TRUE(has_message_id);
}

// Compose, check the invariants and the read-back, compare with the golden file.
compose_result compose_golden(const std::string& name, const compose_input& input) {
  const compose_result result = compose(input);
  EXPECT_TRUE(result.ok) << result.error;
  if (!result.ok) return result;
  expect_well_formed(result);
  expect_reads_back(input, result);
  expect_golden(name, result.message);
  return result;
}

std::string all_bytes() {
  std::string data;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 256; ++i) data += static_cast<char>((i * 7 + round) & 0xff);
  }
  return data;
}

// ---- Golden files -----------------------------------------------------------------------

TEST(ComposeGolden, PlainAscii) {
  const compose_result result = compose_golden("plain_ascii.eml", basic_input());
  EXPECT_EQ(result.message_id, "<4f1c2a9be07d3365@example.com>");
  EXPECT_EQ(result.recipients,
            (std::vector<std::string>{"bob@example.org", "carol@example.net", "team@example.com"}));
  EXPECT_FALSE(result.needs_smtputf8);
  EXPECT_NE(result.message.find("Content-Transfer-Encoding: 7bit\r\n"), std::string::npos);
}

TEST(ComposeGolden, NonAsciiDisplayNamesAndSubject) {
  compose_input input = basic_input();
  input.from = {"Jörg Müller", "joerg@example.de"};
  input.to = {{"山田太郎", "taro@example.jp"}, {"Zoë \"Z\" Ångström", "zoe@example.se"}};
  input.cc = {{"Ünïcødé, Team", "team@example.com"}};
  input.subject =
      "Grüße aus Köln – das Treffen am Freitag ist verschoben auf nächste Woche, bitte "
      "bestätigen";
  input.text = "Hallo zusammen,\n\ndas Treffen ist verschoben. Grüße, Jörg\n";
  input.utc_offset_minutes = -300;
  const compose_result result = compose_golden("non_ascii_names.eml", input);
  EXPECT_FALSE(result.needs_smtputf8) << "encoded-words keep the headers ASCII";
  // Non-ASCII text is quoted-printable, never 8bit.
  EXPECT_NE(result.message.find("Content-Transfer-Encoding: quoted-printable\r\n"),
            std::string::npos);
  EXPECT_NE(result.message.find("Date: Tue, 1 Jul 2025 07:05:09 -0500\r\n"), std::string::npos);
}

TEST(ComposeGolden, LongLinesGetQuotedPrintableSoftBreaks) {
  compose_input input = basic_input();
  input.subject =
      "A rather long subject line that goes on and on so that it has to be folded somewhere "
      "before the seventy-eighth column";
  std::string line;
  for (int i = 0; i < 110; ++i) line += "word" + std::to_string(i) + (i % 9 == 8 ? "=" : " ");
  input.text = "Short line.\n" + line + "\n" + std::string(1000, 'x') +
               "\nTrailing space \nTrailing tab\t\nEnd";
  const compose_result result = compose_golden("long_lines.eml", input);
  EXPECT_NE(result.message.find("Content-Transfer-Encoding: quoted-printable\r\n"),
            std::string::npos);
  EXPECT_NE(result.message.find("Trailing space=20\r\n"), std::string::npos);
  EXPECT_NE(result.message.find("Trailing tab=09\r\n"), std::string::npos);
}

TEST(ComposeGolden, LinesUpTo998StaySevenBit) {
  compose_input input = basic_input();
  input.text = std::string(998, 'y') + "\n";
  const compose_result result = compose(input);
  ASSERT_TRUE(result.ok) << result.error;
  expect_well_formed(result);
  expect_reads_back(input, result);
  EXPECT_NE(result.message.find("Content-Transfer-Encoding: 7bit\r\n"), std::string::npos);
  input.text = std::string(999, 'y') + "\n";
  const compose_result longer = compose(input);
  ASSERT_TRUE(longer.ok);
  expect_well_formed(longer);
  expect_reads_back(input, longer);
  EXPECT_NE(longer.message.find("quoted-printable"), std::string::npos);
}

TEST(ComposeGolden, DotLinesAreNotStuffed) {
  compose_input input = basic_input();
  input.text = "Before\n.\n..\n.leading dot\nAfter\n.";
  const compose_result result = compose_golden("dot_line.eml", input);
  // The SMTP engine stuffs dots when it sends DATA; the message itself keeps them as written.
  EXPECT_NE(result.message.find("\r\nBefore\r\n.\r\n..\r\n.leading dot\r\nAfter\r\n.\r\n"),
            std::string::npos);
}

TEST(ComposeGolden, HtmlAlternative) {
  compose_input input = basic_input();
  input.text = "Hi Bob,\n\nlunch on *Friday*?\n";
  input.html =
      "<html><body><p>Hi Bob,</p><p>lunch on <b>Friday</b>? Caf\xC3\xA9 "
      "d\xC3\xA9j\xC3\xA0 vu.</p></body></html>\n";
  const compose_result result = compose_golden("html_alternative.eml", input);
  EXPECT_NE(result.message.find("Content-Type: multipart/alternative;"), std::string::npos);
  EXPECT_NE(result.message.find("boundary=\"=_alt_4f1c2a9be07d3365\""), std::string::npos);
}

TEST(ComposeGolden, Attachments) {
  compose_input input = basic_input();
  input.attachments = {
      {"report.bin", "application/octet-stream", all_bytes()},
      {"Résumé 2025 – Jörg.pdf", "application/pdf", "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n"},
      {"notes.txt", "", "plain text\r\n"},
  };
  const compose_result result = compose_golden("attachments.eml", input);
  const std::string& m = result.message;
  EXPECT_NE(m.find("Content-Type: multipart/mixed; boundary=\"=_mixed_4f1c2a9be07d3365\""),
            std::string::npos);
  EXPECT_NE(m.find("filename*=utf-8''R%C3%A9sum%C3%A9%202025%20%E2%80%93%20J%C3%B6rg.pdf"),
            std::string::npos);
  EXPECT_NE(m.find("Content-Disposition: attachment; filename=\"report.bin\""), std::string::npos);
  EXPECT_NE(m.find("Content-Type: application/octet-stream; name=\"notes.txt\""),
            std::string::npos);
  // view_message reports sizes only: decode the binary part here to compare the bytes.
  const std::string start = "filename=\"report.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  const std::size_t begin = m.find(start);
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = m.find("\r\n\r\n--", begin);
  const std::string encoded = m.substr(begin + start.size(), end - begin - start.size());
  EXPECT_EQ(base64::decode_lenient(encoded), all_bytes());
  EXPECT_EQ(encoded.find("\r\n"), 76u) << "76-character lines";
}

TEST(ComposeGolden, AttachmentsWithHtmlAndLongFileNames) {
  compose_input input = basic_input();
  input.html = "<p>See the files.</p>";
  input.text = "See the files.";
  input.attachments = {
      {"Sehr langer Dateiname für den Quartalsbericht der Abteilung Öffentlichkeitsarbeit "
       "2025.xlsx",
       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK\x03\x04 data"},
      {"a \"quoted\" \\ name with a length beyond the sixty characters of one line.txt",
       "Text/Plain", "x"},
      {"forwarded.eml", "message/rfc822", "Subject: hi\r\n\r\nbody\r\n"},
      {"", "image/png", std::string("\x89PNG\r\n\x1a\n", 8)},
  };
  const compose_result result = compose_golden("attachments_long_names.eml", input);
  const std::string& m = result.message;
  EXPECT_NE(m.find("filename*0*=utf-8''"), std::string::npos);
  EXPECT_NE(m.find("filename*1*="), std::string::npos);
  // message/rfc822 may not be base64 (RFC 2045 section 6.4): sent as octet-stream.
  EXPECT_NE(m.find("Content-Type: application/octet-stream; name=\"forwarded.eml\""),
            std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/plain; name="), std::string::npos) << "lower-cased";
  EXPECT_NE(m.find("Content-Type: image/png\r\nContent-Disposition: attachment\r\n"),
            std::string::npos);
}

TEST(ComposeGolden, BccOnlyInTheEnvelope) {
  compose_input input = basic_input();
  input.to = {{"Bob Smith", "bob@example.org"}};
  input.cc = {};
  input.bcc = {{"Secret Sam", "sam@example.com"}, {"", "BOB@EXAMPLE.ORG"}, {"", "bob@Example.Org"}};
  const compose_result result = compose_golden("bcc.eml", input);
  EXPECT_EQ(result.recipients,
            (std::vector<std::string>{"bob@example.org", "sam@example.com", "BOB@EXAMPLE.ORG"}))
      << "domains compare without case, local parts with";
  const std::string headers = header_section(result.message);
  EXPECT_EQ(headers.find("Bcc"), std::string::npos);
  EXPECT_EQ(headers.find("sam@example.com"), std::string::npos);
  EXPECT_EQ(headers.find("Secret Sam"), std::string::npos);
  EXPECT_EQ(headers.find("Cc:"), std::string::npos) << "no empty Cc header";
}

TEST(ComposeGolden, Smtputf8Addresses) {
  compose_input input = basic_input();
  input.from = {"Jörg", "jörg@müller.example"};
  input.to = {{"", "用户@例子.广告"}, {"Bob", "bob@example.org"}};
  input.cc = {};
  input.subject = "Unicode addresses";
  const compose_result result = compose_golden("smtputf8.eml", input);
  EXPECT_TRUE(result.needs_smtputf8);
  EXPECT_FALSE(result.eight_bit);
  EXPECT_EQ(result.message_id, "<4f1c2a9be07d3365@localhost.localdomain>");
  // Raw UTF-8 addresses (RFC 6532), display names still encoded-words.
  EXPECT_NE(result.message.find("From: =?utf-8?b?SsO2cmc=?= <jörg@müller.example>\r\n"),
            std::string::npos);
  EXPECT_NE(result.message.find("To: 用户@例子.广告, Bob <bob@example.org>\r\n"),
            std::string::npos);
}

TEST(ComposeGolden, ReplyHeaders) {
  compose_input input = basic_input();
  input.subject = "Re: Lunch on Friday?";
  input.in_reply_to = "<original-1234@example.org>";
  for (int i = 0; i < 6; ++i) {
    input.references += " <thread-message-" + std::to_string(i) + "-abcdef@mail.example.org>\t";
  }
  const compose_result result = compose_golden("reply.eml", input);
  EXPECT_NE(result.message.find("In-Reply-To: <original-1234@example.org>\r\n"), std::string::npos);
  EXPECT_NE(result.message.find("References: <thread-message-0-abcdef@mail.example.org>\r\n "
                                "<thread-message-1-abcdef@mail.example.org>\r\n"),
            std::string::npos);
}

// ---- Behaviour without golden files ------------------------------------------------------

TEST(Compose, IsDeterministic) {
  compose_input input = basic_input();
  input.html = "<p>x</p>";
  input.attachments = {{"a.bin", "", all_bytes()}};
  EXPECT_EQ(compose(input).message, compose(input).message);
  compose_input other = input;
  other.unique = "0000";
  EXPECT_NE(compose(other).message.find("=_mixed_0000"), std::string::npos);
}

TEST(Compose, BoundaryNeverOccursInTheContent) {
  compose_input input = basic_input();
  input.html = "<p>html</p>";
  // 7bit text holding the boundaries the composer would pick first, and the first suffix.
  input.text = "--=_alt_4f1c2a9be07d3365\n=_mixed_4f1c2a9be07d3365\n=_mixed_4f1c2a9be07d3365_1\n";
  input.attachments = {{"x.txt", "text/plain", "x"}};
  const compose_result result = compose(input);
  ASSERT_TRUE(result.ok) << result.error;
  expect_well_formed(result);
  expect_reads_back(input, result);
  EXPECT_NE(result.message.find("boundary=\"=_alt_4f1c2a9be07d3365_1\""), std::string::npos);
  EXPECT_NE(result.message.find("boundary=\"=_mixed_4f1c2a9be07d3365_2\""), std::string::npos);
  EXPECT_NE(result.message.find("Content-Transfer-Encoding: 7bit"), std::string::npos);
}

TEST(Compose, LineEndsAreNormalised) {
  compose_input input = basic_input();
  input.text = "a\r\nb\rc\nd\r\n\r\ne";
  const compose_result result = compose(input);
  ASSERT_TRUE(result.ok);
  expect_well_formed(result);
  EXPECT_NE(result.message.find("\r\n\r\na\r\nb\r\nc\r\nd\r\n\r\ne\r\n"), std::string::npos);
  EXPECT_EQ(result.message.substr(result.message.size() - 3), "e\r\n");
}

TEST(Compose, EmptyBodyAndNoToHeader) {
  compose_input input = basic_input();
  input.to = {};
  input.cc = {};
  input.bcc = {{"", "hidden@example.com"}};
  input.text = "";
  input.subject = "";
  const compose_result result = compose(input);
  ASSERT_TRUE(result.ok) << result.error;
  expect_well_formed(result);
  const std::string headers = header_section(result.message);
  EXPECT_EQ(headers.find("To:"), std::string::npos);
  EXPECT_NE(headers.find("Subject:\r\n"), std::string::npos);
  EXPECT_EQ(result.recipients, std::vector<std::string>{"hidden@example.com"});
  EXPECT_EQ(result.message.substr(result.message.size() - 4), "\r\n\r\n") << "empty body";
}

TEST(Compose, SubjectsThatNeedEncodingThoughAscii) {
  compose_input input = basic_input();
  input.subject = "About =?utf-8?q?x?= literally";
  compose_result result = compose(input);
  ASSERT_TRUE(result.ok);
  expect_well_formed(result);
  expect_reads_back(input, result);
  EXPECT_NE(result.message.find("Subject: =?utf-8?"), std::string::npos);
  // A word too long for a line of 998 is split into encoded-words.
  input.subject = "Link " + std::string(1500, 'a');
  result = compose(input);
  ASSERT_TRUE(result.ok) << result.error;
  expect_well_formed(result);
  expect_reads_back(input, result);
  // An ordinary long word stays as it is (a line may pass 78, never 998).
  input.subject = std::string(120, 'b');
  result = compose(input);
  ASSERT_TRUE(result.ok);
  EXPECT_NE(result.message.find("Subject: " + std::string(120, 'b') + "\r\n"), std::string::npos);
}

TEST(Compose, DisplayNamesAsAtomsQuotedOrEncoded) {
  compose_input input = basic_input();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"Jane Doe", "From: Jane Doe <jdoe@example.com>\r\n"},
      {"Doe, Jane", "From: \"Doe, Jane\" <jdoe@example.com>\r\n"},
      {"J. \"JD\" Doe\\", "From: \"J. \\\"JD\\\" Doe\\\\\" <jdoe@example.com>\r\n"},
      {" leading", "From: \" leading\" <jdoe@example.com>\r\n"},
      {"=?utf-8?q?fake?=", "From: =?utf-8?b?PT91dGYtOD9xP2Zha2U/PQ==?= <jdoe@example.com>\r\n"},
      {"", "From: jdoe@example.com\r\n"},
      // Q or B, whichever is shorter: B here (4 against 6 characters), Q on a tie.
      {"Ñ", "From: =?utf-8?b?w5E=?= <jdoe@example.com>\r\n"},
      {"Zoë Washburne-Lindqvist",
       "From: =?utf-8?q?Zo=C3=AB_Washburne-Lindqvist?= <jdoe@example.com>\r\n"},
      {"東京", "From: =?utf-8?b?5p2x5Lqs?= <jdoe@example.com>\r\n"},
  };
  for (const auto& [name, header] : cases) {
    input.from.name = name;
    const compose_result result = compose(input);
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_NE(result.message.find(header), std::string::npos) << header_section(result.message);
    // view_message collapses white space for display; the quoted form above keeps it.
    if (name.front() != ' ') expect_reads_back(input, result);
  }
}

TEST(Compose, EncodedWordsSplitOnlyBetweenCharacters) {
  compose_input input = basic_input();
  // 3-byte characters: any split inside one would corrupt it.
  std::string name;
  for (int i = 0; i < 80; ++i) name += "\xE6\x9D\xB1";  // 東
  input.from.name = name;
  input.subject = name + " and " + name;
  const compose_result result = compose(input);
  ASSERT_TRUE(result.ok) << result.error;
  expect_well_formed(result);
  expect_reads_back(input, result);
}

TEST(Compose, Dates) {
  compose_input input = basic_input();
  const std::vector<std::tuple<std::int64_t, int, std::string>> cases{
      {0, 0, "Thu, 1 Jan 1970 00:00:00 +0000"},
      {0, -60, "Wed, 31 Dec 1969 23:00:00 -0100"},
      {951782400, 330, "Tue, 29 Feb 2000 05:30:00 +0530"},
      {kDate, 0, "Tue, 1 Jul 2025 12:05:09 +0000"},
      {4102444799, 0, "Thu, 31 Dec 2099 23:59:59 +0000"},
      {kDate, 1439, "Wed, 2 Jul 2025 12:04:09 +2359"},
  };
  for (const auto& [date, offset, text] : cases) {
    input.date = date;
    input.utc_offset_minutes = offset;
    const compose_result result = compose(input);
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_NE(result.message.find("Date: " + text + "\r\n"), std::string::npos)
        << header_section(result.message);
    EXPECT_EQ(view_message(result.message).view.date, date);
  }
}

TEST(Compose, QuotedPrintableRoundTripsAwkwardText) {
  compose_input input = basic_input();
  std::string text;
  for (int i = 1; i < 128; ++i) {
    if (i != '\r' && i != '\n') text += static_cast<char>(i);
  }
  text += "\n= at start\n" + std::string(75, 'a') + "=\n" + std::string(74, 'b') + " \n";
  text += std::string(200, '=') + "\n\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 end  \n";
  text += std::string("nul\0byte\n", 9);
  input.text = text;
  const compose_result result = compose(input);
  ASSERT_TRUE(result.ok) << result.error;
  expect_well_formed(result);
  // Every encoded body line within 76.
  const std::string body = result.message.substr(result.message.find("\r\n\r\n") + 4);
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t end = body.find("\r\n", start);
    EXPECT_LE(end - start, 76u) << body.substr(start, end - start);
    start = end + 2;
  }
  const message_view_result read = view_message(result.message);
  ASSERT_TRUE(read.ok);
  EXPECT_EQ(read.view.text, as_viewed(text));
}

// ---- Refused input -----------------------------------------------------------------------

TEST(Compose, InvalidInputNamesTheField) {
  struct invalid {
    std::function<void(compose_input&)> change;
    std::string error;
  };
  const std::vector<invalid> cases{
      {[](compose_input& in) { in.from.email = "nope"; },
       "from: invalid address \"nope\": must look like name@example.com"},
      {[](compose_input& in) { in.from.email = ""; }, "from: invalid address \"\": is required"},
      {[](compose_input& in) { in.from.name = "Jane\r\nBcc: x@example.com"; },
       "from: invalid name \"Jane??Bcc: x@example.com\": must not contain line breaks or control "
       "characters"},
      {[](compose_input& in) {
         in.to.clear();
         in.cc.clear();
       },
       "to: no recipients"},
      {[](compose_input& in) {
         in.to.push_back({"", "a@b@c.example"});
       },
       "to: invalid address \"a@b@c.example\": the part before '@' must not contain '@'"},
      {[](compose_input& in) {
         in.cc.push_back({"", "x@example.com>\r\nDATA"});
       },
       "cc: invalid address \"x@example.com>??DATA\": must not contain spaces or control "
       "characters"},
      {[](compose_input& in) {
         in.bcc.push_back({"", "<y@example.com>"});
       },
       "bcc: invalid address \"<y@example.com>\": the part before '@' must not contain '<'"},
      {[](compose_input& in) {
         in.to.push_back({std::string(257, 'n'), "n@example.com"});
       },
       "to: invalid name \"" + std::string(80, 'n') + "...\": is 257 bytes long, the limit is 256"},
      {[](compose_input& in) { in.subject = "Line\nbreak"; },
       "subject: must not contain line breaks or control characters"},
      {[](compose_input& in) { in.subject = "bad \xFF"; }, "subject: invalid UTF-8 at byte 4"},
      {[](compose_input& in) { in.subject = std::string(2001, 's'); },
       "subject: is 2001 bytes long, the limit is 2000"},
      {[](compose_input& in) { in.text = "caf\xE9"; }, "text: invalid UTF-8 at byte 3"},
      {[](compose_input& in) { in.html = "\xC0\xAF"; }, "html: invalid UTF-8 at byte 0"},
      {[](compose_input& in) { in.date = -1; }, "date: must be a time from 1970 to 9999"},
      {[](compose_input& in) { in.utc_offset_minutes = 1440; },
       "utc_offset_minutes: must be from -1439 to 1439"},
      {[](compose_input& in) { in.unique = ""; },
       "unique: must be 1 to 48 letters, digits, '-' or '_'"},
      {[](compose_input& in) { in.unique = "ab@cd"; },
       "unique: must be 1 to 48 letters, digits, '-' or '_'"},
      {[](compose_input& in) { in.unique = std::string(49, 'a'); },
       "unique: must be 1 to 48 letters, digits, '-' or '_'"},
      {[](compose_input& in) { in.in_reply_to = "no-brackets@example.com"; },
       "in_reply_to: \"no-brackets@example.com\" is not a message id like <id@example.com>"},
      {[](compose_input& in) { in.references = "<a@b> <c\r\nX: y@d>"; },
       "references: \"<c??X:\" is not a message id like <id@example.com>"},
      {[](compose_input& in) {
         in.attachments = {{"a\nb", "", "x"}};
       },
       "attachments[0].filename: must not contain line breaks or control characters"},
      {[](compose_input& in) {
         in.attachments = {{"a", "", ""}, {"b", "image", "x"}};
       },
       "attachments[1].content_type: \"image\" is not a media type like image/png"},
      {[](compose_input& in) {
         in.attachments = {{"a", "text/plain; charset=x", "x"}};
       },
       "attachments[0].content_type: \"text/plain; charset=x\" is not a media type like "
       "image/png"},
      {[](compose_input& in) {
         in.attachments = {{std::string(256, 'f'), "", "x"}};
       },
       "attachments[0].filename: is 256 bytes long, the limit is 255"},
  };
  for (const invalid& c : cases) {
    compose_input input = basic_input();
    c.change(input);
    const compose_result result = compose(input);
    EXPECT_FALSE(result.ok) << c.error;
    EXPECT_EQ(result.error, c.error);
    EXPECT_TRUE(result.message.empty());
    EXPECT_TRUE(result.recipients.empty());
  }
}

TEST(Compose, Limits) {
  compose_limits limits;
  limits.max_recipients = 3;
  compose_input input = basic_input();  // 3 recipients
  EXPECT_TRUE(compose(input, limits).ok);
  input.bcc.push_back({"", "d@example.com"});
  EXPECT_EQ(compose(input, limits).error, "to: 4 recipients, the limit is 3");

  // The default limit of 1000 recipients.
  input = basic_input();
  input.to.clear();
  input.cc.clear();
  for (int i = 0; i < 1000; ++i)
    input.bcc.push_back({"", "r" + std::to_string(i) + "@example.com"});
  const compose_result thousand = compose(input);
  ASSERT_TRUE(thousand.ok);
  EXPECT_EQ(thousand.recipients.size(), 1000u);
  input.to.push_back({"", "one-more@example.com"});
  EXPECT_EQ(compose(input).error, "to: 1001 recipients, the limit is 1000");

  // Size: refused before encoding when the estimate is over, and after when the result is.
  limits = {};
  limits.max_message_bytes = 4096;
  input = basic_input();
  input.attachments = {{"big.bin", "", std::string(4000, 'z')}};
  const compose_result estimated = compose(input, limits);
  EXPECT_FALSE(estimated.ok);
  EXPECT_EQ(estimated.error.rfind("message: the message would be about 53", 0), 0u)
      << estimated.error;
  EXPECT_NE(estimated.error.find(" bytes, the limit is 4096 bytes"), std::string::npos)
      << estimated.error;
  input.attachments = {{"big.bin", "", std::string(2800, 'z')}};
  const compose_result over = compose(input, limits);
  EXPECT_FALSE(over.ok);
  EXPECT_EQ(over.error.rfind("message: the message would be about", 0), 0u) << over.error;

  limits = {};
  limits.max_attachments = 1;
  input.attachments = {{"a", "", "1"}, {"b", "", "2"}};
  EXPECT_EQ(compose(input, limits).error, "attachments: 2 files, the limit is 1");
}

TEST(Compose, FiftyMebibyteDefaultCap) {
  compose_input input = basic_input();
  input.attachments = {{"huge.bin", "", std::string(40u << 20, 'h')}};
  const compose_result result = compose(input);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "message: the message would be about 54 MiB, the limit is 50 MiB");
}

}  // namespace
}  // namespace junction::mime
