// The composer: see the policies in compose.h. Everything is built in memory; the size checks
// run before the bodies are encoded so a hostile input cannot make it allocate far beyond
// the limit.
#include "mime/compose.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "common/base64.h"
// Header-only field checks of the account models: the composer accepts exactly the addresses
// an SMTP account accepts, so the two can never disagree.
#include "model/validation.h"

namespace junction::mime {
namespace {

// Header lines are folded to this length where the words allow: within RFC 5322's 78 and
// RFC 2047's 76 for lines holding encoded-words.
constexpr std::size_t kFoldAt = 76;
// RFC 5322 section 2.1.1: the hard limit of a line, CRLF not counted.
constexpr std::size_t kMaxLine = 998;
// An encoded-word, "=?utf-8?q?...?=" included; with "Subject: " it still fits in 76.
constexpr std::size_t kMaxEncodedWord = 66;
constexpr std::string_view kHex = "0123456789ABCDEF";

struct compose_error {
  std::string message;
};

std::string quote_for_error(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, 80)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte == 0x7f) ? '?' : c;
  }
  if (text.size() > 80) out += "...";
  out += '"';
  return out;
}

// Empty when `text` is UTF-8 without control characters (C0 including TAB, DEL, C1) and not
// longer than max_bytes; else the reason.
std::string one_line_problem(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return "is " + std::to_string(text.size()) + " bytes long, the limit is " +
           std::to_string(max_bytes);
  }
  if (std::string problem = model::utf8_problem(text); !problem.empty()) return problem;
  std::uint32_t code_point = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    pos += model::detail::decode_utf8(text, pos, code_point);
    if (model::detail::is_control(code_point)) {
      return "must not contain line breaks or control characters";
    }
  }
  return {};
}

// ---- Header building -------------------------------------------------------------------

// Appends "Name: value" CRLF, folding before a space (one followed by a non-space, so no
// continuation line is only whitespace) when the line would pass kFoldAt. Every space of
// `value` must be a place where RFC 5322 allows folding white space; the callers only put
// spaces there (between words, phrases and addresses, and inside quoted-strings).
void append_header(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  if (value.empty()) {
    out += "\r\n";
    return;
  }
  std::size_t line_length = name.size() + 1;
  bool has_word = false;  // the line holds something after "Name:" (never fold right there)
  const std::string spaced = " " + std::string(value);
  std::size_t pos = 0;
  while (pos < spaced.size()) {
    std::size_t next = pos + 1;
    while (next < spaced.size() &&
           !(spaced[next] == ' ' && next + 1 < spaced.size() && spaced[next + 1] != ' ')) {
      ++next;
    }
    const std::string_view segment = std::string_view(spaced).substr(pos, next - pos);
    if (has_word && line_length + segment.size() > kFoldAt) {
      out += "\r\n";
      line_length = 0;
    }
    out += segment;
    line_length += segment.size();
    has_word = true;
    pos = next;
  }
  out += "\r\n";
}

