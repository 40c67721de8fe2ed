// The framing of POST /api/mailbox/batch on its own: every cut of a good batch, and framings
// a hostile or buggy client sends (sizes that miscount, overflow or point past the end,
// lines too long or too deep, too many records).
#include "serve/batch_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace junction::serve {
namespace {

using nlohmann::json;

std::string record(const std::string& message, const std::string& extra = "") {
  return "{\"size\":" + std::to_string(message.size()) + extra + "}\n" + message + "\n";
}

// What a parse gave, as one comparable string.
std::string describe(const std::optional<std::vector<batch_record>>& records,
                     const std::string& problem) {
  if (!records) return "error: " + problem;
  std::string out;
  for (const batch_record& r : *records) {
    out += r.header.dump() + " [" + std::string(r.message) + "]\n";
  }
  return out;
}

std::string parse(std::string_view body, const batch_limits& limits = {}) {
  std::string problem;
  const auto records = parse_batch(body, problem, limits);
  return describe(records, problem);
}

TEST(batch_codec, reads_every_record_with_its_header_and_exact_bytes) {
  const std::string binary("\0\x01\xff\r\n.\r\n", 8);
  const std::string body = record("Subject: one\r\n\r\nhello\r\n", ",\"folder\":\"INBOX\"") +
                           record("") + record(binary, ",\"flags\":\"\\\\Seen\"") +
                           // A message that looks like a record of its own is just bytes.
                           record("{\"size\":0}\n\n");
  std::string problem;
  const auto records = parse_batch(body, problem);
  ASSERT_TRUE(records) << problem;
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].message, "Subject: one\r\n\r\nhello\r\n");
  EXPECT_EQ((*records)[0].header["folder"], "INBOX");
  EXPECT_EQ((*records)[1].message, "");
  EXPECT_EQ((*records)[2].message, binary);
  EXPECT_EQ((*records)[2].header["flags"], "\\Seen");
  EXPECT_EQ((*records)[3].message, "{\"size\":0}\n\n");
  // The views point into the body.
  EXPECT_GE((*records)[0].message.data(), body.data());
  EXPECT_LE((*records)[3].message.data() + (*records)[3].message.size(), body.data() + body.size());
}

// Cut at every byte offset: a cut at a record boundary is the batch of the records before
// it; any other cut is refused as a whole, never read as a shorter record.
TEST(batch_codec, every_cut_of_a_batch_is_its_first_records_or_an_error) {
  const std::vector<std::string> records = {
      record("a\r\nb\r\n"), record(""), record("\n\n{\"size\":1}\n"), record("xyz", ",\"k\":1")};
  std::string body;
  std::vector<std::size_t> ends;
  for (const std::string& r : records) {
    body += r;
    ends.push_back(body.size());
  }
  const std::string whole = parse(body);
  ASSERT_EQ(whole.rfind("error", 0), std::string::npos) << whole;
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    std::string problem;
    const auto got = parse_batch(std::string_view(body).substr(0, cut), problem);
    std::size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= cut) ++complete;
    const bool boundary = complete > 0 && ends[complete - 1] == cut;
    if (!boundary) {
      EXPECT_FALSE(got) << describe(got, problem);
      EXPECT_FALSE(problem.empty());
      continue;
    }
    ASSERT_TRUE(got) << problem;
    ASSERT_EQ(got->size(), complete);
    std::string prefix;
    for (std::size_t i = 0; i < complete; ++i) prefix += records[i];
    EXPECT_EQ(describe(got, problem), parse(prefix));
  }
}

TEST(batch_codec, refuses_sizes_that_do_not_frame_the_message) {
  // One byte short, one byte long: the closing LF is not where the size says.
  EXPECT_EQ(parse("{\"size\":2}\nabc\n"),
            "error: batch record 1 at byte 0: the message is not followed by a line end");
  EXPECT_EQ(parse("{\"size\":4}\nabc\n"),
            "error: batch record 1 at byte 0: \"size\" 4 reaches beyond the end of the body");
  // The error names the record and where it starts.
  EXPECT_EQ(parse(record("ok") + "{\"size\":9}\nabc\n"),
            "error: batch record 2 at byte 14: \"size\" 9 reaches beyond the end of the body");
  // Sizes near 2^64 must not wrap around the bounds check.
  const auto max = std::numeric_limits<std::uint64_t>::max();
  for (const std::uint64_t size : {max, max - 1, max - 10, std::uint64_t{1} << 63}) {
    EXPECT_EQ(parse("{\"size\":" + std::to_string(size) + "}\nabc\n"),
              "error: batch record 1 at byte 0: \"size\" " + std::to_string(size) +
                  " reaches beyond the end of the body");
  }
  // Larger than any integer nlohmann keeps: a float, not a size.
  for (const char* size : {"18446744073709551616", "-1", "1.0", "1e2", "\"3\"", "null", "true"}) {
    EXPECT_EQ(parse(std::string("{\"size\":") + size + "}\nabc\n"),
              "error: batch record 1 at byte 0: \"size\" must be the message's length in bytes")
        << size;
  }
  EXPECT_EQ(parse("{}\n\n"),
            "error: batch record 1 at byte 0: \"size\" must be the message's length in bytes");
}

