// HTML to the text a reader sees, for messages that come without a text/plain part. Not an
// HTML parser (no DOM, no tree): one linear pass that drops markup, which is all a preview
// needs. Every step moves forward, so hostile input costs linear time.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/ascii.h"
#include "mime/body.h"
#include "mime/charsets.h"

namespace junction::mime::detail {
namespace {

bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_alnum(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9');
}

void append_code_point(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A character reference at html[at] ('&'): its length, with the character appended to
// `text`; 0 when it is none we know (the '&' is then an ordinary character).
std::size_t decode_reference(std::string_view html, std::size_t at, std::string& text) {
  constexpr std::size_t kMaxLength = 12;  // "&#x0010FFFF;"
  // Looking only this far keeps a text full of '&' linear.
  const std::size_t found = html.substr(at + 1, kMaxLength).find(';');
  if (found == std::string_view::npos) return 0;
  const std::size_t semicolon = at + 1 + found;
  std::string_view name = html.substr(at + 1, semicolon - at - 1);
  const std::size_t length = semicolon - at + 1;
  if (!name.empty() && name[0] == '#') {
    name.remove_prefix(1);
    int base = 10;
    if (!name.empty() && (name[0] == 'x' || name[0] == 'X')) {
      base = 16;
      name.remove_prefix(1);
    }
    if (name.empty()) return 0;
    std::uint32_t cp = 0;
    for (char c : name) {
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0) return 0;
      // At most 8 digits (kMaxLength): cannot overflow 32 bits, and above U+10FFFF is U+FFFD.
      cp = cp * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(digit);
      if (cp > 0x10FFFF) cp = 0x110000;
    }
    append_code_point(text, cp);
    return length;
  }
  struct entity {
    std::string_view name;
    std::uint32_t cp;
  };
  static constexpr entity kEntities[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0},
  };
  for (const entity& e : kEntities) {
    if (ascii::equals_ignore_case(name, e.name)) {
      append_code_point(text, e.cp);
      return length;
    }
  }
  return 0;
}

// Elements whose content is no text for the reader.
bool is_hidden_element(std::string_view name) {
  return ascii::equals_ignore_case(name, "script") || ascii::equals_ignore_case(name, "style") ||
         ascii::equals_ignore_case(name, "title");
}

// Line breaks an element stands for: 2 for paragraphs and headings, 1 for other blocks.
int line_breaks_for(std::string_view name) {
  static constexpr std::string_view kParagraphs[] = {"p", "h1", "h2", "h3", "h4", "h5", "h6"};
  static constexpr std::string_view kBlocks[] = {
      "br",         "div", "li", "tr",      "table",   "ul",     "ol",     "hr",  "pre",
      "blockquote", "dt",  "dd", "section", "article", "header", "footer", "body"};
  for (std::string_view p : kParagraphs) {
    if (ascii::equals_ignore_case(name, p)) return 2;
  }
  for (std::string_view b : kBlocks) {
    if (ascii::equals_ignore_case(name, b)) return 1;
  }
  return 0;
}

// Where the element `name` opened before `from` ends: just past "</name ... >", or the end.
std::size_t skip_element_content(std::string_view html, std::size_t from, std::string_view name) {
  std::size_t i = from;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (i + 1 < html.size() && html[i + 1] == '/' &&
        ascii::equals_ignore_case(html.substr(i + 2, name.size()), name) &&
        (i + 2 + name.size() == html.size() || !is_alnum(html[i + 2 + name.size()]))) {
      const std::size_t close = html.find('>', i);
      return close == std::string_view::npos ? html.size() : close + 1;
    }
    ++i;
  }
  return html.size();
}

class text_writer {
 public:
  text_writer(std::string& out, std::size_t max) : out_(out), start_(out.size()), max_(max) {}

  void space() { space_ = true; }
  void line_breaks(int n) {
    if (n > breaks_) breaks_ = n;
  }
  // Returns false once the text is full.
  bool write(std::string_view text) {
    if (out_.size() > start_) {
      if (breaks_ > 0) {
        out_.append(static_cast<std::size_t>(breaks_), '\n');
      } else if (space_) {
        out_ += ' ';
      }
    }
    breaks_ = 0;
    space_ = false;
    out_ += text;
    if (out_.size() - start_ > max_) {
      std::string tail = out_.substr(start_);
      truncate_utf8(tail, max_);
      out_.resize(start_);
      out_ += tail;
      return false;
    }
    return true;
  }

 private:
  std::string& out_;
  std::size_t start_;
  std::size_t max_;
  bool space_ = false;
  int breaks_ = 0;
};

}  // namespace

bool html_to_text(std::string_view html, std::size_t max, std::string& out) {
  text_writer writer(out, max);
  std::string piece;
  std::size_t i = 0;
  const std::size_t n = html.size();
  while (i < n) {
    const char c = html[i];
    if (c == '<' && i + 1 < n) {
      const char next = html[i + 1];
      if (html.substr(i, 4) == "<!--") {
        const std::size_t end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? n : end + 3;
        continue;
      }
      if (is_alpha(next) || next == '/' || next == '!' || next == '?') {
        const std::size_t close = html.find('>', i);
        const std::size_t end = close == std::string_view::npos ? n : close + 1;
        std::size_t name_begin = i + 1 + (next == '/' ? 1 : 0);
        std::size_t name_end = name_begin;
        while (name_end < end && is_alnum(html[name_end])) ++name_end;
        const std::string_view name = html.substr(name_begin, name_end - name_begin);
        writer.line_breaks(line_breaks_for(name));
        i = end;
        if (next != '/' && is_hidden_element(name) && html[end - 1] != '/') {
          i = skip_element_content(html, end, name);
        }
        continue;
      }
    }
    if (is_html_space(c)) {
      writer.space();
      ++i;
      continue;
    }
    piece.clear();
    if (c == '&') {
      if (std::size_t length = decode_reference(html, i, piece); length > 0) {
        if (!writer.write(piece)) return false;
        i += length;
        continue;
      }
    }
    // A run of ordinary text in one write.
    std::size_t j = i + 1;
    while (j < n && html[j] != '<' && html[j] != '&' && !is_html_space(html[j])) ++j;
    if (!writer.write(html.substr(i, j - i))) return false;
    i = j;
  }
  return true;
}

}  // namespace junction::mime::detail
