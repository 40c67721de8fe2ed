// header_reader: streaming, limits and hostile input. The golden fixtures cover the
// field-by-field results.
#include <gtest/gtest.h>

#include <string>

#include "mime_test_support.h"

namespace junction::mime::test {
namespace {

std::string filler_lines(std::size_t bytes) {
  std::string out;
  for (std::size_t n = 0; out.size() < bytes; ++n) {
    out += "X-Filler-" + std::to_string(n) + ": " + std::string(900, 'x') + "\r\n";
  }
  return out;
}

TEST(MimeHeaderReader, CompleteAtTheBlankLineAndIgnoresTheBody) {
  header_reader reader;
  EXPECT_TRUE(reader.feed("Subject: hi\r\n"));
  EXPECT_FALSE(reader.done());
  EXPECT_FALSE(reader.feed("\r\nSubject: body text\r\n"));
  EXPECT_TRUE(reader.done());
  EXPECT_FALSE(reader.feed("From: later@example.com\r\n"));
  EXPECT_EQ(reader.summary().subject, "hi");
  EXPECT_EQ(reader.summary().from, "");
  EXPECT_FALSE(reader.error());
}

TEST(MimeHeaderReader, HeadersOnlyMessageIsCompleteAfterFinish) {
  header_reader reader;
  EXPECT_TRUE(reader.feed("Subject: no body\r\nMessage-ID: <a@b>"));
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.summary().message_id, "");  // the last field may still continue
  reader.finish();
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.summary().subject, "no body");
  EXPECT_EQ(reader.summary().message_id, "a@b");
  reader.finish();  // a second finish changes nothing
  EXPECT_EQ(reader.summary().message_id, "a@b");
}

TEST(MimeHeaderReader, EmptyInputAndLeadingBlankLineGiveAnEmptySummary) {
  EXPECT_EQ(read_whole(""), read_whole("\r\nSubject: body\r\n"));
  header_reader reader;
  EXPECT_FALSE(reader.feed("\n"));
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.summary().subject, "");
}

TEST(MimeHeaderReader, LoneCarriageReturnIsNotALineEnd) {
  header_reader reader;
  reader.feed("Subject: a\rb\r\r\n\r\n");
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.summary().subject, "a b");
}

TEST(MimeHeaderReader, CarriageReturnAtTheEndOfAPieceWaitsForTheNext) {
  header_reader reader;
  EXPECT_TRUE(reader.feed("Subject: x\r"));
  EXPECT_TRUE(reader.feed("\n\r"));
  EXPECT_FALSE(reader.feed("\n"));
  EXPECT_EQ(reader.summary().subject, "x");
}

TEST(MimeHeaderReader, HeaderSectionOverTheLimitStopsWithWhatWasRead) {
  const std::string head = "Message-ID: <big@example.com>\r\nSubject: before the flood\r\n";
  const std::string message = head + filler_lines(2 << 20) + "From: too@late.example\r\n\r\n";
  for (const std::string& result : {read_whole(message), read_bytewise(message)}) {
    EXPECT_NE(result.find("message-id: big@example.com\n"), std::string::npos) << result;
    EXPECT_NE(result.find("subject: before the flood\n"), std::string::npos);
    EXPECT_NE(result.find("from:\n"), std::string::npos);
    EXPECT_NE(result.find("error: MIME: header section exceeds limit 1048576 bytes at byte "
                          "1048576\n"),
              std::string::npos)
        << result;
  }
  header_reader reader;
  EXPECT_FALSE(reader.feed(message));
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.error().kind, error_kind::protocol);
  EXPECT_FALSE(reader.feed("Subject: more\r\n"));
}

