#include "serve/http_util.h"

#include "common/ascii.h"
#include "mailbox/maildir.h"

namespace junction::serve {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

// pct-encoded = "%" HEXDIG HEXDIG   (RFC 3986 section 2.1)
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (text.size() - i < 3 || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const auto key = percent_decode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

bool json_depth_within(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

bool is_session_token(std::string_view token) {
  if (token.size() != 64) return false;
  for (const char c : token) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// cookie-string = cookie-pair *( ";" SP cookie-pair )   (RFC 6265 section 4.2.1)
std::string session_token(const http_request& request) {
  for (const http_header& h : request.headers) {
    if (!ascii::equals_ignore_case(h.name, "Cookie")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const std::size_t semicolon = rest.find(';');
      std::string_view pair = rest.substr(0, semicolon);
      rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos || pair.substr(0, eq) != session_cookie_name) continue;
      std::string_view value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (is_session_token(value)) return std::string(value);
    }
  }
  return {};
}

std::optional<std::int64_t> parse_number(std::string_view text, std::int64_t max) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_revision(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.substr(0, 2) == "W/") text.remove_prefix(2);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  return parse_number(text, std::int64_t{1} << 53);
}

std::optional<unsigned> parse_flags(std::string_view text) {
  unsigned flags = 0;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view flag = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (flag.empty()) continue;
    using mailbox::message_flag;
    if (ascii::equals_ignore_case(flag, "\\Seen")) {
      flags |= static_cast<unsigned>(message_flag::seen);
    } else if (ascii::equals_ignore_case(flag, "\\Answered")) {
      flags |= static_cast<unsigned>(message_flag::answered);
    } else if (ascii::equals_ignore_case(flag, "\\Flagged")) {
      flags |= static_cast<unsigned>(message_flag::flagged);
    } else if (ascii::equals_ignore_case(flag, "\\Draft")) {
      flags |= static_cast<unsigned>(message_flag::draft);
    } else if (ascii::equals_ignore_case(flag, "\\Recent")) {
      // Session state in IMAP; nothing to store.
    } else {
      return std::nullopt;
    }
  }
  return flags;
}

}  // namespace junction::serve
