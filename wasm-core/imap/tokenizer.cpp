#include "imap/tokenizer.h"

#include "common/ascii.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace junction::imap {
namespace {

// Bytes that end an atom: separators, specials that are tokens of their own, control bytes.
// 8-bit bytes, '*', '%' and '\' are atom characters here (see the leniency list).
constexpr std::array<bool, 256> make_atom_stop() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t[0x7f] = true;
  for (unsigned char c : std::string_view(" ()[]{\"")) t[c] = true;
  return t;
}
constexpr auto kAtomStop = make_atom_stop();

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A digit run for an error message, cut so a hostile marker cannot make the message huge.
std::string shown(std::string_view digits) {
  if (digits.size() <= 24) return std::string(digits);
  return std::string(digits.substr(0, 24)) + "...";
}

std::string hex_byte(unsigned char c) {
  const char* digits = "0123456789abcdef";
  std::string s = "0x";
  s += digits[c >> 4];
  s += digits[c & 15];
  return s;
}

}  // namespace

void tokenizer::feed(std::string_view bytes) {
  if (!error_.empty() || bytes.empty()) return;
  // Drop consumed bytes once they are at least as many as the ones kept: each byte is moved
  // at most once on average, so compaction stays linear however the input is split.
  if (pos_ > 0 && pos_ >= buf_.size() - pos_) {
    buf_.erase(0, pos_);
    base_ += pos_;
    scan_ = scan_ > pos_ ? scan_ - pos_ : 0;
    if (have_segment_) {
      content_end_ -= pos_;
      segment_end_ -= pos_;
    }
    pos_ = 0;
  }
  buf_.append(bytes);
}

token tokenizer::fail(std::string message, std::size_t at) {
  if (error_.empty()) error_ = std::move(message) + " at byte " + std::to_string(base_ + at);
  return token{token_type::error};
}

// Finds the line end of the segment starting at pos_. The search resumes where it stopped, so
// a line trickling in byte by byte is scanned once.
bool tokenizer::find_segment() {
  if (have_segment_) return true;
  std::size_t from = std::max(scan_, pos_);
  const void* lf =
      from < buf_.size() ? std::memchr(buf_.data() + from, '\n', buf_.size() - from) : nullptr;
  if (lf == nullptr) {
    scan_ = buf_.size();
    if (line_bytes_ + (buf_.size() - pos_) > limits_.max_line) {
      fail("IMAP: response line longer than " + std::to_string(limits_.max_line) + " bytes", pos_);
    }
    return false;
  }
  std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - buf_.data());
  std::size_t length = end + 1 - pos_;
  if (line_bytes_ + length > limits_.max_line) {
    fail("IMAP: response line longer than " + std::to_string(limits_.max_line) + " bytes", pos_);
    return false;
  }
  line_bytes_ += length;
  content_end_ = (end > pos_ && buf_[end - 1] == '\r') ? end - 1 : end;
  segment_end_ = end + 1;
  scan_ = segment_end_;
  have_segment_ = true;
  return true;
}

token tokenizer::literal_step() {
  if (literal_left_ == 0) {
    in_literal_ = false;
    return token{token_type::literal_end};
  }
  std::size_t available = buf_.size() - pos_;
  if (available == 0) return token{token_type::need_data};
  token_start_ = base_ + pos_;
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(available, literal_left_));
  token t{token_type::literal_chunk, std::string_view(buf_.data() + pos_, n)};
  pos_ += n;
  literal_left_ -= n;
  return t;
}

token tokenizer::next() {
  if (!error_.empty()) return token{token_type::error};
  if (in_literal_) return literal_step();
  if (!find_segment()) return token{error_.empty() ? token_type::need_data : token_type::error};
  while (pos_ < content_end_ && (buf_[pos_] == ' ' || buf_[pos_] == '\t')) ++pos_;
  token_start_ = base_ + pos_;
  if (pos_ == content_end_) {
    if (depth_ != 0) return fail("IMAP: unbalanced '(' at end of response", pos_);
    pos_ = segment_end_;
    have_segment_ = false;
    line_bytes_ = 0;
    started_ = false;
    return token{token_type::end_of_line};
  }
  started_ = true;
  char c = buf_[pos_];
  switch (c) {
    case '(':
      if (depth_ >= limits_.max_depth) {
        return fail("IMAP: parentheses nested deeper than " + std::to_string(limits_.max_depth),
                    pos_);
      }
      ++depth_;
      ++pos_;
      return token{token_type::lparen};
    case ')':
      if (depth_ == 0) return fail("IMAP: unbalanced ')'", pos_);
      --depth_;
      ++pos_;
      return token{token_type::rparen};
    case '[':
      ++pos_;
      return token{token_type::lbracket};
    case ']':
      ++pos_;
      return token{token_type::rbracket};
    case '"':
      return read_quoted();
    case '{':
      return read_literal_marker();
    case '~':
      if (pos_ + 1 < content_end_ && buf_[pos_ + 1] == '{') return read_literal_marker();
      return read_atom();
    default:
      return read_atom();
  }
}

