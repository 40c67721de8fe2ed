// Private to the POP3 engine: the grammar of the server's lines (RFC 1939, RFC 2449,
// RFC 5034), as pure functions over one line with its CRLF already removed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace junction::pop3::detail {

enum class status_kind { ok, err, continuation, bad };

// status-line  = ("+OK" / "-ERR") [SP text]     RFC 1939 §3: case-sensitive; the text is
//                                                optional in practice ("+OK" alone is common)
// continuation = "+" [SP base64]                RFC 5034 §4 (only meaningful during AUTH)
// `text` receives what follows the single SP.
status_kind classify_status(std::string_view line, std::string_view& text);

enum class number_result { ok, missing, overflow };

// number = 1*DIGIT with a value below 2^64; the digits are checked before multiplying, so
// "99999999999999999999" is an overflow, never a wrapped value. Advances `pos`.
number_result parse_number(std::string_view s, std::size_t& pos, std::uint64_t& out);

// Parsed LIST or UIDL line; `error` says what was wrong (empty when the line is good).
struct listing_line {
  std::uint64_t number = 0;
  std::uint64_t size = 0;
  std::string_view uid;
  const char* error = nullptr;
};

// scan-listing = msg SP size [SP *CHAR]   RFC 1939 §5 LIST: information after the size
//                                         is allowed and ignored
listing_line parse_scan_listing(std::string_view line);

// unique-id-listing = msg SP unique-id    RFC 1939 §7 UIDL
// unique-id         = 1*70 %x21-7E
listing_line parse_uid_listing(std::string_view line);

// drop-listing = count SP octets [SP *CHAR]   RFC 1939 §5 STAT
listing_line parse_drop_listing(std::string_view text);

// The APOP timestamp (RFC 1939 §7): the first "<...>" token of the greeting text, or empty.
std::string_view find_apop_timestamp(std::string_view text);

// A short printable excerpt of hostile bytes for an error message.
std::string excerpt(std::string_view line);

}  // namespace junction::pop3::detail
