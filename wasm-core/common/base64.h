// Base64 (RFC 4648 §4), used by SASL (RFC 4422) and by MIME.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace junction::base64 {

std::string encode(std::string_view bytes);

// Strict decoding: padding required when the length is not a multiple of 4, no characters
// outside the alphabet (not even whitespace). nullopt on any violation.
std::optional<std::string> decode(std::string_view text);

// Lenient decoding for MIME bodies and encoded words: skips whitespace and stops at the
// first '=' pad. nullopt only on characters outside the alphabet.
std::optional<std::string> decode_lenient(std::string_view text);

}  // namespace junction::base64
