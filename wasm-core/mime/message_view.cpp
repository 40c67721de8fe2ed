// The structure of a message (RFC 2045 §5-6, RFC 2046 §5, RFC 2183, RFC 2231) walked for
// a reader: the text to show and the attachments to list.
//
// Choices the header leaves open:
// - A part whose first line is no header field has no header section (a mailer forgot the
//   blank line): it is all body, with the default Content-Type. At the top level such lines
//   are skipped instead (an mbox "From " line before the fields).
// - Multipart without a boundary parameter is read as text/plain, so the reader sees
//   something. A missing close delimiter ends the last part at the end of the input.
// - A syntactically invalid Content-Type is text/plain (RFC 2045 §5.2).
// - Unknown charsets are read as UTF-8, and text that is not UTF-8 as Windows-1252
//   (charsets.h): the text is always well-formed UTF-8, though possibly wrong for those.
// - A text/plain part that is blank (whitespace only) gives way to a text/html part.
// - A message/rfc822 part is an attachment; when the message has no text of its own, the
//   text of the first attached messages (at most kMaxEmbeddedMessages) is shown.
// Cost: every nesting level scans its own part once, so the work is at most
// (max_depth + 1) times the input, and memory a few times the input plus max_text.
#include "mime/message_view.h"

#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ascii.h"
#include "mime/body.h"
#include "mime/charsets.h"
#include "mime/fields.h"
#include "mime/headers.h"

namespace junction::mime {
namespace {

using detail::charset;
using detail::transfer_encoding;

constexpr std::size_t kMaxFieldValue = 65536;         // raw bytes of one unfolded field kept
constexpr std::size_t kMaxKeptFields = 4096;          // top-level fields listed in the view
constexpr std::size_t kMaxKeptHeaderBytes = 1 << 20;  // their decoded values together
constexpr std::size_t kMaxBoundary = 200;             // RFC 2046 says 70; some mailers write more
constexpr std::size_t kMaxParameters = 64;
constexpr std::size_t kMaxContinuations = 64;  // RFC 2231 §3 name*0 ... name*63
constexpr std::size_t kMaxEmbeddedMessages = 8;
// HTML is decoded up to this many times max_text: stripping the markup shortens it.
constexpr std::size_t kHtmlExpansion = 16;

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// ftext = %d33-57 / %d59-126
bool is_ftext(char c) {
  auto b = static_cast<unsigned char>(c);
  return b >= 33 && b <= 126 && c != ':';
}

// The header section of an entity (RFC 5322 §2.2): calls on_field(name, unfolded value) for
// each field and returns the offset of the body. Lines end in LF or CRLF. Values longer than
// kMaxFieldValue are cut.
template <class on_field_t>
std::size_t read_fields(std::string_view entity, bool top_level, on_field_t&& on_field) {
  std::size_t pos = 0;
  std::string_view name;
  std::string value;
  bool in_field = false;
  bool first = true;
  auto flush = [&] {
    if (in_field) on_field(name, value);
    in_field = false;
  };
  while (pos < entity.size()) {
    const std::size_t eol = entity.find('\n', pos);
    const std::size_t line_end = eol == std::string_view::npos ? entity.size() : eol;
    const std::size_t next = eol == std::string_view::npos ? entity.size() : eol + 1;
    std::string_view line = entity.substr(pos, line_end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      flush();
      return next;
    }
    if (is_wsp(line[0])) {
      // Unfolding (§2.2.3) removes the line break and keeps the whitespace.
      if (in_field && value.size() < kMaxFieldValue)
        value.append(line.substr(0, kMaxFieldValue - value.size()));
    } else {
      flush();
      std::size_t i = 0;
      while (i < line.size() && is_ftext(line[i])) ++i;
      std::size_t colon = i;
      while (colon < line.size() && is_wsp(line[colon])) ++colon;  // obs-optional (§4.5)
      if (i > 0 && colon < line.size() && line[colon] == ':') {
        name = line.substr(0, i);
        value.assign(line.substr(colon + 1, kMaxFieldValue));
        in_field = true;
      } else if (first && !top_level) {
        return 0;
      }
    }
    first = false;
    pos = next;
  }
  flush();
  return entity.size();
}

bool is_token_end(char c) {
  return c == ';' || is_wsp(c) || c == '\r' || c == '\n' || c == '(';
}

// CFWS: whitespace and (nested) comments.
void skip_cfws(std::string_view v, std::size_t& i) {
  int depth = 0;
  while (i < v.size()) {
    const char c = v[i];
    if (depth > 0 && c == '\\') {
      i += 2;
      continue;
    }
    if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0 && !is_wsp(c) && c != '\r' && c != '\n') {
      return;
    }
    ++i;
  }
  if (i > v.size()) i = v.size();
}

struct parameter {
  std::string name;  // lower case, with any RFC 2231 "*N" / "*" suffix
  std::string value;
};

// parameter = attribute "=" value; value = token / quoted-string (RFC 2045 §5.1). Unquoted
// values run to the next ';' (filenames with spaces, written unquoted by some mailers).
std::vector<parameter> parse_parameters(std::string_view v, std::size_t i) {
  std::vector<parameter> params;
  while (i < v.size() && params.size() < kMaxParameters) {
    if (v[i] != ';') {
      const std::size_t semicolon = v.find(';', i);
      if (semicolon == std::string_view::npos) break;
      i = semicolon;
    }
    ++i;
    skip_cfws(v, i);
    const std::size_t name_begin = i;
    while (i < v.size() && v[i] != '=' && v[i] != ';') ++i;
    const std::string_view name = trim(v.substr(name_begin, i - name_begin));
    if (i >= v.size() || v[i] != '=' || name.empty()) continue;
    ++i;
    skip_cfws(v, i);
    std::string value;
    if (i < v.size() && v[i] == '"') {
      ++i;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        value += v[i];
        ++i;
      }
      if (i < v.size()) ++i;  // the closing quote
    } else {
      const std::size_t value_begin = i;
      while (i < v.size() && v[i] != ';') ++i;
      value.assign(trim(v.substr(value_begin, i - value_begin)));
    }
    params.push_back({ascii::lower(name), std::move(value)});
  }
  return params;
}

