// Field-level checks shared by the account models (retrieval tasks, SMTP accounts, …).
// Header-only: small pure functions on bytes, no allocation except for the messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace junction::model {

// One problem with one field of a model, as shown next to the field in the UI and by the CLI.
// `field` uses the JSON names, dotted for nested fields ("folder_transfer.parent"); it is
// empty for a problem with the document as a whole (e.g. invalid JSON text).
struct field_error {
  std::string field;
  std::string message;

  bool operator==(const field_error&) const = default;
};

// "port: must be a whole number from 1 to 65535", or just the message when field is empty.
inline std::string to_string(const field_error& error) {
  if (error.field.empty()) return error.message;
  return error.field + ": " + error.message;
}

namespace detail {

inline bool is_control(std::uint32_t code_point) {
  return code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f);
}

// Decodes one UTF-8 sequence at text[pos] (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Returns its length, or 0 when the bytes there are not valid UTF-8.
inline std::size_t decode_utf8(std::string_view text, std::size_t pos, std::uint32_t& out) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  std::uint32_t minimum = 0;
  if (lead < 0x80) {
    out = lead;
    return 1;
  } else if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1fu;
    minimum = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0fu;
    minimum = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07u;
    minimum = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - pos < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xc0u) != 0x80u) return 0;
    code_point = (code_point << 6) | (next & 0x3fu);
  }
  if (code_point < minimum || code_point > 0x10ffff) return 0;
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;
  out = code_point;
  return length;
}

}  // namespace detail

// Empty when `text` is valid UTF-8, else "invalid UTF-8 at byte N" (N counted from 0).
inline std::string utf8_problem(std::string_view text) {
  std::uint32_t code_point = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = detail::decode_utf8(text, pos, code_point);
    if (length == 0) return "invalid UTF-8 at byte " + std::to_string(pos);
    pos += length;
  }
  return {};
}

// Longest folder path accepted, in bytes of UTF-8.
inline constexpr std::size_t max_folder_path_bytes = 512;

// A folder path names a folder of the user's mailbox: components separated by '/', e.g.
// "External/Work". Each component is non-empty, is not "." or "..", and holds no control
// characters (C0, DEL, C1); the whole is valid UTF-8 of at most 512 bytes. These rules keep
// a path safe to map onto Maildir++ folder names on disk and onto IMAP mailbox names.
// Returns an empty string when the path is valid, else a short reason saying where.
inline std::string folder_path_problem(std::string_view path) {
  if (path.empty()) return "must not be empty";
  if (path.size() > max_folder_path_bytes) {
    return "is " + std::to_string(path.size()) + " bytes long, the limit is " +
           std::to_string(max_folder_path_bytes);
  }
  std::size_t component_start = 0;
  std::size_t component_number = 1;
  std::uint32_t code_point = 0;
  for (std::size_t pos = 0; pos <= path.size();) {
    if (pos == path.size() || path[pos] == '/') {
      const std::string_view component = path.substr(component_start, pos - component_start);
      const std::string where = "folder name " + std::to_string(component_number);
      if (component.empty()) return where + " is empty (check for a doubled or outer '/')";
      if (component == "." || component == "..") {
        return where + " is \"" + std::string(component) + "\", which is not allowed";
      }
      if (pos == path.size()) break;
      ++pos;
      component_start = pos;
      ++component_number;
      continue;
    }
    const std::size_t length = detail::decode_utf8(path, pos, code_point);
    if (length == 0) return "invalid UTF-8 at byte " + std::to_string(pos);
    if (detail::is_control(code_point)) {
      return "control character at byte " + std::to_string(pos);
    }
    pos += length;
  }
  return {};
}

// Longest host name accepted (RFC 1035 section 2.3.4), not counting one trailing dot.
inline constexpr std::size_t max_host_name_bytes = 253;

// dec-octet "." dec-octet "." dec-octet "." dec-octet   (RFC 3986 section 3.2.2)
// Leading zeros are refused: some resolvers read "010" as octal, so the address the user sees
// would not be the one connected to.
inline bool is_ipv4_literal(std::string_view text) {
  int parts = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = pos;
    while (end < text.size() && end - pos < 4 && text[end] >= '0' && text[end] <= '9') ++end;
    const std::size_t digits = end - pos;
    if (digits == 0 || digits > 3) return false;
    if (digits > 1 && text[pos] == '0') return false;
    int value = 0;
    for (std::size_t i = pos; i < end; ++i) value = value * 10 + (text[i] - '0');
    if (value > 255) return false;
    ++parts;
    if (end == text.size()) return parts == 4;
    if (text[end] != '.' || parts == 4) return false;
    pos = end + 1;
  }
}

