// view_message (mime/message_view.h): what a reader of a message sees — decoded headers, the
// text and the attachment list — for well-formed mail, mail as mailers really write it, and
// hostile input. Every message is checked with CRLF and with LF line ends.
#include "mime/message_view.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "mime_test_support.h"

namespace junction::mime::test {
namespace {

// Views the message with LF and with CRLF line ends; both must give the same view.
message_view view_both(std::string_view lf_message, message_view_limits limits = {}) {
  const message_view_result lf = view_message(to_lf(lf_message), limits);
  const message_view_result crlf = view_message(to_crlf(lf_message), limits);
  EXPECT_TRUE(lf.ok) << lf.error;
  EXPECT_TRUE(crlf.ok) << crlf.error;
  EXPECT_EQ(lf.view.text, crlf.view.text);
  EXPECT_EQ(lf.view.text_truncated, crlf.view.text_truncated);
  EXPECT_EQ(lf.view.text_from_html, crlf.view.text_from_html);
  EXPECT_EQ(lf.view.subject, crlf.view.subject);
  EXPECT_EQ(lf.view.headers, crlf.view.headers);
  EXPECT_EQ(lf.view.attachments.size(), crlf.view.attachments.size());
  for (std::size_t i = 0; i < lf.view.attachments.size() && i < crlf.view.attachments.size(); ++i) {
    EXPECT_EQ(lf.view.attachments[i].filename, crlf.view.attachments[i].filename);
    EXPECT_EQ(lf.view.attachments[i].content_type, crlf.view.attachments[i].content_type);
    // Sizes of text and attached messages count their line ends; binary ones must agree.
    const std::string& type = lf.view.attachments[i].content_type;
    if (type.rfind("text/", 0) != 0 && type.rfind("message/", 0) != 0) {
      EXPECT_EQ(lf.view.attachments[i].size, crlf.view.attachments[i].size);
    }
  }
  return lf.view;
}

void expect_all_utf8(const message_view& v) {
  EXPECT_TRUE(is_utf8(v.text));
  for (const std::string* s : {&v.from, &v.to, &v.cc, &v.subject}) EXPECT_TRUE(is_utf8(*s));
  for (const auto& [name, value] : v.headers) {
    EXPECT_TRUE(is_utf8(name));
    EXPECT_TRUE(is_utf8(value));
  }
  for (const attachment_info& a : v.attachments) {
    EXPECT_TRUE(is_utf8(a.filename));
    EXPECT_TRUE(is_utf8(a.content_type));
  }
}

TEST(MessageView, SimpleTextMessage) {
  const message_view v = view_both(
      "Return-Path: <jane@example.com>\n"
      "From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.com>\n"
      "To: Jane Doe <jane@example.com>, bob@example.org\n"
      "Cc: \"Team, The\" <team@example.com>\n"
      "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= from\n"
      " the team\n"
      "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
      "\n"
      "Hello Jane,\n"
      "\n"
      "see you.\n");
  EXPECT_EQ(v.from, "Jürgen <jurgen@example.com>");
  EXPECT_EQ(v.to, "Jane Doe <jane@example.com>, bob@example.org");
  EXPECT_EQ(v.cc, "\"Team, The\" <team@example.com>");
  EXPECT_EQ(v.subject, "Grüße from the team");
  ASSERT_TRUE(v.date.has_value());
  EXPECT_EQ(*v.date, 1057049557);
  EXPECT_EQ(v.text, "Hello Jane,\n\nsee you.\n");
  EXPECT_FALSE(v.text_truncated);
  EXPECT_FALSE(v.text_from_html);
  EXPECT_TRUE(v.attachments.empty());
  ASSERT_EQ(v.headers.size(), 6u);
  EXPECT_EQ(v.headers[0].first, "Return-Path");
  EXPECT_EQ(v.headers[1].first, "From");
  EXPECT_EQ(v.headers[1].second, "Jürgen <jurgen@example.com>");
  EXPECT_EQ(v.headers[4].first, "Subject");
  EXPECT_EQ(v.headers[4].second, "Grüße from the team");
  EXPECT_EQ(v.headers[5].first, "Date");
  expect_all_utf8(v);
}

TEST(MessageView, NoDateAndNoBody) {
  const message_view v = view_both("Subject: only headers\nDate: not a date\n");
  EXPECT_EQ(v.subject, "only headers");
  EXPECT_FALSE(v.date.has_value());
  EXPECT_EQ(v.text, "");
}

TEST(MessageView, QuotedPrintableBody) {
  const message_view v = view_both(
      "Content-Type: text/plain; charset=utf-8\n"
      "Content-Transfer-Encoding: Quoted-Printable\n"
      "\n"
      "Caf=C3=A9 au lait, a very long line that was wrapped by the sender becaus=\n"
      "e of the limit.   \n"
      "Lower case hex: =c3=bc; a lone = stays; soft break with padding=  \n"
      "done.\n");
  EXPECT_EQ(v.text,
            "Café au lait, a very long line that was wrapped by the sender because of the "
            "limit.\n"
            "Lower case hex: ü; a lone = stays; soft break with paddingdone.\n");
}

TEST(MessageView, Base64BodyWithLineBreaks) {
  const message_view v = view_both(
      "Content-Type: text/plain; charset=\"UTF-8\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "R3LDvMOfZSBhdXMgS8O2bG4h\n"
      "Clp3ZWl0ZSBaZWlsZS4K\n");
  EXPECT_EQ(v.text, "Grüße aus Köln!\nZweite Zeile.\n");
}

TEST(MessageView, LegacyCharsetsBecomeUtf8) {
  EXPECT_EQ(view_both("Content-Type: text/plain; charset=iso-8859-1\n\ncaf\xE9 \xA4\n").text,
            "café ¤\n");
  EXPECT_EQ(view_both("Content-Type: text/plain; charset=ISO-8859-15\n\n\xA4 5, \xBD\n").text,
            "€ 5, œ\n");
  EXPECT_EQ(
      view_both("Content-Type: text/plain; charset=windows-1252\n\n\x93quoted\x94 \x80 10\n").text,
      "“quoted” € 10\n");
  // Quoted-printable and a charset together: bytes first, then the charset.
  EXPECT_EQ(view_both("Content-Type: text/plain; charset=latin1\n"
                      "Content-Transfer-Encoding: quoted-printable\n\nna=EFve\n")
                .text,
            "naïve\n");
  // No charset and 8-bit bytes that are not UTF-8: read as Windows-1252, still UTF-8 out.
  const message_view unlabelled = view_both("Subject: x\n\nd\xE9j\xE0 vu\n");
  EXPECT_EQ(unlabelled.text, "déjà vu\n");
  // An unknown charset whose bytes are UTF-8 passes through.
  EXPECT_EQ(view_both("Content-Type: text/plain; charset=x-unknown\n\n\xC3\xA9t\xC3\xA9\n").text,
            "été\n");
}

TEST(MessageView, AlternativePrefersPlainText) {
  const message_view v = view_both(
      "Content-Type: multipart/alternative; boundary=\"alt\"\n"
      "\n"
      "This is the preamble.\n"
      "--alt\n"
      "Content-Type: text/html; charset=utf-8\n"
      "\n"
      "<p>The <b>HTML</b> version</p>\n"
      "--alt\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "\n"
      "The plain version\n"
      "--alt--\n"
      "epilogue\n");
  EXPECT_EQ(v.text, "The plain version");
  EXPECT_FALSE(v.text_from_html);
  EXPECT_TRUE(v.attachments.empty());
}

TEST(MessageView, HtmlOnlyIsStripped) {
  const message_view v = view_both(
      "Content-Type: text/html; charset=windows-1252\n"
      "Content-Transfer-Encoding: quoted-printable\n"
      "\n"
      "<html><head><title>Ignored title</title><style>p { color: red; }</style>\n"
      "<script type=3D\"text/javascript\">alert(\"<p>no</p>\");</script></head>\n"
      "<body><!-- a comment <p>hidden</p> -->\n"
      "<h1>Price   list</h1><p>Tea &amp; coffee &lt;3 &quot;fresh&quot; &#39;daily&#39;"
      "</p><p>Caf=E9&nbsp;=80&#8364;&#x20AC; &unknown; a < b</p>line<br>break<BR/>again\n"
      "<SCRIPT>var x = 1;</SCRIPT></body></html>\n");
  EXPECT_TRUE(v.text_from_html);
  EXPECT_FALSE(v.text_truncated);
  EXPECT_EQ(v.text,
            "Price list\n\nTea & coffee <3 \"fresh\" 'daily'\n\n"
            "Café\u00A0€€€ &unknown; a < b\n\nline\nbreak\nagain");
}

TEST(MessageView, BlankPlainPartGivesWayToHtml) {
  // Some mailers send an empty text/plain alternative beside the real HTML.
  const message_view v = view_both(
      "Content-Type: multipart/alternative; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\n \n\n--b\nContent-Type: text/html\n\n<p>html</p>\n--b--\n");
  EXPECT_TRUE(v.text_from_html);
  EXPECT_EQ(v.text, "html");
  // Without HTML, the blank plain text is the text.
  const message_view blank = view_both("Content-Type: text/plain\n\n \n");
  EXPECT_FALSE(blank.text_from_html);
  EXPECT_EQ(blank.text, " \n");
}

constexpr std::string_view kNested =
    "From: Sender <sender@example.com>\n"
    "To: someone@example.com\n"
    "Subject: Quarterly report\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed;\n"
    " boundary=\"=_outer_boundary\"\n"
    "\n"
    "--=_outer_boundary\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Please find the report attached. – J.\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>Please find the report attached.</p>\n"
    "--inner--\n"
    "\n"
    "--=_outer_boundary\n"
    "Content-Type: application/pdf\n"
    "Content-Disposition: attachment;\n"
    " filename*=utf-8''%E2%82%AC%20rates%202024.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQg\n"
    "ZmFrZQ==\n"
    "--=_outer_boundary\n"
    "Content-Type: image/png; name=\"ignored-because-disposition-names-it.png\"\n"
    "Content-Disposition: inline;\n"
    " filename*0*=iso-8859-1'de'Sch%F6nes%20;\n"
    " filename*1=\"Bild\";\n"
    " filename*2=\".png\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==\n"
    "--=_outer_boundary\n"
    "Content-Type: text/plain; charset=utf-8;\n"
    " name=\"=?UTF-8?B?Tm90aXplbiDDvGJlcg==?= 2024.txt\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "not the body text=\n"
    "!\n"
    "--=_outer_boundary\n"
    "Content-Type: application/octet-stream\n"
    "Content-Disposition: attachment\n"
    "\n"
    "12345\n"
    "--=_outer_boundary\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: Forwarded =?utf-8?q?n=C3=B6te?=\n"
    "\n"
    "Inner text.\n"
    "--=_outer_boundary--\n";

TEST(MessageView, NestedMixedWithAttachments) {
  const message_view v = view_both(kNested);
  EXPECT_EQ(v.subject, "Quarterly report");
  EXPECT_EQ(v.text, "Please find the report attached. – J.");
  EXPECT_FALSE(v.text_from_html);
  ASSERT_EQ(v.attachments.size(), 5u);
  EXPECT_EQ(v.attachments[0].filename, "€ rates 2024.pdf");
  EXPECT_EQ(v.attachments[0].content_type, "application/pdf");
  EXPECT_EQ(v.attachments[0].size, 13u);
  EXPECT_EQ(v.attachments[1].filename, "Schönes Bild.png");
  EXPECT_EQ(v.attachments[1].content_type, "image/png");
  EXPECT_EQ(v.attachments[1].size, 40u);
  EXPECT_EQ(v.attachments[2].filename, "Notizen über 2024.txt");
  EXPECT_EQ(v.attachments[2].content_type, "text/plain");
  EXPECT_EQ(v.attachments[2].size, std::string_view("not the body text!").size());
  EXPECT_EQ(v.attachments[3].filename, "");
  EXPECT_EQ(v.attachments[3].content_type, "application/octet-stream");
  EXPECT_EQ(view_message(to_lf(kNested)).view.attachments[3].size, 5u);
  EXPECT_EQ(v.attachments[4].filename, "Forwarded nöte.eml");
  EXPECT_EQ(v.attachments[4].content_type, "message/rfc822");
  expect_all_utf8(v);
}

TEST(MessageView, AttachedMessageGivesTheTextWhenThereIsNoOther) {
  const message_view v = view_both(
      "Subject: Fwd\n"
      "Content-Type: multipart/mixed; boundary=m\n"
      "\n"
      "--m\n"
      "Content-Type: message/rfc822\n"
      "Content-Disposition: attachment; filename=\"original.eml\"\n"
      "\n"
      "Subject: original\n"
      "Content-Type: text/html\n"
      "\n"
      "<p>original text</p>\n"
      "--m--\n");
  EXPECT_EQ(v.subject, "Fwd");
  EXPECT_EQ(v.text, "original text");
  EXPECT_TRUE(v.text_from_html);
  ASSERT_EQ(v.attachments.size(), 1u);
  EXPECT_EQ(v.attachments[0].filename, "original.eml");
}

TEST(MessageView, MissingCloseDelimiterEndsAtTheEnd) {
  const message_view v = view_both(
      "Content-Type: multipart/mixed; boundary=\"b1\"\n"
      "\n"
      "--b1\n"
      "Content-Type: text/plain\n"
      "\n"
      "first part\n"
      "--b1\n"
      "Content-Type: application/zip\n"
      "Content-Disposition: attachment; filename=archive.zip\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==\n");
  EXPECT_EQ(v.text, "first part");
  ASSERT_EQ(v.attachments.size(), 1u);
  EXPECT_EQ(v.attachments[0].filename, "archive.zip");
  EXPECT_EQ(v.attachments[0].size, 40u);
}

TEST(MessageView, BoundaryPrefixesAndMissingBoundaries) {
  // "--b1x" is no delimiter of boundary "b1"; "--b1  " (transport padding) is one.
  const message_view v = view_both(
      "Content-Type: multipart/mixed; boundary=b1\n\n"
      "--b1  \n\ntext\n--b1x\nstill text\n--b1--  \n");
  EXPECT_EQ(v.text, "text\n--b1x\nstill text");
  // Multipart without a boundary: shown as text rather than nothing.
  const message_view no_boundary = view_both("Content-Type: multipart/mixed\n\nsome words\n");
  EXPECT_EQ(no_boundary.text, "some words\n");
  // A part that forgot its header section altogether.
  const message_view no_headers =
      view_both("Content-Type: multipart/mixed; boundary=z\n\n--z\njust text\n--z--\n");
  EXPECT_EQ(no_headers.text, "just text");
  // An invalid Content-Type is text/plain (RFC 2045 §5.2).
  EXPECT_EQ(view_both("Content-Type: garbage\n\nbody\n").text, "body\n");
  // So is one with 8-bit bytes in its type: they would reach the attachment list otherwise.
  const message_view eight_bit = view_both("Content-Type: image/pn\xF6g; name=a.png\n\nbytes\n");
  ASSERT_EQ(eight_bit.attachments.size(), 1u);
  EXPECT_EQ(eight_bit.attachments[0].content_type, "text/plain");
}

TEST(MessageView, LfAndCrlfGiveTheSameView) {
  // view_both compares the two; this adds the nested sample's attachments and text.
  const message_view lf = view_message(to_lf(kNested)).view;
  const message_view crlf = view_message(to_crlf(kNested)).view;
  EXPECT_EQ(lf.text, crlf.text);
  EXPECT_EQ(lf.text, "Please find the report attached. – J.");
  EXPECT_EQ(lf.headers, crlf.headers);
  ASSERT_EQ(lf.attachments.size(), crlf.attachments.size());
  EXPECT_EQ(lf.attachments[0].size, crlf.attachments[0].size);
  // A text body with CRLF comes out with LF only.
  EXPECT_EQ(crlf.text.find('\r'), std::string::npos);
}

TEST(MessageView, InputOverTheLimitIsRefused) {
  message_view_limits limits;
  limits.max_input = 100;
  const message_view_result r = view_message(std::string(101, 'a'), limits);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "message of 101 bytes exceeds the limit of 100 bytes");
  EXPECT_TRUE(view_message(std::string(100, 'a'), limits).ok);
}

TEST(MessageView, LongTextIsCutOnACharacterBoundary) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += "é";  // 200 bytes
  message_view_limits limits;
  limits.max_text = 51;  // in the middle of the 26th "é"
  const message_view v = view_both("Content-Type: text/plain; charset=utf-8\n\n" + body, limits);
  EXPECT_TRUE(v.text_truncated);
  EXPECT_EQ(v.text.size(), 50u);
  EXPECT_TRUE(is_utf8(v.text));
  limits.max_text = 200;
  const message_view exact =
      view_both("Content-Type: text/plain; charset=utf-8\n\n" + body, limits);
  EXPECT_FALSE(exact.text_truncated);
  EXPECT_EQ(exact.text, body);
  // The same for text that comes from HTML, and for base64 text cut while decoding.
  limits.max_text = 11;
  const message_view html = view_both("Content-Type: text/html\n\n<p>" + body + "</p>", limits);
  EXPECT_TRUE(html.text_truncated);
  EXPECT_EQ(html.text.size(), 10u);
  limits.max_text = 4;
  const message_view b64 = view_both(
      "Content-Transfer-Encoding: base64\n\nR3LDvMOfZSBhdXMgS8O2bG4h\nClp3ZWl0ZSBaZWlsZS4K\n",
      limits);
  EXPECT_TRUE(b64.text_truncated);
  EXPECT_EQ(b64.text, "Grü");
}

