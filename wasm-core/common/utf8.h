// UTF-8 well-formedness, byte by byte: one definition for the core and the proxy.
#pragma once

#include <cstddef>
#include <string_view>

namespace junction::utf8 {

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629 §4: no overlong forms, no
// surrogates, nothing above U+10FFFF): 1 for ASCII, 2 to 4 otherwise, 0 when the bytes there
// are not one (or i is past the end).
inline std::size_t sequence_length(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() - i < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xbf) return 0;
  }
  return n;
}

}  // namespace junction::utf8