// IPv6address (RFC 4291 section 2.2, RFC 3986 section 3.2.2): up to eight groups of one to
// four hex digits, at most one "::", optionally ending in an IPv4 address that stands for two
// groups. Zone identifiers ("%eth0") are not accepted: a mail server is never link-local.
inline bool is_ipv6_literal(std::string_view text) {
  const auto is_hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  if (text.size() < 2 || text.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  std::size_t pos = 0;
  if (text.substr(0, 2) == "::") {
    compressed = true;
    pos = 2;
    if (pos == text.size()) return true;
  } else if (text[0] == ':') {
    return false;
  }
  while (true) {
    std::size_t end = pos;
    while (end < text.size() && end - pos < 5 && is_hex(text[end])) ++end;
    if (end < text.size() && text[end] == '.') {
      if (!is_ipv4_literal(text.substr(pos))) return false;
      groups += 2;
      break;
    }
    if (end == pos || end - pos > 4) return false;
    ++groups;
    pos = end;
    if (pos == text.size()) break;
    if (text[pos] != ':') return false;
    ++pos;
    if (pos < text.size() && text[pos] == ':') {
      if (compressed) return false;
      compressed = true;
      ++pos;
      if (pos == text.size()) break;
    } else if (pos == text.size()) {
      return false;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

// The server of an account: a host name (letters, digits, '-' and '.', labels of 1 to 63
// characters not starting or ending with '-', at most 253 characters, one trailing dot
// allowed), an IPv4 address, or an IPv6 address with or without brackets. Whether the
// address may be reached is the proxy's egress policy, not a matter of syntax.
// Returns an empty string when valid, else a short reason.
inline std::string host_problem(std::string_view host) {
  if (host.empty()) return "is required";
  bool has_colon = false;
  bool all_ascii = true;
  for (const char c : host) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return "must not contain spaces or control characters";
    if (byte >= 0x80) all_ascii = false;
    if (c == ':') has_colon = true;
  }
  if (!all_ascii) return "use the ASCII form (xn--...) of an international domain name";
  if (host.find("://") != std::string_view::npos) return "must be a host name, not a URL";
  if (host.front() == '[') {
    if (host.size() < 2 || host.back() != ']' ||
        !is_ipv6_literal(host.substr(1, host.size() - 2))) {
      return "is not a valid IPv6 address";
    }
    return {};
  }
  if (has_colon) {
    const std::size_t colon = host.find(':');
    const std::string_view after = host.substr(colon + 1);
    const bool looks_like_port = colon > 0 && host.find(':', colon + 1) == std::string_view::npos &&
                                 !after.empty() &&
                                 after.find_first_not_of("0123456789") == std::string_view::npos;
    if (looks_like_port) return "must not include a port; use the port field";
    if (!is_ipv6_literal(host)) return "is not a valid IPv6 address";
    return {};
  }
  std::string_view name = host;
  if (name.back() == '.') name.remove_suffix(1);
  if (name.size() > max_host_name_bytes) {
    return "is longer than " + std::to_string(max_host_name_bytes) + " characters";
  }
  std::size_t label_start = 0;
  std::size_t label_number = 1;
  bool last_label_numeric = true;
  for (std::size_t pos = 0; pos <= name.size(); ++pos) {
    if (pos < name.size() && name[pos] != '.') {
      const char c = name[pos];
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '-') return "may hold only letters, digits, '-' and '.'";
      continue;
    }
    const std::string_view label = name.substr(label_start, pos - label_start);
    const std::string where = "part " + std::to_string(label_number) + " of the name";
    if (label.empty()) return where + " is empty";
    if (label.size() > 63) return where + " is longer than 63 characters";
    if (label.front() == '-' || label.back() == '-') {
      return where + " must not start or end with '-'";
    }
    last_label_numeric = label.find_first_not_of("0123456789") == std::string_view::npos;
    label_start = pos + 1;
    ++label_number;
  }
  // No top-level domain is all digits (RFC 1123 section 2.1), so such a name is an attempt at
  // an IPv4 address; refuse the forms ("127.1", "2130706433") resolvers would read loosely.
  if (last_label_numeric && !is_ipv4_literal(name)) {
    return "is not a valid IPv4 address (four numbers from 0 to 255, like 192.0.2.1)";
  }
  return {};
}

// True when every byte is below 0x80.
inline bool is_ascii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Longest email address accepted, in bytes: RFC 5321 section 4.5.3.1.3 allows 256 for the
// path including its angle brackets. The part before '@' is limited to 64 bytes (4.5.3.1.1).
inline constexpr std::size_t max_email_bytes = 254;
inline constexpr std::size_t max_email_local_bytes = 64;

// An email address as Junction sends from and to: local@domain, where
// - local is a dot-atom (RFC 5322 section 3.2.3: letters, digits and !#$%&'*+-/=?^_`{|}~,
//   dots between them) extended with UTF-8 (RFC 6531); quoted local parts are not accepted,
//   so an address can always be written into a header and an SMTP command as it is;
// - domain is a host name (ASCII, checked like a server name but without a trailing dot or a
//   bare IP address), a UTF-8 domain name (labels of letters, digits and '-', checked no
//   further: the server applies IDNA), or an address literal "[192.0.2.1]" /
//   "[IPv6:2001:db8::1]".
// No spaces, control characters (CR, LF), '<' or '>' anywhere: they would break the header
// or the SMTP command the address goes into. A non-ASCII address needs SMTPUTF8 to be sent.
// Returns an empty string when valid, else a short reason.
inline std::string email_address_problem(std::string_view address) {
  if (address.empty()) return "is required";
  if (address.size() > max_email_bytes) {
    return "is " + std::to_string(address.size()) + " bytes long, the limit is " +
           std::to_string(max_email_bytes);
  }
  if (std::string problem = utf8_problem(address); !problem.empty()) return problem;
  std::uint32_t code_point = 0;
  for (std::size_t pos = 0; pos < address.size();) {
    const std::size_t length = detail::decode_utf8(address, pos, code_point);
    if (code_point == ' ' || detail::is_control(code_point)) {
      return "must not contain spaces or control characters";
    }
    pos += length;
  }
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "must look like name@example.com";
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty()) return "has nothing before '@'";
  if (domain.empty()) return "has no domain after '@'";
  if (local.size() > max_email_local_bytes) {
    return "the part before '@' is longer than " + std::to_string(max_email_local_bytes) + " bytes";
  }
  const std::string_view atext_specials = "!#$%&'*+-/=?^_`{|}~";
  for (std::size_t i = 0; i < local.size(); ++i) {
    const char c = local[i];
    const auto byte = static_cast<unsigned char>(c);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (i == 0 || i + 1 == local.size() || local[i + 1] == '.') {
        return "the part before '@' must not start or end with '.' or hold \"..\"";
      }
      continue;
    }
    if (byte >= 0x80 || alnum || atext_specials.find(c) != std::string_view::npos) continue;
    if (c == '"') return "quoted names before '@' are not supported";
    return std::string("the part before '@' must not contain '") + c + "'";
  }
  if (domain.front() == '[') {
    if (domain.back() != ']') return "the address literal after '@' must end with ']'";
    const std::string_view literal = domain.substr(1, domain.size() - 2);
    if (literal.substr(0, 5) == "IPv6:") {
      if (is_ipv6_literal(literal.substr(5))) return {};
    } else if (is_ipv4_literal(literal)) {
      return {};
    }
    return "the address literal after '@' is not an IPv4 or [IPv6:...] address";
  }
  if (domain.back() == '.') return "the domain must not end with '.'";
  if (is_ascii(domain)) {
    if (domain.find(':') != std::string_view::npos || is_ipv4_literal(domain)) {
      return "write an IP address after '@' in brackets, like [192.0.2.1]";
    }
    std::string problem = host_problem(domain);
    if (!problem.empty()) return "the domain " + problem;
    return {};
  }
  if (domain.size() > max_host_name_bytes) {
    return "the domain is longer than " + std::to_string(max_host_name_bytes) + " bytes";
  }
  std::size_t label_start = 0;
  for (std::size_t pos = 0; pos <= domain.size(); ++pos) {
    if (pos < domain.size() && domain[pos] != '.') {
      const char c = domain[pos];
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (static_cast<unsigned char>(c) < 0x80 && !alnum && c != '-') {
        return "the domain may hold only letters, digits, '-' and '.'";
      }
      continue;
    }
    const std::string_view label = domain.substr(label_start, pos - label_start);
    if (label.empty()) return "the domain has an empty part";
    if (label.size() > 63) return "a part of the domain is longer than 63 bytes";
    if (label.front() == '-' || label.back() == '-') {
      return "a part of the domain must not start or end with '-'";
    }
    label_start = pos + 1;
  }
  return {};
}

inline bool is_valid_email_address(std::string_view address) {
  return email_address_problem(address).empty();
}

inline bool is_valid_host(std::string_view host) {
  return host_problem(host).empty();
}

inline bool is_valid_folder_path(std::string_view path) {
  return folder_path_problem(path).empty();
}

}  // namespace junction::model