TEST(MessageView, HugeHeaderSectionStaysBounded) {
  std::string message = "Subject: first\n";
  while (message.size() < (10u << 20)) message += "X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
  message += "From: late@example.com\n\nthe body\n";
  const message_view_result r = view_message(message);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.view.subject, "first");
  EXPECT_EQ(r.view.from, "late@example.com");  // found although not kept in the list
  EXPECT_EQ(r.view.text, "the body\n");
  EXPECT_LE(r.view.headers.size(), 4096u);

  // One field folded over 10 MB: its value is kept cut, the body still found.
  std::string folded = "Subject: start\n";
  while (folded.size() < (10u << 20)) folded += " more words in a very long folded field\n";
  folded += "\nbody\n";
  const message_view_result f = view_message(folded);
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.view.text, "body\n");
  EXPECT_LE(f.view.subject.size(), 65536u);
  EXPECT_EQ(f.view.subject.rfind("start more words", 0), 0u);
}

std::string nested_multipart(int levels) {
  std::string message;
  for (int i = 0; i < levels; ++i) {
    message += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\n\n--b" +
               std::to_string(i) + "\n";
  }
  return message + "Content-Type: text/plain\n\ndeep text\n";
}

TEST(MessageView, DepthBombStopsAtMaxDepth) {
  const message_view_result bomb = view_message(nested_multipart(20000));
  ASSERT_TRUE(bomb.ok) << bomb.error;
  EXPECT_EQ(bomb.view.text, "");  // beyond max_depth: not looked at

  // The limit is what stops the walk: just within it the text is found, just beyond not.
  const std::string message = nested_multipart(40);
  message_view_limits limits;
  limits.max_depth = 40;
  EXPECT_EQ(view_message(message, limits).view.text, "deep text\n");
  limits.max_depth = 39;
  const message_view_result cut = view_message(message, limits);
  ASSERT_TRUE(cut.ok);
  EXPECT_EQ(cut.view.text, "");
}