// Q encoding of RFC 2047 section 4.2, restricted to the characters section 5 (3) allows in a
// phrase so the same words serve display names, subjects and parameter fallbacks.
bool q_literal(unsigned char byte) {
  return (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
         (byte >= '0' && byte <= '9') || byte == '!' || byte == '*' || byte == '+' || byte == '-' ||
         byte == '/';
}

std::size_t q_length(unsigned char byte) {
  return (q_literal(byte) || byte == ' ') ? 1 : 3;
}

void append_q(std::string& out, unsigned char byte) {
  if (byte == ' ') {
    out += '_';
  } else if (q_literal(byte)) {
    out += static_cast<char>(byte);
  } else {
    out += '=';
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
  }
}

// RFC 2047 encoded-words for UTF-8 `text`, separated by single spaces (decoders drop the
// white space between adjacent encoded-words). Each word holds whole characters (section 5)
// and is at most kMaxEncodedWord long.
std::string encoded_words(std::string_view text) {
  std::size_t q_total = 0;
  for (const char c : text) q_total += q_length(static_cast<unsigned char>(c));
  const std::size_t b_total = (text.size() + 2) / 3 * 4;
  const bool use_q = q_total <= b_total;
  const std::string_view prefix = use_q ? "=?utf-8?q?" : "=?utf-8?b?";
  const std::size_t room = kMaxEncodedWord - prefix.size() - 2;  // "?=" at the end
  std::string out;
  std::string chunk;  // the raw bytes of the current word (B) or its encoded text (Q)
  std::size_t chunk_encoded = 0;
  const auto flush = [&] {
    if (chunk.empty()) return;
    if (!out.empty()) out += ' ';
    out += prefix;
    out += use_q ? chunk : base64::encode(chunk);
    out += "?=";
    chunk.clear();
    chunk_encoded = 0;
  };
  std::uint32_t code_point = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = model::detail::decode_utf8(text, pos, code_point);
    if (length == 0) length = 1;  // not reached: input is checked UTF-8
    const std::string_view character = text.substr(pos, length);
    std::size_t encoded = 0;
    if (use_q) {
      for (const char c : character) encoded += q_length(static_cast<unsigned char>(c));
    } else {
      encoded = (chunk.size() + length + 2) / 3 * 4 - chunk_encoded;
    }
    if (chunk_encoded + encoded > room) flush();
    if (use_q) {
      for (const char c : character) append_q(chunk, static_cast<unsigned char>(c));
      chunk_encoded = chunk.size();
    } else {
      chunk += character;
      chunk_encoded = (chunk.size() + 2) / 3 * 4;
    }
    pos += length;
  }
  flush();
  return out;
}

bool is_atext(char c) {
  const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  return alnum || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// A display name as an RFC 5322 phrase: atoms when it is words of atext, a quoted-string when
// it has specials, encoded-words when it is not ASCII (or could be mistaken for them).
std::string phrase(std::string_view name) {
  if (!model::is_ascii(name) || name.find("=?") != std::string_view::npos) {
    return encoded_words(name);
  }
  bool atoms = name.front() != ' ' && name.back() != ' ' && name.find("  ") == std::string::npos;
  for (const char c : name) atoms = atoms && (c == ' ' || is_atext(c));
  if (atoms) return std::string(name);
  std::string out = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string mailbox(const mailbox_address& address) {
  if (address.name.empty()) return address.email;
  return phrase(address.name) + " <" + address.email + ">";
}

std::string address_list(const std::vector<mailbox_address>& addresses) {
  std::string out;
  for (const mailbox_address& address : addresses) {
    if (!out.empty()) out += ", ";
    out += mailbox(address);
  }
  return out;
}

// "Tue, 1 Jul 2025 14:05:09 +0200" (RFC 5322 section 3.3), in the sender's local time.
std::string format_date(std::int64_t unix_seconds, int offset_minutes) {
  static constexpr std::array<std::string_view, 7> weekdays{"Thu", "Fri", "Sat", "Sun",
                                                            "Mon", "Tue", "Wed"};
  static constexpr std::array<std::string_view, 12> months{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t local = unix_seconds + std::int64_t{offset_minutes} * 60;
  std::int64_t days = local / 86400;
  std::int64_t seconds = local % 86400;
  if (seconds < 0) {
    seconds += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t day_of_era = z - era * 146097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t mp = (5 * day_of_year + 2) / 153;
  const std::int64_t day = day_of_year - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  const std::int64_t weekday = ((days % 7) + 7) % 7;

  const auto two = [](std::int64_t value) {
    return std::string(1, static_cast<char>('0' + value / 10)) +
           static_cast<char>('0' + value % 10);
  };
  const int offset = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::string out;
  out += weekdays[static_cast<std::size_t>(weekday)];
  out += ", ";
  out += std::to_string(day);
  out += ' ';
  out += months[static_cast<std::size_t>(month - 1)];
  out += ' ';
  out += std::to_string(year);
  out += ' ';
  out += two(seconds / 3600) + ':' + two(seconds / 60 % 60) + ':' + two(seconds % 60);
  out += offset_minutes < 0 ? " -" : " +";
  out += two(offset / 60) + two(offset % 60);
  return out;
}

// ---- Bodies ------------------------------------------------------------------------------

// LF, CR and CRLF all become CRLF; a non-empty text always ends with CRLF.
std::string normalise_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

// 7bit (RFC 2045 section 2.7): ASCII, no NUL, lines of at most 998 bytes. `text` has CRLF
// line ends only.
bool is_7bit(std::string_view text) {
  std::size_t line_length = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0 || byte >= 0x80) return false;
    if (c == '\r') continue;
    if (c == '\n') {
      line_length = 0;
    } else if (++line_length > kMaxLine) {
      return false;
    }
  }
  return true;
}

// Quoted-printable (RFC 2045 section 6.7) of text with CRLF line ends, which stay hard line
// breaks. Encoded lines are at most 76 characters, a soft break's '=' included; white space
// at the end of a line is encoded so transports that strip it cannot change the text.
std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find("\r\n", line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    const std::string_view line = text.substr(line_start, line_end - line_start);
    std::size_t column = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto byte = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      const bool literal =
          (byte >= 33 && byte <= 126 && byte != '=') || ((byte == ' ' || byte == '\t') && !last);
      const std::size_t width = literal ? 1 : 3;
      // The last token may end the line at 76; any other needs room for a soft break after.
      if (column + width > (last ? 76 : 75)) {
        out += "=\r\n";
        column = 0;
      }
      if (literal) {
        out += static_cast<char>(byte);
      } else {
        out += '=';
        out += kHex[byte >> 4];
        out += kHex[byte & 0x0f];
      }
      column += width;
    }
    out += "\r\n";
    line_start = line_end + 2;
  }
  return out;
}

