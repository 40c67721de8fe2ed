#include "pop3/response.h"

namespace junction::pop3::detail {

status_kind classify_status(std::string_view line, std::string_view& text) {
  auto rest_after = [&](std::size_t n) {
    // The keyword must be followed by SP or by the end of the line: "+OKAY" is not "+OK".
    if (line.size() == n) {
      text = {};
      return true;
    }
    if (line[n] != ' ') return false;
    text = line.substr(n + 1);
    return true;
  };
  if (line.substr(0, 3) == "+OK" && rest_after(3)) return status_kind::ok;
  if (line.substr(0, 4) == "-ERR" && rest_after(4)) return status_kind::err;
  if (line.substr(0, 1) == "+" && rest_after(1)) return status_kind::continuation;
  return status_kind::bad;
}

number_result parse_number(std::string_view s, std::size_t& pos, std::uint64_t& out) {
  std::size_t start = pos;
  std::uint64_t v = 0;
  for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
    auto digit = static_cast<std::uint64_t>(s[pos] - '0');
    if (v > (UINT64_MAX - digit) / 10) return number_result::overflow;
    v = v * 10 + digit;
  }
  if (pos == start) return number_result::missing;
  out = v;
  return number_result::ok;
}

namespace {

// msg SP second-field: the shared start of all three listings. Leaves `pos` after the SP.
bool parse_leading_number(std::string_view line, std::size_t& pos, listing_line& r) {
  switch (parse_number(line, pos, r.number)) {
    case number_result::ok:
      break;
    case number_result::missing:
      r.error = "message number missing";
      return false;
    case number_result::overflow:
      r.error = "message number out of range";
      return false;
  }
  if (pos >= line.size() || line[pos] != ' ') {
    r.error = "space expected after the message number";
    return false;
  }
  ++pos;
  return true;
}

listing_line parse_two_numbers(std::string_view line) {
  listing_line r;
  std::size_t pos = 0;
  if (!parse_leading_number(line, pos, r)) return r;
  switch (parse_number(line, pos, r.size)) {
    case number_result::ok:
      break;
    case number_result::missing:
      r.error = "size missing";
      return r;
    case number_result::overflow:
      r.error = "size out of range";
      return r;
  }
  if (pos < line.size() && line[pos] != ' ') r.error = "junk after the size";
  return r;
}

}  // namespace

listing_line parse_scan_listing(std::string_view line) {
  return parse_two_numbers(line);
}

listing_line parse_drop_listing(std::string_view text) {
  return parse_two_numbers(text);
}

listing_line parse_uid_listing(std::string_view line) {
  listing_line r;
  std::size_t pos = 0;
  if (!parse_leading_number(line, pos, r)) return r;
  r.uid = line.substr(pos);
  if (r.uid.empty() || r.uid.size() > 70) {
    r.error = "unique-id must be 1 to 70 characters";
    return r;
  }
  for (char c : r.uid) {
    if (c < 0x21 || c > 0x7e) {
      r.error = "unique-id must be printable ASCII without spaces";
      return r;
    }
  }
  return r;
}

std::string_view find_apop_timestamp(std::string_view text) {
  auto open = text.find('<');
  if (open == std::string_view::npos) return {};
  auto close = text.find('>', open);
  if (close == std::string_view::npos) return {};
  std::string_view token = text.substr(open, close - open + 1);
  for (char c : token) {
    // A msg-id (RFC 822) has no spaces or controls; "<" inside means the first "<" was text.
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return {};
  }
  if (token.find('<', 1) != std::string_view::npos) return {};
  return token;
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

}  // namespace junction::pop3::detail
