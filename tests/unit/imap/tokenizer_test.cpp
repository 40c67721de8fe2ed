#include "imap/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace junction::imap {
namespace {

std::string describe(const token& t) {
  switch (t.type) {
    case token_type::need_data:
      return "need_data";
    case token_type::atom:
      return "atom:" + std::string(t.text);
    case token_type::number:
      return "num:" + std::to_string(t.number);
    case token_type::quoted:
      return "q:" + std::string(t.text);
    case token_type::nil:
      return "nil";
    case token_type::lparen:
      return "(";
    case token_type::rparen:
      return ")";
    case token_type::lbracket:
      return "[";
    case token_type::rbracket:
      return "]";
    case token_type::literal_begin:
      return std::string(t.literal8 ? "lit8:" : "lit:") + std::to_string(t.number);
    case token_type::literal_chunk:
      return "chunk:" + std::string(t.text);
    case token_type::literal_end:
      return "end";
    case token_type::text:
      return "text:" + std::string(t.text);
    case token_type::end_of_line:
      return "eol";
    case token_type::error:
      return "error";
  }
  return "?";
}

// Tokenizes `input` fed in `pieces`; a line whose first token is the atom TEXT is read in text
// mode after it. Literal chunks are coalesced, since their cutting depends on the feeding.
std::string tokens_of(const std::vector<std::string_view>& pieces, tokenizer_limits l = {}) {
  tokenizer tok(l);
  std::vector<std::string> out;
  bool line_start = true, text_next = false, last_was_chunk = false;
  auto drain = [&]() {
    for (;;) {
      token t = text_next ? tok.next_text() : tok.next();
      if (t.type == token_type::need_data) return true;
      text_next = false;
      if (t.type == token_type::literal_chunk && last_was_chunk) {
        out.back() += t.text;
        continue;
      }
      last_was_chunk = t.type == token_type::literal_chunk;
      out.push_back(describe(t));
      if (t.type == token_type::error) {
        out.back() += " " + tok.error();
        return false;
      }
      if (line_start && t.type == token_type::atom && t.text == "TEXT") text_next = true;
      line_start = t.type == token_type::end_of_line;
    }
  };
  for (auto p : pieces) {
    tok.feed(p);
    if (!drain()) break;
  }
  std::string s;
  for (const auto& x : out) s += x + " ";
  if (!out.empty() && out.back().rfind("error", 0) == 0) s.pop_back();
  return s;
}

std::string tokens_whole(std::string_view input, tokenizer_limits l = {}) {
  return tokens_of({input}, l);
}

// Whole, every two-way split and byte at a time must agree.
std::string tokens_everyhow(std::string_view input, tokenizer_limits l = {}) {
  std::string whole = tokens_whole(input, l);
  for (std::size_t k = 0; k <= input.size(); ++k) {
    EXPECT_EQ(tokens_of({input.substr(0, k), input.substr(k)}, l), whole) << "split at " << k;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
  EXPECT_EQ(tokens_of(bytes, l), whole) << "byte at a time";
  return whole;
}

TEST(ImapTokenizer, AtomsNumbersStringsAndLists) {
  EXPECT_EQ(tokens_everyhow(
                "* 12 FETCH (FLAGS (\\Seen \\*) UID 4294967296 X nil \"a \\\"q\\\" \\\\\")\r\n"),
            "atom:* num:12 atom:FETCH ( atom:FLAGS ( atom:\\Seen atom:\\* ) atom:UID "
            "num:4294967296 atom:X nil q:a \"q\" \\ ) eol ");
}

TEST(ImapTokenizer, BracketsAndOrigins) {
  EXPECT_EQ(tokens_everyhow("BODY[HEADER.FIELDS (MESSAGE-ID)]<0> BODY[] 1:5,7\r\n"),
            "atom:BODY [ atom:HEADER.FIELDS ( atom:MESSAGE-ID ) ] atom:<0> atom:BODY [ ] "
            "atom:1:5,7 eol ");
}

TEST(ImapTokenizer, LiteralsStreamAndContinueTheResponse) {
  EXPECT_EQ(tokens_everyhow("A {5}\r\n)(\r\n{ B ~{2}\r\n\x01\x02 {0}\r\n C\r\nD\r\n"),
            "atom:A lit:5 chunk:)(\r\n{ end atom:B lit8:2 chunk:\x01\x02 end lit:0 end atom:C eol "
            "atom:D eol ");
  EXPECT_EQ(tokens_everyhow("A {3+}\r\nabc\r\n"), "atom:A lit:3 chunk:abc end eol ");
}

TEST(ImapTokenizer, TextModeTakesTheRawRestOfTheLine) {
  EXPECT_EQ(tokens_everyhow("TEXT  [ALERT] a \"b (c {5}\r\nTEXT\r\nX\n"),
            "atom:TEXT text:[ALERT] a \"b (c {5} eol atom:TEXT text: eol atom:X eol ");
}

TEST(ImapTokenizer, BareLfAndSpacesAreTolerated) {
  EXPECT_EQ(tokens_everyhow("  A   B\t C  \nD\r\r\n"),
            "atom:A atom:B atom:C eol error IMAP: control byte 0x0d in a response at byte 14");
}

TEST(ImapTokenizer, LiteralLimits) {
  tokenizer_limits l;
  l.max_literal = 100;
  EXPECT_EQ(tokens_everyhow("A {100}\r\n", l), "atom:A lit:100 ");
  EXPECT_EQ(tokens_everyhow("A {101}\r\n", l),
            "atom:A error IMAP: literal size 101 exceeds limit 100 at byte 2");
  EXPECT_EQ(tokens_everyhow("A {18446744073709551616}\r\n"),
            "atom:A error IMAP: literal size 18446744073709551616 out of range at byte 2");
  EXPECT_EQ(tokens_whole("A {" + std::string(5000, '9') + "}\r\n"),
            "atom:A error IMAP: literal size 999999999999999999999999... out of range at byte 2");
  EXPECT_EQ(tokens_everyhow("A {}\r\n"), "atom:A error IMAP: malformed literal marker at byte 2");
  EXPECT_EQ(tokens_everyhow("A {5\r\n"), "atom:A error IMAP: malformed literal marker at byte 2");
  EXPECT_EQ(tokens_everyhow("A {5} B\r\n"),
            "atom:A error IMAP: literal marker not at the end of its line at byte 2");
}

TEST(ImapTokenizer, LineLimitCountsEveryNonLiteralByteOfAResponse) {
  tokenizer_limits l;
  l.max_line = 12;
  EXPECT_EQ(tokens_everyhow("0123456789\r\n", l), "num:123456789 eol ");
  EXPECT_EQ(tokens_everyhow("0123456789A\r\n", l),
            "error IMAP: response line longer than 12 bytes at byte 0");
  // Literal bytes do not count; the segments around them do.
  EXPECT_EQ(tokens_everyhow("A {20}\r\n01234567890123456789 BB\r\nC\r\n", l),
            "atom:A lit:20 chunk:01234567890123456789 end error IMAP: response line longer than "
            "12 bytes at byte 28");
  EXPECT_EQ(tokens_everyhow("A {20}\r\n01234567890123456789B\r\nC\r\n", l),
            "atom:A lit:20 chunk:01234567890123456789 end atom:B eol atom:C eol ");
}

TEST(ImapTokenizer, DepthAndBalance) {
  tokenizer_limits l;
  l.max_depth = 3;
  EXPECT_EQ(tokens_everyhow("((()))\r\n", l), "( ( ( ) ) ) eol ");
  EXPECT_EQ(tokens_everyhow("(((())))\r\n", l),
            "( ( ( error IMAP: parentheses nested deeper than 3 at byte 3");
  EXPECT_EQ(tokens_everyhow("())\r\n"), "( ) error IMAP: unbalanced ')' at byte 2");
  EXPECT_EQ(tokens_everyhow("(A\r\n"),
            "( atom:A error IMAP: unbalanced '(' at end of response at byte 2");
}

TEST(ImapTokenizer, QuotedStrings) {
  using namespace std::string_literals;
  EXPECT_EQ(tokens_everyhow("\"\" \"caf\xc3\xa9\" \"a\\b\"\r\n"), "q: q:caf\xc3\xa9 q:a\\b eol ");
  EXPECT_EQ(tokens_everyhow("\"abc\r\n"), "error IMAP: unterminated quoted string at byte 0");
  EXPECT_EQ(tokens_everyhow("\"a\rb\"\r\n"), "error IMAP: CR in a quoted string at byte 2");
  EXPECT_EQ(tokens_everyhow("\"a\0b\"\r\n"s), "error IMAP: NUL byte in a quoted string at byte 2");
}

TEST(ImapTokenizer, MidResponseTracksPartialInput) {
  tokenizer tok;
  EXPECT_FALSE(tok.mid_response());
  tok.feed("A");
  EXPECT_TRUE(tok.mid_response());
  tok.feed(" {2}\r\nx");
  EXPECT_EQ(tok.next().type, token_type::atom);
  EXPECT_EQ(tok.next().type, token_type::literal_begin);
  EXPECT_EQ(tok.next().text, "x");
  EXPECT_EQ(tok.next().type, token_type::need_data);
  EXPECT_TRUE(tok.mid_response());
  tok.feed("y\r\n");
  EXPECT_EQ(tok.next().text, "y");
  EXPECT_EQ(tok.next().type, token_type::literal_end);
  EXPECT_EQ(tok.next().type, token_type::end_of_line);
  EXPECT_FALSE(tok.mid_response());
  EXPECT_EQ(tok.offset(), 11u);
}

}  // namespace
}  // namespace junction::imap