TEST(MessageView, HundredThousandPartsStopAtMaxParts) {
  std::string message = "Content-Type: multipart/mixed; boundary=p\n\n--p\n\nthe text\n";
  for (int i = 0; i < 100000; ++i) {
    message += "--p\nContent-Disposition: attachment; filename=f" + std::to_string(i) + "\n\nx\n";
  }
  message += "--p--\n";
  const message_view_result r = view_message(message);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.view.text, "the text");
  // The root and the text part count as parts too.
  EXPECT_EQ(r.view.attachments.size(), 498u);
  EXPECT_EQ(r.view.attachments.back().filename, "f497");
}

TEST(MessageView, EveryPrefixOfAMessageIsViewable) {
  for (const std::string& message : {to_lf(kNested), to_crlf(kNested)}) {
    for (std::size_t n = 0; n <= message.size(); ++n) {
      const message_view_result r = view_message(std::string_view(message).substr(0, n));
      ASSERT_TRUE(r.ok) << "prefix " << n;
      expect_all_utf8(r.view);
      ASSERT_LE(r.view.attachments.size(), 5u);
    }
  }
}

TEST(MessageView, MboxFromLineAndEncodedHeaderValues) {
  const message_view v = view_both(
      "From sender@example.com Mon Jan  1 00:00:00 2024\n"
      "Subject: =?utf-8?B?8J+Ukw==?= key\n"
      "X-Mailer: =?iso-8859-1?q?M=E4iler?=\n"
      "\n"
      "hi\n");
  ASSERT_EQ(v.headers.size(), 2u);
  EXPECT_EQ(v.headers[0], (std::pair<std::string, std::string>("Subject", "🔓 key")));
  EXPECT_EQ(v.headers[1], (std::pair<std::string, std::string>("X-Mailer", "Mäiler")));
  EXPECT_EQ(v.text, "hi\n");
}

}  // namespace
}  // namespace junction::mime::test