std::string base64_lines(std::string_view data) {
  const std::string encoded = base64::encode(data);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / 38 + 2);
  for (std::size_t pos = 0; pos < encoded.size(); pos += 76) {
    out.append(encoded, pos, 76);
    out += "\r\n";
  }
  return out;
}

// One MIME entity: its headers (CRLF-terminated lines) and its body.
struct entity {
  std::string headers;
  std::string body;
};

entity text_entity(std::string_view subtype, std::string_view text) {
  entity part;
  std::string body = normalise_lines(text);
  append_header(part.headers, "Content-Type", "text/" + std::string(subtype) + "; charset=utf-8");
  if (is_7bit(body)) {
    append_header(part.headers, "Content-Transfer-Encoding", "7bit");
    part.body = std::move(body);
  } else {
    append_header(part.headers, "Content-Transfer-Encoding", "quoted-printable");
    part.body = quoted_printable(body);
  }
  return part;
}

bool is_token_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte < 0x7f &&
         std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// A quoted-string for a MIME parameter value (RFC 2045 section 5.1).
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// RFC 2231 section 4: attribute-char is a token character other than '*', '\'' and '%'.
std::string percent_encoded(std::string_view value) {
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (is_token_char(c) && c != '*' && c != '\'' && c != '%') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

// The file name parameters: "; name=..." for Content-Type and "; filename..." for
// Content-Disposition. Each parameter is preceded by a space, a folding point.
std::pair<std::string, std::string> filename_parameters(std::string_view filename) {
  if (filename.empty()) return {};
  const bool ascii = model::is_ascii(filename) && filename.find("=?") == std::string_view::npos;
  std::pair<std::string, std::string> out;
  out.first = "; name=" + quoted(ascii ? std::string(filename) : encoded_words(filename));
  const std::string plain = quoted(filename);
  // Short enough for "filename=" on a line of its own within 76.
  constexpr std::size_t kSegment = 60;
  if (ascii && plain.size() <= kSegment) {
    out.second = "; filename=" + plain;
    return out;
  }
  // RFC 2231 section 3 continuations, each a folding point; a segment never splits a %XX.
  const std::string encoded = "utf-8''" + percent_encoded(filename);
  if (encoded.size() <= kSegment) {
    out.second = "; filename*=" + encoded;
    return out;
  }
  std::size_t pos = 0;
  for (int index = 0; pos < encoded.size(); ++index) {
    std::size_t end = std::min(encoded.size(), pos + kSegment);
    if (end < encoded.size()) {
      if (encoded[end - 1] == '%')
        end -= 1;
      else if (end >= 2 && encoded[end - 2] == '%')
        end -= 2;
    }
    out.second += "; filename*" + std::to_string(index) + "*=" + encoded.substr(pos, end - pos);
    pos = end;
  }
  return out;
}

// "type/subtype" of RFC 2045 section 5.1, lower-cased; empty when `text` is not one.
std::string media_type(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.size() > 127) {
    return {};
  }
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i != slash && !is_token_char(c)) return {};
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

