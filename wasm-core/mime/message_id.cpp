#include <string>
#include <string_view>

#include "mime/charsets.h"
#include "mime/fields.h"

namespace junction::mime::detail {
namespace {

bool is_space_or_control(char c) {
  auto b = static_cast<unsigned char>(c);
  return b <= 0x20 || b == 0x7F;
}

// CFWS (RFC 5322 §3.2.2): comments nest and may hold quoted-pairs. Each comment becomes a
// space; quoted strings are kept, since an obsolete id-left may be one. An unclosed comment
// runs to the end.
std::string strip_comments(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  std::size_t depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (depth > 0) {
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++depth;
      } else if (c == ')') {
        --depth;
      }
      continue;
    }
    out += c;
    if (quoted) {
      if (c == '\\' && i + 1 < value.size()) {
        out += value[++i];
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      out.back() = ' ';
      depth = 1;
    }
  }
  return out;
}

}  // namespace

// msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS]
// The obsolete forms (§4.5.4) allow CFWS around the dots and the '@': whitespace inside the
// brackets is dropped.
std::string extract_message_id(std::string_view value) {
  std::string text = strip_comments(value);
  std::string_view rest = text;
  std::string_view id;
  if (auto open = rest.find('<'); open != std::string_view::npos) {
    rest.remove_prefix(open + 1);
    id = rest.substr(0, rest.find('>'));
  } else {
    std::size_t begin = 0;
    while (begin < rest.size() && is_space_or_control(rest[begin])) ++begin;
    std::size_t end = begin;
    while (end < rest.size() && !is_space_or_control(rest[end])) ++end;
    id = rest.substr(begin, end - begin);
  }
  std::string kept;
  for (char c : id) {
    if (!is_space_or_control(c) && c != '<' && c != '>') kept += c;
  }
  std::string out;
  append_raw_text(out, kept);
  return out;
}

}  // namespace junction::mime::detail
