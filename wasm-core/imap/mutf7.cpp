#include "imap/mutf7.h"

#include <array>
#include <cstdint>

// Modified UTF-7 (RFC 3501 §5.1.3): printable US-ASCII except "&" stands for itself, "&" is
// "&-", and every other character is UTF-16 (surrogate pairs beyond the BMP) in modified
// base64 (',' for '/', no padding) between "&" and "-".

namespace junction::imap {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

bool printable(std::uint32_t c) {
  return c >= 0x20 && c <= 0x7e;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// One code point from strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF);
// false on any violation.
bool next_code_point(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    ++i;
    return true;
  }
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    cp = b0 & 0x0f;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    cp = b0 & 0x07;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return false;
  }
  if (i + n > s.size()) return false;
  for (std::size_t k = 1; k < n; ++k) {
    unsigned char b = byte(i + k);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return false;
    cp = (cp << 6) | (b & 0x3f);
  }
  i += n;
  return true;
}

}  // namespace

std::optional<std::string> mutf7_decode(std::string_view mutf7) {
  std::string out;
  out.reserve(mutf7.size());
  std::size_t i = 0;
  while (i < mutf7.size()) {
    auto c = static_cast<unsigned char>(mutf7[i++]);
    if (!printable(c)) return std::nullopt;  // raw 8-bit or control byte
    if (c != '&') {
      out += static_cast<char>(c);
      continue;
    }
    if (i < mutf7.size() && mutf7[i] == '-') {
      out += '&';
      ++i;
      continue;
    }
    // A base64 run up to "-": 16-bit units, leftover bits fewer than 6 and all zero.
    std::uint32_t acc = 0;
    int bits = 0;
    std::uint32_t high = 0;  // a high surrogate waiting for its low half
    for (;;) {
      if (i >= mutf7.size()) return std::nullopt;  // "&" not closed by "-"
      char b = mutf7[i++];
      if (b == '-') break;
      std::int8_t v = kTable[static_cast<unsigned char>(b)];
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      bits += 6;
      if (bits < 16) continue;
      bits -= 16;
      std::uint32_t unit = (acc >> bits) & 0xffff;
      acc &= (1u << bits) - 1;
      if (high != 0) {
        if (unit < 0xdc00 || unit > 0xdfff) return std::nullopt;
        append_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
        high = 0;
      } else if (unit >= 0xd800 && unit <= 0xdbff) {
        high = unit;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return std::nullopt;
      } else if (printable(unit)) {
        return std::nullopt;  // must have been written as itself (or "&-")
      } else {
        append_utf8(out, unit);
      }
    }
    if (high != 0 || bits >= 6 || acc != 0) return std::nullopt;
  }
  return out;
}

std::optional<std::string> mutf7_encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() + utf8.size() / 2);
  std::uint32_t acc = 0;
  int bits = 0;
  bool in_run = false;
  auto add_unit = [&](std::uint32_t unit) {
    acc = (acc << 16) | unit;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
    acc &= (1u << bits) - 1;
  };
  auto end_run = [&]() {
    if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
    out += '-';
    acc = 0;
    bits = 0;
    in_run = false;
  };
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::uint32_t cp = 0;
    if (!next_code_point(utf8, i, cp)) return std::nullopt;
    if (printable(cp)) {
      if (in_run) end_run();
      out += static_cast<char>(cp);
      if (cp == '&') out += '-';
      continue;
    }
    if (!in_run) {
      out += '&';
      in_run = true;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add_unit(0xd800 + (cp >> 10));
      add_unit(0xdc00 + (cp & 0x3ff));
    } else {
      add_unit(cp);
    }
  }
  if (in_run) end_run();
  return out;
}

}  // namespace junction::imap