const parameter* find_parameter(const std::vector<parameter>& params, std::string_view name) {
  for (const parameter& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string_view token_at(std::string_view v, std::size_t& i, char stop) {
  skip_cfws(v, i);
  const std::size_t begin = i;
  while (i < v.size() && v[i] != stop && !is_token_end(v[i])) ++i;
  return v.substr(begin, i - begin);
}

// token = 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>   (RFC 2045 §5.1)
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F ||
        std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos)
      return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

void append_percent_decoded(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
}

charset charset_or_utf8(std::string_view name) {
  const charset cs = detail::find_charset(trim(name));
  return cs == charset::unknown ? charset::utf8 : cs;
}

// extended-initial-value = [charset] "'" [language] "'" extended-other-values (RFC 2231 §4);
// returns the charset and leaves the percent-encoded rest in `text`.
charset split_extended_value(std::string_view& text) {
  const std::size_t first = text.find('\'');
  const std::size_t second = first == std::string_view::npos ? first : text.find('\'', first + 1);
  if (second == std::string_view::npos) return charset::utf8;
  const charset cs = charset_or_utf8(text.substr(0, first));
  text.remove_prefix(second + 1);
  return cs;
}

// A parameter such as filename: RFC 2231 "name*" (charset and percent encoding), "name*0",
// "name*1*" ... (continuations), or plain "name" (where mailers put RFC 2047 encoded words
// although §5 of that RFC forbids it). Empty when absent.
std::string parameter_text(const std::vector<parameter>& params, const std::string& name) {
  std::string bytes;
  charset cs = charset::utf8;
  if (const parameter* extended_value = find_parameter(params, name + "*")) {
    std::string_view text = extended_value->value;
    cs = split_extended_value(text);
    append_percent_decoded(bytes, text);
  } else {
    bool found = false;
    for (std::size_t k = 0; k < kMaxContinuations; ++k) {
      const std::string segment = name + '*' + std::to_string(k);
      if (const parameter* plain = find_parameter(params, segment)) {
        bytes += plain->value;
      } else if (const parameter* extended = find_parameter(params, segment + '*')) {
        std::string_view text = extended->value;
        if (k == 0) cs = split_extended_value(text);
        append_percent_decoded(bytes, text);
      } else {
        break;
      }
      found = true;
    }
    if (!found) {
      const parameter* p = find_parameter(params, name);
      return p == nullptr ? std::string() : decode_field(p->value);
    }
  }
  std::string text;
  detail::append_utf8(text, bytes, cs);
  return detail::collapse_whitespace(text);
}

// What the MIME fields of one entity say.
struct entity_fields {
  std::string type = "text";  // lower case
  std::string subtype = "plain";
  std::vector<parameter> type_params;
  transfer_encoding encoding = transfer_encoding::identity;
  bool disposition_attachment = false;
  std::vector<parameter> disposition_params;
  bool seen_type = false, seen_encoding = false, seen_disposition = false;

  void on_field(std::string_view name, const std::string& value) {
    if (!seen_type && ascii::equals_ignore_case(name, "content-type")) {
      seen_type = true;
      parse_content_type(value);
    } else if (!seen_encoding && ascii::equals_ignore_case(name, "content-transfer-encoding")) {
      seen_encoding = true;
      std::size_t i = 0;
      encoding = detail::find_transfer_encoding(token_at(value, i, ';'));
    } else if (!seen_disposition && ascii::equals_ignore_case(name, "content-disposition")) {
      // disposition := disposition-type *(";" disposition-parm)   (RFC 2183 §2)
      seen_disposition = true;
      std::size_t i = 0;
      disposition_attachment = ascii::equals_ignore_case(token_at(value, i, ';'), "attachment");
      disposition_params = parse_parameters(value, i);
    }
  }

  // content := type "/" subtype *(";" parameter)   (RFC 2045 §5.1)
  void parse_content_type(std::string_view value) {
    std::size_t i = 0;
    const std::string_view t = token_at(value, i, '/');
    skip_cfws(value, i);
    if (t.empty() || i >= value.size() || value[i] != '/') return;  // invalid: text/plain
    ++i;
    const std::string_view s = token_at(value, i, ';');
    if (s.empty()) return;
    type_params = parse_parameters(value, i);  // a name is worth keeping even then
    if (!is_token(t) || !is_token(s)) return;
    type = ascii::lower(t);
    subtype = ascii::lower(s);
  }

  std::string filename() const {
    std::string name = parameter_text(disposition_params, "filename");
    if (name.empty()) name = parameter_text(type_params, "name");
    return name;
  }
};

struct text_source {
  bool found = false;
  std::string_view body;
  transfer_encoding encoding = transfer_encoding::identity;
  charset cs = charset::utf8;
};

struct embedded_message {
  std::string_view raw;
  int depth = 0;
};

class structure_walker {
 public:
  structure_walker(const message_view_limits& limits, message_view& view)
      : limits_(limits), view_(view) {}

  void walk_message(std::string_view raw) {
    walk(raw, 0, false, true);
    // No text of its own: show that of an attached message (a forward as attachment).
    collect_attachments_ = false;
    for (std::size_t k = 0; k < embedded_.size() && k < kMaxEmbeddedMessages; ++k) {
      if (plain_.found || html_.found) break;
      const embedded_message m = embedded_[k];
      walk(m.raw, m.depth, false, true);
    }
    write_text();
  }

 private:
  void walk(std::string_view entity, int depth, bool in_digest, bool is_message) {
    if (stopped_) return;
    if (++parts_ > limits_.max_parts) {
      stopped_ = true;
      return;
    }
    entity_fields fields;
    if (in_digest) {
      fields.type = "message";  // RFC 2046 §5.1.5: the default in a digest
      fields.subtype = "rfc822";
    }
    const std::size_t body_at = read_fields(
        entity, is_message,
        [&](std::string_view name, const std::string& value) { fields.on_field(name, value); });
    const std::string_view body = entity.substr(body_at);

    if (fields.type == "multipart") {
      const parameter* boundary = find_parameter(fields.type_params, "boundary");
      if (boundary != nullptr && !boundary->value.empty() &&
          boundary->value.size() <= kMaxBoundary) {
        if (depth >= limits_.max_depth) return;
        const bool digest = fields.subtype == "digest";
        split_multipart(body, boundary->value,
                        [&](std::string_view part) { walk(part, depth + 1, digest, false); });
        return;
      }
      fields.type = "text";
      fields.subtype = "plain";
    }

    const bool is_rfc822 = fields.type == "message" && fields.subtype == "rfc822";
    std::string filename = fields.filename();
    if (is_rfc822 || fields.disposition_attachment || !filename.empty()) {
      if (collect_attachments_ && view_.attachments.size() < limits_.max_parts) {
        if (filename.empty() && is_rfc822) filename = attached_message_name(body);
        view_.attachments.push_back({std::move(filename), fields.type + '/' + fields.subtype,
                                     detail::decoded_size(body, fields.encoding)});
      }
      // A message/rfc822 body is 7bit, 8bit or binary (RFC 2046 §5.2.1); others are not
      // looked into.
      if (is_rfc822 && fields.encoding == transfer_encoding::identity &&
          depth < limits_.max_depth && embedded_.size() < kMaxEmbeddedMessages) {
        embedded_.push_back({body, depth + 1});
      }
      return;
    }
    if (fields.type != "text") return;
    text_source* source = fields.subtype == "plain"  ? &plain_
                          : fields.subtype == "html" ? &html_
                                                     : nullptr;
    if (source == nullptr || source->found) return;
    source->found = true;
    source->body = body;
    source->encoding = fields.encoding;
    const parameter* cs = find_parameter(fields.type_params, "charset");
    source->cs = cs == nullptr ? charset::utf8 : charset_or_utf8(cs->value);
  }

  // multipart-body = [preamble CRLF] dash-boundary transport-padding CRLF body-part
  //                  *encapsulation close-delimiter transport-padding [CRLF epilogue]
  // The line break before each delimiter belongs to the delimiter (RFC 2046 §5.1.1).
  template <class on_part_t>
  void split_multipart(std::string_view body, std::string_view boundary, on_part_t&& on_part) {
    constexpr std::size_t none = std::string_view::npos;
    std::size_t part_start = none;  // none: still in the preamble
    std::size_t pos = 0;
    while (pos < body.size() && !stopped_) {
      const std::size_t eol = body.find('\n', pos);
      const std::size_t line_end = eol == none ? body.size() : eol;
      const std::size_t next = eol == none ? body.size() : eol + 1;
      std::string_view line = body.substr(pos, line_end - pos);
      if (line.size() >= 2 + boundary.size() && line[0] == '-' && line[1] == '-' &&
          line.substr(2, boundary.size()) == boundary) {
        std::string_view rest = line.substr(2 + boundary.size());
        const bool close = rest.substr(0, 2) == "--";
        if (close) rest.remove_prefix(2);
        if (trim(rest).empty()) {
          if (part_start != none) {
            std::size_t part_end = pos;
            if (part_end > part_start && body[part_end - 1] == '\n') --part_end;
            if (part_end > part_start && body[part_end - 1] == '\r') --part_end;
            on_part(body.substr(part_start, part_end - part_start));
          }
          if (close) return;
          part_start = next;
        }
      }
      pos = next;
    }
    // No close delimiter (a cut message): the last part runs to the end, unless it is empty.
    if (part_start != none && part_start < body.size() && !stopped_)
      on_part(body.substr(part_start));
  }

  static std::string attached_message_name(std::string_view raw) {
    std::string subject;
    read_fields(raw, true, [&](std::string_view name, const std::string& value) {
      if (subject.empty() && ascii::equals_ignore_case(name, "subject"))
        subject = decode_field(value);
    });
    return (subject.empty() ? std::string("message") : subject) + ".eml";
  }

  // The plain text; the HTML's when there is no plain text or only a blank one (mailers that
  // send an empty text/plain alternative beside the real HTML).
  void write_text() {
    if (plain_.found) {
      write_text_of(plain_, false);
      if (!html_.found || view_.text.find_first_not_of(" \t\n") != std::string::npos) return;
      view_.text.clear();
    }
    if (html_.found) write_text_of(html_, true);
  }

  void write_text_of(const text_source& source, bool is_html) {
    const std::size_t max = limits_.max_text;
    // Every decoded byte gives at least one byte of text except CR before LF: twice max_text
    // decoded bytes are enough to fill max_text.
    const std::size_t plain_cap = max > (SIZE_MAX - 8) / 2 ? SIZE_MAX : 2 * max + 8;
    const std::size_t html_cap =
        max > (SIZE_MAX - 1024) / kHtmlExpansion ? SIZE_MAX : kHtmlExpansion * max + 1024;
    std::string decoded;
    const bool whole =
        detail::decode_body(source.body, source.encoding, is_html ? html_cap : plain_cap, decoded);
    if (!whole) drop_incomplete_utf8_tail(decoded, source.cs);
    std::string utf8;
    detail::append_utf8(utf8, decoded, source.cs);
    decoded = std::string();
    bool complete = whole;
    if (is_html) {
      view_.text_from_html = true;
      complete = detail::html_to_text(utf8, max, view_.text) && complete;
    } else {
      view_.text = normalize_line_ends(utf8);
      if (view_.text.size() > max) {
        detail::truncate_utf8(view_.text, max);
        complete = false;
      }
    }
    view_.text_truncated = !complete;
  }

  // A cut in the middle of a UTF-8 character would make the whole text read as Windows-1252.
  static void drop_incomplete_utf8_tail(std::string& bytes, charset cs) {
    if (cs != charset::utf8 && cs != charset::us_ascii) return;
    std::size_t cut = bytes.size();
    std::size_t continuation = 0;
    while (cut > 0 && continuation < 3 &&
           (static_cast<unsigned char>(bytes[cut - 1]) & 0xC0) == 0x80) {
      --cut;
      ++continuation;
    }
    if (cut == 0) return;
    const auto lead = static_cast<unsigned char>(bytes[cut - 1]);
    const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (length > continuation + 1) bytes.resize(cut - 1);
  }

  // CRLF and lone CR become LF: the text is for display, not for the wire.
  static std::string normalize_line_ends(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r') {
        out += '\n';
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      } else {
        out += text[i];
      }
    }
    return out;
  }

  const message_view_limits& limits_;
  message_view& view_;
  std::size_t parts_ = 0;
  bool stopped_ = false;  // max_parts reached
  bool collect_attachments_ = true;
  text_source plain_, html_;
  std::vector<embedded_message> embedded_;
};

