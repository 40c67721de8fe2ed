// Address lists (RFC 5322 §3.4) rendered for a message list.
#include <string>
#include <string_view>
#include <vector>

#include "mime/charsets.h"
#include "mime/fields.h"
#include "mime/headers.h"

namespace junction::mime::detail {
namespace {

struct piece {
  enum kind_t { phrase, comment, angle_addr } kind;
  std::string unquoted;  // phrase: quoted strings without quotes and quoted-pairs undone
  std::string verbatim;  // as written (comment and angle_addr: the inside only)
};

bool needs_quotes(std::string_view display) {
  return display.find_first_of("()<>[]:;@\\,\"") != std::string_view::npos;
}

std::string quote(std::string_view display) {
  std::string out = "\"";
  for (char c : display) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string as_written(std::string_view raw) {
  std::string utf8;
  append_raw_text(utf8, raw);
  return collapse_whitespace(utf8);
}

// Separators stick to what precedes them; everything else is set apart by one space.
void emit(std::string& out, std::string_view text) {
  if (text.empty()) return;
  bool glue = text == "," || text == ";" || text == ":";
  if (!out.empty() && !glue) out += ' ';
  out += text;
}

void emit_address(std::string& out, std::vector<piece>& pieces, char terminator) {
  bool has_angle = false;
  for (const auto& p : pieces) has_angle = has_angle || p.kind == piece::angle_addr;
  for (const auto& p : pieces) {
    switch (p.kind) {
      case piece::phrase:
        // Before an angle-addr or a group's ':' the words are a display name; alone they are
        // an addr-spec, unless there is no '@' (then a name someone wrote without address).
        if (!has_angle && terminator != ':' && p.verbatim.find('@') != std::string::npos) {
          emit(out, as_written(p.verbatim));
        } else {
          std::string display = decode_field(p.unquoted);
          emit(out, needs_quotes(display) ? quote(display) : display);
        }
        break;
      case piece::comment:
        emit(out, "(" + decode_field(p.verbatim) + ")");
        break;
      case piece::angle_addr:
        emit(out, "<" + as_written(p.verbatim) + ">");
        break;
    }
  }
  if (terminator != 0) emit(out, std::string_view(&terminator, 1));
  pieces.clear();
}

}  // namespace

std::string decode_address_list(std::string_view value) {
  std::string out;
  std::vector<piece> pieces;
  auto phrase = [&]() -> piece& {
    if (pieces.empty() || pieces.back().kind != piece::phrase) pieces.push_back({piece::phrase});
    return pieces.back();
  };
  const std::size_t n = value.size();
  std::size_t i = 0;
  while (i < n) {
    char c = value[i];
    if (c == ',' || c == ';' || c == ':') {
      emit_address(out, pieces, c);
      ++i;
    } else if (c == '"') {
      // quoted-string; an unclosed one runs to the end
      piece& p = phrase();
      p.verbatim += c;
      for (++i; i < n; ++i) {
        p.verbatim += value[i];
        if (value[i] == '\\' && i + 1 < n) {
          p.verbatim += value[++i];
          p.unquoted += value[i];
        } else if (value[i] == '"') {
          ++i;
          break;
        } else {
          p.unquoted += value[i];
        }
      }
    } else if (c == '(') {
      // comment, nesting; an unclosed one runs to the end
      std::size_t depth = 1;
      std::size_t begin = ++i;
      for (; i < n && depth > 0; ++i) {
        if (value[i] == '\\') {
          ++i;
        } else if (value[i] == '(') {
          ++depth;
        } else if (value[i] == ')') {
          --depth;
        }
      }
      std::size_t end = depth == 0 ? i - 1 : n;
      pieces.push_back({piece::comment, {}, std::string(value.substr(begin, end - begin))});
      if (i > n) i = n;
    } else if (c == '<') {
      std::size_t close = value.find('>', i + 1);
      std::size_t end = close == std::string_view::npos ? n : close;
      pieces.push_back({piece::angle_addr, {}, std::string(value.substr(i + 1, end - i - 1))});
      i = close == std::string_view::npos ? n : close + 1;
    } else {
      piece& p = phrase();
      p.verbatim += c;
      p.unquoted += c;
      ++i;
    }
  }
  emit_address(out, pieces, 0);
  return collapse_whitespace(out);
}

}  // namespace junction::mime::detail
