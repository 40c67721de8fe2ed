// Streaming lexer for IMAP server responses (RFC 3501 §9, RFC 9051 §9), sans-I/O.
//
// The tokenizer owns the input buffer. It hands out a response as tokens, one line segment at
// a time: a segment is the bytes up to a line end (CRLF, or a bare LF), and a response is one
// or more segments joined by literals. Within a segment every token is available at once, so
// a parser above only ever waits ("need_data") at the start of a segment or inside a literal.
//
// Literals `{n}` / `{n+}` and literal8 `~{n}` (RFC 3516) stream as literal_begin (number =
// size), literal_chunk (text = the bytes at hand, views into the buffer) and literal_end: a
// literal is never accumulated here.
//
// Limits are checked before anything grows: a segment without a line end may not exceed
// max_line (so an endless line costs bounded memory), literal sizes are checked digit by digit
// before multiplying and against max_literal, and parenthesis nesting against max_depth.
//
// Views in tokens point into the buffer and stay valid until the next feed(): the buffer is
// only compacted there. Quoted strings are unescaped in place, in bytes already consumed.
//
// Leniency (quirks real servers need; each keeps the stream unambiguous):
//   - bare LF ends a line like CRLF (a CR directly before the LF is dropped);
//   - runs of spaces (and tabs) between tokens are skipped, also at the start of a line;
//   - 8-bit bytes are accepted in atoms and quoted strings (UTF-8 names, broken servers);
//   - '*', '%' and '\' are atom characters, so "\*" and "*" come out as atoms;
//   - in a quoted string an escape other than \" and \\ keeps both bytes;
//   - `{n+}` (a non-synchronizing literal, which servers should not send) is accepted.
// Never accepted: NUL outside literals, other control bytes in tokens, unbalanced
// parentheses, a literal marker not at the end of its line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace junction::imap {

struct tokenizer_limits {
  std::size_t max_line = 65536;  // non-literal bytes of one response, line ends included
  std::uint64_t max_literal = 512ull << 20;
  std::size_t max_depth = 32;
};

enum class token_type : std::uint8_t {
  need_data,  // feed more bytes
  atom,       // text
  number,     // text (the digits) and number; an all-digit atom that fits in 64 bits
  quoted,     // text = the unescaped content
  nil,        // the atom NIL, any case
  lparen,
  rparen,
  lbracket,
  rbracket,
  literal_begin,  // number = size; literal8 = true for ~{n}
  literal_chunk,  // text = some of the literal's bytes (never empty)
  literal_end,
  text,         // next_text(): the rest of the line, raw
  end_of_line,  // the response is complete
  error,        // terminal; see error()
};

struct token {
  token_type type = token_type::need_data;
  std::string_view text;
  std::uint64_t number = 0;
  bool literal8 = false;
};

class tokenizer {
 public:
  explicit tokenizer(tokenizer_limits l = {}) : limits_(l) {}

  void feed(std::string_view bytes);

  // The next token of the response. After literal_begin come literal_chunk* and
  // literal_end, whatever mode is asked for.
  token next();
  // The rest of the current line without its leading spaces and its line end, for resp-text
  // and other free text (a "{5}" there is text, not a literal). end_of_line follows.
  token next_text();

  // True while part of a response has been consumed or buffered: EOF now cuts a response.
  bool mid_response() const { return started_ || in_literal_ || pos_ < buf_.size(); }
  std::size_t buffered() const { return buf_.size() - pos_; }
  // Absolute stream offset of the next unconsumed byte, for error messages.
  std::uint64_t offset() const { return base_ + pos_; }
  // Absolute stream offset where the last token handed out began, for error messages.
  std::uint64_t token_offset() const { return token_start_; }
  std::size_t depth() const { return depth_; }
  const std::string& error() const { return error_; }

 private:
  bool find_segment();
  token fail(std::string message, std::size_t at);
  token literal_step();
  token read_quoted();
  token read_literal_marker();
  token read_atom();

  tokenizer_limits limits_;
  std::string buf_;
  std::size_t pos_ = 0;     // next byte to tokenize
  std::uint64_t base_ = 0;  // stream offset of buf_[0]
  std::size_t scan_ = 0;    // where the search for the next LF resumes
  bool have_segment_ = false;
  std::size_t content_end_ = 0;  // end of the segment's content (before CR LF)
  std::size_t segment_end_ = 0;  // just after the segment's LF
  std::size_t line_bytes_ = 0;   // non-literal bytes of this response in earlier segments
  std::size_t depth_ = 0;
  bool started_ = false;  // a token of this response was handed out
  bool in_literal_ = false;
  std::uint64_t literal_left_ = 0;
  std::uint64_t token_start_ = 0;
  std::string error_;
};

}  // namespace junction::imap
