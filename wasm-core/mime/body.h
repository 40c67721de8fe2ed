// Message bodies turned into text: Content-Transfer-Encoding (RFC 2045 §6) and HTML to plain
// text. Private to the mime layer (message_view.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace junction::mime::detail {

enum class transfer_encoding { identity, quoted_printable, base64 };

// "7bit", "8bit", "binary" and unknown names are identity: the bytes are shown as they are.
transfer_encoding find_transfer_encoding(std::string_view name);

// Appends the decoded body to `out`, at most `max` bytes. Returns false when the body was cut.
// Decoding is lenient: base64 skips bytes outside its alphabet and restarts after '=' padding
// (concatenated encodings), quoted-printable keeps a '=' that starts no escape.
bool decode_body(std::string_view body, transfer_encoding encoding, std::size_t max,
                 std::string& out);

// The decoded size of a body, computed without storing it.
std::uint64_t decoded_size(std::string_view body, transfer_encoding encoding);

// The text of UTF-8 HTML as a reader sees it, appended to `out` (at most `max` bytes, cut on a
// character boundary; returns false when cut): tags dropped, <script>, <style> and <title>
// dropped with their content, comments dropped, runs of whitespace collapsed, line breaks
// for <br> and block elements, the entities &amp; &lt; &gt; &quot; &apos; &nbsp; and numeric
// references decoded (others kept as written).
bool html_to_text(std::string_view html, std::size_t max, std::string& out);

}  // namespace junction::mime::detail
