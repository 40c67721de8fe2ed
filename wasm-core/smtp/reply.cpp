#include "smtp/reply.h"

#include "common/ascii.h"

namespace junction::smtp {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// 1*3digit; advances `pos`.
bool digits_1_to_3(std::string_view s, std::size_t& pos) {
  std::size_t start = pos;
  while (pos < s.size() && is_digit(s[pos]) && pos - start < 4) ++pos;
  return pos > start && pos - start <= 3;
}

}  // namespace

reply_line parse_reply_line(std::string_view line) {
  reply_line r;
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    r.error = "the reply does not start with a 3-digit code";
    return r;
  }
  if (line[0] < '2' || line[0] > '5' || line[1] > '5') {
    r.error = "reply code out of range";
    return r;
  }
  r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) {  // "250" alone: allowed, the text is optional
    r.last = true;
    return r;
  }
  if (line[3] == ' ') {
    r.last = true;
  } else if (line[3] != '-') {
    r.error = "space or hyphen expected after the reply code";
    return r;
  }
  r.text = line.substr(4);
  return r;
}

std::size_t enhanced_code_length(std::string_view text, int code) {
  const char klass = static_cast<char>('0' + code / 100);
  if (text.size() < 5 || text[0] != klass || (klass != '2' && klass != '4' && klass != '5') ||
      text[1] != '.') {
    return 0;
  }
  std::size_t pos = 2;
  if (!digits_1_to_3(text, pos) || pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  if (!digits_1_to_3(text, pos)) return 0;
  if (pos < text.size() && text[pos] != ' ') return 0;
  return pos;
}

namespace {

// The first word of an EHLO line, and the rest after it.
void split_keyword(std::string_view line, std::string_view& keyword, std::string_view& params) {
  auto sp = line.find_first_of(" =");
  keyword = line.substr(0, sp);
  params = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
}

void add_mechanisms(capabilities& caps, std::string_view mechs) {
  std::size_t pos = 0;
  while (pos < mechs.size()) {
    auto end = mechs.find(' ', pos);
    if (end == std::string_view::npos) end = mechs.size();
    auto mech = mechs.substr(pos, end - pos);
    if (ascii::equals_ignore_case(mech, "PLAIN")) caps.auth_plain = true;
    if (ascii::equals_ignore_case(mech, "LOGIN")) caps.auth_login = true;
    if (ascii::equals_ignore_case(mech, "CRAM-MD5")) caps.auth_cram_md5 = true;
    pos = end + 1;
  }
}

}  // namespace

capabilities parse_ehlo(const std::vector<std::string>& lines) {
  capabilities caps;
  caps.esmtp = true;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view keyword, params;
    split_keyword(lines[i], keyword, params);
    if (ascii::equals_ignore_case(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (ascii::equals_ignore_case(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (ascii::equals_ignore_case(keyword, "8BITMIME")) {
      caps.eight_bit_mime = true;
    } else if (ascii::equals_ignore_case(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (ascii::equals_ignore_case(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (ascii::equals_ignore_case(keyword, "AUTH")) {
      caps.auth = true;
      add_mechanisms(caps, params);
    } else if (ascii::equals_ignore_case(keyword, "SIZE")) {
      // size-param = [1*DIGIT]   RFC 1870 §4; a value we cannot read means "no limit given".
      caps.size = true;
      std::uint64_t v = 0;
      bool good = !params.empty();
      for (char c : params) {
        if (!is_digit(c) || v > (UINT64_MAX - 9) / 10) {
          good = false;
          break;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      caps.max_size = good ? v : 0;
    }
  }
  return caps;
}

std::string excerpt(std::string_view line) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < line.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  if (line.size() > kMax) out += "...";
  out += '"';
  return out;
}

}  // namespace junction::smtp