TEST(batch_codec, refuses_lines_that_are_not_a_json_object) {
  for (const char* line : {"", "[]", "1", "\"size\"", "{", "{\"size\":0", "{\"size\":0}}",
                           "{\"size\":0} {}", "\xff"}) {
    EXPECT_EQ(parse(std::string(line) + "\n\n"),
              "error: batch record 1 at byte 0: the line is not a JSON object")
        << line;
  }
  // Invalid UTF-8 inside a string is refused too (nlohmann's parser checks it).
  EXPECT_EQ(parse("{\"size\":0,\"k\":\"\xc3\"}\n\n"),
            "error: batch record 1 at byte 0: the line is not a JSON object");
  // CR before the LF is whitespace to JSON: a CRLF line end works.
  EXPECT_EQ(parse("{\"size\":1}\r\nx\n"), "{\"size\":1} [x]\n");
}

// nlohmann's parser takes a NUL byte for the end of its input: without a check of its own,
// {"size":1}<NUL>anything was read as {"size":1} and the rest of the line ignored. JSON has
// no raw NUL (RFC 8259: not even inside a string), so the line is refused.
TEST(batch_codec, refuses_a_json_line_with_a_nul_byte) {
  const std::string nul(1, '\0');
  EXPECT_EQ(parse("{\"size\":1}" + nul + "{\"folder\":\"Other\"}\nx\n"),
            "error: batch record 1 at byte 0: the line is not a JSON object");
  EXPECT_EQ(parse("{\"size\":1,\"folder\":\"a" + nul + "b\"}\nx\n"),
            "error: batch record 1 at byte 0: the line is not a JSON object");
  EXPECT_EQ(parse(record("x") + "{\"size\":0}" + nul + "\n\n"),
            "error: batch record 2 at byte 13: the line is not a JSON object");
  // A NUL in the message itself is just a byte of it.
  EXPECT_EQ(parse("{\"size\":1}\n" + nul + "\n"), "{\"size\":1} [" + nul + "]\n");
}

TEST(batch_codec, refuses_an_empty_body_and_a_line_without_end) {
  EXPECT_EQ(parse(""), "error: the batch holds no records");
  EXPECT_EQ(parse("{\"size\":0}"),
            "error: batch record 1 at byte 0: the JSON line has no line end");
  EXPECT_EQ(parse("\n"), "error: batch record 1 at byte 0: the line is not a JSON object");
  EXPECT_EQ(parse(record("a") + "\n"),
            "error: batch record 2 at byte 13: the line is not a JSON object");
}

TEST(batch_codec, limits_the_line_length_before_looking_for_its_end) {
  const batch_limits limits{10, 16, 4};
  // 16 bytes is the longest line; a longer one is refused without reading further.
  const std::string sixteen = "{\"size\":0,\"a\":1}";
  ASSERT_EQ(sixteen.size(), 16u);
  EXPECT_EQ(parse(sixteen + "\n\n", limits), "{\"a\":1,\"size\":0} []\n");
  const std::string seventeen = "{\"size\":0,\"a\":12}";
  EXPECT_EQ(parse(seventeen + "\n\n", limits),
            "error: batch record 1 at byte 0: the JSON line is longer than 16 bytes");
  EXPECT_EQ(parse(std::string(1u << 20, ' '), limits),
            "error: batch record 1 at byte 0: the JSON line is longer than 16 bytes");
  // The default: 4096 bytes.
  const std::string padded = "{\"size\":0,\"p\":\"" + std::string(4096 - 17, 'x') + "\"}";
  ASSERT_EQ(padded.size(), 4096u);
  EXPECT_EQ(parse(padded + "\n\n").rfind("error", 0), std::string::npos);
  EXPECT_EQ(parse("{\"size\":0,\"p\":\"" + std::string(4096 - 16, 'x') + "\"}\n\n"),
            "error: batch record 1 at byte 0: the JSON line is longer than 4096 bytes");
}

TEST(batch_codec, limits_nesting_and_the_number_of_records) {
  EXPECT_EQ(parse("{\"size\":0,\"a\":[[[1]]]}\n\n"), "{\"a\":[[[1]]],\"size\":0} []\n");
  EXPECT_EQ(parse("{\"size\":0,\"a\":[[[[1]]]]}\n\n"),
            "error: batch record 1 at byte 0: the JSON line nests too deeply");
  // Brackets inside strings are text.
  EXPECT_EQ(parse("{\"size\":0,\"a\":\"[[[[[[\\\"[[[\"}\n\n").rfind("error", 0), std::string::npos);
  const batch_limits limits{3, 4096, 4};
  std::string body = record("1") + record("2") + record("3");
  EXPECT_EQ(parse(body, limits).rfind("error", 0), std::string::npos);
  body += record("4");
  EXPECT_EQ(parse(body, limits), "error: batch record 4 at byte 39: more than 3 records");
  // The default: 1000 records.
  std::string many;
  for (int i = 0; i < 1000; ++i) many += record("");
  EXPECT_EQ(parse(many).rfind("error", 0), std::string::npos);
  many += record("");
  EXPECT_EQ(parse(many), "error: batch record 1001 at byte 12000: more than 1000 records");
}

}  // namespace
}  // namespace junction::serve