bool is_address_field(std::string_view name) {
  for (std::string_view f : {"from", "to", "cc", "bcc", "reply-to", "sender"}) {
    if (ascii::equals_ignore_case(name, f)) return true;
  }
  return false;
}

void read_top_level_fields(std::string_view raw, message_view& view) {
  std::size_t kept_bytes = 0;
  bool seen_from = false, seen_to = false, seen_cc = false, seen_subject = false, seen_date = false;
  auto first = [&](bool& seen, std::string_view name, std::string_view want) {
    if (seen || !ascii::equals_ignore_case(name, want)) return false;
    seen = true;
    return true;
  };
  read_fields(raw, true, [&](std::string_view name, const std::string& value) {
    if (first(seen_from, name, "from")) view.from = detail::decode_address_list(value);
    if (first(seen_to, name, "to")) view.to = detail::decode_address_list(value);
    if (first(seen_cc, name, "cc")) view.cc = detail::decode_address_list(value);
    if (first(seen_subject, name, "subject")) view.subject = decode_field(value);
    if (first(seen_date, name, "date")) view.date = parse_date(value);
    if (view.headers.size() >= kMaxKeptFields || kept_bytes >= kMaxKeptHeaderBytes) return;
    std::string decoded =
        is_address_field(name) ? detail::decode_address_list(value) : decode_field(value);
    kept_bytes += name.size() + decoded.size();
    view.headers.emplace_back(std::string(name), std::move(decoded));
  });
}

}  // namespace

message_view_result view_message(std::string_view raw, const message_view_limits& limits) {
  message_view_result result;
  if (raw.size() > limits.max_input) {
    result.error = "message of " + std::to_string(raw.size()) + " bytes exceeds the limit of " +
                   std::to_string(limits.max_input) + " bytes";
    return result;
  }
  try {
    read_top_level_fields(raw, result.view);
    structure_walker(limits, result.view).walk_message(raw);
    result.ok = true;
  } catch (const std::bad_alloc&) {
    result = {};
    result.error = "not enough memory to show this message";
  } catch (const std::exception& e) {
    result = {};
    result.error = std::string("cannot show this message: ") + e.what();
  }
  return result;
}

}  // namespace junction::mime
