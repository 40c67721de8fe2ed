// Character sets met in mail headers, converted to UTF-8. Private to the mime layer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace junction::mime::detail {

enum class charset { utf8, us_ascii, iso_8859_1, iso_8859_15, windows_1252, unknown };

// Looks a MIME charset name up case-insensitively. An RFC 2231 language suffix ("utf-8*en")
// is ignored.
charset find_charset(std::string_view name);

// True when `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// Appends `bytes` in charset `cs` to `out` as UTF-8. Never fails: UTF-8 or US-ASCII text that
// is not well-formed is read as Windows-1252, the charset such text is most often in.
// ISO-8859-1 is read as Windows-1252 too (as browsers do, WHATWG Encoding): its 0x80-0x9F
// are C1 controls that no sender means, while Windows-1252 mislabelled as Latin-1 is common.
// `cs` must not be charset::unknown.
void append_utf8(std::string& out, std::string_view bytes, charset cs);

// Raw header text: kept when it is UTF-8, read as Windows-1252 otherwise.
inline void append_raw_text(std::string& out, std::string_view bytes) {
  append_utf8(out, bytes, charset::utf8);
}

// Turns controls (C0, DEL) into spaces, collapses runs of spaces and trims both ends. Only
// ASCII bytes change, so UTF-8 stays well-formed.
std::string collapse_whitespace(std::string_view text);

// Shortens well-formed UTF-8 to at most `max` bytes without splitting a character.
void truncate_utf8(std::string& text, std::size_t max);

}  // namespace junction::mime::detail