entity attachment_entity(const attachment& file, const std::string& type) {
  entity part;
  const auto [name_parameter, filename_parameter] = filename_parameters(file.filename);
  append_header(part.headers, "Content-Type", type + name_parameter);
  append_header(part.headers, "Content-Disposition", "attachment" + filename_parameter);
  append_header(part.headers, "Content-Transfer-Encoding", "base64");
  part.body = base64_lines(file.data);
  return part;
}

// A multipart entity (RFC 2046 section 5.1) whose boundary is `base`, or `base` with "_N"
// appended when a part holds it (a delimiter must occur nowhere in the parts).
entity multipart_entity(std::string_view subtype, const std::string& base,
                        const std::vector<entity>& parts) {
  std::string boundary = base;
  const auto occurs = [&](const std::string& candidate) {
    for (const entity& part : parts) {
      if (part.headers.find(candidate) != std::string::npos ||
          part.body.find(candidate) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  for (int suffix = 1; occurs(boundary); ++suffix) boundary = base + "_" + std::to_string(suffix);
  entity out;
  append_header(out.headers, "Content-Type",
                "multipart/" + std::string(subtype) + "; boundary=" + quoted(boundary));
  for (const entity& part : parts) {
    out.body += "--" + boundary + "\r\n";
    out.body += part.headers;
    out.body += "\r\n";
    out.body += part.body;
    // The CRLF before a delimiter belongs to the delimiter (section 5.1.1), so this one is
    // added even after a body ending in CRLF: the text's own last line break must survive.
    out.body += "\r\n";
  }
  out.body += "--" + boundary + "--\r\n";
  return out;
}

// ---- Checks ------------------------------------------------------------------------------

void check_mailbox(std::string_view field, const mailbox_address& address,
                   const compose_limits& limits) {
  if (std::string problem = model::email_address_problem(address.email); !problem.empty()) {
    throw compose_error{std::string(field) + ": invalid address " + quote_for_error(address.email) +
                        ": " + problem};
  }
  if (std::string problem = one_line_problem(address.name, limits.max_name_bytes);
      !problem.empty()) {
    throw compose_error{std::string(field) + ": invalid name " + quote_for_error(address.name) +
                        ": " + problem};
  }
}

// Message ids as "<a@b> <c@d>": each "<...>" of printable ASCII, at most max_id_bytes; joined
// by single spaces (folding points).
std::string message_id_list(std::string_view field, std::string_view text,
                            const compose_limits& limits) {
  if (text.size() > limits.max_references_bytes) {
    throw compose_error{std::string(field) + ": is " + std::to_string(text.size()) +
                        " bytes long, the limit is " + std::to_string(limits.max_references_bytes)};
  }
  std::string out;
  std::size_t pos = 0;
  while (true) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos == text.size()) break;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    const std::string_view id = text.substr(pos, end - pos);
    bool valid = id.size() >= 3 && id.size() <= limits.max_message_id_bytes && id.front() == '<' &&
                 id.back() == '>';
    for (std::size_t i = 1; valid && i + 1 < id.size(); ++i) {
      const auto byte = static_cast<unsigned char>(id[i]);
      valid = byte > 0x20 && byte < 0x7f && id[i] != '<' && id[i] != '>';
    }
    if (!valid) {
      throw compose_error{std::string(field) + ": " + quote_for_error(id) +
                          " is not a message id like <id@example.com>"};
    }
    if (!out.empty()) out += ' ';
    out += id;
    pos = end;
  }
  return out;
}

bool is_unique_token(std::string_view unique) {
  if (unique.empty() || unique.size() > 48) return false;
  for (const char c : unique) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_') return false;
  }
  return true;
}