TEST(MimeHeaderReader, ErrorSaysAtWhichByteTheLimitWasHit) {
  limits l;
  l.max_header_bytes = 21;
  header_reader reader(l);
  EXPECT_FALSE(reader.feed("Subject: 0123456789\r\nFrom: x\r\n"));
  EXPECT_EQ(reader.error().message, "MIME: header section exceeds limit 21 bytes at byte 21");
  // The Subject's line ended within the limit; a From cut mid-line would be dropped.
  EXPECT_EQ(reader.summary().subject, "0123456789");
  EXPECT_EQ(reader.summary().from, "");

  l.max_header_bytes = 28;  // ends inside "From: x"
  header_reader cut(l);
  EXPECT_FALSE(cut.feed("Subject: 0123456789\r\nFrom: x\r\n"));
  EXPECT_EQ(cut.error().message, "MIME: header section exceeds limit 28 bytes at byte 28");
  EXPECT_EQ(cut.summary().subject, "0123456789");
  EXPECT_EQ(cut.summary().from, "");

  // Exactly at the limit, blank line included: fine.
  l.max_header_bytes = 23;
  header_reader exact(l);
  EXPECT_FALSE(exact.feed("Subject: 0123456789\r\n\r\nbody"));
  EXPECT_FALSE(exact.error());
}

TEST(MimeHeaderReader, MegabyteLineWithoutLineEnd) {
  std::string line = "Subject:";
  while (line.size() < (1u << 20)) line += "\xe2\x82\xac";  // U+20AC, three bytes
  // Over the default header limit: an error, and the unfinished Subject is not reported.
  header_reader strict;
  EXPECT_FALSE(strict.feed(line));
  EXPECT_TRUE(strict.done());
  EXPECT_TRUE(strict.error());
  EXPECT_EQ(strict.summary().subject, "");

  // With room for it: the value is cut at max_field_value on a character boundary.
  limits roomy;
  roomy.max_header_bytes = 4u << 20;
  for (const std::string& result : {read_whole(line, roomy), read_bytewise(line, roomy)}) {
    header_reader reader(roomy);
    reader.feed(line);
    reader.finish();
    const std::string& subject = reader.summary().subject;
    EXPECT_FALSE(reader.error());
    EXPECT_EQ(subject.size(), 65535u);  // 21845 whole characters of 3 bytes
    EXPECT_TRUE(is_utf8(subject));
    EXPECT_EQ(result, render(reader));
  }
}

TEST(MimeHeaderReader, LongFieldIsTruncatedNotAnError) {
  limits l;
  l.max_field_value = 10;
  header_reader reader(l);
  reader.feed(
      "Subject: \xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\xc3\x84\r\n"
      "From: =?utf-8?q?J=C3=B6rg_Mustermann?= <joerg@example.de>\r\n\r\n");
  EXPECT_FALSE(reader.error());
  // Raw body cut to 10 bytes: " ÄÄÄÄ" plus half an Ä, which is dropped.
  EXPECT_EQ(reader.summary().subject, "\xc3\x84\xc3\x84\xc3\x84\xc3\x84");
  // The encoded word is cut and stays as written, itself cut at 10 bytes.
  EXPECT_EQ(reader.summary().from, "=?utf-8?q");
}

TEST(MimeHeaderReader, TooManyFieldsIsAnError) {
  limits l;
  l.max_fields = 3;
  header_reader reader(l);
  EXPECT_FALSE(reader.feed("Subject: s\nA: 1\nB: 2\nFrom: f@example.com\n\n"));
  EXPECT_EQ(reader.error().message, "MIME: header field count exceeds limit 3 at byte 21");
  EXPECT_EQ(reader.summary().subject, "s");
  EXPECT_EQ(reader.summary().from, "");
}

TEST(MimeHeaderReader, ContinuationLinesAreUnfolded) {
  header_reader reader;
  reader.feed("Subject: one\r\n two\r\n\tthree\r\n \r\n four\r\n\r\n");
  EXPECT_EQ(reader.summary().subject, "one two three four");
}

TEST(MimeHeaderReader, HostileBytesNeverCrashAndYieldUtf8) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919 + i / 13) & 0xFF);
  const std::string message = "Subject: " + junk + "\r\nFrom: " + junk + "\r\nTo:" + junk;
  header_reader reader;
  reader.feed(message);
  reader.finish();
  EXPECT_TRUE(reader.done());
  const message_summary& s = reader.summary();
  for (const std::string* field : {&s.message_id, &s.from, &s.to, &s.subject, &s.date}) {
    EXPECT_TRUE(is_utf8(*field));
  }
  EXPECT_EQ(read_bytewise(message), render(reader));
}

}  // namespace
}  // namespace junction::mime::test
