// Modified UTF-7 mailbox names (RFC 3501 §5.1.3), both ways.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace junction::imap {

// Modified UTF-7 to UTF-8. nullopt when the input is not valid modified UTF-7 (a printable
// ASCII character encoded in base64, a bad base64 run, an unpaired surrogate, "&" not
// closed by "-", a raw 8-bit byte).
std::optional<std::string> mutf7_decode(std::string_view mutf7);

// UTF-8 to modified UTF-7. nullopt when the input is not valid UTF-8.
std::optional<std::string> mutf7_encode(std::string_view utf8);

}  // namespace junction::imap