// The address as compared for de-duplication: the domain without case (RFC 5321 section 2.4:
// local parts may be case-sensitive, domains are not).
std::string envelope_key(std::string_view address) {
  std::string key(address);
  const std::size_t at = key.rfind('@');
  for (std::size_t i = at + 1; i < key.size(); ++i) {
    if (key[i] >= 'A' && key[i] <= 'Z') key[i] = static_cast<char>(key[i] - 'A' + 'a');
  }
  return key;
}

std::string size_error(std::size_t size, std::size_t limit) {
  const auto mib = [](std::size_t bytes) {
    if (bytes < (1u << 20)) return std::to_string(bytes) + " bytes";
    return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
  };
  return "message: the message would be about " + mib(size) + ", the limit is " + mib(limit);
}

compose_result compose_checked(const compose_input& input, const compose_limits& limits) {
  compose_result result;

  check_mailbox("from", input.from, limits);
  const std::size_t recipient_count = input.to.size() + input.cc.size() + input.bcc.size();
  if (recipient_count == 0) throw compose_error{"to: no recipients"};
  if (recipient_count > limits.max_recipients) {
    throw compose_error{"to: " + std::to_string(recipient_count) + " recipients, the limit is " +
                        std::to_string(limits.max_recipients)};
  }
  const std::array<std::pair<std::string_view, const std::vector<mailbox_address>*>, 3> lists{{
      {"to", &input.to},
      {"cc", &input.cc},
      {"bcc", &input.bcc},
  }};
  std::vector<std::string> keys;
  bool needs_smtputf8 = !model::is_ascii(input.from.email);
  for (const auto& [field, list] : lists) {
    for (const mailbox_address& address : *list) {
      check_mailbox(field, address, limits);
      needs_smtputf8 = needs_smtputf8 || !model::is_ascii(address.email);
      std::string key = envelope_key(address.email);
      bool seen = false;
      for (const std::string& known : keys) seen = seen || known == key;
      if (seen) continue;
      keys.push_back(std::move(key));
      result.recipients.push_back(address.email);
    }
  }
  if (std::string problem = one_line_problem(input.subject, limits.max_subject_bytes);
      !problem.empty()) {
    throw compose_error{"subject: " + problem};
  }
  if (std::string problem = model::utf8_problem(input.text); !problem.empty()) {
    throw compose_error{"text: " + problem};
  }
  if (std::string problem = model::utf8_problem(input.html); !problem.empty()) {
    throw compose_error{"html: " + problem};
  }
  // 9999-12-31T23:59:59Z: a four-digit year whatever the offset.
  if (input.date < 0 || input.date > 253402300799 - 86400) {
    throw compose_error{"date: must be a time from 1970 to 9999"};
  }
  if (input.utc_offset_minutes < -1439 || input.utc_offset_minutes > 1439) {
    throw compose_error{"utc_offset_minutes: must be from -1439 to 1439"};
  }
  if (!is_unique_token(input.unique)) {
    throw compose_error{"unique: must be 1 to 48 letters, digits, '-' or '_'"};
  }
  const std::string in_reply_to = message_id_list("in_reply_to", input.in_reply_to, limits);
  const std::string references = message_id_list("references", input.references, limits);
  if (input.attachments.size() > limits.max_attachments) {
    throw compose_error{"attachments: " + std::to_string(input.attachments.size()) +
                        " files, the limit is " + std::to_string(limits.max_attachments)};
  }
  // An estimate before encoding: base64 grows by 4/3 plus line ends, QP by up to 3x.
  std::size_t estimate = input.text.size() + input.html.size();
  for (const attachment& file : input.attachments) estimate += file.data.size() / 3 * 4;
  if (estimate > limits.max_message_bytes)
    throw compose_error{size_error(estimate, limits.max_message_bytes)};
  std::vector<std::string> types;
  for (std::size_t i = 0; i < input.attachments.size(); ++i) {
    const attachment& file = input.attachments[i];
    const std::string field = "attachments[" + std::to_string(i) + "]";
    if (std::string problem = one_line_problem(file.filename, limits.max_filename_bytes);
        !problem.empty()) {
      throw compose_error{field + ".filename: " + problem};
    }
    std::string type = "application/octet-stream";
    if (!file.content_type.empty()) {
      type = media_type(file.content_type);
      if (type.empty()) {
        throw compose_error{field + ".content_type: " + quote_for_error(file.content_type) +
                            " is not a media type like image/png"};
      }
      // RFC 2045 section 6.4: these may not be base64-encoded, and arbitrary bytes must be.
      if (type.rfind("multipart/", 0) == 0 || type.rfind("message/", 0) == 0) {
        type = "application/octet-stream";
      }
    }
    types.push_back(std::move(type));
  }

  // Message-ID: the domain of from, unless it is an IDN in Unicode form (see compose.h).
  const std::string& from = input.from.email;
  std::string domain = from.substr(from.rfind('@') + 1);
  if (!model::is_ascii(domain)) domain = "localhost.localdomain";
  result.message_id = "<" + input.unique + "@" + domain + ">";

  // The body: text, or text + HTML alternative, then the attachments around it.
  entity body = text_entity("plain", input.text);
  if (!input.html.empty()) {
    body = multipart_entity("alternative", "=_alt_" + input.unique,
                            {std::move(body), text_entity("html", input.html)});
  }
  if (!input.attachments.empty()) {
    std::vector<entity> parts;
    parts.push_back(std::move(body));
    for (std::size_t i = 0; i < input.attachments.size(); ++i) {
      parts.push_back(attachment_entity(input.attachments[i], types[i]));
    }
    body = multipart_entity("mixed", "=_mixed_" + input.unique, parts);
  }

  std::string& out = result.message;
  append_header(out, "Date", format_date(input.date, input.utc_offset_minutes));
  append_header(out, "From", mailbox(input.from));
  if (!input.to.empty()) append_header(out, "To", address_list(input.to));
  if (!input.cc.empty()) append_header(out, "Cc", address_list(input.cc));
  const std::string_view subject = input.subject;
  // Encoded-words also for an ASCII subject holding "=?" (a reader would decode it) or a word
  // too long for one line (encoded-words can be split anywhere between characters).
  std::size_t longest_word = 0;
  for (std::size_t run = 0, i = 0; i < subject.size(); ++i) {
    run = subject[i] == ' ' ? 0 : run + 1;
    longest_word = std::max(longest_word, run);
  }
  const bool encode_subject = !model::is_ascii(subject) ||
                              subject.find("=?") != std::string_view::npos || longest_word > 900;
  std::string subject_value = encode_subject ? encoded_words(subject) : std::string(subject);
  append_header(out, "Subject", subject_value);
  append_header(out, "Message-ID", result.message_id);
  if (!in_reply_to.empty()) append_header(out, "In-Reply-To", in_reply_to);
  if (!references.empty()) append_header(out, "References", references);
  append_header(out, "MIME-Version", "1.0");
  out += body.headers;
  out += "\r\n";
  out += body.body;

  if (out.size() > limits.max_message_bytes) {
    throw compose_error{size_error(out.size(), limits.max_message_bytes)};
  }
  // The promise of compose_result: no line above 998. The header writers keep to it by
  // construction (bounded words); an ASCII subject word of more than ~990 characters is the
  // one input that can break it, so say so instead of sending a message servers would cut.
  std::size_t line_start = 0;
  while (line_start < out.size()) {
    std::size_t line_end = out.find("\r\n", line_start);
    if (line_end == std::string::npos) line_end = out.size();
    if (line_end - line_start > kMaxLine) {
      const bool in_header = line_start < out.find("\r\n\r\n");
      throw compose_error{std::string(in_header ? "subject" : "message") +
                          ": a line would be longer than 998 characters"};
    }
    line_start = line_end + 2;
  }
  result.needs_smtputf8 = needs_smtputf8;
  result.eight_bit = false;
  result.ok = true;
  return result;
}

}  // namespace

compose_result compose(const compose_input& input, const compose_limits& limits) {
  try {
    return compose_checked(input, limits);
  } catch (compose_error& error) {
    compose_result result;
    result.error = std::move(error.message);
    return result;
  }
}

}  // namespace junction::mime
