// The message content on the wire (RFC 5321 §4.5.2): line ends made CRLF, dot-stuffing, the
// terminator; the same bytes however the message is cut into chunks.
#include <gtest/gtest.h>

#include <string>

#include "smtp/data_encoder.h"
#include "smtp_harness.h"

namespace junction::smtp {
namespace {

using testing::visible;

std::string encode_whole(std::string_view message) {
  data_encoder enc;
  std::string out;
  enc.encode(message, out);
  enc.finish(out);
  return out;
}

// Every cut into two chunks, and one byte at a time, gives the whole encoding.
std::string encode_checked(std::string_view message) {
  const std::string whole = encode_whole(message);
  for (std::size_t i = 0; i <= message.size(); ++i) {
    data_encoder enc;
    std::string out;
    enc.encode(message.substr(0, i), out);
    enc.encode(message.substr(i), out);
    enc.finish(out);
    EXPECT_EQ(visible(out), visible(whole)) << "cut at " << i << " of " << visible(message);
  }
  data_encoder enc;
  std::string out;
  for (char c : message) enc.encode(std::string_view(&c, 1), out);
  enc.encode("", out);  // an empty chunk changes nothing
  enc.finish(out);
  EXPECT_EQ(visible(out), visible(whole)) << "byte at a time of " << visible(message);
  return whole;
}

struct data_case {
  const char* name;
  std::string message;
  std::string wire;
};

TEST(SmtpData, DotStuffingAndLineEnds) {
  const data_case cases[] = {
      {"empty message", "", ".\r\n"},
      {"message of a dot alone", ".", "..\r\n.\r\n"},
      {"a line that is only a dot", "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"a dot line at the end", "a\r\n.\r\n", "a\r\n..\r\n.\r\n"},
      {"a line starting with a dot", ".hidden\r\n", "..hidden\r\n.\r\n"},
      {"two dots", "..\r\n", "...\r\n.\r\n"},
      {"dots inside lines stay", "a.b\r\n c.\r\n", "a.b\r\n c.\r\n.\r\n"},
      {"no final CRLF", "Subject: x\r\n\r\nbody", "Subject: x\r\n\r\nbody\r\n.\r\n"},
      {"ends with CRLF", "x\r\n", "x\r\n.\r\n"},
      {"bare LF", "a\nb\n", "a\r\nb\r\n.\r\n"},
      {"bare LF before a dot (smuggling)", "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
      {"bare CR", "a\rb", "a\r\nb\r\n.\r\n"},
      {"bare CR before a dot", "a\r.\rMAIL", "a\r\n..\r\nMAIL\r\n.\r\n"},
      {"CR at the end", "a\r", "a\r\n.\r\n"},
      {"LF at the start", "\n.", "\r\n..\r\n.\r\n"},
      {"CR CR LF", "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
      {"LF CR", "a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
      {"only CRLF", "\r\n", "\r\n.\r\n"},
      {"empty lines", "\r\n\r\n", "\r\n\r\n.\r\n"},
      {"8-bit and NUL bytes pass", std::string("caf\xc3\xa9\0x\r\n", 8),
       std::string("caf\xc3\xa9\0x\r\n.\r\n", 12)},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(visible(encode_checked(c.message)), visible(c.wire)) << c.name;
    // SIZE counts the normalised message without the stuffing and the terminator.
    std::string unstuffed;
    std::string_view w = c.wire;
    w.remove_suffix(3);  // ".\r\n"
    bool line_start = true;
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (line_start && w[i] == '.') {
        line_start = false;
        continue;
      }
      unstuffed += w[i];
      line_start = w[i] == '\n';
    }
    EXPECT_EQ(wire_size(c.message), unstuffed.size()) << c.name;
  }
}

TEST(SmtpData, TheEncoderIsReusableAfterFinish) {
  data_encoder enc;
  std::string out;
  enc.encode("x", out);
  enc.finish(out);
  enc.encode(".", out);
  enc.finish(out);
  EXPECT_EQ(visible(out), visible("x\r\n.\r\n..\r\n.\r\n"));
}

TEST(SmtpData, LargeMessageInChunksIsLinear) {
  // 8 MiB of short lines, many starting with '.', in 64 KiB chunks.
  std::string message;
  for (int i = 0; i < 400000; ++i) message += i % 3 == 0 ? ".line\r\n" : "text line\r\n";
  data_encoder enc;
  std::string out;
  for (std::size_t at = 0; at < message.size(); at += 65536) {
    enc.encode(std::string_view(message).substr(at, 65536), out);
  }
  enc.finish(out);
  EXPECT_EQ(out.size(), message.size() + 133334 + 3);
  EXPECT_EQ(out, encode_whole(message));
}

}  // namespace
}  // namespace junction::smtp