token tokenizer::next_text() {
  if (!error_.empty()) return token{token_type::error};
  if (in_literal_) return literal_step();
  if (!find_segment()) return token{error_.empty() ? token_type::need_data : token_type::error};
  while (pos_ < content_end_ && (buf_[pos_] == ' ' || buf_[pos_] == '\t')) ++pos_;
  token_start_ = base_ + pos_;
  std::string_view text(buf_.data() + pos_, content_end_ - pos_);
  if (const void* nul = std::memchr(text.data(), '\0', text.size())) {
    return fail("IMAP: NUL byte in a response",
                pos_ + static_cast<std::size_t>(static_cast<const char*>(nul) - text.data()));
  }
  started_ = true;
  pos_ = content_end_;
  return token{token_type::text, text};
}

// quoted = DQUOTE *QUOTED-CHAR DQUOTE ; QUOTED-CHAR = <TEXT-CHAR except \ and "> / "\" ("\" /
// DQUOTE) Unescaped in place: the write position never passes the read position.
token tokenizer::read_quoted() {
  std::size_t start = pos_ + 1;
  std::size_t w = start;
  for (std::size_t r = start; r < content_end_;) {
    char c = buf_[r];
    if (c == '"') {
      pos_ = r + 1;
      return token{token_type::quoted, std::string_view(buf_.data() + start, w - start)};
    }
    if (c == '\\' && r + 1 < content_end_ && (buf_[r + 1] == '"' || buf_[r + 1] == '\\')) {
      buf_[w++] = buf_[r + 1];
      r += 2;
      continue;
    }
    if (c == '\0') return fail("IMAP: NUL byte in a quoted string", r);
    if (c == '\r') return fail("IMAP: CR in a quoted string", r);
    buf_[w++] = c;
    ++r;
  }
  return fail("IMAP: unterminated quoted string", pos_);
}

// literal = "{" number64 ["+"] "}" CRLF *CHAR8 ; literal8 = "~{" number64 "}" CRLF *OCTET
token tokenizer::read_literal_marker() {
  std::size_t at = pos_;
  bool literal8 = buf_[pos_] == '~';
  std::size_t i = pos_ + (literal8 ? 2 : 1);
  std::size_t digits_start = i;
  while (i < content_end_ && is_digit(buf_[i])) ++i;
  std::string_view digits(buf_.data() + digits_start, i - digits_start);
  if (digits.empty()) return fail("IMAP: malformed literal marker", at);
  std::uint64_t size = 0;
  for (char d : digits) {
    auto v = static_cast<std::uint64_t>(d - '0');
    if (size > (std::numeric_limits<std::uint64_t>::max() - v) / 10) {
      return fail("IMAP: literal size " + shown(digits) + " out of range", at);
    }
    size = size * 10 + v;
  }
  if (size > limits_.max_literal) {
    return fail("IMAP: literal size " + std::to_string(size) + " exceeds limit " +
                    std::to_string(limits_.max_literal),
                at);
  }
  if (i < content_end_ && buf_[i] == '+') ++i;
  if (i >= content_end_ || buf_[i] != '}') return fail("IMAP: malformed literal marker", at);
  if (i + 1 != content_end_) return fail("IMAP: literal marker not at the end of its line", at);
  pos_ = segment_end_;
  have_segment_ = false;
  scan_ = pos_;
  in_literal_ = true;
  literal_left_ = size;
  token t{token_type::literal_begin};
  t.number = size;
  t.literal8 = literal8;
  return t;
}

token tokenizer::read_atom() {
  std::size_t start = pos_;
  std::size_t i = pos_;
  while (i < content_end_ && !kAtomStop[static_cast<unsigned char>(buf_[i])]) ++i;
  if (i < content_end_) {
    auto c = static_cast<unsigned char>(buf_[i]);
    if (c == 0) return fail("IMAP: NUL byte in a response", i);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return fail("IMAP: control byte " + hex_byte(c) + " in a response", i);
    }
  }
  if (i == start) return fail("IMAP: unexpected byte " + hex_byte(buf_[i]), i);
  pos_ = i;
  std::string_view text(buf_.data() + start, i - start);
  if (std::all_of(text.begin(), text.end(), is_digit)) {
    std::uint64_t n = 0;
    for (char d : text) {
      auto v = static_cast<std::uint64_t>(d - '0');
      if (n > (std::numeric_limits<std::uint64_t>::max() - v) / 10) {
        return fail("IMAP: number " + shown(text) + " out of range", start);
      }
      n = n * 10 + v;
    }
    token t{token_type::number, text};
    t.number = n;
    return t;
  }
  if (ascii::equals_ignore_case(text, "NIL")) return token{token_type::nil, text};
  return token{token_type::atom, text};
}

}  // namespace junction::imap
