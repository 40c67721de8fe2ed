// RFC 2047 encoded words in header text.
//
// Leniencies beyond the RFC, because mailers do these things and readers expect them decoded:
// - an encoded word is recognised anywhere, not only between whitespace: inside quoted
//   strings (RFC 2047 §5 forbids it), glued to other text, or in a comment;
// - adjacent encoded words in the same charset are joined as bytes before conversion, so a
//   UTF-8 character split across two words comes out whole.
// - 8-bit bytes left unencoded inside a Q word are taken as bytes of its charset, or as
//   UTF-8 when they form valid UTF-8 (a gateway converted them).
// Not accepted: whitespace or '?' inside the encoded text; such a word stays as written.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "mime/charsets.h"
#include "mime/headers.h"

namespace junction::mime {
namespace {

using detail::charset;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The "Q" encoding (RFC 2047 §4.2): '_' is a space, "=XX" a byte; a '=' not followed by two
// hex digits is kept as it is.
std::string decode_q(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

struct token {
  enum kind_t { text, space, word } kind;
  std::string_view raw;  // as written
  std::string bytes;     // word: the decoded bytes, still in `cs`
  charset cs = charset::unknown;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
// On success returns the length of the word at value[at]; the word is decoded into `t` when
// its charset is known and its text decodes, otherwise it is left as text.
std::size_t match_encoded_word(std::string_view value, std::size_t at, token& t) {
  const std::size_t n = value.size();
  std::size_t i = at + 2;  // past "=?"
  const std::size_t charset_begin = i;
  while (i < n && value[i] != '?') {
    auto b = static_cast<unsigned char>(value[i]);
    if (b <= 0x20 || b >= 0x7F || i - charset_begin >= 64) return 0;
    ++i;
  }
  if (i == charset_begin || i + 2 >= n || value[i + 2] != '?') return 0;
  std::string_view charset_name = value.substr(charset_begin, i - charset_begin);
  char encoding = value[i + 1];
  if (encoding != 'B' && encoding != 'b' && encoding != 'Q' && encoding != 'q') return 0;
  const std::size_t text_begin = i + 3;
  std::size_t j = text_begin;
  bool raw_8bit = false;
  while (j < n && value[j] != '?') {
    auto b = static_cast<unsigned char>(value[j]);
    if (b <= 0x20 || b == 0x7F) return 0;
    raw_8bit = raw_8bit || b >= 0x80;
    ++j;
  }
  if (j + 1 >= n || value[j + 1] != '=') return 0;
  const std::size_t length = j + 2 - at;
  t.raw = value.substr(at, length);
  t.kind = token::text;
  t.cs = detail::find_charset(charset_name);
  if (t.cs == charset::unknown) return length;
  std::string_view encoded = value.substr(text_begin, j - text_begin);
  if (encoding == 'Q' || encoding == 'q') {
    t.bytes = decode_q(encoded);
  } else {
    auto decoded = base64::decode_lenient(encoded);
    if (!decoded) return length;
    t.bytes = std::move(*decoded);
  }
  // 8-bit bytes left unencoded: a gateway may have converted them to UTF-8 on the way.
  if (raw_8bit && detail::is_valid_utf8(t.bytes)) t.cs = charset::utf8;
  t.kind = token::word;
  return length;
}

std::vector<token> tokenize(std::string_view value) {
  std::vector<token> tokens;
  std::size_t i = 0;
  std::size_t text_begin = 0;
  auto flush_text = [&](std::size_t end) {
    if (end > text_begin)
      tokens.push_back({token::text, value.substr(text_begin, end - text_begin)});
  };
  while (i < value.size()) {
    if (is_space(value[i])) {
      flush_text(i);
      std::size_t j = i;
      while (j < value.size() && is_space(value[j])) ++j;
      tokens.push_back({token::space, value.substr(i, j - i)});
      i = text_begin = j;
      continue;
    }
    if (value[i] == '=' && i + 1 < value.size() && value[i + 1] == '?') {
      token t{token::text, {}};
      if (std::size_t len = match_encoded_word(value, i, t); len > 0) {
        flush_text(i);
        tokens.push_back(std::move(t));
        i = text_begin = i + len;
        continue;
      }
    }
    ++i;
  }
  flush_text(i);
  return tokens;
}

}  // namespace

std::string decode_field(std::string_view value) {
  std::vector<token> tokens = tokenize(value);
  std::string out;
  out.reserve(value.size());
  std::string run;  // bytes of adjacent encoded words in the same charset
  charset run_cs = charset::unknown;
  auto flush_run = [&] {
    if (!run.empty()) detail::append_utf8(out, run, run_cs);
    run.clear();
  };
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    token& t = tokens[k];
    if (t.kind == token::word) {
      if (t.cs != run_cs) flush_run();
      run_cs = t.cs;
      run += t.bytes;
      continue;
    }
    // RFC 2047 §6.2: whitespace between two encoded words is not displayed.
    if (t.kind == token::space && k > 0 && tokens[k - 1].kind == token::word &&
        k + 1 < tokens.size() && tokens[k + 1].kind == token::word) {
      continue;
    }
    flush_run();
    run_cs = charset::unknown;
    detail::append_raw_text(out, t.raw);
  }
  flush_run();
  return detail::collapse_whitespace(out);
}

}  // namespace junction::mime
