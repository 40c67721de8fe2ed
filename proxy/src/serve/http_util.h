// Small parsers of the HTTP API's request parts: %-decoding, query parameters, the session
// cookie, If-Match revisions, X-Junction-Flags, whole numbers, and a JSON nesting check.
// Pure functions of their text, without Beast or the store, so each is unit tested and
// fuzzed on its own (tests/proxy/serve/http_util_test.cpp, tests/fuzz/http_util). Malformed
// input gives nullopt (or an empty token), never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "serve/http_types.h"

namespace junction::serve {

inline constexpr std::string_view session_cookie_name = "junction_session";

// pct-encoded = "%" HEXDIG HEXDIG   (RFC 3986 section 2.1); '+' is a space in a query only.
// nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// The value of `name` in a query string (first occurrence, decoded), or nullopt.
std::optional<std::string> query_parameter(std::string_view query, std::string_view name);

// False when `text` nests arrays and objects deeper than `max_depth` (brackets inside JSON
// strings do not count): checked before nlohmann builds (and later destroys) the nesting.
bool json_depth_within(std::string_view text, std::size_t max_depth);

// A session token as the store makes them: 64 lower-case hex digits.
bool is_session_token(std::string_view token);

// The session token of the request's Cookie headers (the cookie named session_cookie_name
// holding a well-formed token), or an empty string.
std::string session_token(const http_request& request);

// Whole non-negative decimal numbers up to `max` (at most 18 digits, so nothing overflows).
std::optional<std::int64_t> parse_number(std::string_view text, std::int64_t max);

// If-Match: "N", W/"N" or N (the revision, at most 2^53; quotes optional for scripts).
std::optional<std::int64_t> parse_revision(std::string_view text);

// X-Junction-Flags: IMAP system flags separated by spaces, e.g. "\Seen \Flagged", as
// mailbox::message_flag bits; \Recent is accepted and ignored; nullopt for anything else.
std::optional<unsigned> parse_flags(std::string_view text);

}  // namespace junction::serve
